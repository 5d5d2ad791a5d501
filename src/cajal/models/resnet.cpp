#include "cajal/models/resnet.h"

#include "cajal/core/error.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/pool.h"

namespace cajal::models {

namespace {

nn::Conv2d conv3x3(int64_t in, int64_t out, int64_t stride) {
  return nn::Conv2d(in, out, 3, {.stride = stride, .padding = 1, .bias = false});
}

// Blocks per stage for `depth`, or a ValueError listing the depths that work.
int64_t blocks_per_stage(const ResNetOptions& options) {
  int64_t stages = static_cast<int64_t>(options.widths.size());
  if (stages < 1) fail<ValueError>("resnet: widths must list at least one stage");
  for (int64_t width : options.widths) {
    if (width < 1) fail<ValueError>("resnet: widths must be at least 1, got ", width);
  }
  int64_t per_block = 2 * stages;
  if (options.depth < 2 + per_block || (options.depth - 2) % per_block != 0) {
    fail<ValueError>("resnet: depth must be 2 + ", per_block, " * blocks for ", stages, " stages (", 2 + per_block, ", ",
                     2 + 2 * per_block, ", ", 2 + 3 * per_block, ", ...), got ", options.depth);
  }
  return (options.depth - 2) / per_block;
}

}  // namespace

// Registered in torchvision's order, so state_dicts list the same names in the same order.
BasicBlockImpl::BasicBlockImpl(int64_t in_channels, int64_t out_channels, int64_t stride) {
  conv1_ = register_module("conv1", conv3x3(in_channels, out_channels, stride).ptr());
  bn1_ = register_module("bn1", nn::BatchNorm2d(out_channels).ptr());
  conv2_ = register_module("conv2", conv3x3(out_channels, out_channels, 1).ptr());
  bn2_ = register_module("bn2", nn::BatchNorm2d(out_channels).ptr());
  if (stride != 1 || in_channels != out_channels) {
    downsample_ = register_module(
        "downsample", nn::Sequential(nn::Conv2d(in_channels, out_channels, 1, {.stride = stride, .bias = false}),
                                     nn::BatchNorm2d(out_channels))
                          .ptr());
  }
}

Tensor BasicBlockImpl::forward(const Tensor& x) {
  Tensor out = relu(bn1_->call(conv1_->call(x)));
  out = bn2_->call(conv2_->call(out));
  Tensor shortcut = downsample_ ? downsample_->call(x) : x;
  return relu(out + shortcut);
}

ResNetImpl::ResNetImpl(const ImageInput& input, const ResNetOptions& options) {
  if (input.in_channels < 1) fail<ValueError>("resnet: in_channels must be at least 1, got ", input.in_channels);
  if (input.num_classes < 1) fail<ValueError>("resnet: num_classes must be at least 1, got ", input.num_classes);
  int64_t blocks = blocks_per_stage(options);
  conv1_ = register_module("conv1", conv3x3(input.in_channels, options.widths[0], 1).ptr());
  bn1_ = register_module("bn1", nn::BatchNorm2d(options.widths[0]).ptr());
  int64_t channels = options.widths[0];
  for (size_t s = 0; s < options.widths.size(); ++s) {
    nn::Sequential stage;
    for (int64_t b = 0; b < blocks; ++b) {
      int64_t stride = (s > 0 && b == 0) ? 2 : 1;
      stage->push_back(BasicBlock(channels, options.widths[s], stride));
      channels = options.widths[s];
    }
    stages_.push_back(register_module("layer" + std::to_string(s + 1), stage.ptr()));
  }
  fc_ = register_module("fc", nn::Linear(channels, input.num_classes).ptr());
}

void ResNetImpl::rebind_child(const std::string& name, const nn::ModulePtr& module) {
  if (name != "fc") nn::Module::rebind_child(name, module);
  fc_ = module;
}

Tensor ResNetImpl::forward(const Tensor& x) {
  Tensor out = relu(bn1_->call(conv1_->call(x)));
  for (const auto& stage : stages_) out = stage->call(out);
  return fc_->call(global_avg_pool2d(out).flatten(1));
}

}  // namespace cajal::models
