// The float32 GEMM backends (OpenBLAS, and oneDNN when built with it) against NumPy
// (tests/reference/gemm_backends_reference.py) on the products of the benchmarked models,
// with their operands transposed as linear's forward and backward pass them; a batch of
// small products (one per thread); the same product twice gives the same bits.
#include <fstream>

#include "cajal/kernels/cpu/gemm.h"
#include "support/test_support.h"

using namespace cajal;
using kernels::GemmBackend;

namespace {

struct Case {
  std::string id;
  bool a_transposed, b_transposed;
};

const std::string& reference_dir() {
  static const std::string dir = [] {
    std::string d = test::temp_dir();
    test::run_reference("gemm_backends_reference.py", d);
    return d;
  }();
  return dir;
}

std::vector<Case> cases() {
  std::vector<Case> all;
  std::ifstream manifest(reference_dir() + "/manifest.txt");
  Case c;
  while (manifest >> c.id >> c.a_transposed >> c.b_transposed) all.push_back(c);
  return all;
}

Tensor load(const Case& c, const std::string& name) { return load_npy(reference_dir() + "/" + c.id + "_" + name + ".npy"); }

// The same values stored column-major: the transposed view of a contiguous matrix.
Tensor column_major(const Tensor& t) { return t.t().contiguous().t(); }

std::vector<GemmBackend> available_backends() {
  std::vector<GemmBackend> backends;
  for (GemmBackend b : {GemmBackend::OpenBLAS, GemmBackend::OneDNN})
    if (kernels::gemm_backend_available(b)) backends.push_back(b);
  return backends;
}

const char* backend_name(GemmBackend b) { return b == GemmBackend::OneDNN ? "oneDNN" : "OpenBLAS"; }

// Restores the process-wide backend when a test ends.
struct BackendScope {
  GemmBackend saved = kernels::gemm_backend();
  explicit BackendScope(GemmBackend b) { kernels::set_gemm_backend(b); }
  ~BackendScope() { kernels::set_gemm_backend(saved); }
};

TEST(GemmBackends, OpenBLASIsAlwaysAvailable) {
  EXPECT_TRUE(kernels::gemm_backend_available(GemmBackend::OpenBLAS));
  if (!kernels::gemm_backend_available(GemmBackend::OneDNN)) {
    EXPECT_THROW(kernels::set_gemm_backend(GemmBackend::OneDNN), ValueError);
    EXPECT_EQ(kernels::gemm_backend(), GemmBackend::OpenBLAS);
  }
}

TEST(GemmBackends, ModelProductsMatchNumPy) {
  std::vector<Case> all = cases();
  ASSERT_EQ(all.size(), 12u);
  for (GemmBackend backend : available_backends()) {
    BackendScope scope(backend);
    for (const Case& c : all) {
      SCOPED_TRACE(std::string(backend_name(backend)) + " " + c.id);
      Tensor a = load(c, "a"), b = load(c, "b"), acc = load(c, "c"), expected = load(c, "out");
      Tensor x = c.a_transposed ? column_major(a) : a, y = c.b_transposed ? column_major(b) : b;
      // Float32 sums of up to 3136 products of numbers in [-1, 1) (sums of size about 20):
      // rounding errors up to a few 1e-5; a wrong layout or transpose errs by about 1.
      Tensor out = acc.clone();
      kernels::gemm(x, y, out, 1, 0.5);  // out = x @ y + 0.5 * out
      EXPECT_TRUE(test::all_close(out.to(DType::f64), expected, 1e-5, 1e-4));
      Tensor product = matmul(x, y);  // beta == 0: out is only written
      EXPECT_TRUE(test::all_close(product.to(DType::f64), expected - acc.to(DType::f64) * 0.5, 1e-5, 1e-4));
    }
  }
}

TEST(GemmBackends, BatchOfSmallProductsRunsOnePerThread) {
  // 600 products of 8x8 matrices: below the size at which one product uses every thread,
  // so each thread multiplies its own share; each must equal the product done alone.
  test::NormalSampler normal(7);
  Tensor a = normal({600, 8, 8}), b = normal({600, 8, 8});
  for (GemmBackend backend : available_backends()) {
    BackendScope scope(backend);
    SCOPED_TRACE(backend_name(backend));
    Tensor batch = matmul(a, b);
    Tensor expected = matmul(a.to(DType::f64), b.to(DType::f64));
    EXPECT_TRUE(test::all_close(batch.to(DType::f64), expected, 1e-5, 1e-5));
    for (int64_t i : {0, 299, 599}) EXPECT_TRUE(test::all_close(batch.select(0, i), matmul(a.select(0, i), b.select(0, i)), 0, 0));
  }
}

TEST(GemmBackends, SameProductGivesTheSameBits) {
  std::vector<Case> all = cases();
  const Case& c = all.at(0);  // [1000, 784] @ [784, 256], the largest
  Tensor x = load(c, "a"), y = column_major(load(c, "b"));
  for (GemmBackend backend : available_backends()) {
    BackendScope scope(backend);
    SCOPED_TRACE(backend_name(backend));
    Tensor first = matmul(x, y);
    for (int run = 0; run < 3; ++run) EXPECT_TRUE(test::all_close(matmul(x, y), first, 0, 0));
  }
}

}  // namespace
