#pragma once
// Matrix products on the CPU: float32 through oneDNN's sgemm when cajal is built with
// oneDNN (its AVX-512 kernels), else through CBLAS (OpenBLAS); float64 through CBLAS;
// bfloat16 computed in float32; integers through a plain loop. No autograd: ops/linalg.cpp
// checks shapes and dtypes, allocates the output and records gradients, then calls this.
#include "cajal/core/tensor.h"

namespace cajal::kernels {

// Which library multiplies float32 matrices. OneDNN is the default when cajal is built
// with it (CMake option CAJAL_WITH_ONEDNN); OpenBLAS is always there, and the tests compare
// the two. The setting is process-wide.
enum class GemmBackend { OpenBLAS, OneDNN };
void set_gemm_backend(GemmBackend backend);  // ValueError if the backend was not built
GemmBackend gemm_backend();
bool gemm_backend_available(GemmBackend backend);

// out = alpha * (a @ b) + beta * out, for batches of matrices:
//   a [..., n, k], b [..., k, m], out [..., n, m], all of one dtype.
// The batch dims of a and b broadcast to out's (a missing or size-1 dim reuses the same
// matrix, without copying it). Matrices stored row- or column-major with any leading
// dimension (transposed views, slices) go to BLAS in place; other layouts are copied once.
// With beta == 0, out is only written, so it may be uninitialized. k == 0 gives beta * out.
void gemm(const Tensor& a, const Tensor& b, const Tensor& out, double alpha = 1, double beta = 0);

}  // namespace cajal::kernels
