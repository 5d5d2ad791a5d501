#pragma once
// Convolution layers: Conv1d, Conv2d, ConvTranspose2d, as torch.nn (zero padding only;
// PyTorch's padding_mode "reflect", "replicate" and "circular" are not offered).
//   nn::Conv2d(1, 32, 3, {.padding = 1})
//   nn::Conv2d(64, 64, 3, {.stride = 2, .padding = 1, .bias = false})
// Weights are initialized as torch.nn's _ConvNd: kaiming_uniform_(a = sqrt(5)), i.e.
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = weight.size(1) * kernel area, and the
// bias from the same range. The holders are written out (not CAJAL_MODULE) so that a
// braced kernel size works: nn::Conv2d(3, 8, {3, 5}).
#include "cajal/core/generator.h"
#include "cajal/nn/module.h"
#include "cajal/ops/conv.h"

namespace cajal::nn {

struct Conv1dOptions {
  ExpandingArray<1> stride = 1;
  ConvPadding<1> padding = 0;
  ExpandingArray<1> dilation = 1;
  int64_t groups = 1;
  bool bias = true;
};

struct Conv2dOptions {
  ExpandingArray<2> stride = 1;
  ConvPadding<2> padding = 0;
  ExpandingArray<2> dilation = 1;
  int64_t groups = 1;
  bool bias = true;
};

struct ConvTranspose2dOptions {
  ExpandingArray<2> stride = 1;
  ExpandingArray<2> padding = 0;
  ExpandingArray<2> output_padding = 0;
  int64_t groups = 1;
  bool bias = true;
  ExpandingArray<2> dilation = 1;
};

// [N, in_channels, L] -> [N, out_channels, L_out]; weight [out, in / groups, k], bias [out].
class Conv1dImpl : public Module {
 public:
  using Options = Conv1dOptions;
  Conv1dImpl(int64_t in_channels, int64_t out_channels, ExpandingArray<1> kernel_size, Conv1dOptions options = {});
  std::string name() const override { return "Conv1d"; }
  std::string extra_repr() const override;
  Tensor forward(const Tensor& input) override;
  void reset_parameters(Generator* gen = nullptr);

  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }  // undefined without bias
  const Conv1dOptions& options() const { return options_; }

 private:
  Conv1dOptions options_;
  Tensor weight_, bias_;
};
class Conv1d : public ModuleHolder<Conv1dImpl> {
 public:
  using ModuleHolder<Conv1dImpl>::ModuleHolder;
  Conv1d(int64_t in_channels, int64_t out_channels, ExpandingArray<1> kernel_size, Conv1dOptions options = {})
      : ModuleHolder(std::make_shared<Conv1dImpl>(in_channels, out_channels, kernel_size, std::move(options))) {}
};

// [N, in_channels, H, W] -> [N, out_channels, H_out, W_out]; weight [out, in / groups, kH, kW].
class Conv2dImpl : public Module {
 public:
  using Options = Conv2dOptions;
  Conv2dImpl(int64_t in_channels, int64_t out_channels, ExpandingArray<2> kernel_size, Conv2dOptions options = {});
  std::string name() const override { return "Conv2d"; }
  std::string extra_repr() const override;
  Tensor forward(const Tensor& input) override;
  void reset_parameters(Generator* gen = nullptr);

  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }
  const Conv2dOptions& options() const { return options_; }

 private:
  Conv2dOptions options_;
  Tensor weight_, bias_;
};
class Conv2d : public ModuleHolder<Conv2dImpl> {
 public:
  using ModuleHolder<Conv2dImpl>::ModuleHolder;
  Conv2d(int64_t in_channels, int64_t out_channels, ExpandingArray<2> kernel_size, Conv2dOptions options = {})
      : ModuleHolder(std::make_shared<Conv2dImpl>(in_channels, out_channels, kernel_size, std::move(options))) {}
};

// The adjoint of Conv2d in its input (upsampling by the stride); weight [in, out / groups, kH, kW].
class ConvTranspose2dImpl : public Module {
 public:
  using Options = ConvTranspose2dOptions;
  ConvTranspose2dImpl(int64_t in_channels, int64_t out_channels, ExpandingArray<2> kernel_size,
                      ConvTranspose2dOptions options = {});
  std::string name() const override { return "ConvTranspose2d"; }
  std::string extra_repr() const override;
  Tensor forward(const Tensor& input) override;
  void reset_parameters(Generator* gen = nullptr);

  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }
  const ConvTranspose2dOptions& options() const { return options_; }

 private:
  ConvTranspose2dOptions options_;
  Tensor weight_, bias_;
};
class ConvTranspose2d : public ModuleHolder<ConvTranspose2dImpl> {
 public:
  using ModuleHolder<ConvTranspose2dImpl>::ModuleHolder;
  ConvTranspose2d(int64_t in_channels, int64_t out_channels, ExpandingArray<2> kernel_size, ConvTranspose2dOptions options = {})
      : ModuleHolder(std::make_shared<ConvTranspose2dImpl>(in_channels, out_channels, kernel_size, std::move(options))) {}
};

}  // namespace cajal::nn
