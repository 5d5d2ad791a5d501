#pragma once
// Activation layers, as torch.nn's: each applies one activation op elementwise (Softmax
// and LogSoftmax along a dim). Only PReLU has a parameter.
#include "cajal/nn/module.h"
#include "cajal/ops/elementwise.h"

namespace cajal::nn {

// A layer without parameters or settings that applies one function: the base of ReLU,
// SELU, SiLU, Mish, Sigmoid and Tanh.
class StatelessActivation : public Module {
 public:
  using Function = Tensor (*)(const Tensor&);
  StatelessActivation(const char* name, Function fn) : name_(name), fn_(fn) {}
  std::string name() const override { return name_; }
  Tensor forward(const Tensor& input) override { return fn_(input); }

 private:
  const char* name_;
  Function fn_;
};

struct ReLUImpl : StatelessActivation {
  ReLUImpl();
};
CAJAL_MODULE(ReLU);
struct SELUImpl : StatelessActivation {
  SELUImpl();
};
CAJAL_MODULE(SELU);
struct SiLUImpl : StatelessActivation {
  SiLUImpl();
};
CAJAL_MODULE(SiLU);
struct MishImpl : StatelessActivation {
  MishImpl();
};
CAJAL_MODULE(Mish);
struct SigmoidImpl : StatelessActivation {
  SigmoidImpl();
};
CAJAL_MODULE(Sigmoid);
struct TanhImpl : StatelessActivation {
  TanhImpl();
};
CAJAL_MODULE(Tanh);

class LeakyReLUImpl : public Module {
 public:
  explicit LeakyReLUImpl(double negative_slope = 0.01) : negative_slope_(negative_slope) {}
  std::string name() const override { return "LeakyReLU"; }
  std::string extra_repr() const override { return "negative_slope=" + repr_float(negative_slope_); }
  Tensor forward(const Tensor& input) override { return leaky_relu(input, negative_slope_); }
  double negative_slope() const { return negative_slope_; }

 private:
  double negative_slope_;
};
CAJAL_MODULE(LeakyReLU);

// LeakyReLU with learned slopes: one shared (num_parameters = 1) or one per channel
// (dim 1 of the input), each starting at init.
class PReLUImpl : public Module {
 public:
  explicit PReLUImpl(int64_t num_parameters = 1, double init = 0.25);
  std::string name() const override { return "PReLU"; }
  std::string extra_repr() const override { return "num_parameters=" + std::to_string(weight_.numel()); }
  Tensor forward(const Tensor& input) override;
  const Tensor& weight() const { return weight_; }

 private:
  Tensor weight_;
};
CAJAL_MODULE(PReLU);

class ELUImpl : public Module {
 public:
  explicit ELUImpl(double alpha = 1.0) : alpha_(alpha) {}
  std::string name() const override { return "ELU"; }
  std::string extra_repr() const override { return "alpha=" + repr_float(alpha_); }
  Tensor forward(const Tensor& input) override { return elu(input, alpha_); }
  double alpha() const { return alpha_; }

 private:
  double alpha_;
};
CAJAL_MODULE(ELU);

class GELUImpl : public Module {
 public:
  explicit GELUImpl(GeluApprox approximate = GeluApprox::None) : approximate_(approximate) {}
  std::string name() const override { return "GELU"; }
  std::string extra_repr() const override;
  Tensor forward(const Tensor& input) override { return gelu(input, approximate_); }
  GeluApprox approximate() const { return approximate_; }

 private:
  GeluApprox approximate_;
};
CAJAL_MODULE(GELU);

// softmax (or log_softmax) along dim.
class SoftmaxImpl : public Module {
 public:
  explicit SoftmaxImpl(int64_t dim) : dim_(dim) {}
  std::string name() const override { return "Softmax"; }
  std::string extra_repr() const override { return "dim=" + std::to_string(dim_); }
  Tensor forward(const Tensor& input) override;
  int64_t dim() const { return dim_; }

 private:
  int64_t dim_;
};
CAJAL_MODULE(Softmax);

class LogSoftmaxImpl : public Module {
 public:
  explicit LogSoftmaxImpl(int64_t dim) : dim_(dim) {}
  std::string name() const override { return "LogSoftmax"; }
  std::string extra_repr() const override { return "dim=" + std::to_string(dim_); }
  Tensor forward(const Tensor& input) override;
  int64_t dim() const { return dim_; }

 private:
  int64_t dim_;
};
CAJAL_MODULE(LogSoftmax);

class HardtanhImpl : public Module {
 public:
  HardtanhImpl(double min_val = -1.0, double max_val = 1.0);
  std::string name() const override { return "Hardtanh"; }
  std::string extra_repr() const override;
  Tensor forward(const Tensor& input) override;
  double min_val() const { return min_val_; }
  double max_val() const { return max_val_; }

 private:
  double min_val_, max_val_;
};
CAJAL_MODULE(Hardtanh);

// log(1 + exp(beta x)) / beta, linear where beta x > threshold.
class SoftplusImpl : public Module {
 public:
  SoftplusImpl(double beta = 1.0, double threshold = 20.0) : beta_(beta), threshold_(threshold) {}
  std::string name() const override { return "Softplus"; }
  std::string extra_repr() const override;
  Tensor forward(const Tensor& input) override { return softplus(input, beta_, threshold_); }

 private:
  double beta_, threshold_;
};
CAJAL_MODULE(Softplus);

}  // namespace cajal::nn
