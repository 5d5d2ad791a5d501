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

// In PyTorch's order of operations:
//   s = alpha * s + (1 - alpha) * g * g;  centered: a = alpha * a + (1 - alpha) * g, d = sqrt(s - a * a) + eps
//   otherwise d = sqrt(s) + eps;  momentum: b = momentum * b + g / d, p = p - lr * b;  else p = p - lr * g / d
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
    T* buf = use_momentum ? s.momentum_buffer.data_ptr<T>() : nullptr;
    T* avg = o.centered ? s.grad_avg.data_ptr<T>() : nullptr;
    const T alpha = T(o.alpha), one_minus_alpha = T(1 - o.alpha), eps = T(o.eps), weight_decay = T(o.weight_decay),
            momentum = T(o.momentum), neg_lr = T(-o.lr);
    const bool l2 = o.weight_decay != 0, maximize = o.maximize;
    parallel_for(0, param.numel(), kElementwiseGrain, [=](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        T gi = maximize ? -g[i] : g[i];
        if (l2) gi = gi + weight_decay * p[i];
        sq[i] = sq[i] * alpha + one_minus_alpha * gi * gi;
        T denom;
        if (avg) {
          avg[i] = avg[i] * alpha + one_minus_alpha * gi;
          denom = std::sqrt(sq[i] + T(-1) * avg[i] * avg[i]) + eps;
        } else {
          denom = std::sqrt(sq[i]) + eps;
        }
        if (buf) {
          buf[i] = buf[i] * momentum + gi / denom;
          p[i] = p[i] + neg_lr * buf[i];
        } else {
          p[i] = p[i] + neg_lr * gi / denom;
        }
      }
    });
  });
}

template class OptimizerBase<RMSprop, RMSpropOptions, RMSpropState>;

}  // namespace cajal::optim
