#include "cajal/nn/norm.h"

#include "cajal/autograd/grad_mode.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/norm.h"

namespace cajal::nn {

namespace {

void require_positive(const char* layer, const char* what, int64_t value) {
  if (value <= 0) fail<ValueError>(layer, ": ", what, " must be positive, got ", value);
}

}  // namespace

// --- BatchNorm and InstanceNorm ---

NormBase::NormBase(const char* layer, int64_t num_features, double eps, std::optional<double> momentum, bool affine,
                   bool track_running_stats)
    : num_features(num_features),
      eps(eps),
      momentum(momentum),
      affine(affine),
      track_running_stats(track_running_stats),
      layer_(layer) {
  require_positive(layer, "num_features", num_features);
  if (affine) {
    register_parameter("weight", weight, ones({num_features}));
    register_parameter("bias", bias, zeros({num_features}));
  }
  if (track_running_stats) {
    register_buffer("running_mean", running_mean, zeros({num_features}));
    register_buffer("running_var", running_var, ones({num_features}));
    register_buffer("num_batches_tracked", num_batches_tracked, zeros({}, {.dtype = DType::i64}));
  }
}

void NormBase::reset_running_stats() {
  if (!track_running_stats) return;
  NoGradGuard no_grad;
  running_mean.zero_();
  running_var.fill_(1);
  num_batches_tracked.zero_();
}

void NormBase::check_channels(const Tensor& x) const {
  if (x.size(1) != num_features)
    fail<ShapeError>(name(), ": expected ", num_features, " channels, got an input of shape ", x.sizes(), " with ",
                     x.size(1));
}

std::string NormBase::extra_repr() const {
  return std::to_string(num_features) + ", eps=" + repr_float(eps) +
         ", momentum=" + (momentum ? repr_float(*momentum) : "None") + ", affine=" + repr_bool(affine) +
         ", track_running_stats=" + repr_bool(track_running_stats);
}

BatchNormImpl::BatchNormImpl(const char* layer, int64_t num_features, const Options& options)
    : NormBase(layer, num_features, options.eps, options.momentum, options.affine, options.track_running_stats) {}

Tensor BatchNormImpl::forward(const Tensor& x) {
  check_input_dim(x);
  check_channels(x);
  // Batch statistics while training, and in eval mode too when there are no running ones.
  bool use_batch_stats = is_training() || !track_running_stats;
  return batch_norm(x, running_mean, running_var, weight, bias, use_batch_stats, momentum, eps, num_batches_tracked);
}

void BatchNorm1dImpl::check_input_dim(const Tensor& x) const {
  if (x.dim() != 2 && x.dim() != 3)
    fail<ValueError>("BatchNorm1d: expected a 2D [N, C] or 3D [N, C, L] input, got shape ", x.sizes());
}

void BatchNorm2dImpl::check_input_dim(const Tensor& x) const {
  if (x.dim() != 4) fail<ValueError>("BatchNorm2d: expected a 4D [N, C, H, W] input, got shape ", x.sizes());
}

InstanceNorm2dImpl::InstanceNorm2dImpl(int64_t num_features, Options options)
    : NormBase("InstanceNorm2d", num_features, options.eps, options.momentum, options.affine,
               options.track_running_stats) {}

Tensor InstanceNorm2dImpl::forward(const Tensor& x) {
  if (x.dim() != 3 && x.dim() != 4)
    fail<ValueError>("InstanceNorm2d: expected a 3D [C, H, W] or 4D [N, C, H, W] input, got shape ", x.sizes());
  if (x.dim() == 3) return forward(x.unsqueeze(0)).squeeze(0);  // one unbatched sample
  check_channels(x);
  bool use_input_stats = is_training() || !track_running_stats;
  return instance_norm(x, running_mean, running_var, weight, bias, use_input_stats, *momentum, eps);
}

// --- LayerNorm ---

LayerNormImpl::LayerNormImpl(Dims normalized_shape, Options options)
    : normalized_shape(std::move(normalized_shape)), options(options) {
  if (this->normalized_shape.empty()) fail<ValueError>("LayerNorm: normalized_shape must not be empty");
  for (int64_t size : this->normalized_shape) require_positive("LayerNorm", "every normalized size", size);
  if (options.elementwise_affine) {
    register_parameter("weight", weight, ones(this->normalized_shape));
    register_parameter("bias", bias, zeros(this->normalized_shape));
  }
}

std::string LayerNormImpl::extra_repr() const {
  return repr_tuple(normalized_shape) + ", eps=" + repr_float(options.eps) +
         ", elementwise_affine=" + repr_bool(options.elementwise_affine);
}

Tensor LayerNormImpl::forward(const Tensor& x) { return layer_norm(x, normalized_shape, weight, bias, options.eps); }

// --- GroupNorm ---

GroupNormImpl::GroupNormImpl(int64_t num_groups, int64_t num_channels, Options options)
    : num_groups(num_groups), num_channels(num_channels), options(options) {
  require_positive("GroupNorm", "num_groups", num_groups);
  require_positive("GroupNorm", "num_channels", num_channels);
  if (num_channels % num_groups != 0)
    fail<ValueError>("GroupNorm: num_channels (", num_channels, ") must be divisible by num_groups (", num_groups, ")");
  if (options.affine) {
    register_parameter("weight", weight, ones({num_channels}));
    register_parameter("bias", bias, zeros({num_channels}));
  }
}

std::string GroupNormImpl::extra_repr() const {
  return std::to_string(num_groups) + ", " + std::to_string(num_channels) + ", eps=" + repr_float(options.eps) +
         ", affine=" + repr_bool(options.affine);
}

Tensor GroupNormImpl::forward(const Tensor& x) {
  if (x.dim() < 2 || x.size(1) != num_channels)
    fail<ShapeError>("GroupNorm: expected an input [N, ", num_channels, ", ...], got shape ", x.sizes());
  return group_norm(x, num_groups, weight, bias, options.eps);
}

}  // namespace cajal::nn
