#include "cajal/kernels/cpu/softmax.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "cajal/kernels/cpu/reduce.h"
#include "cajal/kernels/cpu/vec_math.h"

namespace cajal::kernels {

namespace {

// --- forward ---

// One contiguous row (the last-dim case): max, then sum of exp(x - max), then the output.
// Every loop is a vector loop (vec_exp has no branches or library calls for float).
template <typename T>
void softmax_row(const T* x, T* y, int64_t n, bool log) {
  T m = -std::numeric_limits<T>::infinity();
#pragma omp simd reduction(max : m)
  for (int64_t i = 0; i < n; ++i) m = x[i] > m ? x[i] : m;
  T s = 0;
  if (log) {
#pragma omp simd reduction(+ : s)
    for (int64_t i = 0; i < n; ++i) s += vec_exp(x[i] - m);
    T log_s = std::log(s);
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - m) - log_s;
  } else {
#pragma omp simd reduction(+ : s)
    for (int64_t i = 0; i < n; ++i) {
      T e = vec_exp(x[i] - m);
      y[i] = e;
      s += e;
    }
    T r = T(1) / s;
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] *= r;
  }
}

// A block of w columns of an [n, inner] slice (softmax along dim 0 or a middle dim): the
// same three steps, each walking down the n rows over w contiguous columns.
template <typename T>
void softmax_columns(const T* x, T* y, int64_t n, int64_t inner, int64_t w, bool log) {
  T m[kColumnBlock], s[kColumnBlock];
  std::copy(x, x + w, m);
  for (int64_t i = 1; i < n; ++i)
    for (int64_t j = 0; j < w; ++j) m[j] = x[i * inner + j] > m[j] ? x[i * inner + j] : m[j];
  std::fill(s, s + w, T(0));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < w; ++j) s[j] += vec_exp(x[i * inner + j] - m[j]);
  if (log) {
    for (int64_t j = 0; j < w; ++j) s[j] = std::log(s[j]);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < w; ++j) y[i * inner + j] = (x[i * inner + j] - m[j]) - s[j];
  } else {
    for (int64_t j = 0; j < w; ++j) s[j] = T(1) / s[j];
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < w; ++j) y[i * inner + j] = vec_exp(x[i * inner + j] - m[j]) * s[j];
  }
}

// --- backward ---

template <typename T>
void softmax_backward_row(const T* g, const T* y, T* gx, int64_t n, bool log) {
  T s = 0;
  if (log) {
#pragma omp simd reduction(+ : s)
    for (int64_t i = 0; i < n; ++i) s += g[i];
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) gx[i] = g[i] - vec_exp(y[i]) * s;
  } else {
#pragma omp simd reduction(+ : s)
    for (int64_t i = 0; i < n; ++i) s += g[i] * y[i];
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) gx[i] = y[i] * (g[i] - s);
  }
}

template <typename T>
void softmax_backward_columns(const T* g, const T* y, T* gx, int64_t n, int64_t inner, int64_t w, bool log) {
  T s[kColumnBlock] = {};
  if (log) {
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < w; ++j) s[j] += g[i * inner + j];
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < w; ++j) gx[i * inner + j] = g[i * inner + j] - vec_exp(y[i * inner + j]) * s[j];
  } else {
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < w; ++j) s[j] += g[i * inner + j] * y[i * inner + j];
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < w; ++j) gx[i * inner + j] = y[i * inner + j] * (g[i * inner + j] - s[j]);
  }
}

// Runs row(offset, n) for every slice when the dim is last, else
// columns(offset, n, inner, w) for every block of columns; offset is the slice's start.
template <typename Row, typename Columns>
void for_each_slice(const DimLayout& l, const Row& row, const Columns& columns) {
  if (l.inner == 1) {
    parallel_rows(l, [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) row(o * l.n);
    });
  } else {
    parallel_column_blocks(l, [&](int64_t o, int64_t j0, int64_t j1) { columns(o * l.n * l.inner + j0, j1 - j0); });
  }
}

}  // namespace

void softmax(const Tensor& in, const Tensor& out, int64_t dim, bool log) {
  if (in.numel() == 0) return;
  DimLayout l = dim_layout(in.sizes(), dim);
  dispatch_floating(in.dtype(), "softmax kernel", [&]<typename T>() {
    const T* x = in.data_ptr<T>();
    T* y = out.data_ptr<T>();
    for_each_slice(
        l, [&](int64_t at) { softmax_row(x + at, y + at, l.n, log); },
        [&](int64_t at, int64_t w) { softmax_columns(x + at, y + at, l.n, l.inner, w, log); });
  });
}

void softmax_backward(const Tensor& g, const Tensor& y, const Tensor& grad_in, int64_t dim, bool log) {
  if (y.numel() == 0) return;
  DimLayout l = dim_layout(y.sizes(), dim);
  dispatch_floating(y.dtype(), "softmax_backward kernel", [&]<typename T>() {
    const T* gp = g.data_ptr<T>();
    const T* yp = y.data_ptr<T>();
    T* gx = grad_in.data_ptr<T>();
    for_each_slice(
        l, [&](int64_t at) { softmax_backward_row(gp + at, yp + at, gx + at, l.n, log); },
        [&](int64_t at, int64_t w) { softmax_backward_columns(gp + at, yp + at, gx + at, l.n, l.inner, w, log); });
  });
}

}  // namespace cajal::kernels
