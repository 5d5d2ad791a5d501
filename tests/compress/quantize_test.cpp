// int8 quantization against PyTorch (tests/reference/quantize_reference.py): per-channel
// symmetric weight scales and codes, per-tensor affine activation parameters from a
// calibration sample, fake quantization and its straight-through gradient; percentile and
// MSE ranges against NumPy.
#include <cmath>

#include "cajal/autograd/engine.h"
#include "cajal/compress/quantize.h"
#include "support/reference_npy.h"
#include "support/test_support.h"

namespace cajal {
namespace {

class QuantizeReference : public ::testing::Test {
 protected:
  static const test::ReferenceNpy& reference() {
    static const test::ReferenceNpy files("quantize_reference.py");
    return files;
  }
  static Tensor load(const std::string& name) { return reference().load(name); }
};

compress::Observer calibrated(compress::ObserverOptions options, const std::function<Tensor(const std::string&)>& load) {
  compress::Observer observer(options);
  for (const char* batch : {"x0", "x1", "x2"}) observer.observe(load(batch));
  return observer;
}

TEST_F(QuantizeReference, PerChannelWeightsAreTorchs) {
  const Tensor w = load("w");
  const compress::QuantParams p = compress::weight_params(w);
  EXPECT_EQ(p.axis, 0);
  EXPECT_EQ(p.qmin, -128);
  EXPECT_TRUE(test::all_close(from_vector(p.scale, {8}), load("w_scale"), 0, 0));
  EXPECT_EQ(p.zero_point, std::vector<int32_t>(8, 0));
  EXPECT_TRUE(test::all_close(compress::quantize(w, p), load("w_codes"), 0, 0));
  EXPECT_TRUE(test::all_close(compress::fake_quantize(w, p), load("w_fake"), 0, 0));
  // Dequantized weights are within half a step of the originals, channel by channel (the
  // largest magnitude sits at 127.5 steps: exactly half a step from its clamped code).
  const Tensor back = compress::dequantize(compress::quantize(w, p), p);
  const std::vector<float> a = w.to_vector<float>(), b = back.to_vector<float>();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_LE(std::fabs(a[i] - b[i]), p.scale[i / 27] / 2 * (1 + 1e-5)) << i;
}

TEST_F(QuantizeReference, MinMaxActivationParamsAreTorchs) {
  const compress::QuantParams p = calibrated({}, load).params();
  EXPECT_FLOAT_EQ(p.scale[0], load("x_scale").item<float>());
  EXPECT_EQ(p.zero_point[0], load("x_zero").item<int32_t>());
  EXPECT_TRUE(test::all_close(compress::quantize(load("x0"), p), load("x_codes"), 0, 0));
}

TEST_F(QuantizeReference, FakeQuantizeGradientIsStraightThroughWhereNotClamped) {
  const Tensor x = load("x1").requires_grad_(true);
  const compress::QuantParams p{.scale = {0.02f}, .zero_point = {100}};
  const Tensor fake = compress::fake_quantize(x, p);
  EXPECT_TRUE(test::all_close(fake, load("fake"), 0, 0));
  const TensorList grad = autograd::grad({(fake * load("fake_g")).sum()}, {x});
  EXPECT_TRUE(test::all_close(grad[0], load("fake_grad"), 0, 0));
}

TEST_F(QuantizeReference, PercentileAndMseRanges) {
  const compress::QuantParams minmax = calibrated({}, load).params();
  const Tensor percentiles = load("percentiles");
  const compress::QuantParams pct = calibrated({.method = compress::RangeMethod::percentile, .percentile = 99.99}, load).params();
  const compress::QuantParams expected = compress::affine_params(percentiles.to_vector<float>()[0], percentiles.to_vector<float>()[1]);
  EXPECT_NEAR(pct.scale[0], expected.scale[0], 1e-6 * expected.scale[0]);
  EXPECT_EQ(pct.zero_point[0], expected.zero_point[0]);
  // The MSE range is as good as NumPy's brute force over its family of ranges, and never
  // worse than min-max (with 256 levels, clipping these outliers does not pay).
  const compress::QuantParams mse = calibrated({.method = compress::RangeMethod::mse}, load).params();
  const Tensor all = cat({load("x0"), load("x1"), load("x2")});
  const double best = load("best_mse").item<double>();
  EXPECT_LT(compress::quantization_mse(all, mse), 1.01 * best);
  EXPECT_LE(compress::quantization_mse(all, mse), compress::quantization_mse(all, minmax));
}

TEST(Quantize, BadInputsNameTheProblem) {
  compress::Observer empty;
  EXPECT_NE(test::error_message<ValueError>([&] { empty.params(); }).find("no calibration values"), std::string::npos);
  empty.observe(full({3}, std::nan("")));
  EXPECT_NE(test::error_message<ValueError>([&] { empty.params(); }).find("no calibration values"), std::string::npos);
  EXPECT_NE(test::error_message<ValueError>([&] { compress::Observer({.method = compress::RangeMethod::percentile, .percentile = 40}); })
                .find("percentile must be in (50, 100]"),
            std::string::npos);
  const compress::QuantParams two{.scale = {1.0f, 1.0f}, .zero_point = {0, 0}, .axis = 0};
  EXPECT_NE(test::error_message<ValueError>([&] { compress::quantize(zeros({3, 4}), two); }).find("2 scales and 2 zero points for 3 channels"),
            std::string::npos);
}

TEST(Quantize, NanAndHugeValuesSaturate) {
  // No float-to-int overflow (undefined behaviour, which UBSan would stop on): NaN takes the
  // lowest code, infinities the ends.
  const compress::QuantParams p = compress::affine_params(-1.0f, 1.0f);
  const Tensor x = from_vector(std::vector<float>{std::nanf(""), INFINITY, -INFINITY, 1e30f}, {4});
  EXPECT_EQ(compress::quantize(x, p).to_vector<int32_t>(), (std::vector<int32_t>{0, 255, 0, 255}));
}

TEST(Quantize, ObserverSubsampleKeepsTheRange) {
  // More values than max_samples: the subsample is even, min and max are exact.
  compress::Observer observer({.method = compress::RangeMethod::percentile, .percentile = 100, .max_samples = 64});
  observer.observe(arange(1000).to(DType::f32) - 100.0);
  EXPECT_EQ(observer.count(), 1000);
  const compress::QuantParams p = observer.params();
  EXPECT_LE(p.scale[0], 999.0f / 255.0f);
  EXPECT_GE(p.scale[0], 990.0f / 255.0f);  // the largest kept value is within one stride of 899
}

}  // namespace
}  // namespace cajal
