// nn::init: gains and fans against torch.nn.init's values (obtained by running torch 1.13),
// distributions checked statistically against their formulas (bounds, mean, std, CDF),
// orthogonality and the QR sign convention, seeded reproducibility, no recorded history.
#include <cmath>
#include <numbers>

#include "cajal/nn/init.h"
#include "support/test_support.h"

namespace cajal {
namespace {

namespace init = nn::init;

struct Moments {
  double mean, std, min, max;
};

Moments moments(const Tensor& t) {
  std::vector<double> v = t.to_vector<double>();
  double sum = 0, sq = 0, lo = v[0], hi = v[0];
  for (double x : v) {
    sum += x;
    lo = std::min(lo, x);
    hi = std::max(hi, x);
  }
  double mean = sum / static_cast<double>(v.size());
  for (double x : v) sq += (x - mean) * (x - mean);
  return {mean, std::sqrt(sq / static_cast<double>(v.size() - 1)), lo, hi};
}

// Checks a uniform sample on [-bound, bound]: inside it, reaching near both ends, with the
// standard deviation bound / sqrt(3). With n >= 1e5 draws, 1% is over 5 standard errors.
void expect_symmetric_uniform(const Tensor& t, double bound) {
  Moments m = moments(t);
  EXPECT_GE(m.min, -bound);
  EXPECT_LE(m.max, bound);
  EXPECT_LT(m.min, -0.999 * bound);
  EXPECT_GT(m.max, 0.999 * bound);
  EXPECT_NEAR(m.mean, 0, 0.01 * bound);
  EXPECT_NEAR(m.std, bound / std::sqrt(3.0), 0.01 * bound);
}

void expect_normal(const Tensor& t, double mean, double std) {
  Moments m = moments(t);
  EXPECT_NEAR(m.mean, mean, 0.015 * std);
  EXPECT_NEAR(m.std, std, 0.01 * std);
}

TEST(Init, GainsMatchPyTorch) {
  EXPECT_EQ(init::calculate_gain("linear"), 1);
  EXPECT_EQ(init::calculate_gain("conv_transpose2d"), 1);
  EXPECT_EQ(init::calculate_gain("sigmoid"), 1);
  EXPECT_DOUBLE_EQ(init::calculate_gain("tanh"), 1.6666666666666667);
  EXPECT_DOUBLE_EQ(init::calculate_gain("relu"), 1.4142135623730951);
  EXPECT_DOUBLE_EQ(init::calculate_gain("leaky_relu"), 1.4141428569978354);
  EXPECT_DOUBLE_EQ(init::calculate_gain("leaky_relu", 0.2), 1.3867504905630728);
  EXPECT_DOUBLE_EQ(init::calculate_gain("leaky_relu", std::sqrt(5.0)), 0.5773502691896257);
  EXPECT_DOUBLE_EQ(init::calculate_gain("selu"), 0.75);
  test::expect_error<ValueError>([] { init::calculate_gain("swish"); }, {"calculate_gain", "swish"});
}

TEST(Init, FansMatchPyTorch) {
  EXPECT_EQ(init::calculate_fan_in_and_fan_out(empty({32, 16, 3, 3})), std::make_pair(int64_t{144}, int64_t{288}));
  EXPECT_EQ(init::calculate_fan_in_and_fan_out(empty({5, 7})), std::make_pair(int64_t{7}, int64_t{5}));
  EXPECT_EQ(init::calculate_fan_in_and_fan_out(empty({4, 6, 5})), std::make_pair(int64_t{30}, int64_t{20}));
  test::expect_error<ValueError>([] { init::calculate_fan_in_and_fan_out(empty({5})); }, {"fan", "[5]"});
}

TEST(Init, UniformAndNormal) {
  Generator g(1);
  Tensor t = empty({400, 500});
  init::uniform_(t, -3, 5, &g);
  Moments m = moments(t);
  EXPECT_GE(m.min, -3);
  EXPECT_LT(m.max, 5);
  EXPECT_NEAR(m.mean, 1, 0.02);
  EXPECT_NEAR(m.std, 8 / std::sqrt(12.0), 0.01);
  expect_normal(init::normal_(empty({400, 500}, {.dtype = DType::f64}), 2, 0.5, &g), 2, 0.5);
  EXPECT_EQ(init::constant_(empty({3}), 1.5).to_vector<float>(), (std::vector<float>{1.5, 1.5, 1.5}));
  EXPECT_EQ(init::zeros_(ones({2})).to_vector<float>(), (std::vector<float>{0, 0}));
  EXPECT_EQ(init::ones_(zeros({2}, {.dtype = DType::i64})).to_vector<int64_t>(), (std::vector<int64_t>{1, 1}));
}

TEST(Init, Xavier) {
  Generator g(2);
  Tensor w = empty({300, 200, 2});  // fan_in 400, fan_out 600
  expect_symmetric_uniform(init::xavier_uniform_(w, 2.0, &g), 2.0 * std::sqrt(6.0 / 1000));
  expect_normal(init::xavier_normal_(w, 0.5, &g), 0, 0.5 * std::sqrt(2.0 / 1000));
}

TEST(Init, Kaiming) {
  Generator g(3);
  Tensor w = empty({64, 32, 7, 7});  // fan_in 1568, fan_out 3136
  // Linear's default: a = sqrt(5) gives bound 1 / sqrt(fan_in).
  expect_symmetric_uniform(init::kaiming_uniform_(w, std::sqrt(5.0), init::FanMode::FanIn, "leaky_relu", &g),
                           1 / std::sqrt(1568.0));
  expect_symmetric_uniform(init::kaiming_uniform_(w, 0, init::FanMode::FanOut, "relu", &g),
                           std::sqrt(3.0) * std::sqrt(2.0) / std::sqrt(3136.0));
  expect_normal(init::kaiming_normal_(w, 0.2, init::FanMode::FanIn, "leaky_relu", &g), 0,
                1.3867504905630728 / std::sqrt(1568.0));
  expect_normal(init::kaiming_normal_(w, 0, init::FanMode::FanOut, "tanh", &g), 0, (5.0 / 3) / std::sqrt(3136.0));
  // An empty tensor is left alone, as in torch.
  EXPECT_EQ(init::kaiming_uniform_(empty({0, 3}), 0, init::FanMode::FanIn, "leaky_relu", &g).numel(), 0);
}

TEST(Init, TruncatedNormalFollowsItsDistribution) {
  Generator g(4);
  const double mu = 1, s = 2, a = 0, b = 3;
  Tensor t = init::trunc_normal_(empty({200000}, {.dtype = DType::f64}), mu, s, a, b, &g);
  auto phi = [](double x) { return std::exp(-x * x / 2) / std::sqrt(2 * std::numbers::pi); };
  auto cdf = [](double x) { return (1 + std::erf(x / std::numbers::sqrt2)) / 2; };
  const double al = (a - mu) / s, be = (b - mu) / s, z = cdf(be) - cdf(al);
  const double mean = mu + s * (phi(al) - phi(be)) / z;
  const double var = s * s * (1 + (al * phi(al) - be * phi(be)) / z - std::pow((phi(al) - phi(be)) / z, 2));
  Moments m = moments(t);
  EXPECT_GE(m.min, a);
  EXPECT_LE(m.max, b);
  EXPECT_NEAR(m.mean, mean, 0.01);
  EXPECT_NEAR(m.std, std::sqrt(var), 0.01);
  // The empirical CDF at a few points against the truncated normal's CDF (tests erfinv).
  std::vector<double> v = t.to_vector<double>();
  for (double x : {0.3, 1.0, 1.7, 2.6}) {
    double below = 0;
    for (double e : v) below += e <= x;
    EXPECT_NEAR(below / static_cast<double>(v.size()), (cdf((x - mu) / s) - cdf(al)) / z, 0.005) << x;
  }
  // Default: N(0, 1) cut at +-2.
  Moments d = moments(init::trunc_normal_(empty({100000}), 0, 1, -2, 2, &g));
  EXPECT_GE(d.min, -2);
  EXPECT_LE(d.max, 2);
  EXPECT_NEAR(d.std, 0.8796, 0.01);  // sqrt(1 - 4 phi(2) / (2 Phi(2) - 1))
}

// Q from orthogonal_ and the normal matrix A it was drawn from (same seed): Q^T A must be
// upper triangular with a positive diagonal, the R that makes the decomposition unique.
void expect_orthogonal_qr(int64_t rows, int64_t cols) {
  Generator g1(5), g2(5);
  Tensor q = init::orthogonal_(empty({rows, cols}, {.dtype = DType::f64}), 1, &g1);
  Tensor a = randn({rows, cols}, {.dtype = DType::f64}, &g2);
  const bool wide = rows < cols;
  Tensor tall_q = wide ? q.t() : q, tall_a = wide ? a.t() : a;
  const int64_t n = tall_q.size(1);
  EXPECT_TRUE(test::all_close(tall_q.t().matmul(tall_q), eye(n, std::nullopt, {.dtype = DType::f64}), 0, 1e-12));
  Tensor r = tall_q.t().matmul(tall_a);
  for (int64_t i = 0; i < n; ++i) {
    EXPECT_GT(r.at<double>({i, i}), 0);
    for (int64_t j = 0; j < i; ++j) EXPECT_NEAR(r.at<double>({i, j}), 0, 1e-12);
  }
  EXPECT_TRUE(test::all_close(tall_q.matmul(r), tall_a, 0, 1e-12));
}

TEST(Init, OrthogonalIsTheQOfAPositiveDiagonalQR) {
  expect_orthogonal_qr(30, 12);
  expect_orthogonal_qr(12, 30);
  expect_orthogonal_qr(16, 16);
}

TEST(Init, OrthogonalFlattensTrailingDimsAndScales) {
  Generator g(6);
  Tensor w = init::orthogonal_(empty({8, 2, 3, 3}), 2.0, &g);  // rows of 18 values: orthogonal rows
  Tensor flat = w.reshape({8, 18});
  EXPECT_TRUE(test::all_close(flat.matmul(flat.t()), eye(8) * 4.0, 0, 1e-5));
  test::expect_error<ValueError>([] { init::orthogonal_(empty({4})); }, {"orthogonal_", "[4]"});
}

TEST(Init, SeedsReproduceAndHistoryIsNotRecorded) {
  Tensor w1 = empty({50, 20}).requires_grad_(), w2 = empty({50, 20});
  Generator g1(42), g2(42), g3(43);
  init::kaiming_uniform_(w1, 0, init::FanMode::FanIn, "relu", &g1);
  init::kaiming_uniform_(w2, 0, init::FanMode::FanIn, "relu", &g2);
  EXPECT_EQ(w1.to_vector<float>(), w2.to_vector<float>());
  init::kaiming_uniform_(w2, 0, init::FanMode::FanIn, "relu", &g3);
  EXPECT_NE(w1.to_vector<float>(), w2.to_vector<float>());
  EXPECT_TRUE(w1.is_leaf());
  EXPECT_TRUE(w1.requires_grad());
  // The default generator follows manual_seed.
  manual_seed(9);
  Tensor d1 = init::normal_(empty({10}));
  manual_seed(9);
  EXPECT_EQ(init::normal_(empty({10})).to_vector<float>(), d1.to_vector<float>());
}

TEST(Init, Errors) {
  test::expect_error<DTypeError>([] { init::uniform_(zeros({3}, {.dtype = DType::i64})); }, {"uniform_", "int64"});
  test::expect_error<ValueError>([] { init::uniform_(empty({3}), 2, 1); }, {"uniform_", "2", "1"});
  test::expect_error<ValueError>([] { init::normal_(empty({3}), 0, -1); }, {"normal_", "-1"});
  test::expect_error<ValueError>([] { init::trunc_normal_(empty({3}), 0, 1, 2, -2); }, {"trunc_normal_"});
  test::expect_error<ValueError>([] { init::xavier_uniform_(empty({3})); }, {"fan", "[3]"});
}

}  // namespace
}  // namespace cajal

namespace cajal {
namespace {

TEST(InitSkip, GuardLeavesTensorsAndTheGeneratorAlone) {
  Tensor t = full({4, 3}, 7.0);
  manual_seed(11);
  {
    nn::init::SkipInitGuard skip;
    EXPECT_TRUE(nn::init::SkipInitGuard::active());
    nn::init::kaiming_uniform_(t, std::sqrt(5.0));
    nn::init::normal_(t);
    nn::init::orthogonal_(t);
    nn::init::trunc_normal_(t);
    nn::Linear layer(3, 2);  // builds without drawing
  }
  EXPECT_FALSE(nn::init::SkipInitGuard::active());
  EXPECT_TRUE(test::all_close(t, full({4, 3}, 7.0), 0, 0));
  const Tensor after = rand({5});
  manual_seed(11);
  EXPECT_TRUE(test::all_close(after, rand({5}), 0, 0));  // nothing was drawn under the guard
}

}  // namespace
}  // namespace cajal
