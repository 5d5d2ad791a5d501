// Dropout, Dropout2d, AlphaDropout: statistics of the masks (fraction dropped, scaling,
// whole channels, AlphaDropout's preserved mean and variance), the identity in eval mode,
// seeded reproducibility, gradients (float64 gradchecks with a fixed mask), the
// deterministic cases against torch.nn, printing, errors.
#include <cmath>

#include "cajal/nn/dropout.h"
#include "cajal/ops/dropout.h"
#include "nn/layer_parity.h"

namespace cajal {
namespace {

using namespace cajal::nn;

double fraction_equal(const Tensor& t, double value) {
  std::vector<double> v = t.to_vector<double>();
  double n = 0;
  for (double x : v) n += x == value;
  return n / static_cast<double>(v.size());
}

TEST(Dropout, DropsAFractionPAndScalesTheRest) {
  Generator g(1);
  Tensor x = ones({200, 500}).requires_grad_();
  Tensor y = dropout(x, 0.3, true, &g);
  // 1e5 draws: the standard error of the fraction is 0.0015.
  EXPECT_NEAR(fraction_equal(y, 0), 0.3, 0.008);
  EXPECT_DOUBLE_EQ(fraction_equal(y, 0) + fraction_equal(y, 1 / 0.7f), 1.0);
  y.backward(ones({200, 500}));
  EXPECT_EQ(x.grad().to_vector<float>(), y.detach().to_vector<float>());  // d(x * mask)/dx = mask
}

TEST(Dropout, IdentityInEvalModeAndForPZero) {
  Tensor x = ones({4, 5});
  EXPECT_TRUE(dropout(x, 0.5, false).is_same(x));
  EXPECT_TRUE(dropout(x, 0.0, true).is_same(x));
  EXPECT_TRUE(dropout2d(x, 0.5, false).is_same(x));
  EXPECT_TRUE(alpha_dropout(x, 0.5, false).is_same(x));
  Dropout layer(0.5);
  layer->eval();
  EXPECT_TRUE(layer(x).is_same(x));
  layer->train();
  EXPECT_LT(layer(x).sum().item(), 20.0 * 2);  // some elements dropped (all kept has chance 2^-20)
}

TEST(Dropout, PIsOneGivesZeros) {
  Tensor x = test::iota({3, 4}).requires_grad_();
  for (auto op : {dropout, dropout2d, alpha_dropout}) {
    Tensor y = op(x, 1.0, true, nullptr);
    EXPECT_EQ(y.abs().sum().item(), 0.0);
    y.sum().backward();
    EXPECT_EQ(x.grad().abs().sum().item(), 0.0);
    x.zero_grad();
  }
}

TEST(Dropout, Dropout2dZeroesWholeChannels) {
  Generator g(2);
  Tensor y = dropout2d(ones({64, 32, 5, 5}), 0.25, true, &g);
  Tensor per_channel = y.reshape({64 * 32, 25});
  int dropped = 0;
  for (int64_t i = 0; i < per_channel.size(0); ++i) {
    std::vector<float> v = per_channel[i].to_vector<float>();
    for (float e : v) ASSERT_EQ(e, v[0]) << "channel " << i << " is not uniform";
    ASSERT_TRUE(v[0] == 0 || v[0] == 1 / 0.75f);
    dropped += v[0] == 0;
  }
  // 2048 channels: standard error 0.0096.
  EXPECT_NEAR(dropped / 2048.0, 0.25, 0.04);
  // [N, C, L] sequences: one draw per (sample, channel) too.
  Tensor s = dropout2d(ones({50, 40, 7}), 0.5, true, &g);
  EXPECT_TRUE(test::all_close(max(s, 2).values, min(s, 2).values));
}

TEST(Dropout, AlphaDropoutKeepsMeanAndVariance) {
  Generator g(3);
  test::NormalSampler normal(7);
  const double p = 0.2;
  Tensor x = normal({400, 500});
  Tensor y = alpha_dropout(x, p, true, &g);
  std::vector<double> v = y.to_vector<double>();
  double sum = 0, sq = 0;
  for (double e : v) {
    sum += e;
    sq += e * e;
  }
  const double n = static_cast<double>(v.size()), mean = sum / n;
  // A unit normal input keeps mean 0 and variance 1 (to sampling error, about 0.002).
  EXPECT_NEAR(mean, 0, 0.01);
  EXPECT_NEAR(std::sqrt(sq / n - mean * mean), 1, 0.01);
  // Dropped elements all take one value, -alpha a (1 - p), with SELU's alpha * scale = 1.7580993...
  const double alpha = 1.0507009873554805 * 1.6732632423543772;
  const double a = 1 / std::sqrt((alpha * alpha * p + 1) * (1 - p));
  EXPECT_NEAR(fraction_equal(y, static_cast<float>(-alpha * a * (1 - p))), p, 0.005);
}

TEST(Dropout, SeedsReproduceMasks) {
  Tensor x = ones({30, 40});
  Generator g1(11), g2(11), g3(12);
  EXPECT_EQ(dropout(x, 0.5, true, &g1).to_vector<float>(), dropout(x, 0.5, true, &g2).to_vector<float>());
  EXPECT_NE(dropout(x, 0.5, true, &g1).to_vector<float>(), dropout(x, 0.5, true, &g3).to_vector<float>());
  // Layers draw from the default generator.
  Dropout2d layer(0.5);
  Tensor maps = ones({8, 16, 2, 2});
  manual_seed(21);
  Tensor first = layer(maps);
  manual_seed(21);
  EXPECT_EQ(layer(maps).to_vector<float>(), first.to_vector<float>());
}

TEST(Dropout, GradchecksWithAFixedMask) {
  // Each call draws the same mask from a fresh generator, so the function is fixed.
  for (auto op : {dropout, dropout2d, alpha_dropout}) {
    auto f = [op](const TensorList& x) {
      Generator g(4);
      return op(x[0], 0.4, true, &g);
    };
    test::expect_gradcheck(f, {test::gradcheck_leaf({3, 4, 2})});
    test::expect_gradcheck(f, {test::gradcheck_leaf_transposed(5, 3)}, /*second_order=*/true);
  }
}

TEST(Dropout, DeterministicCasesMatchPyTorch) {
  test::NormalSampler normal(8);
  std::vector<test::LayerCase> cases = {
      {"nn.Dropout(0.3)", Dropout(0.3), {normal({4, 5})}, false},
      {"nn.Dropout2d(0.3)", Dropout2d(0.3), {normal({2, 3, 4, 4})}, false},
      {"nn.AlphaDropout(0.3)", AlphaDropout(0.3), {normal({4, 5})}, false},
      {"nn.Dropout(0.0)", Dropout(0.0), {normal({4, 5})}, true},
      {"nn.Dropout(1.0)", Dropout(1.0), {normal({4, 5})}, true},
      {"nn.Dropout2d(1.0)", Dropout2d(1.0), {normal({2, 3, 4, 4})}, true},
      {"nn.AlphaDropout(1.0)", AlphaDropout(1.0), {normal({4, 5})}, true},
  };
  test::expect_layers_match_torch(cases);
}

TEST(Dropout, PrintLikePyTorch) {
  EXPECT_EQ(Dropout()->to_string(), "Dropout(p=0.5, inplace=False)");
  EXPECT_EQ(Dropout(0.25)->to_string(), "Dropout(p=0.25, inplace=False)");
  EXPECT_EQ(Dropout2d(0.1)->to_string(), "Dropout2d(p=0.1, inplace=False)");
  EXPECT_EQ(AlphaDropout(0.2)->to_string(), "AlphaDropout(p=0.2, inplace=False)");
}

TEST(Dropout, Errors) {
  test::expect_error<ValueError>([] { dropout(ones({2}), 1.5); }, {"dropout", "between 0 and 1", "1.5"});
  test::expect_error<ValueError>([] { alpha_dropout(ones({2}), -0.1); }, {"alpha_dropout", "-0.1"});
  test::expect_error<ValueError>([] { Dropout2d(2.0); }, {"Dropout2d", "2"});
  test::expect_error<ShapeError>([] { dropout2d(ones({5}), 0.5); }, {"dropout2d", "[5]"});
  test::expect_error<DTypeError>([] { dropout(zeros({2}, {.dtype = DType::i64}), 0.5); }, {"dropout", "int64"});
}

}  // namespace
}  // namespace cajal
