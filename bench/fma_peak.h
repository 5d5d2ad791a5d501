#pragma once
// The machine's measured fp32 FMA peak on the OpenMP threads (bench/README.md, "How it is
// timed"): bench_gemm and bench_onnx_inference print it to put their times in proportion.
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstdio>

#include "timing.h"

namespace bench {

// Peak fp32 GFLOP/s: every thread runs 16 independent FMA chains (enough to cover the
// FMA latency on every pipe) on vectors of type V for `steps` iterations. A peak is the
// best the machine can do, so this takes the fastest of many short runs, not the median:
// on a loaded machine some of them still find both cores free.
template <typename V, typename Fma>
double fma_peak_gflops(Fma fma, int lanes, int runs = 2000) {
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
  for (int r = 0; r < runs; ++r) fastest = std::min(fastest, run_calls(body, 1));
  return 2.0 * lanes * chains * steps * omp_get_max_threads() / fastest / 1e9;
}

// INFO gemm.peak_avx2_gflops and, where compiled for AVX-512, gemm.peak_avx512_gflops.
inline void report_fma_peaks(int runs = 2000) {
  typedef float v8 __attribute__((vector_size(32)));
  info("gemm.peak_avx2_gflops",
       fma_peak_gflops<v8>([](v8 c, v8 m, v8 a) { return (v8)_mm256_fmadd_ps((__m256)c, (__m256)m, (__m256)a); }, 8, runs));
#ifdef __AVX512F__
  typedef float v16 __attribute__((vector_size(64)));
  info("gemm.peak_avx512_gflops",
       fma_peak_gflops<v16>([](v16 c, v16 m, v16 a) { return (v16)_mm512_fmadd_ps((__m512)c, (__m512)m, (__m512)a); }, 16, runs));
#endif
}

}  // namespace bench
