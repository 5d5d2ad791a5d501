#include "cajal/optim/sgd.h"

#include <cmath>

#include "cajal/core/parallel.h"
#include "cajal/ops/creation.h"
#include "cajal/optim/optimizer_impl.h"

namespace cajal::optim {

void SGD::check(const SGDOptions& o) {
  if (std::isnan(o.lr)) fail<ValueError>("SGD: lr is required (SGD has no default learning rate)");
  if (o.lr < 0) fail<ValueError>("SGD: invalid learning rate ", o.lr);
  if (o.momentum < 0) fail<ValueError>("SGD: invalid momentum value ", o.momentum);
  if (o.weight_decay < 0) fail<ValueError>("SGD: invalid weight_decay value ", o.weight_decay);
  if (o.nesterov && (o.momentum <= 0 || o.dampening != 0))
    fail<ValueError>("SGD: Nesterov momentum requires a momentum and zero dampening (momentum ", o.momentum,
                     ", dampening ", o.dampening, ")");
}

namespace {

template <typename T>
struct SGDScalars {
  T weight_decay, momentum, keep, neg_lr;  // keep = 1 - dampening
  bool l2, nesterov, maximize;
};

enum class Momentum { kNone, kFirstStep, kLaterStep };

// One fused pass over [begin, end), in PyTorch's order of operations:
//   d = g (+ weight_decay * p);  b = d at the first step, else momentum * b + (1 - dampening) * d
//   d = d + momentum * b (Nesterov) or b;  p = p - lr * d
// (restrict pointers and constants by value so the loop vectorizes; the momentum buffer's
// three cases are instantiations rather than branches.)
template <typename T, Momentum kMomentum>
void sgd_loop(int64_t begin, int64_t end, T* __restrict p, const T* __restrict g, T* __restrict buf, const SGDScalars<T> c) {
  for (int64_t i = begin; i < end; ++i) {
    T d = c.maximize ? -g[i] : g[i];
    if (c.l2) d = d + c.weight_decay * p[i];
    if constexpr (kMomentum != Momentum::kNone) {
      buf[i] = kMomentum == Momentum::kFirstStep ? d : buf[i] * c.momentum + c.keep * d;
      d = c.nesterov ? d + c.momentum * buf[i] : buf[i];
    }
    p[i] = p[i] + c.neg_lr * d;
  }
}

}  // namespace

void SGD::update(const Tensor& param, const Tensor& grad, const SGDOptions& o, SGDState& s) {
  Momentum momentum = o.momentum == 0 ? Momentum::kNone : s.momentum_buffer.defined() ? Momentum::kLaterStep : Momentum::kFirstStep;
  if (momentum == Momentum::kFirstStep) s.momentum_buffer = empty_like(param);
  dispatch_floating(param.dtype(), "SGD", [&]<typename T>() {
    T* p = param.data_ptr<T>();
    const T* g = grad.data_ptr<T>();
    T* buf = momentum == Momentum::kNone ? nullptr : s.momentum_buffer.data_ptr<T>();
    SGDScalars<T> c{T(o.weight_decay), T(o.momentum), T(1 - o.dampening), T(-o.lr), o.weight_decay != 0, o.nesterov, o.maximize};
    auto loop = momentum == Momentum::kNone        ? sgd_loop<T, Momentum::kNone>
                : momentum == Momentum::kFirstStep ? sgd_loop<T, Momentum::kFirstStep>
                                                   : sgd_loop<T, Momentum::kLaterStep>;
    parallel_for(0, param.numel(), kElementwiseGrain, [=](int64_t begin, int64_t end) { loop(begin, end, p, g, buf, c); });
  });
}

template class OptimizerBase<SGD, SGDOptions, SGDState>;

}  // namespace cajal::optim
