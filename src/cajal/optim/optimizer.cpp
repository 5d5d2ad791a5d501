#include "cajal/optim/optimizer.h"

#include "cajal/autograd/grad_mode.h"
#include "cajal/ops/creation.h"
#include "cajal/optim/optimizer_impl.h"

namespace cajal::optim {

Tensor Optimizer::step(const std::function<Tensor()>& closure) {
  Tensor loss;
  {
    GradModeGuard grad_mode(true);
    loss = closure();
  }
  step();
  return loss;
}

void Optimizer::zero_grad(bool set_to_none) {
  NoGradGuard no_grad;
  for (size_t g = 0; g < num_param_groups(); ++g) {
    for (Tensor& param : param_group(g).params) {
      Tensor grad = param.grad();
      if (!grad.defined()) continue;
      if (set_to_none) {
        param.set_grad(Tensor());
      } else {
        grad.detach_();  // a gradient built with create_graph loses its history, as in PyTorch
        grad.zero_();
      }
    }
  }
}

TensorList Optimizer::parameters() {
  TensorList all;
  for (size_t g = 0; g < num_param_groups(); ++g) {
    const TensorList& params = param_group(g).params;
    all.insert(all.end(), params.begin(), params.end());
  }
  return all;
}

namespace detail {

void check_param(const char* optimizer, const Tensor& param, size_t index) {
  if (!param.defined()) fail<ValueError>(optimizer, ": parameter ", index, " is an undefined tensor");
  if (param.dtype() != DType::f32 && param.dtype() != DType::f64)
    fail<DTypeError>(optimizer, ": parameter ", index, " is ", dtype_name(param.dtype()),
                     "; optimizers update float32 and float64 parameters");
  if (!param.is_leaf()) fail<ValueError>(optimizer, ": can't optimize a non-leaf tensor (parameter ", index, ")");
  if (!param.is_contiguous())
    fail<ValueError>(optimizer, ": parameter ", index, " of shape ", param.sizes(), " is not contiguous (strides ",
                     param.strides(), "); optimizers update contiguous parameters in place");
}

void check_unique(const char* optimizer, const TensorList& params, const std::vector<const TensorList*>& existing) {
  auto repeated = [&](const Tensor& p, const TensorList& list, size_t end) {
    for (size_t j = 0; j < end; ++j)
      if (list[j].is_same(p)) return true;
    return false;
  };
  for (size_t i = 0; i < params.size(); ++i) {
    bool seen = repeated(params[i], params, i);
    for (const TensorList* other : existing) seen = seen || repeated(params[i], *other, other->size());
    if (seen) fail<ValueError>(optimizer, ": some parameters appear in more than one parameter group (shape ", params[i].sizes(), ")");
  }
}

void check_buffer(const char* optimizer, const char* name, const Tensor& buffer, const Tensor& param) {
  if (buffer.sizes() != param.sizes() || buffer.dtype() != param.dtype())
    fail<ValueError>(optimizer, ": the ", name, " buffer (", dtype_name(buffer.dtype()), ", shape ", buffer.sizes(),
                     ") does not fit its parameter (", dtype_name(param.dtype()), ", shape ", param.sizes(),
                     "); was the parameter replaced?");
}

Tensor grad_for_update(const char* optimizer, const Tensor& param) {
  Tensor grad = param.grad();
  if (!grad.defined()) return grad;
  if (!param.is_contiguous())
    fail<ValueError>(optimizer, ": parameter of shape ", param.sizes(), " is not contiguous (strides ", param.strides(), ")");
  if (grad.dtype() != param.dtype())
    fail<DTypeError>(optimizer, ": gradient of a ", dtype_name(param.dtype()), " parameter of shape ", param.sizes(),
                     " is ", dtype_name(grad.dtype()));
  if (grad.sizes() != param.sizes())
    fail<ShapeError>(optimizer, ": gradient of shape ", grad.sizes(), " for a parameter of shape ", param.sizes());
  return grad.is_contiguous() ? grad : grad.contiguous();
}

Tensor& ensure_zeros(Tensor& buffer, const Tensor& param) {
  if (!buffer.defined()) buffer = zeros_like(param);
  return buffer;
}

std::string state_key(size_t param_index, const char* field) {
  return "state." + std::to_string(param_index) + "." + field;
}

std::string group_key(size_t group, const char* field) { return "param_groups." + std::to_string(group) + "." + field; }

Tensor number_tensor(double value) { return scalar_tensor(value, DType::f64); }

Tensor step_tensor(int64_t value) { return scalar_tensor(value, DType::i64); }

Tensor index_tensor(size_t begin, size_t count) {
  auto b = static_cast<int64_t>(begin);
  return arange(b, b + static_cast<int64_t>(count), 1, DType::i64);
}

StateReader::StateReader(const char* optimizer, const NamedTensors& state) : optimizer_(optimizer) {
  for (const auto& [name, tensor] : state) {
    if (!entries_.emplace(name, tensor).second) fail_entry(name, "appears twice");
    if (!tensor.defined()) fail_entry(name, "is an undefined tensor");
  }
}

Tensor StateReader::take(const std::string& key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return Tensor();
  Tensor t = it->second;
  entries_.erase(it);
  return t;
}

double StateReader::take_number(const std::string& key) {
  Tensor t = take(key);
  if (!t.defined()) fail_entry(key, "is missing");
  if (t.numel() != 1) fail_entry(key, cajal::detail::concat("should hold one number, has shape ", t.sizes()));
  return t.item<double>();
}

Tensor StateReader::take_buffer(const std::string& key, const Tensor& param) {
  Tensor t = take(key);
  if (!t.defined()) return t;
  if (t.sizes() != param.sizes())
    fail_entry(key, cajal::detail::concat("has shape ", t.sizes(), ", the parameter has shape ", param.sizes()));
  if (!t.is_floating_point()) fail_entry(key, cajal::detail::concat("is ", dtype_name(t.dtype()), ", expected a floating point buffer"));
  Tensor values = t.detach();
  return values.dtype() == param.dtype() ? values.clone() : values.to(param.dtype());  // a contiguous copy
}

void StateReader::finish() const {
  if (!entries_.empty()) fail_entry(entries_.begin()->first, "is not part of this optimizer's state");
}

void StateReader::fail_entry(const std::string& key, const std::string& problem) const {
  fail<ValueError>(optimizer_, ".load_state_dict: entry \"", key, "\" ", problem);
}

}  // namespace detail
}  // namespace cajal::optim
