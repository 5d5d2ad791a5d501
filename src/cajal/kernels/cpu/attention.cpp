#include "cajal/kernels/cpu/attention.h"

#include <algorithm>
#include <limits>

#include "cajal/core/parallel.h"
#include "cajal/kernels/cpu/vec_math.h"

namespace cajal::kernels {

namespace {

// Where one row's mask lives: a float row to add or a bool row of allowed positions (either
// may be null), the step between its positions, and the causal limit (positions from `end`
// on are masked; the row length without causal masking).
template <typename T>
struct RowMask {
  const T* add;
  const bool* keep;
  int64_t step, end;
};

// Reads the masks of kernels::attention_softmax row by row.
template <typename T>
class MaskReader {
 public:
  MaskReader(const Tensor& mask, bool causal, int64_t queries, int64_t n)
      : mask_(mask), causal_(causal), queries_(queries), n_(n) {
    if (!mask.defined()) return;
    step_ = mask.stride(-1);
    if (mask.dtype() == DType::boolean) keep_ = mask.data_ptr<bool>();
    else add_ = mask.data_ptr<T>();
  }
  RowMask<T> row(int64_t r) const {
    int64_t offset = mask_.defined() ? offset_of(r) : 0;
    return {add_ ? add_ + offset : nullptr, keep_ ? keep_ + offset : nullptr, step_,
            causal_ ? std::min(n_, r % queries_ + 1) : n_};
  }

 private:
  // The element offset from the mask's first element of row r (counted over every dim but the last).
  int64_t offset_of(int64_t r) const {
    int64_t offset = 0;
    for (int64_t d = mask_.dim() - 2; d >= 0; --d) {
      int64_t size = mask_.size(d);
      offset += (r % size) * mask_.stride(d);
      r /= size;
    }
    return offset;
  }
  Tensor mask_;
  bool causal_;
  int64_t queries_, n_, step_ = 0;
  const T* add_ = nullptr;
  const bool* keep_ = nullptr;
};

// One row: the masked, scaled scores into y, then exp(y - max) and the normalization. Each
// step is its own loop over the row (which stays in L1), so each one vectorizes.
template <typename T>
void masked_softmax_row(const T* x, T* y, int64_t n, T scale, const RowMask<T>& m) {
  const T minus_inf = -std::numeric_limits<T>::infinity();
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) y[j] = x[j] * scale;
  if (m.add)
    for (int64_t j = 0; j < n; ++j) y[j] += m.add[j * m.step];
  if (m.keep)
    for (int64_t j = 0; j < n; ++j) y[j] = m.keep[j * m.step] ? y[j] : minus_inf;
  for (int64_t j = m.end; j < n; ++j) y[j] = minus_inf;
  T top = minus_inf;
#pragma omp simd reduction(max : top)
  for (int64_t j = 0; j < n; ++j) top = y[j] > top ? y[j] : top;
  T s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t j = 0; j < n; ++j) {
    T e = vec_exp(y[j] - top);
    y[j] = e;
    s += e;
  }
  T r = T(1) / s;
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) y[j] *= r;
}

// Rows per parallel chunk: enough elements that starting a thread pays off.
int64_t row_grain(int64_t row_length) { return std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(row_length, 1)); }

}  // namespace

void attention_softmax(const Tensor& scores, const Tensor& mask, bool causal, double scale, const Tensor& out) {
  if (scores.numel() == 0) return;
  const int64_t n = scores.size(-1), rows = scores.numel() / n;
  dispatch_floating(scores.dtype(), "attention_softmax kernel", [&]<typename T>() {
    const T* x = scores.data_ptr<T>();
    T* y = out.data_ptr<T>();
    MaskReader<T> masks(mask, causal, scores.size(-2), n);
    parallel_for(0, rows, row_grain(n), [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) masked_softmax_row<T>(x + r * n, y + r * n, n, static_cast<T>(scale), masks.row(r));
    });
  });
}

void attention_softmax_backward(const Tensor& g, const Tensor& y, const Tensor& mask, bool causal, double scale,
                                const Tensor& grad_scores) {
  if (g.numel() == 0) return;
  const int64_t n = g.size(-1), rows = g.numel() / n;
  dispatch_floating(g.dtype(), "attention_softmax_backward kernel", [&]<typename T>() {
    const T* gp = g.data_ptr<T>();
    const T* yp = y.data_ptr<T>();
    T* gx = grad_scores.data_ptr<T>();
    const T sc = static_cast<T>(scale);
    MaskReader<T> masks(mask.defined() && mask.dtype() == DType::boolean ? mask : Tensor(), causal, g.size(-2), n);
    parallel_for(0, rows, row_grain(n), [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const T* gr = gp + r * n;
        const T* yr = yp + r * n;
        T* out = gx + r * n;
        T s = 0;
#pragma omp simd reduction(+ : s)
        for (int64_t j = 0; j < n; ++j) s += gr[j] * yr[j];
#pragma omp simd
        for (int64_t j = 0; j < n; ++j) out[j] = sc * yr[j] * (gr[j] - s);
        RowMask<T> m = masks.row(r);
        if (m.keep)
          for (int64_t j = 0; j < n; ++j) out[j] = m.keep[j * m.step] ? out[j] : T(0);
        for (int64_t j = m.end; j < n; ++j) out[j] = 0;
      }
    });
  });
}

}  // namespace cajal::kernels
