#pragma once
// Linear layers and reshaping layers: Linear, Bilinear, Identity, Flatten, Unflatten.
#include "cajal/core/generator.h"
#include "cajal/nn/module.h"

namespace cajal::nn {

struct LinearOptions {
  bool bias = true;
};

// y = x weight^T + bias, with weight [out_features, in_features] and bias [out_features].
// Initialized as torch.nn.Linear: weight from kaiming_uniform_(a = sqrt(5)), i.e.
// U(-1/sqrt(in), 1/sqrt(in)), and bias from the same range.
class LinearImpl : public Module {
 public:
  using Options = LinearOptions;
  LinearImpl(int64_t in_features, int64_t out_features, LinearOptions options = {});
  std::string name() const override { return "Linear"; }
  std::string extra_repr() const override;
  Tensor forward(const Tensor& input) override;
  // Draws new initial values (from gen, or the default generator).
  void reset_parameters(Generator* gen = nullptr);

  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }  // undefined without bias
  int64_t in_features() const { return in_features_; }
  int64_t out_features() const { return out_features_; }

 private:
  int64_t in_features_, out_features_;
  Tensor weight_, bias_;
};
CAJAL_MODULE(Linear);

struct BilinearOptions {
  bool bias = true;
};

// y[o] = x1^T weight[o] x2 + bias[o], weight [out, in1, in2]; weight and bias initialized
// from U(-1/sqrt(in1), 1/sqrt(in1)) as torch.nn.Bilinear. Called with two inputs.
class BilinearImpl : public Module {
 public:
  using Options = BilinearOptions;
  BilinearImpl(int64_t in1_features, int64_t in2_features, int64_t out_features, BilinearOptions options = {});
  std::string name() const override { return "Bilinear"; }
  std::string extra_repr() const override;
  using Module::forward;
  Tensor forward(const Tensor& input1, const Tensor& input2);
  void reset_parameters(Generator* gen = nullptr);

  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }

 private:
  int64_t in1_features_, in2_features_, out_features_;
  Tensor weight_, bias_;
};
CAJAL_MODULE(Bilinear);

// Returns its input unchanged (a placeholder, e.g. for a removed head).
class IdentityImpl : public Module {
 public:
  std::string name() const override { return "Identity"; }
  Tensor forward(const Tensor& input) override { return input; }
};
CAJAL_MODULE(Identity);

// Flattens dims start_dim..end_dim into one (by default all but the batch dim).
class FlattenImpl : public Module {
 public:
  explicit FlattenImpl(int64_t start_dim = 1, int64_t end_dim = -1) : start_dim_(start_dim), end_dim_(end_dim) {}
  std::string name() const override { return "Flatten"; }
  std::string extra_repr() const override;
  Tensor forward(const Tensor& input) override { return input.flatten(start_dim_, end_dim_); }

 private:
  int64_t start_dim_, end_dim_;
};
CAJAL_MODULE(Flatten);

// Splits dim into unflattened_size, e.g. [N, 50] -> [N, 2, 25] for dim 1 and sizes {2, 25}.
class UnflattenImpl : public Module {
 public:
  UnflattenImpl(int64_t dim, Dims unflattened_size) : dim_(dim), sizes_(std::move(unflattened_size)) {}
  std::string name() const override { return "Unflatten"; }
  std::string extra_repr() const override;
  Tensor forward(const Tensor& input) override { return input.unflatten(dim_, sizes_); }

 private:
  int64_t dim_;
  Dims sizes_;
};
CAJAL_MODULE(Unflatten);

}  // namespace cajal::nn
