// Activation layers.
#include "cajal/nn/activation.h"

#include <cmath>

#include "cajal/ops/activation.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/reduce.h"

namespace cajal::nn {

ReLUImpl::ReLUImpl() : StatelessActivation("ReLU", relu) {}
SELUImpl::SELUImpl() : StatelessActivation("SELU", selu) {}
SiLUImpl::SiLUImpl() : StatelessActivation("SiLU", silu) {}
MishImpl::MishImpl() : StatelessActivation("Mish", mish) {}
SigmoidImpl::SigmoidImpl() : StatelessActivation("Sigmoid", sigmoid) {}
TanhImpl::TanhImpl() : StatelessActivation("Tanh", tanh) {}

PReLUImpl::PReLUImpl(int64_t num_parameters, double init) {
  if (num_parameters < 1) fail<ValueError>("PReLU: num_parameters must be at least 1, got ", num_parameters);
  register_parameter("weight", weight_, full({num_parameters}, init));
}

Tensor PReLUImpl::forward(const Tensor& input) { return prelu(input, weight_); }

std::string GELUImpl::extra_repr() const {
  return approximate_ == GeluApprox::Tanh ? "approximate='tanh'" : "approximate='none'";
}

Tensor SoftmaxImpl::forward(const Tensor& input) { return softmax(input, dim_); }
Tensor LogSoftmaxImpl::forward(const Tensor& input) { return log_softmax(input, dim_); }

HardtanhImpl::HardtanhImpl(double min_val, double max_val) : min_val_(min_val), max_val_(max_val) {
  if (!(max_val > min_val)) fail<ValueError>("Hardtanh: max_val ", max_val, " must be greater than min_val ", min_val);
}

std::string HardtanhImpl::extra_repr() const {
  return "min_val=" + repr_float(min_val_) + ", max_val=" + repr_float(max_val_);
}

Tensor HardtanhImpl::forward(const Tensor& input) { return hardtanh(input, min_val_, max_val_); }

std::string SoftplusImpl::extra_repr() const {
  // torch's defaults are the Python ints 1 and 20, printed without ".0": whole values
  // print that way here.
  auto number = [](double v) {
    return v == std::floor(v) && std::fabs(v) < 1e15 ? std::to_string(static_cast<int64_t>(v)) : repr_float(v);
  };
  return "beta=" + number(beta_) + ", threshold=" + number(threshold_);
}

}  // namespace cajal::nn
