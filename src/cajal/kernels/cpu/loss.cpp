#include "cajal/kernels/cpu/loss.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "cajal/kernels/cpu/reduce.h"
#include "cajal/kernels/cpu/vec_math.h"

namespace cajal::kernels {

namespace {

// The class weights as the loops read them: the given ones, or a 1 for every class. Ones
// are stored rather than special-cased, so the loops over classes have no branch and
// vectorize.
template <typename T>
struct ClassWeights {
  std::vector<T> w;
  T total = 0;  // sum over the classes
  T operator[](int64_t c) const { return w[c]; }
};

template <typename T>
ClassWeights<T> class_weights(const Tensor& weight, int64_t classes) {
  ClassWeights<T> cw;
  if (weight.defined()) cw.w.assign(weight.data_ptr<T>(), weight.data_ptr<T>() + classes);
  else cw.w.assign(classes, T(1));
  for (T v : cw.w) cw.total += v;
  return cw;
}

// Calls fn(p, at, unit) for every position p, in parallel; the position's logits are
// x[at + c * stride] with stride = unit ? 1 : l.inner. `unit` is a compile-time bool
// (std::true_type when inner == 1, the [N, C] case), so there the loops over classes
// see unit stride and vectorize.
template <typename F>
void for_each_position(const DimLayout& l, const F& fn) {
  int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(l.n, 1));
  auto run = [&](auto unit) {
    parallel_for(0, l.outer * l.inner, grain, [&](int64_t b, int64_t e) {
      for (int64_t p = b; p < e; ++p) {
        int64_t o = p / l.inner;
        fn(p, o * l.n * l.inner + (p - o * l.inner), unit);
      }
    });
  };
  if (l.inner == 1) run(std::true_type{});
  else run(std::false_type{});
}

}  // namespace

void cross_entropy(const Tensor& logits, int64_t class_dim, const CrossEntropyTargets& targets, const Tensor& loss,
                   const Tensor& lse, const Tensor& weight) {
  if (loss.numel() == 0) return;
  DimLayout l = dim_layout(logits.sizes(), class_dim);
  dispatch_floating(logits.dtype(), "cross_entropy kernel", [&]<typename T>() {
    const T* x = logits.data_ptr<T>();
    const int64_t* target = targets.target.data_ptr<int64_t>();
    const ClassWeights<T> w = class_weights<T>(targets.class_weight, l.n);
    const T keep = T(1) - T(targets.label_smoothing), spread = T(targets.label_smoothing) / T(l.n);
    T* loss_out = loss.data_ptr<T>();
    T* lse_out = lse.data_ptr<T>();
    T* weight_out = weight.data_ptr<T>();
    for_each_position(l, [&](int64_t p, int64_t at, auto unit) {
      const int64_t stride = decltype(unit)::value ? 1 : l.inner;
      const T* row = x + at;
      // Shift by the max so exp cannot overflow.
      T m = -std::numeric_limits<T>::infinity();
#pragma omp simd reduction(max : m)
      for (int64_t c = 0; c < l.n; ++c) m = row[c * stride] > m ? row[c * stride] : m;
      T s = 0;
#pragma omp simd reduction(+ : s)
      for (int64_t c = 0; c < l.n; ++c) s += vec_exp(row[c * stride] - m);
      const T lse_p = m + std::log(s);
      lse_out[p] = lse_p;
      const int64_t t = target[p];
      if (t == targets.ignore_index) {
        loss_out[p] = 0;
        weight_out[p] = 0;
        return;
      }
      T value = keep * w[t] * (lse_p - row[t * stride]);
      if (spread != 0) {
        // -sum_c w_c log_softmax_c, each term formed before summing (no cancellation).
        T smooth = 0;
#pragma omp simd reduction(+ : smooth)
        for (int64_t c = 0; c < l.n; ++c) smooth += w[c] * (lse_p - row[c * stride]);
        value += spread * smooth;
      }
      loss_out[p] = value;
      weight_out[p] = w[t];
    });
  });
}

void cross_entropy_backward(const Tensor& logits, int64_t class_dim, const CrossEntropyTargets& targets,
                            const Tensor& lse, const Tensor& g, double scale, const Tensor& grad_x) {
  if (grad_x.numel() == 0) return;
  DimLayout l = dim_layout(logits.sizes(), class_dim);
  dispatch_floating(logits.dtype(), "cross_entropy_backward kernel", [&]<typename T>() {
    const T* x = logits.data_ptr<T>();
    const int64_t* target = targets.target.data_ptr<int64_t>();
    const ClassWeights<T> w = class_weights<T>(targets.class_weight, l.n);
    const T keep = T(1) - T(targets.label_smoothing), spread = T(targets.label_smoothing) / T(l.n);
    const T* lse_in = lse.data_ptr<T>();
    const T* g_in = g.data_ptr<T>();
    const bool g_per_position = g.numel() != 1;
    T* gx = grad_x.data_ptr<T>();
    for_each_position(l, [&](int64_t p, int64_t at, auto unit) {
      const int64_t stride = decltype(unit)::value ? 1 : l.inner;
      const T* row = x + at;
      T* out = gx + at;
      const int64_t t = target[p];
      if (t == targets.ignore_index) {
        for (int64_t c = 0; c < l.n; ++c) out[c * stride] = 0;
        return;
      }
      const T gs = g_in[g_per_position ? p : 0] * T(scale);
      const T coef = gs * (keep * w[t] + spread * w.total), off = gs * spread, lse_p = lse_in[p];
#pragma omp simd
      for (int64_t c = 0; c < l.n; ++c) out[c * stride] = coef * vec_exp(row[c * stride] - lse_p) - off * w[c];
      out[t * stride] -= gs * keep * w[t];
    });
  });
}

std::optional<int64_t> first_invalid_class(const Tensor& target, int64_t classes, int64_t ignore_index) {
  const int64_t* t = target.data_ptr<int64_t>();
  for (int64_t i = 0, n = target.numel(); i < n; ++i)
    if ((t[i] < 0 || t[i] >= classes) && t[i] != ignore_index) return t[i];
  return std::nullopt;
}

}  // namespace cajal::kernels
