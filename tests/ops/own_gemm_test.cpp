// cajal's own GEMM (kernels/cpu/own_gemm.h, the products of builds without OpenBLAS)
// against the library's matmul (OpenBLAS or oneDNN in this build), with every transpose,
// leading dimensions wider than the matrices, alpha and beta.
#include "cajal/kernels/cpu/own_gemm.h"
#include "cajal/ops/linalg.h"
#include "cajal/ops/random.h"
#include "support/test_support.h"

namespace cajal {
namespace {

template <typename T>
void check_products(DType dtype, double tolerance) {
  Generator gen(7);
  const int m = 37, n = 29, k = 53;
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      // Stored with 3 spare columns: lda etc. exceed the logical widths.
      const Tensor a_store = randn({ta ? k : m, (ta ? m : k) + 3}, {.dtype = dtype}, &gen);
      const Tensor b_store = randn({tb ? n : k, (tb ? k : n) + 3}, {.dtype = dtype}, &gen);
      Tensor c_store = randn({m, n + 3}, {.dtype = dtype}, &gen);
      Tensor a = a_store.narrow(1, 0, ta ? m : k), b = b_store.narrow(1, 0, tb ? k : n);
      const Tensor c0 = c_store.narrow(1, 0, n).clone();
      const Tensor expected = matmul(ta ? a.t() : a, tb ? b.t() : b) * 0.5 + c0 * 2.0;
      kernels::own_gemm(ta, tb, m, n, k, T(0.5), a_store.data_ptr<T>(), (ta ? m : k) + 3, b_store.data_ptr<T>(), (tb ? k : n) + 3,
                        T(2), c_store.data_ptr<T>(), n + 3);
      EXPECT_TRUE(test::all_close(c_store.narrow(1, 0, n), expected, tolerance, tolerance)) << ta << tb;
    }
  }
}

TEST(OwnGemm, MatchesTheLibraryProductFloat) { check_products<float>(DType::f32, 1e-4); }
TEST(OwnGemm, MatchesTheLibraryProductDouble) { check_products<double>(DType::f64, 1e-12); }

TEST(OwnGemm, BetaZeroIgnoresWhatCHeld) {
  std::vector<float> a{1, 2}, b{3, 4}, c{std::nanf(""), std::nanf("")};
  kernels::own_gemm(false, false, 1, 2, 1, 1.0f, a.data(), 1, b.data(), 2, 0.0f, c.data(), 2);
  EXPECT_EQ(c, (std::vector<float>{3, 4}));
}

}  // namespace
}  // namespace cajal
