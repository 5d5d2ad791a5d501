// Square sgemm through cajal's matmul against cblas_sgemm called directly (same process,
// same OpenMP threads), and the machine's measured FMA peak to put both in proportion.
// When cajal is built with oneDNN, its float32 products run oneDNN's sgemm, so matmul is
// also timed against dnnl_sgemm called directly: that ratio is cajal's own overhead.
#include <cblas.h>
#ifdef CAJAL_WITH_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#endif
#include <omp.h>

#include <algorithm>
#include <cstdio>

#include "data.h"
#include "fma_peak.h"
#include "timing.h"

using namespace cajal;

int main() {
  bench::info("threads", cajal::num_threads());
  // Which kernels OpenBLAS picked (OPENBLAS_CORETYPE overrides its CPU detection).
  std::printf("INFO gemm.openblas_core %s\n", openblas_get_corename());
  bench::report_fma_peaks();

  for (int n : {256, 512, 1024, 2048}) {
    Tensor a = bench::uniform_tensor({n, n}, 1), b = bench::uniform_tensor({n, n}, 2);
    Tensor c = zeros({n, n});
    const float *pa = a.data_ptr<float>(), *pb = b.data_ptr<float>();
    float* pc = c.data_ptr<float>();
    auto [blas_s, cajal_s] = bench::seconds_per_call_interleaved(
        [&] { cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, pa, n, pb, n, 0.0f, pc, n); },
        [&] { Tensor r = matmul(a, b); });
    char name[64];
    std::snprintf(name, sizeof name, "gemm.%d.openblas", n);
    bench::report(name, blas_s);
    std::snprintf(name, sizeof name, "gemm.%d.cajal", n);
    bench::report(name, cajal_s);
#ifdef CAJAL_WITH_ONEDNN
    auto [dnnl_s, cajal_again_s] = bench::seconds_per_call_interleaved(
        [&] { dnnl_sgemm('N', 'N', n, n, n, 1.0f, pa, n, pb, n, 0.0f, pc, n); }, [&] { Tensor r = matmul(a, b); });
    std::snprintf(name, sizeof name, "gemm.%d.onednn", n);
    bench::report(name, dnnl_s);
    std::snprintf(name, sizeof name, "gemm.%d.cajal_beside_onednn", n);
    bench::report(name, cajal_again_s);
#endif
  }
}
