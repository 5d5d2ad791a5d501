#pragma once
// Pooling and resampling layers, as torch.nn: MaxPool1d/2d, AvgPool1d/2d,
// AdaptiveAvgPool2d and Upsample. They hold no parameters; forward calls ops/pool.h.
// Their holders are written out (not CAJAL_MODULE) so that braced sizes work: {3, 2}.
//   nn::MaxPool2d(2)
//   nn::AvgPool2d(3, {.stride = 2, .padding = 1})
//   nn::Upsample({.scale_factor = {2}, .mode = InterpolateMode::Bilinear})
#include "cajal/nn/module.h"
#include "cajal/ops/pool.h"

namespace cajal::nn {

using MaxPool1dOptions = MaxPool1dArgs;
using MaxPool2dOptions = MaxPool2dArgs;
using AvgPool1dOptions = AvgPool1dArgs;
using AvgPool2dOptions = AvgPool2dArgs;
using UpsampleOptions = InterpolateArgs;

class MaxPool1dImpl : public Module {
 public:
  using Options = MaxPool1dOptions;
  explicit MaxPool1dImpl(ExpandingArray<1> kernel_size, MaxPool1dOptions options = {})
      : kernel_size_(kernel_size), options_(std::move(options)) {}
  std::string name() const override { return "MaxPool1d"; }
  std::string extra_repr() const override;
  Tensor forward(const Tensor& input) override { return max_pool1d(input, kernel_size_, options_); }

 private:
  ExpandingArray<1> kernel_size_;
  MaxPool1dOptions options_;
};
class MaxPool1d : public ModuleHolder<MaxPool1dImpl> {
 public:
  using ModuleHolder<MaxPool1dImpl>::ModuleHolder;
  MaxPool1d(ExpandingArray<1> kernel_size, MaxPool1dOptions options = {})  // NOLINT
      : ModuleHolder(std::make_shared<MaxPool1dImpl>(kernel_size, std::move(options))) {}
};

class MaxPool2dImpl : public Module {
 public:
  using Options = MaxPool2dOptions;
  explicit MaxPool2dImpl(ExpandingArray<2> kernel_size, MaxPool2dOptions options = {})
      : kernel_size_(kernel_size), options_(std::move(options)) {}
  std::string name() const override { return "MaxPool2d"; }
  std::string extra_repr() const override;
  Tensor forward(const Tensor& input) override { return max_pool2d(input, kernel_size_, options_); }
  const ExpandingArray<2>& kernel_size() const { return kernel_size_; }
  const MaxPool2dOptions& options() const { return options_; }

 private:
  ExpandingArray<2> kernel_size_;
  MaxPool2dOptions options_;
};
class MaxPool2d : public ModuleHolder<MaxPool2dImpl> {
 public:
  using ModuleHolder<MaxPool2dImpl>::ModuleHolder;
  MaxPool2d(ExpandingArray<2> kernel_size, MaxPool2dOptions options = {})  // NOLINT
      : ModuleHolder(std::make_shared<MaxPool2dImpl>(kernel_size, std::move(options))) {}
};

class AvgPool1dImpl : public Module {
 public:
  using Options = AvgPool1dOptions;
  explicit AvgPool1dImpl(ExpandingArray<1> kernel_size, AvgPool1dOptions options = {})
      : kernel_size_(kernel_size), options_(std::move(options)) {}
  std::string name() const override { return "AvgPool1d"; }
  std::string extra_repr() const override;
  Tensor forward(const Tensor& input) override { return avg_pool1d(input, kernel_size_, options_); }

 private:
  ExpandingArray<1> kernel_size_;
  AvgPool1dOptions options_;
};
class AvgPool1d : public ModuleHolder<AvgPool1dImpl> {
 public:
  using ModuleHolder<AvgPool1dImpl>::ModuleHolder;
  AvgPool1d(ExpandingArray<1> kernel_size, AvgPool1dOptions options = {})  // NOLINT
      : ModuleHolder(std::make_shared<AvgPool1dImpl>(kernel_size, std::move(options))) {}
};

class AvgPool2dImpl : public Module {
 public:
  using Options = AvgPool2dOptions;
  explicit AvgPool2dImpl(ExpandingArray<2> kernel_size, AvgPool2dOptions options = {})
      : kernel_size_(kernel_size), options_(std::move(options)) {}
  std::string name() const override { return "AvgPool2d"; }
  std::string extra_repr() const override;
  Tensor forward(const Tensor& input) override { return avg_pool2d(input, kernel_size_, options_); }
  const ExpandingArray<2>& kernel_size() const { return kernel_size_; }
  const AvgPool2dOptions& options() const { return options_; }

 private:
  ExpandingArray<2> kernel_size_;
  AvgPool2dOptions options_;
};
class AvgPool2d : public ModuleHolder<AvgPool2dImpl> {
 public:
  using ModuleHolder<AvgPool2dImpl>::ModuleHolder;
  AvgPool2d(ExpandingArray<2> kernel_size, AvgPool2dOptions options = {})  // NOLINT
      : ModuleHolder(std::make_shared<AvgPool2dImpl>(kernel_size, std::move(options))) {}
};

class AdaptiveAvgPool2dImpl : public Module {
 public:
  explicit AdaptiveAvgPool2dImpl(ExpandingArray<2> output_size) : output_size_(output_size) {}
  std::string name() const override { return "AdaptiveAvgPool2d"; }
  std::string extra_repr() const override;
  Tensor forward(const Tensor& input) override { return adaptive_avg_pool2d(input, output_size_); }
  const ExpandingArray<2>& output_size() const { return output_size_; }

 private:
  ExpandingArray<2> output_size_;
};
class AdaptiveAvgPool2d : public ModuleHolder<AdaptiveAvgPool2dImpl> {
 public:
  using ModuleHolder<AdaptiveAvgPool2dImpl>::ModuleHolder;
  AdaptiveAvgPool2d(ExpandingArray<2> output_size)  // NOLINT
      : ModuleHolder(std::make_shared<AdaptiveAvgPool2dImpl>(output_size)) {}
};

class UpsampleImpl : public Module {
 public:
  using Options = UpsampleOptions;
  explicit UpsampleImpl(UpsampleOptions options = {}) : options_(std::move(options)) {}
  std::string name() const override { return "Upsample"; }
  std::string extra_repr() const override;
  Tensor forward(const Tensor& input) override { return interpolate(input, options_); }

 private:
  UpsampleOptions options_;
};
CAJAL_MODULE(Upsample);

}  // namespace cajal::nn
