#pragma once
// The two CBLAS products cajal calls (cblas_sgemm, cblas_dgemm; row-major): OpenBLAS's when
// built with it (CMake option CAJAL_WITH_OPENBLAS, the default), else cajal's own
// (own_gemm.h), for the smallest builds. Included by the kernels' .cpp files only.
#ifdef CAJAL_WITH_OPENBLAS
#include <cblas.h>
#else
#include "cajal/core/error.h"
#include "cajal/kernels/cpu/own_gemm.h"

enum CBLAS_ORDER { CblasRowMajor = 101, CblasColMajor = 102 };
enum CBLAS_TRANSPOSE { CblasNoTrans = 111, CblasTrans = 112, CblasConjTrans = 113 };

inline void cblas_sgemm(CBLAS_ORDER order, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, float alpha,
                        const float* a, int lda, const float* b, int ldb, float beta, float* c, int ldc) {
  if (order != CblasRowMajor) cajal::fail<cajal::ValueError>("gemm: cajal's own GEMM takes row-major matrices only");
  cajal::kernels::own_gemm(ta != CblasNoTrans, tb != CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
inline void cblas_dgemm(CBLAS_ORDER order, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, double alpha,
                        const double* a, int lda, const double* b, int ldb, double beta, double* c, int ldc) {
  if (order != CblasRowMajor) cajal::fail<cajal::ValueError>("gemm: cajal's own GEMM takes row-major matrices only");
  cajal::kernels::own_gemm(ta != CblasNoTrans, tb != CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
#endif
