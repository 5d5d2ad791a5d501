#include "cajal/optim/adam.h"

#include <cmath>

#include "cajal/core/parallel.h"
#include "cajal/optim/optimizer_impl.h"

namespace cajal::optim {

namespace {

void check_adam_like(const char* name, double lr, const std::array<double, 2>& betas, double eps, double weight_decay) {
  if (!(lr >= 0)) fail<ValueError>(name, ": invalid learning rate ", lr);
  if (!(eps >= 0)) fail<ValueError>(name, ": invalid epsilon value ", eps);
  for (int i = 0; i < 2; ++i)
    if (!(betas[i] >= 0 && betas[i] < 1)) fail<ValueError>(name, ": invalid beta parameter at index ", i, ": ", betas[i]);
  if (!(weight_decay >= 0)) fail<ValueError>(name, ": invalid weight_decay value ", weight_decay);
}

// max as torch.maximum computes it: a NaN in either argument gives NaN.
template <typename T>
T nan_max(T a, T b) {
  return (a > b || std::isnan(a)) ? a : b;
}

// Adam and AdamW differ only in where weight decay goes: into the gradient (Adam) or
// straight onto the parameter (AdamW, "decoupled").
struct AdamHyper {
  double lr;
  std::array<double, 2> betas;
  double eps;
  double weight_decay;
  bool amsgrad;
  bool maximize;
  bool decoupled;
};

// The per-step constants of the Adam loop, in the parameter's type.
template <typename T>
struct AdamScalars {
  T beta1, beta2, one_minus_beta1, one_minus_beta2, weight_decay, shrink, bias_correction2_sqrt, eps, neg_step_size;
  bool l2, decoupled, maximize;
};

// One fused pass over [begin, end), in PyTorch's order of operations (t the step count):
//   g = -g if maximize;  g = g + weight_decay * p (Adam)  or  p = p * (1 - lr * weight_decay) (AdamW)
//   m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g * g;  (AMSGrad: v = max(v_max, v))
//   p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// (restrict pointers and constants by value, so the loop vectorizes; AMSGrad, which stores
// one more buffer, is a separate instantiation rather than a branch.)
template <typename T, bool kAmsgrad>
void adam_loop(int64_t begin, int64_t end, T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict v,
               T* __restrict v_max, const AdamScalars<T> c) {
  for (int64_t i = begin; i < end; ++i) {
    T gi = c.maximize ? -g[i] : g[i];
    if (c.l2) gi = gi + c.weight_decay * p[i];
    T pi = c.decoupled ? p[i] * c.shrink : p[i];
    m[i] = m[i] * c.beta1 + c.one_minus_beta1 * gi;
    v[i] = v[i] * c.beta2 + c.one_minus_beta2 * gi * gi;
    T second = v[i];
    if constexpr (kAmsgrad) second = v_max[i] = nan_max(v_max[i], v[i]);
    T denom = std::sqrt(second) / c.bias_correction2_sqrt + c.eps;
    p[i] = pi + c.neg_step_size * m[i] / denom;
  }
}

void adam_update(const Tensor& param, const Tensor& grad, const AdamHyper& h, AdamState& s) {
  detail::ensure_zeros(s.exp_avg, param);
  detail::ensure_zeros(s.exp_avg_sq, param);
  if (h.amsgrad) detail::ensure_zeros(s.max_exp_avg_sq, param);
  s.step += 1;
  double step = static_cast<double>(s.step);
  double bias_correction1 = 1 - std::pow(h.betas[0], step);
  double bias_correction2 = 1 - std::pow(h.betas[1], step);
  double step_size = h.lr / bias_correction1;
  dispatch_floating(param.dtype(), h.decoupled ? "AdamW" : "Adam", [&]<typename T>() {
    T* p = param.data_ptr<T>();
    const T* g = grad.data_ptr<T>();
    T* m = s.exp_avg.data_ptr<T>();
    T* v = s.exp_avg_sq.data_ptr<T>();
    T* v_max = h.amsgrad ? s.max_exp_avg_sq.data_ptr<T>() : nullptr;
    AdamScalars<T> c{T(h.betas[0]), T(h.betas[1]), T(1 - h.betas[0]), T(1 - h.betas[1]), T(h.weight_decay),
                     T(1 - h.lr * h.weight_decay), T(std::sqrt(bias_correction2)), T(h.eps), T(-step_size),
                     !h.decoupled && h.weight_decay != 0, h.decoupled, h.maximize};
    auto loop = h.amsgrad ? adam_loop<T, true> : adam_loop<T, false>;
    parallel_for(0, param.numel(), kElementwiseGrain, [=](int64_t begin, int64_t end) { loop(begin, end, p, g, m, v, v_max, c); });
  });
}

template <typename T>
struct AdamaxScalars {
  T beta1, beta2, one_minus_beta1, eps, weight_decay, neg_clr;
  bool l2, maximize;
};

// m = beta1 * m + (1 - beta1) * g;  u = max(beta2 * u, |g| + eps);  p = p - lr / (1 - beta1^t) * m / u
template <typename T>
void adamax_loop(int64_t begin, int64_t end, T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict u,
                 const AdamaxScalars<T> c) {
  for (int64_t i = begin; i < end; ++i) {
    T gi = c.maximize ? -g[i] : g[i];
    if (c.l2) gi = gi + c.weight_decay * p[i];
    m[i] = m[i] * c.beta1 + c.one_minus_beta1 * gi;
    u[i] = nan_max(u[i] * c.beta2, std::abs(gi) + c.eps);
    p[i] = p[i] + c.neg_clr * m[i] / u[i];
  }
}

template <typename T>
struct NAdamScalars {
  T beta1, beta2, one_minus_beta1, one_minus_beta2, bias_correction2, eps, weight_decay, grad_scale, avg_scale;
  bool l2;
};

// m, v as in Adam;  d = sqrt(v / (1 - beta2^t)) + eps;  p = p + grad_scale * g / d;  p = p + avg_scale * m / d
template <typename T>
void nadam_loop(int64_t begin, int64_t end, T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict v,
                const NAdamScalars<T> c) {
  for (int64_t i = begin; i < end; ++i) {
    T gi = c.l2 ? g[i] + c.weight_decay * p[i] : g[i];
    m[i] = m[i] * c.beta1 + c.one_minus_beta1 * gi;
    v[i] = v[i] * c.beta2 + c.one_minus_beta2 * gi * gi;
    T denom = std::sqrt(v[i] / c.bias_correction2) + c.eps;
    T pi = p[i] + c.grad_scale * gi / denom;
    p[i] = pi + c.avg_scale * m[i] / denom;
  }
}

}  // namespace

void Adam::check(const AdamOptions& o) { check_adam_like(kName, o.lr, o.betas, o.eps, o.weight_decay); }

void Adam::update(const Tensor& param, const Tensor& grad, const AdamOptions& o, AdamState& s) {
  adam_update(param, grad, {o.lr, o.betas, o.eps, o.weight_decay, o.amsgrad, o.maximize, /*decoupled=*/false}, s);
}

void AdamW::check(const AdamWOptions& o) { check_adam_like(kName, o.lr, o.betas, o.eps, o.weight_decay); }

void AdamW::update(const Tensor& param, const Tensor& grad, const AdamWOptions& o, AdamState& s) {
  adam_update(param, grad, {o.lr, o.betas, o.eps, o.weight_decay, o.amsgrad, o.maximize, /*decoupled=*/true}, s);
}

void Adamax::check(const AdamaxOptions& o) { check_adam_like(kName, o.lr, o.betas, o.eps, o.weight_decay); }

void Adamax::update(const Tensor& param, const Tensor& grad, const AdamaxOptions& o, AdamaxState& s) {
  detail::ensure_zeros(s.exp_avg, param);
  detail::ensure_zeros(s.exp_inf, param);
  s.step += 1;
  double clr = o.lr / (1 - std::pow(o.betas[0], static_cast<double>(s.step)));
  dispatch_floating(param.dtype(), kName, [&]<typename T>() {
    T* p = param.data_ptr<T>();
    const T* g = grad.data_ptr<T>();
    T* m = s.exp_avg.data_ptr<T>();
    T* u = s.exp_inf.data_ptr<T>();
    AdamaxScalars<T> c{T(o.betas[0]), T(o.betas[1]), T(1 - o.betas[0]), T(o.eps), T(o.weight_decay), T(-clr),
                       o.weight_decay != 0, o.maximize};
    parallel_for(0, param.numel(), kElementwiseGrain, [=](int64_t begin, int64_t end) { adamax_loop(begin, end, p, g, m, u, c); });
  });
}

void NAdam::check(const NAdamOptions& o) {
  check_adam_like(kName, o.lr, o.betas, o.eps, o.weight_decay);
  if (!(o.momentum_decay >= 0)) fail<ValueError>(kName, ": invalid momentum_decay value ", o.momentum_decay);
}

// With the momentum schedule mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay)):
//   m, v as in Adam;  d = sqrt(v / (1 - beta2^t)) + eps
//   p = p - lr * (1 - mu_t) / (1 - prod mu_1..t) * g / d - lr * mu_t+1 / (1 - prod mu_1..t+1) * m / d
void NAdam::update(const Tensor& param, const Tensor& grad, const NAdamOptions& o, NAdamState& s) {
  detail::ensure_zeros(s.exp_avg, param);
  detail::ensure_zeros(s.exp_avg_sq, param);
  s.step += 1;
  double step = static_cast<double>(s.step);
  double bias_correction2 = 1 - std::pow(o.betas[1], step);
  double mu = o.betas[0] * (1 - 0.5 * std::pow(0.96, step * o.momentum_decay));
  double mu_next = o.betas[0] * (1 - 0.5 * std::pow(0.96, (step + 1) * o.momentum_decay));
  // The products in float32, as PyTorch; the rest in float64.
  float mu_product = static_cast<float>(s.mu_product) * static_cast<float>(mu);
  double mu_product_next = mu_product * static_cast<float>(mu) * static_cast<float>(mu_next);
  s.mu_product = mu_product;
  double grad_scale = -o.lr * (1 - mu) / (1 - s.mu_product);
  double avg_scale = -o.lr * mu_next / (1 - mu_product_next);
  dispatch_floating(param.dtype(), kName, [&]<typename T>() {
    T* p = param.data_ptr<T>();
    const T* g = grad.data_ptr<T>();
    T* m = s.exp_avg.data_ptr<T>();
    T* v = s.exp_avg_sq.data_ptr<T>();
    NAdamScalars<T> c{T(o.betas[0]), T(o.betas[1]), T(1 - o.betas[0]), T(1 - o.betas[1]), T(bias_correction2), T(o.eps),
                      T(o.weight_decay), T(grad_scale), T(avg_scale), o.weight_decay != 0};
    parallel_for(0, param.numel(), kElementwiseGrain, [=](int64_t begin, int64_t end) { nadam_loop(begin, end, p, g, m, v, c); });
  });
}

template class OptimizerBase<Adam, AdamOptions, AdamState>;
template class OptimizerBase<AdamW, AdamWOptions, AdamState>;
template class OptimizerBase<Adamax, AdamaxOptions, AdamaxState>;
template class OptimizerBase<NAdam, NAdamOptions, NAdamState>;

}  // namespace cajal::optim
