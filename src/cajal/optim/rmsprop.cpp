#include "cajal/optim/rmsprop.h"

#include <cmath>

#include "cajal/core/parallel.h"
#include "cajal/optim/optimizer_impl.h"

namespace cajal::optim {

void RMSprop::check(const RMSpropOptions& o) {
  if (!(o.lr >= 0)) fail<ValueError>(kName, ": invalid learning rate ", o.lr);
  if (!(o.eps >= 0)) fail<ValueError>(kName, ": invalid epsilon value ", o.eps);
  if (!(o.momentum >= 0)) fail<ValueError>(kName, ": invalid momentum value ", o.momentum);
  if (!(o.weight_decay >= 0)) fail<ValueError>(kName, ": invalid weight_decay value ", o.weight_decay);
  if (!(o.alpha >= 0)) fail<ValueError>(kName, ": invalid alpha value ", o.alpha);
}

namespace {

template <typename T>
struct RMSpropScalars {
  T alpha, one_minus_alpha, eps, weight_decay, momentum, neg_lr;
  bool l2, maximize;
};

// One fused pass over [begin, end), in PyTorch's order of operations:
//   s = alpha * s + (1 - alpha) * g * g;  centered: a = alpha * a + (1 - alpha) * g, d = sqrt(s - a * a) + eps
//   otherwise d = sqrt(s) + eps;  momentum: b = momentum * b + g / d, p = p - lr * b;  else p = p - lr * g / d
// (restrict pointers and constants by value so the loop vectorizes; the optional buffers are
// instantiations rather than branches.)
template <typename T, bool kCentered, bool kMomentum>
void rmsprop_loop(int64_t begin, int64_t end, T* __restrict p, const T* __restrict g, T* __restrict sq, T* __restrict avg,
                  T* __restrict buf, const RMSpropScalars<T> c) {
  for (int64_t i = begin; i < end; ++i) {
    T gi = c.maximize ? -g[i] : g[i];
    if (c.l2) gi = gi + c.weight_decay * p[i];
    sq[i] = sq[i] * c.alpha + c.one_minus_alpha * gi * gi;
    T denom;
    if constexpr (kCentered) {
      avg[i] = avg[i] * c.alpha + c.one_minus_alpha * gi;
      denom = std::sqrt(sq[i] + T(-1) * avg[i] * avg[i]) + c.eps;
    } else {
      denom = std::sqrt(sq[i]) + c.eps;
    }
    if constexpr (kMomentum) {
      buf[i] = buf[i] * c.momentum + gi / denom;
      p[i] = p[i] + c.neg_lr * buf[i];
    } else {
      p[i] = p[i] + c.neg_lr * gi / denom;
    }
  }
}

template <typename T, bool kCentered>
auto rmsprop_loop_for(bool momentum) {
  return momentum ? rmsprop_loop<T, kCentered, true> : rmsprop_loop<T, kCentered, false>;
}

}  // namespace

void RMSprop::update(const Tensor& param, const Tensor& grad, const RMSpropOptions& o, RMSpropState& s) {
  detail::ensure_zeros(s.square_avg, param);
  bool use_momentum = o.momentum > 0;
  if (use_momentum) detail::ensure_zeros(s.momentum_buffer, param);
  if (o.centered) detail::ensure_zeros(s.grad_avg, param);
  s.step += 1;
  dispatch_floating(param.dtype(), kName, [&]<typename T>() {
    T* p = param.data_ptr<T>();
    const T* g = grad.data_ptr<T>();
    T* sq = s.square_avg.data_ptr<T>();
    T* avg = o.centered ? s.grad_avg.data_ptr<T>() : nullptr;
    T* buf = use_momentum ? s.momentum_buffer.data_ptr<T>() : nullptr;
    RMSpropScalars<T> c{T(o.alpha), T(1 - o.alpha), T(o.eps), T(o.weight_decay), T(o.momentum), T(-o.lr),
                        o.weight_decay != 0, o.maximize};
    auto loop = o.centered ? rmsprop_loop_for<T, true>(use_momentum) : rmsprop_loop_for<T, false>(use_momentum);
    parallel_for(0, param.numel(), kElementwiseGrain, [=](int64_t begin, int64_t end) { loop(begin, end, p, g, sq, avg, buf, c); });
  });
}

template class OptimizerBase<RMSprop, RMSpropOptions, RMSpropState>;

}  // namespace cajal::optim
