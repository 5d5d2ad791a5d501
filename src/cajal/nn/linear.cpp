// Linear, Bilinear, Flatten, Unflatten.
#include "cajal/nn/linear.h"

#include <cmath>

#include "cajal/nn/init.h"
#include "cajal/ops/bilinear.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/linalg.h"

namespace cajal::nn {

namespace {

void check_features(const char* layer, std::initializer_list<int64_t> sizes) {
  for (int64_t n : sizes)
    if (n < 0) fail<ValueError>(layer, ": feature counts must be non-negative, got ", n);
}

// 1 / sqrt(fan_in), or 0 for an empty fan: the bound of torch's default bias init.
double inverse_sqrt_bound(int64_t fan_in) { return fan_in > 0 ? 1 / std::sqrt(static_cast<double>(fan_in)) : 0; }

}  // namespace

// --- Linear ---

LinearImpl::LinearImpl(int64_t in_features, int64_t out_features, LinearOptions options)
    : in_features_(in_features), out_features_(out_features) {
  check_features("Linear", {in_features, out_features});
  register_parameter("weight", weight_, empty({out_features, in_features}));
  register_parameter("bias", bias_, options.bias ? empty({out_features}) : Tensor());
  reset_parameters();
}

void LinearImpl::reset_parameters(Generator* gen) {
  init::kaiming_uniform_(weight_, std::sqrt(5.0), init::FanMode::FanIn, "leaky_relu", gen);
  if (bias_.defined()) {
    double bound = inverse_sqrt_bound(in_features_);
    init::uniform_(bias_, -bound, bound, gen);
  }
}

std::string LinearImpl::extra_repr() const {
  return "in_features=" + std::to_string(in_features_) + ", out_features=" + std::to_string(out_features_) +
         ", bias=" + repr_bool(bias_.defined());
}

Tensor LinearImpl::forward(const Tensor& input) { return linear(input, weight_, bias_); }

// --- Bilinear ---

BilinearImpl::BilinearImpl(int64_t in1_features, int64_t in2_features, int64_t out_features, BilinearOptions options)
    : in1_features_(in1_features), in2_features_(in2_features), out_features_(out_features) {
  check_features("Bilinear", {in1_features, in2_features, out_features});
  register_parameter("weight", weight_, empty({out_features, in1_features, in2_features}));
  register_parameter("bias", bias_, options.bias ? empty({out_features}) : Tensor());
  reset_parameters();
}

void BilinearImpl::reset_parameters(Generator* gen) {
  double bound = inverse_sqrt_bound(in1_features_);
  init::uniform_(weight_, -bound, bound, gen);
  if (bias_.defined()) init::uniform_(bias_, -bound, bound, gen);
}

std::string BilinearImpl::extra_repr() const {
  return "in1_features=" + std::to_string(in1_features_) + ", in2_features=" + std::to_string(in2_features_) +
         ", out_features=" + std::to_string(out_features_) + ", bias=" + repr_bool(bias_.defined());
}

Tensor BilinearImpl::forward(const Tensor& input1, const Tensor& input2) {
  return bilinear(input1, input2, weight_, bias_);
}

// --- Flatten, Unflatten ---

std::string FlattenImpl::extra_repr() const {
  return "start_dim=" + std::to_string(start_dim_) + ", end_dim=" + std::to_string(end_dim_);
}

std::string UnflattenImpl::extra_repr() const {
  return "dim=" + std::to_string(dim_) + ", unflattened_size=" + repr_tuple(sizes_);
}

}  // namespace cajal::nn
