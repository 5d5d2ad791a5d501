// Pooling and resampling: every op and option against PyTorch (tests/reference/
// conv_reference.py: outputs, max-pool indices and input gradients), float64 gradchecks
// (first and second order), NaN handling, error messages, and the modules (PyTorch's
// printing; forward and gradients through the layer parity harness).
#include <cmath>
#include <limits>

#include "cajal/nn/pool.h"
#include "cajal/ops/pool.h"
#include "nn/layer_parity.h"
#include "nn/reference_cases.h"

namespace cajal {
namespace {

test::NormalSampler normal(20261202);

template <size_t D>
OptionalExpandingArray<D> stride_of(const test::ReferenceCase& c) {
  if (!c.has("stride")) return {};
  return c.sizes<D>("stride", 1);
}

std::optional<bool> align_corners_of(const test::ReferenceCase& c) {
  if (!c.has("align_corners")) return std::nullopt;
  return c.flag("align_corners", false);
}

InterpolateArgs interpolate_args(const test::ReferenceCase& c) {
  InterpolateArgs args;
  if (c.has("size")) args.size = c.ints("size");
  if (c.has("scale_factor")) args.scale_factor = c.numbers("scale_factor");
  const std::string& mode = c.text("mode");
  args.mode = mode == "nearest" ? InterpolateMode::Nearest : mode == "linear" ? InterpolateMode::Linear : InterpolateMode::Bilinear;
  args.align_corners = align_corners_of(c);
  return args;
}

// Runs a case's op; max pooling also gives its indices.
ValuesIndices run_case(const test::ReferenceCase& c, const Tensor& x) {
  bool ceil = c.flag("ceil_mode", false), include_pad = c.flag("count_include_pad", true);
  if (c.op == "max_pool1d")
    return max_pool1d_with_indices(x, c.sizes<1>("kernel_size", 1),
                                   {stride_of<1>(c), c.sizes<1>("padding", 0), c.sizes<1>("dilation", 1), ceil});
  if (c.op == "max_pool2d")
    return max_pool2d_with_indices(x, c.sizes<2>("kernel_size", 1),
                                   {stride_of<2>(c), c.sizes<2>("padding", 0), c.sizes<2>("dilation", 1), ceil});
  if (c.op == "avg_pool1d")
    return {avg_pool1d(x, c.sizes<1>("kernel_size", 1), {stride_of<1>(c), c.sizes<1>("padding", 0), ceil, include_pad}), {}};
  if (c.op == "avg_pool2d") {
    std::optional<int64_t> divisor;
    if (c.has("divisor_override")) divisor = c.integer("divisor_override", 0);
    return {avg_pool2d(x, c.sizes<2>("kernel_size", 1), {stride_of<2>(c), c.sizes<2>("padding", 0), ceil, include_pad, divisor}), {}};
  }
  if (c.op == "adaptive_avg_pool2d") return {adaptive_avg_pool2d(x, c.sizes<2>("output_size", 1)), {}};
  if (c.op == "interpolate") return {interpolate(x, interpolate_args(c)), {}};
  ADD_FAILURE() << "unknown op " << c.op;
  return {};
}

TEST(Pool, MatchesPyTorch) {
  std::vector<test::ReferenceCase> cases = test::reference_cases("pool");
  ASSERT_FALSE(cases.empty());
  for (const test::ReferenceCase& c : cases) {
    SCOPED_TRACE(c.describe());
    Tensor x = c.load("x").requires_grad_();
    ValuesIndices r = run_case(c, x);
    r.values.backward(c.load("gy"));
    EXPECT_TRUE(test::close_to_scale(r.values, c.load("y"), 1e-5)) << "output";
    EXPECT_TRUE(test::close_to_scale(x.grad(), c.load("gx"), 1e-5)) << "input gradient";
    if (r.indices.defined()) {
      EXPECT_EQ(r.indices.dtype(), DType::i64);
      EXPECT_EQ(r.indices.to_vector<int64_t>(), c.load("indices").to_vector<int64_t>()) << "indices";
    }
  }
}

// ------------------------------------------------------------------ gradchecks (float64)

TEST(Pool, Gradcheck) {
  Tensor x = test::gradcheck_leaf({2, 3, 7, 6}, 0.1), x1 = test::gradcheck_leaf({2, 3, 9}, 0.4);
  test::expect_gradcheck([](const TensorList& t) { return max_pool2d(t[0], 2); }, {x});
  test::expect_gradcheck([](const TensorList& t) { return max_pool2d(t[0], {3, 2}, {.stride = {2, 1}, .padding = 1, .dilation = {1, 2}, .ceil_mode = true}); },
                         {x});
  test::expect_gradcheck([](const TensorList& t) { return max_pool2d(t[0], 3, {.stride = 1}); }, {x});  // overlapping windows
  test::expect_gradcheck([](const TensorList& t) { return max_pool1d(t[0], 3, {.stride = 2, .padding = 1}); }, {x1});
  test::expect_gradcheck([](const TensorList& t) { return avg_pool2d(t[0], 3, {.stride = 2, .padding = 1, .ceil_mode = true, .count_include_pad = false}); },
                         {x});
  test::expect_gradcheck([](const TensorList& t) { return avg_pool2d(t[0], 2, {.divisor_override = 3}); }, {x});
  test::expect_gradcheck([](const TensorList& t) { return avg_pool1d(t[0], 4, {.stride = 3, .ceil_mode = true}); }, {x1});
  test::expect_gradcheck([](const TensorList& t) { return adaptive_avg_pool2d(t[0], {4, 5}); }, {x});
  test::expect_gradcheck([](const TensorList& t) { return global_avg_pool2d(t[0]); }, {x});
  test::expect_gradcheck([](const TensorList& t) { return interpolate(t[0], {.scale_factor = {1.5}, .mode = InterpolateMode::Nearest}); }, {x});
  test::expect_gradcheck([](const TensorList& t) { return interpolate(t[0], {.size = {9, 4}, .mode = InterpolateMode::Bilinear}); }, {x});
  test::expect_gradcheck(
      [](const TensorList& t) { return interpolate(t[0], {.scale_factor = {2, 3}, .mode = InterpolateMode::Bilinear, .align_corners = true}); }, {x});
  test::expect_gradcheck([](const TensorList& t) { return interpolate(t[0], {.size = {13}, .mode = InterpolateMode::Linear}); }, {x1});
  // A non-contiguous input.
  test::expect_gradcheck([](const TensorList& t) { return max_pool2d(t[0].transpose(2, 3), 2); }, {x});
}

TEST(Pool, SecondOrderGradcheck) {
  Tensor x = test::gradcheck_leaf({1, 2, 6, 5}, 0.2);
  test::expect_gradcheck([](const TensorList& t) { return max_pool2d(t[0], 2, {.stride = 1}); }, {x}, true);
  test::expect_gradcheck([](const TensorList& t) { return avg_pool2d(t[0], 3, {.stride = 2, .padding = 1}); }, {x}, true);
  test::expect_gradcheck([](const TensorList& t) { return adaptive_avg_pool2d(t[0], 3); }, {x}, true);
  test::expect_gradcheck([](const TensorList& t) { return interpolate(t[0], {.size = {7, 8}, .mode = InterpolateMode::Bilinear}); }, {x}, true);
  // Gradients that feed a nonlinearity, so the second derivative is not trivially zero.
  test::expect_gradcheck([](const TensorList& t) { return max_pool2d(t[0].square(), 2).tanh(); }, {x}, true);
}

// ------------------------------------------------------------------ values PyTorch defines

TEST(Pool, NaNAndInfinity) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  // torch.nn.functional.max_pool2d propagates NaN (the last NaN of a window is its index).
  Tensor x = tensor({1.f, nan, 3.f, 2.f, -inf, -inf, -inf, -inf}, {1, 1, 2, 4});
  ValuesIndices r = max_pool2d_with_indices(x, 2);
  EXPECT_TRUE(std::isnan(r.values.to_vector<float>()[0]));
  EXPECT_EQ(r.values.to_vector<float>()[1], 3.f);
  EXPECT_EQ(r.indices.to_vector<int64_t>(), (std::vector<int64_t>{1, 2}));
  // Overlapping windows (the general kernel): torch.nn.functional.max_pool2d(x, 2, stride=1,
  // return_indices=True) gives values [nan, nan, nan, 6] at indices [3, 1, 3, 8].
  Tensor z = tensor({1.f, nan, 3.f, nan, 2.f, 0.f, 5.f, 4.f, 6.f}, {1, 1, 3, 3});
  ValuesIndices rz = max_pool2d_with_indices(z, 2, {.stride = 1});
  EXPECT_EQ(rz.indices.to_vector<int64_t>(), (std::vector<int64_t>{3, 1, 3, 8}));
  EXPECT_EQ(rz.values.to_vector<float>()[3], 6.f);
  EXPECT_TRUE(std::isnan(rz.values.to_vector<float>()[2]));
  // A window of -inf picks its first element.
  Tensor y = full({1, 1, 2, 2}, -inf);
  EXPECT_EQ(max_pool2d_with_indices(y, 2).indices.to_vector<int64_t>(), (std::vector<int64_t>{0}));
  // Interpolation keeps infinities of nearest sampling.
  EXPECT_EQ(interpolate(full({1, 1, 2, 2}, inf), {.scale_factor = {2}}).to_vector<float>(), std::vector<float>(16, inf));
}

// 2x2 windows that tile the rows run a two-pass kernel; an odd width (a column left over)
// runs the general one over the same windows. Both must pick the same elements, also among
// ties (values 0 and 1, as after a ReLU) and NaNs.
TEST(Pool, PairKernelMatchesGeneralKernel) {
  Tensor x = (normal({3, 4, 8, 9}) > 0.3).to(DType::f32);
  x.at<float>({1, 2, 3, 4}) = std::numeric_limits<float>::quiet_NaN();
  x.at<float>({1, 2, 2, 5}) = std::numeric_limits<float>::quiet_NaN();
  ValuesIndices general = max_pool2d_with_indices(x, 2);                                   // width 9: general
  ValuesIndices pairs = max_pool2d_with_indices(x.slice(3, 0, 8).contiguous(), 2);         // width 8: pairs
  EXPECT_EQ(general.values.sizes(), pairs.values.sizes());
  EXPECT_TRUE(test::all_close(pairs.values, general.values, 0, 0));
  // Indices count positions in the plane: convert the pair kernel's (width 8) to width 9.
  std::vector<int64_t> converted;
  for (int64_t i : pairs.indices.to_vector<int64_t>()) converted.push_back(i / 8 * 9 + i % 8);
  EXPECT_EQ(converted, general.indices.to_vector<int64_t>());
}

TEST(Pool, DtypesAndGlobalPooling) {
  Tensor x = normal({2, 3, 6, 5});
  EXPECT_TRUE(test::all_close(global_avg_pool2d(x), adaptive_avg_pool2d(x, 1), 1e-6, 1e-7));
  EXPECT_EQ(global_avg_pool2d(x).sizes(), (Dims{2, 3, 1, 1}));
  Tensor xb = x.to(DType::bf16);
  Tensor mb = max_pool2d(xb, 2);
  EXPECT_EQ(mb.dtype(), DType::bf16);
  EXPECT_EQ(mb.to(DType::f32).to_vector<float>(), max_pool2d(xb.to(DType::f32), 2).to_vector<float>());
  EXPECT_EQ(avg_pool2d(xb, 2).dtype(), DType::bf16);
  EXPECT_TRUE(test::all_close(avg_pool2d(x.to(DType::f64), 2), avg_pool2d(x, 2).to(DType::f64), 1e-6, 1e-7));
}

// ------------------------------------------------------------------ errors

TEST(Pool, Errors) {
  test::expect_error<ShapeError>([] { max_pool2d(zeros({1, 3, 2, 2}), 3); }, {"max_pool2d", "[1, 3, 2, 2]", "[1, 3, 0, 0]"});
  test::expect_error<ShapeError>([] { avg_pool1d(zeros({1, 3, 2}), 3); }, {"avg_pool1d", "[1, 3, 2]", "[1, 3, 0]"});
  test::expect_error<ValueError>([] { max_pool2d(zeros({1, 3, 8, 8}), 3, {.padding = 2}); }, {"padding", "[2, 2]", "half"});
  test::expect_error<ValueError>([] { max_pool2d(zeros({1, 3, 8, 8}), 2, {.stride = 0}); }, {"stride"});
  test::expect_error<ValueError>([] { max_pool2d(zeros({1, 3, 8, 8}), 0); }, {"kernel_size"});
  test::expect_error<ShapeError>([] { max_pool2d(zeros({8, 8}), 2); }, {"4-D", "[8, 8]"});
  test::expect_error<DTypeError>([] { max_pool2d(zeros({1, 1, 4, 4}, {.dtype = DType::i64}), 2); }, {"floating", "int64"});
  test::expect_error<ShapeError>([] { adaptive_avg_pool2d(zeros({1, 3, 0, 4}), 2); }, {"[1, 3, 0, 4]", "empty"});
  test::expect_error<ValueError>([] { avg_pool2d(zeros({1, 1, 4, 4}), 2, {.divisor_override = 0}); }, {"divisor_override"});
  test::expect_error<ValueError>([] { interpolate(zeros({1, 1, 4, 4}), {}); }, {"size", "scale_factor"});
  test::expect_error<ValueError>([] { interpolate(zeros({1, 1, 4, 4}), {.size = {8}, .scale_factor = {2}}); }, {"exactly one"});
  test::expect_error<ShapeError>([] { interpolate(zeros({1, 1, 4}), {.size = {8}, .mode = InterpolateMode::Bilinear}); },
                                 {"bilinear", "4-D", "[1, 1, 4]"});
  test::expect_error<ValueError>([] { interpolate(zeros({1, 1, 4, 4}), {.size = {8}, .align_corners = true}); }, {"align_corners", "nearest"});
  test::expect_error<ValueError>([] { interpolate(zeros({1, 1, 4, 4}), {.size = {8, 8, 8}}); }, {"1 or 2", "[1, 1, 4, 4]"});
  test::expect_error<ValueError>([] { interpolate(zeros({1, 1, 4, 4}), {.scale_factor = {0.1}}); }, {"[1, 1, 4, 4]", "size 0"});
}

// ------------------------------------------------------------------ modules

TEST(PoolModules, MatchPyTorch) {
  std::vector<test::LayerCase> cases = {
      {"nn.MaxPool2d(2)", nn::MaxPool2d(2), {normal({2, 3, 8, 8})}},
      {"nn.MaxPool2d((3, 2), stride=1, padding=1, dilation=2, ceil_mode=True)",
       nn::MaxPool2d({3, 2}, {.stride = 1, .padding = 1, .dilation = 2, .ceil_mode = true}), {normal({2, 3, 9, 8})}},
      {"nn.MaxPool1d(3, stride=2)", nn::MaxPool1d(3, {.stride = 2}), {normal({2, 3, 11})}},
      {"nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)",
       nn::AvgPool2d(3, {.stride = 2, .padding = 1, .ceil_mode = true, .count_include_pad = false}), {normal({2, 3, 9, 8})}},
      {"nn.AvgPool1d(4, stride=2, padding=1)", nn::AvgPool1d(4, {.stride = 2, .padding = 1}), {normal({2, 3, 11})}},
      {"nn.AdaptiveAvgPool2d((5, 7))", nn::AdaptiveAvgPool2d({5, 7}), {normal({2, 3, 9, 8})}},
      {"nn.Upsample(scale_factor=2, mode='nearest')", nn::Upsample({.scale_factor = {2}}), {normal({2, 3, 4, 5})}},
      {"nn.Upsample(size=(8, 9), mode='bilinear', align_corners=True)",
       nn::Upsample({.size = {8, 9}, .mode = InterpolateMode::Bilinear, .align_corners = true}), {normal({2, 3, 4, 5})}},
  };
  test::expect_layers_match_torch(cases, 1e-5);
}

TEST(PoolModules, PrintLikePyTorch) {
  std::string dir;
  ASSERT_FALSE(test::reference_cases("pool", &dir).empty());
  std::vector<std::string> expected = test::reference_reprs(dir);
  // conv_reference.py's MODULES from index 6 on.
  std::vector<nn::ModulePtr> modules = {
      nn::MaxPool2d(2),
      nn::MaxPool2d({3, 2}, {.stride = 1, .padding = 1, .dilation = 2, .ceil_mode = true}),
      nn::MaxPool1d(3, {.stride = 2}),
      nn::AvgPool2d(2),
      nn::AvgPool2d(3, {.stride = 2, .padding = 1, .ceil_mode = true, .count_include_pad = false}),
      nn::AvgPool1d(4, {.stride = 2, .padding = 1}),
      nn::AdaptiveAvgPool2d({5, 7}),
      nn::AdaptiveAvgPool2d(1),
      nn::Upsample({.scale_factor = {2}}),
      nn::Upsample({.size = {8, 9}, .mode = InterpolateMode::Bilinear, .align_corners = true}),
      nn::Upsample({.scale_factor = {1.5}, .mode = InterpolateMode::Bilinear}),
  };
  ASSERT_EQ(expected.size(), modules.size() + 6);
  for (size_t i = 0; i < modules.size(); ++i) EXPECT_EQ(modules[i]->to_string(), expected[i + 6]);
  EXPECT_TRUE(nn::MaxPool2d(2)->parameters().empty());
}

}  // namespace
}  // namespace cajal
