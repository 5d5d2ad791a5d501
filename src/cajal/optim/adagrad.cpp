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

// s = s + g * g;  p = p - lr / (1 + (t - 1) * lr_decay) * g / (sqrt(s) + eps)
void Adagrad::update(const Tensor& param, const Tensor& grad, const AdagradOptions& o, AdagradState& s) {
  if (!s.sum.defined()) init_state(param, o, s);
  s.step += 1;
  double clr = o.lr / (1 + static_cast<double>(s.step - 1) * o.lr_decay);
  dispatch_floating(param.dtype(), kName, [&]<typename T>() {
    T* p = param.data_ptr<T>();
    const T* g = grad.data_ptr<T>();
    T* sum = s.sum.data_ptr<T>();
    const T eps = T(o.eps), weight_decay = T(o.weight_decay), neg_clr = T(-clr);
    const bool l2 = o.weight_decay != 0, maximize = o.maximize;
    parallel_for(0, param.numel(), kElementwiseGrain, [=](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        T gi = maximize ? -g[i] : g[i];
        if (l2) gi = gi + weight_decay * p[i];
        sum[i] = sum[i] + gi * gi;
        p[i] = p[i] + neg_clr * gi / (std::sqrt(sum[i]) + eps);
      }
    });
  });
}

template class OptimizerBase<Adagrad, AdagradOptions, AdagradState>;

}  // namespace cajal::optim
