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

// In PyTorch's order of operations:
//   d = g (+ weight_decay * p);  b = d at the first step, else momentum * b + (1 - dampening) * d
//   d = d + momentum * b (Nesterov) or b;  p = p - lr * d
void SGD::update(const Tensor& param, const Tensor& grad, const SGDOptions& o, SGDState& s) {
  bool use_momentum = o.momentum != 0;
  bool first_step = use_momentum && !s.momentum_buffer.defined();
  if (first_step) s.momentum_buffer = empty_like(param);
  dispatch_floating(param.dtype(), "SGD", [&]<typename T>() {
    T* p = param.data_ptr<T>();
    const T* g = grad.data_ptr<T>();
    T* buf = use_momentum ? s.momentum_buffer.data_ptr<T>() : nullptr;
    const T weight_decay = T(o.weight_decay), momentum = T(o.momentum), keep = T(1 - o.dampening), neg_lr = T(-o.lr);
    const bool decay = o.weight_decay != 0, nesterov = o.nesterov, maximize = o.maximize;
    parallel_for(0, param.numel(), kElementwiseGrain, [=](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        T d = maximize ? -g[i] : g[i];
        if (decay) d = d + weight_decay * p[i];
        if (buf) {
          buf[i] = first_step ? d : buf[i] * momentum + keep * d;
          d = nesterov ? d + momentum * buf[i] : buf[i];
        }
        p[i] = p[i] + neg_lr * d;
      }
    });
  });
}

template class OptimizerBase<SGD, SGDOptions, SGDState>;

}  // namespace cajal::optim
