#pragma once
// A small residual network for 28x28 and 32x32 images (He et al. 2016, the CIFAR-10 family:
// ResNet-20/32/44/56), named as torchvision names its ResNets so weights move to PyTorch:
//
//   conv1 (3x3, in -> widths[0], no bias), bn1, ReLU
//   layer1 .. layerS   S stages of `blocks` basic blocks; every stage after the first starts
//                      with stride 2 and a projection shortcut (1x1 conv + BN, "downsample")
//   global average pool, fc (widths.back() -> num_classes)
//
// depth = 2 + 2 * S * blocks: with 3 stages, depth 20 has 3 blocks per stage, 56 has 9.
#include <cstdint>
#include <vector>

#include "cajal/models/presets.h"
#include "cajal/nn/conv.h"
#include "cajal/nn/linear.h"
#include "cajal/nn/norm.h"

namespace cajal::models {

// conv3x3 + BN + ReLU + conv3x3 + BN, plus the input (projected when its shape changes), + ReLU.
class BasicBlockImpl : public nn::Module {
 public:
  BasicBlockImpl(int64_t in_channels, int64_t out_channels, int64_t stride);
  std::string name() const override { return "BasicBlock"; }
  Tensor forward(const Tensor& x) override;

 private:
  std::shared_ptr<nn::Conv2dImpl> conv1_, conv2_;
  std::shared_ptr<nn::BatchNorm2dImpl> bn1_, bn2_;
  std::shared_ptr<nn::SequentialImpl> downsample_;  // null when the shortcut is the identity
};
CAJAL_MODULE(BasicBlock);

struct ResNetOptions {
  int64_t depth = 20;
  std::vector<int64_t> widths = {16, 32, 64};  // channels of each stage
};

class ResNetImpl : public nn::Module {
 public:
  explicit ResNetImpl(const ImageInput& input, const ResNetOptions& options = {});
  std::string name() const override { return "ResNet"; }
  Tensor forward(const Tensor& x) override;

 protected:
  // The head "fc" can be replaced by any module (transfer learning: a new class count).
  void rebind_child(const std::string& name, const nn::ModulePtr& module) override;

 private:
  std::shared_ptr<nn::Conv2dImpl> conv1_;
  std::shared_ptr<nn::BatchNorm2dImpl> bn1_;
  std::vector<std::shared_ptr<nn::SequentialImpl>> stages_;
  nn::ModulePtr fc_;
};
CAJAL_MODULE(ResNet);

}  // namespace cajal::models
