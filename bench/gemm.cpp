// Square sgemm through cajal's matmul against cblas_sgemm called directly (same process,
// same OpenMP threads), and the machine's measured FMA peak to put both in proportion.
// When cajal is built with oneDNN, its float32 products run oneDNN's sgemm, so matmul is
// also timed against dnnl_sgemm called directly: that ratio is cajal's own overhead.
#include <cblas.h>
#ifdef CAJAL_WITH_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#endif
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstdio>

#include "data.h"
#include "timing.h"

using namespace cajal;

namespace {

// Peak fp32 GFLOP/s: every thread runs 16 independent FMA chains (enough to cover the
// FMA latency on every pipe) on vectors of type V for `steps` iterations. A peak is the
// best the machine can do, so this takes the fastest of many short runs, not the median:
// on a loaded machine some of them still find both cores free.
template <typename V, typename Fma>
double fma_peak_gflops(Fma fma, int lanes) {
  constexpr long steps = 100000;
  constexpr int chains = 16;
  auto body = [&] {
#pragma omp parallel
    {
      V acc[chains], m, a;
      float seed = 1.0f + 1e-7f * omp_get_thread_num();
      for (int c = 0; c < chains; ++c) acc[c] = V{} + seed * c;
      m = V{} + 0.999999f;
      a = V{} + 1e-7f;
      for (long i = 0; i < steps; ++i)
        for (int c = 0; c < chains; ++c) acc[c] = fma(acc[c], m, a);
      float keep = 0;
      for (int c = 0; c < chains; ++c) keep += acc[c][0];
      if (keep == 12345.f) std::puts("");  // keeps the chains alive
    }
  };
  double fastest = 1e30;
  for (int r = 0; r < 2000; ++r) fastest = std::min(fastest, bench::run_calls(body, 1));
  return 2.0 * lanes * chains * steps * omp_get_max_threads() / fastest / 1e9;
}

}  // namespace

int main() {
  bench::info("threads", cajal::num_threads());
  // Which kernels OpenBLAS picked (OPENBLAS_CORETYPE overrides its CPU detection).
  std::printf("INFO gemm.openblas_core %s\n", openblas_get_corename());
  typedef float v8 __attribute__((vector_size(32)));
  bench::info("gemm.peak_avx2_gflops",
              fma_peak_gflops<v8>([](v8 c, v8 m, v8 a) { return (v8)_mm256_fmadd_ps((__m256)c, (__m256)m, (__m256)a); }, 8));
#ifdef __AVX512F__
  typedef float v16 __attribute__((vector_size(64)));
  bench::info("gemm.peak_avx512_gflops",
              fma_peak_gflops<v16>([](v16 c, v16 m, v16 a) { return (v16)_mm512_fmadd_ps((__m512)c, (__m512)m, (__m512)a); }, 16));
#endif

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
