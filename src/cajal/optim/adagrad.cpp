#include "cajal/optim/adagrad.h"

#include <cmath>

#include "cajal/core/parallel.h"
#include "cajal/ops/creation.h"
#include "cajal/optim/optimizer_impl.h"

namespace cajal::optim {

void Adagrad::check(const AdagradOptions& o) {
  if (!(o.lr >= 0)) fail<ValueError>(kName, ": invalid learning rate ", o.lr);
  if (!(o.lr_decay >= 0)) fail<ValueError>(kName, ": invalid lr_decay value ", o.lr_decay);
  if (!(o.weight_decay >= 0)) fail<ValueError>(kName, ": invalid weight_decay value ", o.weight_decay);
  if (!(o.initial_accumulator_value >= 0))
    fail<ValueError>(kName, ": invalid initial_accumulator_value value ", o.initial_accumulator_value);
  if (!(o.eps >= 0)) fail<ValueError>(kName, ": invalid epsilon value ", o.eps);
}

void Adagrad::init_state(const Tensor& param, const AdagradOptions& o, AdagradState& s) {
  s.sum = full_like(param, o.initial_accumulator_value);
}

namespace {

template <typename T>
struct AdagradScalars {
  T eps, weight_decay, neg_clr;
  bool l2, maximize;
};

// s = s + g * g;  p = p - lr / (1 + (t - 1) * lr_decay) * g / (sqrt(s) + eps)
template <typename T>
void adagrad_loop(int64_t begin, int64_t end, T* __restrict p, const T* __restrict g, T* __restrict sum, const AdagradScalars<T> c) {
  for (int64_t i = begin; i < end; ++i) {
    T gi = c.maximize ? -g[i] : g[i];
    if (c.l2) gi = gi + c.weight_decay * p[i];
    sum[i] = sum[i] + gi * gi;
    p[i] = p[i] + c.neg_clr * gi / (std::sqrt(sum[i]) + c.eps);
  }
}

}  // namespace

void Adagrad::update(const Tensor& param, const Tensor& grad, const AdagradOptions& o, AdagradState& s) {
  if (!s.sum.defined()) init_state(param, o, s);
  s.step += 1;
  double clr = o.lr / (1 + static_cast<double>(s.step - 1) * o.lr_decay);
  dispatch_floating(param.dtype(), kName, [&]<typename T>() {
    T* p = param.data_ptr<T>();
    const T* g = grad.data_ptr<T>();
    T* sum = s.sum.data_ptr<T>();
    AdagradScalars<T> c{T(o.eps), T(o.weight_decay), T(-clr), o.weight_decay != 0, o.maximize};
    parallel_for(0, param.numel(), kElementwiseGrain, [=](int64_t begin, int64_t end) { adagrad_loop(begin, end, p, g, sum, c); });
  });
}

template class OptimizerBase<Adagrad, AdagradOptions, AdagradState>;

}  // namespace cajal::optim
