#include "cajal/kernels/cpu/own_gemm.h"

#include <cstdint>
#include <vector>

#include "cajal/core/parallel.h"

namespace cajal::kernels {

namespace {

template <typename T>
void axpy_row(T* __restrict c, const T* __restrict b, T a, int n) {
  for (int j = 0; j < n; ++j) c[j] += a * b[j];
}

template <typename T>
void gemm(bool trans_a, bool trans_b, int m, int n, int k, T alpha, const T* a, int lda, const T* b, int ldb, T beta, T* c,
          int ldc) {
  std::vector<T> packed;
  if (trans_b) {  // B(p, j) = b[j * ldb + p]: copied to row-major K x N
    packed.resize(static_cast<size_t>(k) * static_cast<size_t>(n));
    for (int p = 0; p < k; ++p)
      for (int j = 0; j < n; ++j) packed[static_cast<size_t>(p) * n + j] = b[static_cast<size_t>(j) * ldb + p];
    b = packed.data();
    ldb = n;
  }
  parallel_for(0, m, 4, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      T* row = c + i * ldc;
      for (int j = 0; j < n; ++j) row[j] = beta == T(0) ? T(0) : beta * row[j];  // beta 0 ignores C, as BLAS does
      for (int p = 0; p < k; ++p) {
        const T a_ip = alpha * (trans_a ? a[static_cast<int64_t>(p) * lda + i] : a[i * lda + p]);
        axpy_row(row, b + static_cast<int64_t>(p) * ldb, a_ip, n);
      }
    }
  });
}

}  // namespace

void own_gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,
              float beta, float* c, int ldc) {
  gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
void own_gemm(bool trans_a, bool trans_b, int m, int n, int k, double alpha, const double* a, int lda, const double* b,
              int ldb, double beta, double* c, int ldc) {
  gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace cajal::kernels
