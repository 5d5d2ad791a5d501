// Generative metrics against SciPy (tests/reference/metrics_generative_reference.py): the
// matrix square root against scipy.linalg.sqrtm, the Fréchet distance against the usual
// formula with sqrtm(C_a @ C_b), the class entropy against scipy.stats.entropy.
#include "cajal/metrics/generative.h"
#include "cajal/ops/linalg.h"
#include "cajal/ops/shape.h"
#include "cajal/ops/random.h"
#include "support/test_support.h"

namespace cajal {
namespace {

class GenerativeMetrics : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = test::temp_dir();
    Generator gen(3);
    // Correlated features: a random mixing of normal noise, the second set shifted and scaled.
    Tensor mix = randn({8, 8}, {}, &gen);
    a_ = matmul(randn({300, 8}, {.dtype = DType::f64}, &gen), mix.to(DType::f64));
    b_ = matmul(randn({200, 8}, {.dtype = DType::f64}, &gen), mix.to(DType::f64)) * 1.3 + 0.4;
    labels_ = randint(0, 7, {500}, {.dtype = DType::i64}, &gen);
    save_npy(a_, dir_ + "/a.npy");
    save_npy(b_, dir_ + "/b.npy");
    save_npy(labels_, dir_ + "/labels.npy");
    written_ = test::run_reference("metrics_generative_reference.py", dir_, &log_);
  }
  void SetUp() override { ASSERT_TRUE(written_) << log_; }
  static double expected(const std::string& name) { return load_npy(dir_ + "/" + name + ".npy").item<double>(); }
  static inline std::string dir_, log_;
  static inline Tensor a_, b_, labels_;
  static inline bool written_ = false;
};

TEST_F(GenerativeMetrics, SquareRootMatchesScipy) {
  Tensor covariance = load_npy(dir_ + "/covariance_a.npy");
  Tensor root = metrics::sqrtm_psd(covariance);
  EXPECT_TRUE(test::all_close(root, load_npy(dir_ + "/sqrtm_a.npy"), 1e-9, 1e-9));
  EXPECT_TRUE(test::all_close(matmul(root, root), covariance, 1e-9, 1e-9));
  // A singular PSD matrix (rank 1): its root, with the zero eigenvalues kept at 0.
  Tensor v = tensor({1.0, 2.0, -1.0}).reshape({3, 1});
  Tensor rank_one = matmul(v, v.t());
  EXPECT_TRUE(test::all_close(metrics::sqrtm_psd(rank_one), rank_one / std::sqrt(6.0), 1e-12, 1e-12));
}

TEST_F(GenerativeMetrics, FrechetDistanceMatchesScipy) {
  EXPECT_NEAR(metrics::frechet_distance(a_, b_), expected("frechet"), 1e-8 * expected("frechet"));
  EXPECT_NEAR(metrics::frechet_distance(a_, a_), 0.0, 1e-8);
  EXPECT_NEAR(metrics::frechet_distance(a_.to(DType::f32), b_.to(DType::f32)), expected("frechet"), 1e-4 * expected("frechet"));
}

TEST_F(GenerativeMetrics, ClassEntropyMatchesScipy) {
  EXPECT_NEAR(metrics::class_entropy(labels_, 10), expected("entropy"), 1e-12);
  EXPECT_NEAR(metrics::class_entropy(repeat(arange(0, 10, 1, DType::i64), {100}), 10), std::log(10.0), 1e-12);
  EXPECT_EQ(metrics::class_entropy(zeros({5}, {.dtype = DType::i64}), 10), 0.0);
}

TEST(GenerativeMetricsErrors, BadInputIsOneClearError) {
  test::expect_error<ValueError>([] { metrics::sqrtm_psd(tensor({1.0, 2.0, 0.0, 1.0}, {2, 2})); }, {"sqrtm_psd", "not symmetric"});
  test::expect_error<ShapeError>([] { metrics::sqrtm_psd(zeros({2, 3})); }, {"sqrtm_psd", "square", "2x3"});
  test::expect_error<ShapeError>([] { metrics::frechet_distance(zeros({4, 3}), zeros({4, 2})); }, {"frechet_distance", "3 and 2 features"});
  test::expect_error<ValueError>([] { metrics::frechet_distance(zeros({1, 3}), zeros({4, 3})); }, {"at least 2"});
  test::expect_error<IndexError>([] { metrics::class_entropy(tensor({0, 10}), 10); }, {"class_entropy", "label 10", "[0, 10)"});
}

}  // namespace
}  // namespace cajal
