#pragma once
// Normalization layers, as torch.nn's: BatchNorm1d, BatchNorm2d, LayerNorm, GroupNorm,
// InstanceNorm2d. Same defaults, parameter and buffer names (weight, bias, running_mean,
// running_var, num_batches_tracked) and printing, so weights move between the two.
//   nn::BatchNorm2d bn(32);                        // BatchNorm2d(32, eps=1e-05, momentum=0.1, ...)
//   nn::BatchNorm2d(32, {.momentum = std::nullopt})  // running statistics average all batches
//   nn::LayerNorm(512), nn::GroupNorm(8, 64), nn::InstanceNorm2d(3, {.affine = true})
#include <optional>
#include <string>

#include "cajal/nn/module.h"

namespace cajal::nn {

struct BatchNormOptions {
  double eps = 1e-5;
  std::optional<double> momentum = 0.1;  // weight of each batch in the running statistics; nullopt: equal weights
  bool affine = true;                    // learnable per-channel weight (ones) and bias (zeros)
  bool track_running_stats = true;       // keep running statistics and normalize with them in eval mode
};

struct InstanceNormOptions {
  double eps = 1e-5;
  double momentum = 0.1;
  bool affine = false;
  bool track_running_stats = false;
};

// What BatchNorm and InstanceNorm share (PyTorch's _NormBase): per-channel parameters,
// running statistics and the printed form.
class NormBase : public Module {
 public:
  // The layer's name is data here, so registering parameters in this constructor can name it.
  std::string name() const override { return layer_; }
  std::string extra_repr() const override;
  // running_mean 0, running_var 1, num_batches_tracked 0.
  void reset_running_stats();

  const int64_t num_features;
  const double eps;
  const std::optional<double> momentum;
  const bool affine, track_running_stats;
  Tensor weight, bias;                                    // [num_features] when affine
  Tensor running_mean, running_var, num_batches_tracked;  // when track_running_stats

 protected:
  NormBase(const char* layer, int64_t num_features, double eps, std::optional<double> momentum, bool affine,
           bool track_running_stats);
  // Throws a ShapeError naming both counts unless x (rank >= 2) has num_features channels.
  void check_channels(const Tensor& x) const;

 private:
  const char* layer_;
};

// Batch normalization over the channels (dim 1): batch statistics while training (which
// also update the running statistics), running statistics in eval mode.
class BatchNormImpl : public NormBase {
 public:
  using Options = BatchNormOptions;
  Tensor forward(const Tensor& x) override;

 protected:
  BatchNormImpl(const char* layer, int64_t num_features, const Options& options);
  // Throws a ValueError unless x has a rank this layer takes.
  virtual void check_input_dim(const Tensor& x) const = 0;
};

// x: [N, C] or [N, C, L].
class BatchNorm1dImpl : public BatchNormImpl {
 public:
  explicit BatchNorm1dImpl(int64_t num_features, Options options = {})
      : BatchNormImpl("BatchNorm1d", num_features, options) {}

 protected:
  void check_input_dim(const Tensor& x) const override;
};
CAJAL_MODULE(BatchNorm1d);

// x: [N, C, H, W].
class BatchNorm2dImpl : public BatchNormImpl {
 public:
  explicit BatchNorm2dImpl(int64_t num_features, Options options = {})
      : BatchNormImpl("BatchNorm2d", num_features, options) {}

 protected:
  void check_input_dim(const Tensor& x) const override;
};
CAJAL_MODULE(BatchNorm2d);

// Each sample's channel normalized over H and W; x: [N, C, H, W] or [C, H, W].
class InstanceNorm2dImpl : public NormBase {
 public:
  using Options = InstanceNormOptions;
  explicit InstanceNorm2dImpl(int64_t num_features, Options options = {});
  Tensor forward(const Tensor& x) override;
};
CAJAL_MODULE(InstanceNorm2d);

struct LayerNormOptions {
  double eps = 1e-5;
  bool elementwise_affine = true;  // learnable weight and bias of normalized_shape
};

// Normalizes over the last dims, which must equal normalized_shape.
class LayerNormImpl : public Module {
 public:
  using Options = LayerNormOptions;
  explicit LayerNormImpl(Dims normalized_shape, Options options = {});
  explicit LayerNormImpl(int64_t normalized_size, Options options = {})
      : LayerNormImpl(Dims{normalized_size}, options) {}
  std::string name() const override { return "LayerNorm"; }
  std::string extra_repr() const override;
  Tensor forward(const Tensor& x) override;

  const Dims normalized_shape;
  const Options options;
  Tensor weight, bias;
};
CAJAL_MODULE(LayerNorm);

struct GroupNormOptions {
  double eps = 1e-5;
  bool affine = true;  // learnable per-channel weight and bias
};

// Splits the channels into num_groups groups and normalizes each sample's group.
class GroupNormImpl : public Module {
 public:
  using Options = GroupNormOptions;
  GroupNormImpl(int64_t num_groups, int64_t num_channels, Options options = {});
  std::string name() const override { return "GroupNorm"; }
  std::string extra_repr() const override;
  Tensor forward(const Tensor& x) override;

  const int64_t num_groups, num_channels;
  const Options options;
  Tensor weight, bias;
};
CAJAL_MODULE(GroupNorm);

}  // namespace cajal::nn
