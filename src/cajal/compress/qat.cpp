#include "cajal/compress/qat.h"

#include "cajal/autograd/grad_mode.h"
#include "cajal/nn/functional_call.h"
#include "cajal/ops/creation.h"

namespace cajal::compress {

namespace {
constexpr float kAveragingConstant = 0.01f;  // torch's MovingAverageMinMaxObserver default
}  // namespace

QatSequentialImpl::QatSequentialImpl(nn::ModulePtr model, Dims example_shape)
    : model_(std::move(model)), example_shape_(std::move(example_shape)), steps_(chain_steps(*model_)) {
  register_module("model", model_);
  const auto points = static_cast<int64_t>(steps_.size()) + 1;
  register_buffer("ranges", ranges_, zeros({points, 2}));
  register_buffer("seen", seen_, zeros({points}));
}

Tensor QatSequentialImpl::observe(const Tensor& x, size_t point) {
  float* range = ranges_.data_ptr<float>() + 2 * point;
  float* seen = seen_.data_ptr<float>() + point;
  if (is_training()) {
    const float lo = x.detach().min().item<float>(), hi = x.detach().max().item<float>();
    if (*seen == 0) {
      range[0] = lo;
      range[1] = hi;
      *seen = 1;
    } else {
      range[0] += kAveragingConstant * (lo - range[0]);
      range[1] += kAveragingConstant * (hi - range[1]);
    }
  }
  if (*seen == 0) return x;  // evaluated before any training batch: no range to round to yet
  return fake_quantize(x, affine_params(range[0], range[1]));
}

Tensor QatSequentialImpl::forward(const Tensor& input) {
  const auto children = model_->named_children();
  Tensor x = observe(input, 0);
  size_t next_child = 0;
  for (size_t k = 0; k < steps_.size(); ++k) {
    const ChainStep& step = steps_[k];
    // Children before the step that belong to none (dropout, identity) run as they are.
    for (; next_child < step.members[0]; ++next_child) x = children[next_child].second->forward(x);
    if (step.computes()) {
      const nn::ModulePtr& layer = children[step.members[0]].second;
      const Tensor weight = layer->named_parameters(false).at(0).second;  // a copy: the list is a temporary
      x = nn::functional_call(layer, {{"weight", fake_quantize(weight, weight_params(weight.detach()))}}, x);
      for (size_t m = 1; m < step.members.size(); ++m) x = children[step.members[m]].second->forward(x);
      if (k + 1 < steps_.size()) x = observe(x, k + 1);
    } else {
      x = children[step.members[0]].second->forward(x);
    }
    next_child = step.members.back() + 1;
  }
  for (; next_child < children.size(); ++next_child) x = children[next_child].second->forward(x);
  return x;
}

std::shared_ptr<QuantizedSequentialImpl> QatSequentialImpl::convert() const {
  const float* range = ranges_.data_ptr<float>();
  const float* seen = seen_.data_ptr<float>();
  if (seen[0] == 0) fail<ValueError>("quantization-aware training: convert() before any training batch (no ranges learned)");
  auto quantized = std::make_shared<QuantizedSequentialImpl>(*model_, example_shape_);
  std::vector<QuantParams> outputs;
  for (size_t k = 0; k < steps_.size(); ++k) {
    const size_t point = k + 1;
    outputs.push_back(steps_[k].computes() && k + 1 < steps_.size() ? affine_params(range[2 * point], range[2 * point + 1])
                                                                     : QuantParams{});
  }
  quantized->assign(*model_, affine_params(range[0], range[1]), outputs);
  return quantized;
}

}  // namespace cajal::compress
