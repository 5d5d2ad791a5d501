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

// In PyTorch's order of operations, t the step count:
//   g = -g if maximize;  g = g + weight_decay * p (Adam)  or  p = p * (1 - lr * weight_decay) (AdamW)
//   m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g * g;  (AMSGrad: v = max(v_max, v))
//   p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
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
    const T beta1 = T(h.betas[0]), beta2 = T(h.betas[1]), one_minus_beta1 = T(1 - h.betas[0]),
            one_minus_beta2 = T(1 - h.betas[1]), weight_decay = T(h.weight_decay), shrink = T(1 - h.lr * h.weight_decay),
            bias_correction2_sqrt = T(std::sqrt(bias_correction2)), eps = T(h.eps), neg_step_size = T(-step_size);
    const bool l2 = !h.decoupled && h.weight_decay != 0, decoupled = h.decoupled, maximize = h.maximize;
    parallel_for(0, param.numel(), kElementwiseGrain, [=](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        T gi = maximize ? -g[i] : g[i];
        if (l2) gi = gi + weight_decay * p[i];
        T pi = decoupled ? p[i] * shrink : p[i];
        m[i] = m[i] * beta1 + one_minus_beta1 * gi;
        v[i] = v[i] * beta2 + one_minus_beta2 * gi * gi;
        T second = v[i];
        if (v_max) second = v_max[i] = nan_max(v_max[i], v[i]);
        T denom = std::sqrt(second) / bias_correction2_sqrt + eps;
        p[i] = pi + neg_step_size * m[i] / denom;
      }
    });
  });
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

// m = beta1 * m + (1 - beta1) * g;  u = max(beta2 * u, |g| + eps);  p = p - lr / (1 - beta1^t) * m / u
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
    const T beta1 = T(o.betas[0]), beta2 = T(o.betas[1]), one_minus_beta1 = T(1 - o.betas[0]), eps = T(o.eps),
            weight_decay = T(o.weight_decay), neg_clr = T(-clr);
    const bool l2 = o.weight_decay != 0, maximize = o.maximize;
    parallel_for(0, param.numel(), kElementwiseGrain, [=](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        T gi = maximize ? -g[i] : g[i];
        if (l2) gi = gi + weight_decay * p[i];
        m[i] = m[i] * beta1 + one_minus_beta1 * gi;
        u[i] = nan_max(u[i] * beta2, std::abs(gi) + eps);
        p[i] = p[i] + neg_clr * m[i] / u[i];
      }
    });
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
    const T beta1 = T(o.betas[0]), beta2 = T(o.betas[1]), one_minus_beta1 = T(1 - o.betas[0]),
            one_minus_beta2 = T(1 - o.betas[1]), bc2 = T(bias_correction2), eps = T(o.eps),
            weight_decay = T(o.weight_decay), g_scale = T(grad_scale), m_scale = T(avg_scale);
    const bool l2 = o.weight_decay != 0;
    parallel_for(0, param.numel(), kElementwiseGrain, [=](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        T gi = l2 ? g[i] + weight_decay * p[i] : g[i];
        m[i] = m[i] * beta1 + one_minus_beta1 * gi;
        v[i] = v[i] * beta2 + one_minus_beta2 * gi * gi;
        T denom = std::sqrt(v[i] / bc2) + eps;
        T pi = p[i] + g_scale * gi / denom;
        p[i] = pi + m_scale * m[i] / denom;
      }
    });
  });
}

template class OptimizerBase<Adam, AdamOptions, AdamState>;
template class OptimizerBase<AdamW, AdamWOptions, AdamState>;
template class OptimizerBase<Adamax, AdamaxOptions, AdamaxState>;
template class OptimizerBase<NAdam, NAdamOptions, NAdamState>;

}  // namespace cajal::optim
