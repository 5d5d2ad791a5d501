// The float32 matrix products of the benchmarked models, shape by shape: OpenBLAS's
// cblas_sgemm, oneDNN's dnnl_sgemm (2 threads, and 1), and cajal's kernels::gemm with each
// backend, every operand laid out as cajal's ops pass it (linear's forward reads the
// weight transposed, its weight gradient the output gradient transposed). This is the
// measurement behind the choice of backend in kernels/cpu/gemm.cpp; see bench/README.md,
// "Matrix products".
//
//   OMP_NUM_THREADS=2 build-bench/bench/bench_gemm_shapes
#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>

#include <cstdio>
#include <vector>

#include "cajal/kernels/cpu/gemm.h"
#include "data.h"
#include "timing.h"

using namespace cajal;

namespace {

struct Shape {
  const char* what;
  int m, n, k;   // C [m, n] = op(A) [m, k] @ op(B) [k, n]
  bool ta, tb;   // op(A) = A^T (A stored [k, m]); op(B) = B^T (B stored [n, k])
};

const Shape kShapes[] = {
    {"MLP fc1 fwd, batch 1000", 1000, 256, 784, false, true},
    {"MLP fc2 fwd, batch 1000", 1000, 128, 256, false, true},
    {"MLP fc3 fwd, batch 1000", 1000, 10, 128, false, true},
    {"MLP fc1 fwd, batch 128", 128, 256, 784, false, true},
    {"MLP fc1 grad input", 128, 784, 256, false, false},
    {"MLP fc1 grad weight", 256, 784, 128, true, false},
    {"MLP fc2 fwd, batch 128", 128, 128, 256, false, true},
    {"MLP fc2 grad input", 128, 256, 128, false, false},
    {"MLP fc2 grad weight", 128, 256, 128, true, false},
    {"MLP fc3 fwd, batch 128", 128, 10, 128, false, true},
    {"MLP fc3 grad input", 128, 128, 10, false, false},
    {"MLP fc3 grad weight", 10, 128, 128, true, false},
    {"CNN fc1 fwd, batch 128", 128, 128, 3136, false, true},
    {"CNN fc1 fwd, batch 1000", 1000, 128, 3136, false, true},
    {"CNN fc1 grad input", 128, 3136, 128, false, false},
    {"CNN fc1 grad weight", 128, 3136, 128, true, false},
    {"im2col conv 32->64 fwd (per image)", 64, 196, 288, false, false},
    {"im2col conv 32->64 grad input", 288, 196, 64, true, false},
    {"im2col conv 32->64 grad weight", 64, 288, 196, false, true},
    {"im2col conv 1->32 fwd (per image)", 32, 784, 9, false, false},
    {"RNN input product [T*N, 256] x [256, 1024]", 2048, 1024, 256, false, true},
    {"RNN step [32, 256] x [256, 1024]", 32, 1024, 256, false, true},
    {"RNN weight grad", 1024, 256, 2048, true, false},
    {"RNN step grad hidden", 32, 256, 1024, false, false},
    {"one example through MLP fc1", 1, 256, 784, false, true},
    {"square 256", 256, 256, 256, false, false},
    {"square 1024", 1024, 1024, 1024, false, false},
};

}  // namespace

int main() {
  const int threads = cajal::num_threads();
  std::printf("%d threads, OpenBLAS kernels %s\n\n", threads, openblas_get_corename());
  std::printf("| product | m x n x k | cblas_sgemm | dnnl_sgemm | dnnl_sgemm, 1 thread | cajal (OpenBLAS) | cajal (oneDNN) | OpenBLAS / oneDNN |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  for (const Shape& s : kShapes) {
    // Operands as stored; the transposed views are what cajal's ops hand the kernel.
    Tensor a = bench::uniform_tensor(s.ta ? Dims{s.k, s.m} : Dims{s.m, s.k}, 1);
    Tensor b = bench::uniform_tensor(s.tb ? Dims{s.n, s.k} : Dims{s.k, s.n}, 2);
    Tensor c = zeros({s.m, s.n});
    Tensor av = s.ta ? a.t() : a, bv = s.tb ? b.t() : b;
    const float *pa = a.data_ptr<float>(), *pb = b.data_ptr<float>();
    float* pc = c.data_ptr<float>();
    int lda = s.ta ? s.m : s.k, ldb = s.tb ? s.k : s.n;
    auto blas = [&] {
      cblas_sgemm(CblasRowMajor, s.ta ? CblasTrans : CblasNoTrans, s.tb ? CblasTrans : CblasNoTrans, s.m, s.n, s.k, 1.0f,
                  pa, lda, pb, ldb, 0.0f, pc, s.n);
    };
    auto dnnl = [&] { dnnl_sgemm(s.ta ? 'T' : 'N', s.tb ? 'T' : 'N', s.m, s.n, s.k, 1.0f, pa, lda, pb, ldb, 0.0f, pc, s.n); };
    auto dnnl_1 = [&] {
      omp_set_num_threads(1);
      dnnl();
      omp_set_num_threads(threads);
    };
    auto with_backend = [&](kernels::GemmBackend backend) {
      return [&, backend] {
        kernels::set_gemm_backend(backend);
        kernels::gemm(av, bv, c);
      };
    };
    auto [t_blas, t_dnnl] = bench::seconds_per_call_interleaved(blas, dnnl, 0.05, 5);
    double t_dnnl_1 = bench::seconds_per_call(dnnl_1, 0.05, 5);
    auto [t_cajal_blas, t_cajal_dnnl] = bench::seconds_per_call_interleaved(
        with_backend(kernels::GemmBackend::OpenBLAS), with_backend(kernels::GemmBackend::OneDNN), 0.05, 5);
    std::printf("| %s | %d x %d x %d%s%s | %.1f us | %.1f us | %.1f us | %.1f us | %.1f us | %.2f |\n", s.what, s.m, s.n,
                s.k, s.ta ? ", A^T" : "", s.tb ? ", B^T" : "", t_blas * 1e6, t_dnnl * 1e6, t_dnnl_1 * 1e6,
                t_cajal_blas * 1e6, t_cajal_dnnl * 1e6, t_blas / t_dnnl);
    std::fflush(stdout);
  }
}
