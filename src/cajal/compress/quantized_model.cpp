#include "cajal/compress/quantized_model.h"

#include <cmath>
#include <sstream>

#include "cajal/autograd/grad_mode.h"
#include "cajal/kernels/cpu/int8.h"
#include "cajal/nn/container.h"
#include "cajal/nn/conv.h"
#include "cajal/nn/linear.h"
#include "cajal/nn/norm.h"
#include "cajal/nn/pool.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/shape.h"

namespace cajal::compress {

namespace {

// The int8 tensors of one convolution or linear step, under the float layer's name.
class Int8LayerImpl : public nn::Module {
 public:
  Int8LayerImpl(const Dims& weight_shape, bool conv) : conv_(conv) {
    register_buffer("weight", weight, zeros(weight_shape, {.dtype = DType::i8}));
    register_buffer("weight_scale", weight_scale, ones({weight_shape[0]}));
    register_buffer("bias", bias, zeros({weight_shape[0]}));
    register_buffer("output_qparams", output_qparams, from_vector(std::vector<float>{1.0f, 0.0f}, {2}));
  }
  std::string name() const override { return conv_ ? "QuantizedConv2d" : "QuantizedLinear"; }
  Tensor weight, weight_scale, bias, output_qparams;

 private:
  bool conv_;
};

float qparam(const Tensor& qparams, int k) { return qparams.to_vector<float>()[static_cast<size_t>(k)]; }

Tensor qparams_of(const QuantParams& p) {
  return from_vector(std::vector<float>{p.scale[0], static_cast<float>(p.zero_point[0])}, {2});
}

}  // namespace

struct QuantizedSequentialImpl::Step : ChainStep {
  using Kind = ChainStep::Kind;
  std::string layer;                // the float model's child that names it
  std::shared_ptr<Int8LayerImpl> tensors;  // conv, linear
  bool last = false;                // float32 output
  kernels::ConvGeometry geometry;   // conv
  Dims flattened_from;              // linear after a flatten of [C, H, W]: the columns' source
  std::array<int64_t, 2> kernel{}, stride{}, pad{};  // max pool
  // The kernel, made on first use from the tensors and the input's parameters.
  std::shared_ptr<kernels::int8::Conv> conv;
  std::shared_ptr<kernels::int8::Linear> linear;
  const void* built_from = nullptr;
  uint32_t built_version = 0;
};

namespace {

using Step = QuantizedSequentialImpl::Step;

std::string unsupported_list() {
  return "int8 steps exist for Conv2d and Linear (each with the BatchNorm and ReLU after it), MaxPool2d, Flatten, "
         "Dropout and Identity";
}

// The BatchNorm right after a weighted layer, folded: its per-channel multiplier and shift.
void fold_norm(const nn::ModulePtr& norm_module, Tensor& weight, Tensor& bias) {
  auto norm = std::dynamic_pointer_cast<nn::BatchNormImpl>(norm_module);
  const std::vector<double> mean = norm->running_mean.to(DType::f64).to_vector<double>();
  const std::vector<double> var = norm->running_var.to(DType::f64).to_vector<double>();
  const int64_t channels = static_cast<int64_t>(mean.size());
  std::vector<double> gamma(channels, 1.0), beta(channels, 0.0);
  if (norm->affine) {
    gamma = norm->weight.to(DType::f64).to_vector<double>();
    beta = norm->bias.to(DType::f64).to_vector<double>();
  }
  std::vector<double> w = weight.contiguous().to(DType::f64).to_vector<double>(), b = bias.to(DType::f64).to_vector<double>();
  const size_t per = w.size() / static_cast<size_t>(channels);
  for (int64_t c = 0; c < channels; ++c) {
    const double s = gamma[c] / std::sqrt(var[c] + norm->eps);
    for (size_t k = 0; k < per; ++k) w[c * per + k] *= s;
    b[c] = (b[c] - mean[c]) * s + beta[c];
  }
  weight = from_vector(w, weight.sizes()).to(DType::f32);
  bias = from_vector(b, bias.sizes()).to(DType::f32);
}

// Channels-last codes of a Linear's columns that read a flatten of [C, H, W]:
// column (h * W + w) * C + c takes the float layer's column c * H * W + h * W + w.
Tensor channels_last_columns(const Tensor& weight, const Dims& chw) {
  const int64_t C = chw[0], HW = chw[1] * chw[2], O = weight.size(0);
  Tensor out = empty_like(weight);
  const int8_t* from = weight.data_ptr<int8_t>();
  int8_t* to = out.data_ptr<int8_t>();
  for (int64_t o = 0; o < O; ++o)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t p = 0; p < HW; ++p) to[o * C * HW + p * C + c] = from[o * C * HW + c * HW + p];
  return out;
}

// Makes the step's kernel for an input of parameters (scale, zero point).
void build(Step& step, float in_scale, float in_zero) {
  Int8LayerImpl& t = *step.tensors;
  if (step.built_from == t.weight.raw_data() && step.built_version == t.weight.version()) return;
  const std::vector<float> w_scale = t.weight_scale.to_vector<float>(), bias = t.bias.to_vector<float>();
  const float out_scale = qparam(t.output_qparams, 0), out_zero = qparam(t.output_qparams, 1);
  const int64_t O = t.weight.size(0), per = t.weight.numel() / O;
  const int8_t* codes = t.weight.data_ptr<int8_t>();
  std::vector<float> scale(O), bias_acc(O);
  for (int64_t o = 0; o < O; ++o) {
    int64_t sum = 0;  // input zero point times the weights: what the codes' offset adds to each output
    for (int64_t k = 0; k < per; ++k) sum += codes[o * per + k];
    const float acc_scale = in_scale * w_scale[o];
    scale[o] = step.last ? acc_scale : acc_scale / out_scale;
    bias_acc[o] = bias[o] / acc_scale - in_zero * static_cast<float>(sum);
  }
  kernels::int8::Requantize rq{.scale = from_vector(scale, {O}), .bias = from_vector(bias_acc, {O}),
                               .zero_point = step.last ? 0.0f : out_zero, .float_output = step.last,
                               .input_zero_point = static_cast<uint8_t>(in_zero)};
  if (step.kind == Step::Kind::conv) {
    step.conv = std::make_shared<kernels::int8::Conv>(t.weight, step.geometry, rq);
  } else {
    const Tensor w = step.flattened_from.empty() ? t.weight : channels_last_columns(t.weight, step.flattened_from);
    step.linear = std::make_shared<kernels::int8::Linear>(w, rq);
  }
  step.built_from = t.weight.raw_data();
  step.built_version = t.weight.version();
}

}  // namespace

std::vector<ChainStep> chain_steps(const nn::Module& model) {
  auto* chain = dynamic_cast<const nn::SequentialImpl*>(&model);
  if (!chain) fail<ValueError>("int8 quantization works on a chain of layers (a Sequential), not on a ", model.name());
  const auto children = chain->named_children();
  std::vector<ChainStep> steps;
  for (size_t i = 0; i < children.size(); ++i) {
    const std::string& name = children[i].first;
    const std::string type = children[i].second->name();
    ChainStep step{.kind = ChainStep::Kind::flatten, .members = {i}};
    if (type == "Conv2d" || type == "Linear") {
      const bool conv = type == "Conv2d";
      size_t j = i + 1;
      if (j < children.size() && children[j].second->name() == (conv ? "BatchNorm2d" : "BatchNorm1d")) step.members.push_back(j++);
      if (j < children.size() && children[j].second->name() == "ReLU") {
        step.members.push_back(j++);
        step.relu = true;
      }
      step.kind = conv ? ChainStep::Kind::conv : ChainStep::Kind::linear;
      if (conv && std::dynamic_pointer_cast<nn::Conv2dImpl>(children[i].second)->options().groups != 1)
        fail<ValueError>("int8 quantization: layer '", name, "' has groups; int8 convolutions have none");
      i = j - 1;
    } else if (type == "MaxPool2d") {
      const auto& o = std::dynamic_pointer_cast<nn::MaxPool2dImpl>(children[i].second)->options();
      if (o.ceil_mode || o.dilation[0] != 1 || o.dilation[1] != 1)
        fail<ValueError>("int8 quantization: layer '", name, "' (MaxPool2d) uses ceil_mode or dilation; int8 pooling has neither");
      step.kind = ChainStep::Kind::max_pool;
    } else if (type == "Dropout" || type == "Dropout2d" || type == "Identity") {
      continue;
    } else if (type != "Flatten") {
      fail<ValueError>("int8 quantization: layer '", name, "' (", type, ") has no int8 step; ", unsupported_list());
    }
    steps.push_back(step);
  }
  if (steps.empty() || !steps.back().computes())
    fail<ValueError>("int8 quantization: the model must end in a Conv2d or Linear layer (its float32 outputs)");
  return steps;
}

QuantizedSequentialImpl::QuantizedSequentialImpl(const nn::Module& model, const Dims& example_shape)
    : example_shape_(example_shape) {
  const std::vector<ChainStep> cut = chain_steps(model);
  register_buffer("input_qparams", input_qparams_, from_vector(std::vector<float>{1.0f, 0.0f}, {2}));
  const auto children = model.named_children();
  // Each child's input shape, from a zero example run in eval mode (batch norm keeps its statistics).
  std::vector<Dims> shapes;
  {
    NoGradGuard no_grad;
    Dims batch_shape{1};
    for (int64_t d : example_shape) batch_shape.push_back(d);
    Tensor x = zeros(batch_shape);
    for (const auto& [name, child] : children) {
      Dims s = x.sizes();
      shapes.push_back(Dims(s.begin() + 1, s.end()));
      const bool was_training = child->is_training();
      child->train(false);
      x = child->forward(x);
      child->train(was_training);
    }
    shapes.push_back(Dims(x.sizes().begin() + 1, x.sizes().end()));  // the model's output
  }
  Dims flatten_source;  // the [C, H, W] a flatten step took, until the next linear step
  for (const ChainStep& chain_step : cut) {
    auto step = std::make_shared<Step>();
    static_cast<ChainStep&>(*step) = chain_step;
    const size_t i = chain_step.members[0];
    const auto& [name, child] = children[i];
    step->layer = name;
    if (step->computes()) {
      const Tensor weight = child->named_parameters(false).at(0).second;
      step->tensors = std::make_shared<Int8LayerImpl>(weight.sizes(), step->kind == Step::Kind::conv);
      register_module(name, step->tensors);
      if (step->kind == Step::Kind::conv) {
        const auto& o = std::dynamic_pointer_cast<nn::Conv2dImpl>(child)->options();
        const Dims& in = shapes[i];
        const Dims& out = shapes[i + 1];  // the convolution's own output, before batch norm
        kernels::ConvGeometry& g = step->geometry;
        g.in_channels = in[0];
        g.out_channels = weight.size(0);
        g.in_size = {in[1], in[2]};
        g.out_size = {out[1], out[2]};
        g.kernel = {weight.size(2), weight.size(3)};
        g.stride = o.stride.values();
        g.dilation = o.dilation.values();
        g.pad = o.padding.sizes().values();
        if (o.padding.same()) {  // half the padding before, as PyTorch
          for (int d = 0; d < 2; ++d)
            g.pad[d] = ((g.out_size[d] - 1) * g.stride[d] + (g.kernel[d] - 1) * g.dilation[d] + 1 - g.in_size[d]) / 2;
        }
      } else {
        step->flattened_from = flatten_source;
      }
      flatten_source = {};
    } else if (step->kind == Step::Kind::max_pool) {
      auto pool = std::dynamic_pointer_cast<nn::MaxPool2dImpl>(child);
      step->kernel = pool->kernel_size().values();
      step->stride = pool->options().stride.value_or(pool->kernel_size()).values();
      step->pad = pool->options().padding.values();
    } else if (shapes[i].size() == 3) {  // flatten of an image
      flatten_source = shapes[i];
    }
    steps_.push_back(step);
  }
  steps_.back()->last = true;
}

QuantizedSequentialImpl::~QuantizedSequentialImpl() = default;

std::string QuantizedSequentialImpl::extra_repr() const {
  std::ostringstream out;
  out << "int8, " << steps_.size() << " steps";
  return out.str();
}

void QuantizedSequentialImpl::calibrate(nn::Module& model, const std::vector<Tensor>& batches, const ObserverOptions& options) {
  if (batches.empty()) fail<ValueError>("int8 quantization: no calibration data (give at least one batch of inputs)");
  NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  const auto children = model.named_children();
  Observer input(options);
  std::vector<Observer> outputs(steps_.size(), Observer(options));
  for (const Tensor& batch : batches) {
    input.observe(batch);
    Tensor x = batch;
    size_t next = 0;
    for (size_t i = 0; i < children.size(); ++i) {
      x = children[i].second->forward(x);
      while (next < steps_.size() && steps_[next]->members.back() < i) ++next;
      if (next < steps_.size() && steps_[next]->members.back() == i && steps_[next]->computes() && !steps_[next]->last)
        outputs[next].observe(x);
    }
  }
  model.train(was_training);
  std::vector<QuantParams> ranges;
  for (size_t k = 0; k < steps_.size(); ++k)
    ranges.push_back(steps_[k]->computes() && !steps_[k]->last ? outputs[k].params() : QuantParams{});
  assign(model, input.params(), ranges);
}

void QuantizedSequentialImpl::assign(const nn::Module& model, const QuantParams& input, const std::vector<QuantParams>& outputs) {
  if (outputs.size() != steps_.size()) fail<ValueError>("int8 quantization: ", outputs.size(), " output ranges for ", steps_.size(), " steps");
  NoGradGuard no_grad;
  const auto children = model.named_children();
  input_qparams_.copy_(qparams_of(input));
  for (size_t k = 0; k < steps_.size(); ++k) {
    Step& step = *steps_[k];
    if (!step.computes()) continue;
    const nn::ModulePtr layer = children[step.members[0]].second;
    Tensor weight = layer->named_parameters(false).at(0).second.detach().to(DType::f32);
    Tensor bias = zeros({weight.size(0)});
    for (const auto& [pname, value] : layer->named_parameters(false))
      if (pname == "bias" && value.defined()) bias = value.detach().to(DType::f32).clone();
    if (step.members.size() > 1 && children[step.members[1]].second->name().starts_with("BatchNorm"))
      fold_norm(children[step.members[1]].second, weight, bias);
    const QuantParams wp = weight_params(weight);
    Int8LayerImpl& t = *step.tensors;
    t.weight.copy_(quantize(weight, wp).to(DType::i8));
    t.weight_scale.copy_(from_vector(wp.scale, {weight.size(0)}));
    t.bias.copy_(bias);
    if (!step.last) t.output_qparams.copy_(qparams_of(outputs[k]));
  }
}

Tensor QuantizedSequentialImpl::forward(const Tensor& input) {
  NoGradGuard no_grad;
  if (input.dim() != static_cast<int64_t>(example_shape_.size()) + 1 || Dims(input.sizes().begin() + 1, input.sizes().end()) != example_shape_)
    fail<ShapeError>("QuantizedSequential: expected input [N, ", example_shape_, "], got ", input.sizes());
  // A large batch goes through in chunks: the codes between steps stay small (the cnn
  // preset's first layer makes 25 MB of them for 1000 images) and in the cache; on that
  // model the time is the same as in one piece, within the machine's noise.
  const int64_t chunk = kChunk, n = input.size(0);
  if (n <= chunk) return forward_chunk(input);
  TensorList outputs;
  for (int64_t begin = 0; begin < n; begin += chunk) outputs.push_back(forward_chunk(input.narrow(0, begin, std::min(chunk, n - begin))));
  return cat(outputs);
}

Tensor QuantizedSequentialImpl::forward_chunk(const Tensor& input) {
  Tensor x = input.to(DType::f32);
  if (x.dim() == 4) x = x.permute({0, 2, 3, 1});
  float scale = qparam(input_qparams_, 0), zero = qparam(input_qparams_, 1);
  Tensor codes = kernels::int8::quantize_u8(x.contiguous(), scale, zero);
  for (const auto& step_ptr : steps_) {
    Step& step = *step_ptr;
    switch (step.kind) {
      case Step::Kind::max_pool:
        codes = kernels::int8::max_pool(codes, step.kernel, step.stride, step.pad);
        break;
      case Step::Kind::flatten:
        codes = codes.reshape({codes.size(0), -1});
        break;
      case Step::Kind::conv:
      case Step::Kind::linear: {
        build(step, scale, zero);
        if (step.kind == Step::Kind::conv) codes = (*step.conv)(codes);
        else codes = (*step.linear)(codes);
        if (step.last) {
          if (step.relu) codes = codes.relu();  // a model ending in ReLU: float outputs are not saturated
          return codes.dim() == 4 ? codes.permute({0, 3, 1, 2}).contiguous() : codes;
        }
        scale = qparam(step.tensors->output_qparams, 0);
        zero = qparam(step.tensors->output_qparams, 1);
        break;
      }
    }
  }
  return codes;  // not reached: the last step computes
}

std::shared_ptr<QuantizedSequentialImpl> quantize_model(nn::Module& model, const Dims& example_shape,
                                                        const std::vector<Tensor>& calibration, const ObserverOptions& options) {
  auto quantized = std::make_shared<QuantizedSequentialImpl>(model, example_shape);
  quantized->calibrate(model, calibration, options);
  return quantized;
}

}  // namespace cajal::compress
