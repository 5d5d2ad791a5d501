#pragma once
// cajal's own GEMM: C = alpha * op(A) @ op(B) + beta * C, row-major, for builds without
// OpenBLAS (kernels/cpu/blas.h routes CBLAS calls here then). Rows of C run in parallel;
// each accumulates a_ip * (row p of B) over p, contiguous loops the compiler vectorizes (a
// transposed B is copied row-major first). Slower than OpenBLAS on large products; enough
// for inference on small models.
namespace cajal::kernels {

void own_gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,
              float beta, float* c, int ldc);
void own_gemm(bool trans_a, bool trans_b, int m, int n, int k, double alpha, const double* a, int lda, const double* b,
              int ldb, double beta, double* c, int ldc);

}  // namespace cajal::kernels
