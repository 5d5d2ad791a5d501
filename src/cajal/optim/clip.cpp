#include "cajal/optim/clip.h"

#include <cmath>

#include "cajal/autograd/grad_mode.h"
#include "cajal/ops/elementwise.h"

namespace cajal::optim {

namespace {

// The p-norm of one gradient's elements as the sum of |x|^p (the maximum of |x| for p = inf),
// accumulated in float64. NaN propagates.
double norm_part(const Tensor& grad, double p) {
  Tensor g = grad.contiguous();
  return dispatch_floating(g.dtype(), "clip_grad_norm_", [&]<typename T>() {
    const T* x = g.data_ptr<T>();
    double acc = 0;
    for (int64_t i = 0, n = g.numel(); i < n; ++i) {
      double a = std::abs(static_cast<double>(x[i]));
      if (std::isinf(p)) acc = (a > acc || std::isnan(a)) ? a : acc;
      else acc += p == 2 ? a * a : p == 1 ? a : std::pow(a, p);
    }
    return acc;
  });
}

}  // namespace

double clip_grad_norm_(const TensorList& params, double max_norm, double norm_type, bool error_if_nonfinite) {
  if (!(norm_type > 0)) fail<ValueError>("clip_grad_norm_: norm_type must be positive or infinity, got ", norm_type);
  TensorList grads;
  for (const Tensor& p : params)
    if (p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty()) return 0;

  bool inf_norm = std::isinf(norm_type);
  double total = 0;
  for (const Tensor& g : grads) {
    double part = norm_part(g, norm_type);
    total = inf_norm ? ((part > total || std::isnan(part)) ? part : total) : total + part;
  }
  if (!inf_norm) total = std::pow(total, 1 / norm_type);
  if (error_if_nonfinite && !std::isfinite(total))
    fail<ValueError>("clip_grad_norm_: the total norm of order ", norm_type,
                     " of the gradients is non-finite (", total, "), so they cannot be clipped");

  double coef = max_norm / (total + 1e-6);
  if (coef < 1 || std::isnan(coef)) {  // a coefficient of 1 would leave the gradients as they are
    NoGradGuard no_grad;
    for (Tensor& g : grads) g.mul_(coef);
  }
  return total;
}

void clip_grad_value_(const TensorList& params, double clip_value) {
  NoGradGuard no_grad;
  for (const Tensor& p : params) {
    Tensor g = p.grad();
    if (g.defined()) clamp_(g, -clip_value, clip_value);
  }
}

}  // namespace cajal::optim
