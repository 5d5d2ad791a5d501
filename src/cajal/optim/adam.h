#pragma once
// The Adam family, as torch.optim has them (same arguments, defaults and numbers):
//   Adam    adaptive moments, weight decay as an L2 term in the gradient, optional AMSGrad
//   AdamW   Adam with decoupled weight decay (the parameter shrinks by lr * weight_decay)
//   Adamax  Adam with an infinity-norm second moment
//   NAdam   Adam with Nesterov momentum and a momentum schedule (momentum_decay)
//
//   optim::AdamW opt(model->parameters(), {.lr = 1e-3, .weight_decay = 1e-2});
#include <array>

#include "cajal/optim/optimizer.h"

namespace cajal::optim {

struct AdamOptions {
  double lr = 1e-3;
  std::array<double, 2> betas = {0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 0;
  bool amsgrad = false;
  bool maximize = false;
  template <typename F>
  void each(F&& f) {
    f("lr", lr);
    f("betas.0", betas[0]);
    f("betas.1", betas[1]);
    f("eps", eps);
    f("weight_decay", weight_decay);
    f("amsgrad", amsgrad);
    f("maximize", maximize);
  }
};

// The same fields as AdamOptions; only the weight decay default differs, as in PyTorch.
struct AdamWOptions {
  double lr = 1e-3;
  std::array<double, 2> betas = {0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 1e-2;
  bool amsgrad = false;
  bool maximize = false;
  template <typename F>
  void each(F&& f) {
    f("lr", lr);
    f("betas.0", betas[0]);
    f("betas.1", betas[1]);
    f("eps", eps);
    f("weight_decay", weight_decay);
    f("amsgrad", amsgrad);
    f("maximize", maximize);
  }
};

struct AdamState {
  int64_t step = 0;
  Tensor exp_avg;         // first moment
  Tensor exp_avg_sq;      // second moment
  Tensor max_exp_avg_sq;  // AMSGrad: the largest second moment so far
  template <typename F>
  void each(F&& f) {
    f("step", step);
    f("exp_avg", exp_avg);
    f("exp_avg_sq", exp_avg_sq);
    f("max_exp_avg_sq", max_exp_avg_sq);
  }
};

class Adam : public OptimizerBase<Adam, AdamOptions, AdamState> {
 public:
  using OptimizerBase::OptimizerBase;
  static constexpr const char* kName = "Adam";
  static void check(const AdamOptions& o);
  static void update(const Tensor& param, const Tensor& grad, const AdamOptions& o, AdamState& s);
  static double* momentum(AdamOptions& o) { return &o.betas[0]; }
};
extern template class OptimizerBase<Adam, AdamOptions, AdamState>;

class AdamW : public OptimizerBase<AdamW, AdamWOptions, AdamState> {
 public:
  using OptimizerBase::OptimizerBase;
  static constexpr const char* kName = "AdamW";
  static void check(const AdamWOptions& o);
  static void update(const Tensor& param, const Tensor& grad, const AdamWOptions& o, AdamState& s);
  static double* momentum(AdamWOptions& o) { return &o.betas[0]; }
};
extern template class OptimizerBase<AdamW, AdamWOptions, AdamState>;

struct AdamaxOptions {
  double lr = 2e-3;
  std::array<double, 2> betas = {0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 0;
  bool maximize = false;
  template <typename F>
  void each(F&& f) {
    f("lr", lr);
    f("betas.0", betas[0]);
    f("betas.1", betas[1]);
    f("eps", eps);
    f("weight_decay", weight_decay);
    f("maximize", maximize);
  }
};

struct AdamaxState {
  int64_t step = 0;
  Tensor exp_avg;  // first moment
  Tensor exp_inf;  // exponentially weighted infinity norm
  template <typename F>
  void each(F&& f) {
    f("step", step);
    f("exp_avg", exp_avg);
    f("exp_inf", exp_inf);
  }
};

class Adamax : public OptimizerBase<Adamax, AdamaxOptions, AdamaxState> {
 public:
  using OptimizerBase::OptimizerBase;
  static constexpr const char* kName = "Adamax";
  static void check(const AdamaxOptions& o);
  static void update(const Tensor& param, const Tensor& grad, const AdamaxOptions& o, AdamaxState& s);
  static double* momentum(AdamaxOptions& o) { return &o.betas[0]; }
};
extern template class OptimizerBase<Adamax, AdamaxOptions, AdamaxState>;

// PyTorch 1.13's NAdam has no maximize option.
struct NAdamOptions {
  double lr = 2e-3;
  std::array<double, 2> betas = {0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 0;
  double momentum_decay = 4e-3;
  template <typename F>
  void each(F&& f) {
    f("lr", lr);
    f("betas.0", betas[0]);
    f("betas.1", betas[1]);
    f("eps", eps);
    f("weight_decay", weight_decay);
    f("momentum_decay", momentum_decay);
  }
};

struct NAdamState {
  int64_t step = 0;
  // The product of the momentum schedule so far. PyTorch keeps it in a float32 tensor, so it
  // is rounded to float32 after every product here too: the numbers stay PyTorch's.
  double mu_product = 1;
  Tensor exp_avg;
  Tensor exp_avg_sq;
  template <typename F>
  void each(F&& f) {
    f("step", step);
    f("mu_product", mu_product);
    f("exp_avg", exp_avg);
    f("exp_avg_sq", exp_avg_sq);
  }
};

class NAdam : public OptimizerBase<NAdam, NAdamOptions, NAdamState> {
 public:
  using OptimizerBase::OptimizerBase;
  static constexpr const char* kName = "NAdam";
  static void check(const NAdamOptions& o);
  static void update(const Tensor& param, const Tensor& grad, const NAdamOptions& o, NAdamState& s);
  static double* momentum(NAdamOptions& o) { return &o.betas[0]; }
};
extern template class OptimizerBase<NAdam, NAdamOptions, NAdamState>;

}  // namespace cajal::optim
