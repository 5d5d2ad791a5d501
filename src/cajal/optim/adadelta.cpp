#include "cajal/optim/adadelta.h"

#include <cmath>

#include "cajal/core/parallel.h"
#include "cajal/optim/optimizer_impl.h"

namespace cajal::optim {

void Adadelta::check(const AdadeltaOptions& o) {
  if (!(o.lr >= 0)) fail<ValueError>(kName, ": invalid learning rate ", o.lr);
  if (!(o.rho >= 0 && o.rho <= 1)) fail<ValueError>(kName, ": invalid rho value ", o.rho);
  if (!(o.eps >= 0)) fail<ValueError>(kName, ": invalid epsilon value ", o.eps);
  if (!(o.weight_decay >= 0)) fail<ValueError>(kName, ": invalid weight_decay value ", o.weight_decay);
}

namespace {

template <typename T>
struct AdadeltaScalars {
  T rho, one_minus_rho, eps, weight_decay, neg_lr;
  bool l2, maximize;
};

// s = rho * s + (1 - rho) * g * g;  delta = sqrt(a + eps) / sqrt(s + eps) * g
// a = rho * a + (1 - rho) * delta * delta;  p = p - lr * delta
template <typename T>
void adadelta_loop(int64_t begin, int64_t end, T* __restrict p, const T* __restrict g, T* __restrict sq, T* __restrict acc,
                   const AdadeltaScalars<T> c) {
  for (int64_t i = begin; i < end; ++i) {
    T gi = c.maximize ? -g[i] : g[i];
    if (c.l2) gi = gi + c.weight_decay * p[i];
    sq[i] = sq[i] * c.rho + c.one_minus_rho * gi * gi;
    T delta = std::sqrt(acc[i] + c.eps) / std::sqrt(sq[i] + c.eps) * gi;
    acc[i] = acc[i] * c.rho + c.one_minus_rho * delta * delta;
    p[i] = p[i] + c.neg_lr * delta;
  }
}

}  // namespace

void Adadelta::update(const Tensor& param, const Tensor& grad, const AdadeltaOptions& o, AdadeltaState& s) {
  detail::ensure_zeros(s.square_avg, param);
  detail::ensure_zeros(s.acc_delta, param);
  s.step += 1;
  dispatch_floating(param.dtype(), kName, [&]<typename T>() {
    T* p = param.data_ptr<T>();
    const T* g = grad.data_ptr<T>();
    T* sq = s.square_avg.data_ptr<T>();
    T* acc = s.acc_delta.data_ptr<T>();
    AdadeltaScalars<T> c{T(o.rho), T(1 - o.rho), T(o.eps), T(o.weight_decay), T(-o.lr), o.weight_decay != 0, o.maximize};
    parallel_for(0, param.numel(), kElementwiseGrain, [=](int64_t begin, int64_t end) { adadelta_loop(begin, end, p, g, sq, acc, c); });
  });
}

template class OptimizerBase<Adadelta, AdadeltaOptions, AdadeltaState>;

}  // namespace cajal::optim
