// Elementwise ops: values against the C library in double precision and PyTorch's
// NaN/infinity semantics, gradients against central finite differences (float64) on
// contiguous, transposed, broadcast and 0-d inputs, in-place variants and operators.
#include <cmath>
#include <functional>
#include <limits>

#include "support/test_support.h"

using namespace cajal;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Distinct values spread over [lo, hi] (a golden-ratio sequence), none near the middle
// of a symmetric range, so kinks at 0 stay far from every sample.
Tensor spread(const Dims& shape, double lo, double hi, DType dtype = DType::f64, double phase = 0.3) {
  std::vector<double> v(static_cast<size_t>(numel_of(shape)));
  for (size_t i = 0; i < v.size(); ++i) v[i] = lo + (hi - lo) * std::fmod(phase + 0.6180339887 * static_cast<double>(i), 1.0);
  return from_vector(v, shape, TensorOptions{.dtype = dtype});
}

// The same values, as leaves that require grad: contiguous [3, 4], a transposed (non-
// contiguous) [3, 4] and a 0-d tensor.
TensorList gradcheck_inputs(double lo, double hi) {
  return {spread({3, 4}, lo, hi).requires_grad_(), spread({4, 3}, lo, hi, DType::f64, 0.55).t().requires_grad_(),
          scalar_tensor(lo + 0.37 * (hi - lo), DType::f64).requires_grad_()};
}

// Applies ref elementwise to t's values (as double), giving a float64 tensor of t's shape.
Tensor reference(const Tensor& t, const std::function<double(double)>& ref) {
  std::vector<double> v = t.to_vector<double>();
  for (double& x : v) x = ref(x);
  return from_vector(v, t.sizes(), TensorOptions{.dtype = DType::f64});
}

double sigmoid_ref(double x) { return 1 / (1 + std::exp(-x)); }

struct UnaryCase {
  const char* name;
  std::function<Tensor(const Tensor&)> op;
  std::function<double(double)> ref;
  double lo, hi;  // the domain sampled (away from poles and kinks)
};

const std::vector<UnaryCase>& unary_cases() {
  static const std::vector<UnaryCase> cases = {
      {"neg", [](const Tensor& x) { return neg(x); }, [](double x) { return -x; }, -3, 3},
      {"abs", [](const Tensor& x) { return abs(x); }, [](double x) { return std::fabs(x); }, -3, 3},
      {"exp", [](const Tensor& x) { return exp(x); }, [](double x) { return std::exp(x); }, -3, 3},
      {"log", [](const Tensor& x) { return log(x); }, [](double x) { return std::log(x); }, 0.1, 5},
      {"log1p", [](const Tensor& x) { return log1p(x); }, [](double x) { return std::log1p(x); }, -0.9, 3},
      {"expm1", [](const Tensor& x) { return expm1(x); }, [](double x) { return std::expm1(x); }, -3, 3},
      {"sqrt", [](const Tensor& x) { return sqrt(x); }, [](double x) { return std::sqrt(x); }, 0.1, 5},
      {"rsqrt", [](const Tensor& x) { return rsqrt(x); }, [](double x) { return 1 / std::sqrt(x); }, 0.1, 5},
      {"square", [](const Tensor& x) { return square(x); }, [](double x) { return x * x; }, -3, 3},
      {"erf", [](const Tensor& x) { return erf(x); }, [](double x) { return std::erf(x); }, -3, 3},
      {"sin", [](const Tensor& x) { return sin(x); }, [](double x) { return std::sin(x); }, -3, 3},
      {"cos", [](const Tensor& x) { return cos(x); }, [](double x) { return std::cos(x); }, -3, 3},
      {"tanh", [](const Tensor& x) { return tanh(x); }, [](double x) { return std::tanh(x); }, -3, 3},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }, sigmoid_ref, -5, 5},
      {"relu", [](const Tensor& x) { return relu(x); }, [](double x) { return x > 0 ? x : 0; }, -3, 3},
      {"leaky_relu", [](const Tensor& x) { return leaky_relu(x, 0.2); }, [](double x) { return x > 0 ? x : 0.2 * x; }, -3, 3},
      {"elu", [](const Tensor& x) { return elu(x, 0.7); }, [](double x) { return x > 0 ? x : 0.7 * std::expm1(x); }, -3, 3},
      {"selu", [](const Tensor& x) { return selu(x); },
       [](double x) { return 1.0507009873554804934 * (x > 0 ? x : 1.6732632423543772848 * std::expm1(x)); }, -3, 3},
      {"gelu", [](const Tensor& x) { return gelu(x); }, [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }, -3, 3},
      {"gelu_tanh", [](const Tensor& x) { return gelu(x, GeluApprox::Tanh); },
       [](double x) { return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x))); }, -3, 3},
      {"silu", [](const Tensor& x) { return silu(x); }, [](double x) { return x * sigmoid_ref(x); }, -3, 3},
      {"softplus", [](const Tensor& x) { return softplus(x, 2, 3); },
       [](double x) { return 2 * x > 3 ? x : std::log1p(std::exp(2 * x)) / 2; }, -3, 3},
      {"sign", [](const Tensor& x) { return sign(x); }, [](double x) { return double((x > 0) - (x < 0)); }, -3, 3},
      {"floor", [](const Tensor& x) { return floor(x); }, [](double x) { return std::floor(x); }, -3, 3},
      {"ceil", [](const Tensor& x) { return ceil(x); }, [](double x) { return std::ceil(x); }, -3, 3},
      {"round", [](const Tensor& x) { return round(x); }, [](double x) { return std::nearbyint(x); }, -3, 3},
      {"reciprocal", [](const Tensor& x) { return reciprocal(x); }, [](double x) { return 1 / x; }, -3, 3},
      {"clamp", [](const Tensor& x) { return clamp(x, -1, 1.5); }, [](double x) { return std::min(std::max(x, -1.0), 1.5); }, -3, 3},
      {"clamp_min", [](const Tensor& x) { return clamp(x, 0.5, std::nullopt); }, [](double x) { return std::max(x, 0.5); }, -3, 3},
      {"clamp_max", [](const Tensor& x) { return clamp(x, std::nullopt, 0.5); }, [](double x) { return std::min(x, 0.5); }, -3, 3},
      {"pow_3", [](const Tensor& x) { return pow(x, 3); }, [](double x) { return x * x * x; }, -3, 3},
      {"pow_2", [](const Tensor& x) { return pow(x, 2); }, [](double x) { return x * x; }, -3, 3},
      {"pow_0", [](const Tensor& x) { return pow(x, 0); }, [](double) { return 1.0; }, -3, 3},
      {"pow_2.5", [](const Tensor& x) { return pow(x, 2.5); }, [](double x) { return std::pow(x, 2.5); }, 0.1, 3},
      {"pow_-1.5", [](const Tensor& x) { return x.pow(-1.5); }, [](double x) { return std::pow(x, -1.5); }, 0.1, 3},
  };
  return cases;
}

}  // namespace

TEST(UnaryValues, Float64MatchesCLibrary) {
  for (const UnaryCase& c : unary_cases()) {
    Tensor x = spread({2, 3, 4}, c.lo, c.hi);
    Tensor y = c.op(x);
    EXPECT_EQ(y.dtype(), DType::f64) << c.name;
    EXPECT_TRUE(test::all_close(y, reference(x, c.ref), 1e-13, 1e-14)) << c.name;
  }
}

TEST(UnaryValues, Float32MatchesCLibrary) {
  for (const UnaryCase& c : unary_cases()) {
    // Enough elements for the threaded path, with a transposed view for the strided loop.
    Tensor x = spread({300, 200}, c.lo, c.hi, DType::f32);
    for (const Tensor& in : {x, x.t()}) {
      Tensor y = c.op(in);
      EXPECT_EQ(y.dtype(), DType::f32) << c.name;
      EXPECT_EQ(y.sizes(), in.sizes()) << c.name;
      EXPECT_TRUE(test::all_close(y, reference(in, c.ref), 2e-6, 1e-6)) << c.name;
    }
  }
}

TEST(UnaryValues, BFloat16ComputesInFloat32AndRounds) {
  for (const UnaryCase& c : unary_cases()) {
    Tensor x = spread({3, 4}, c.lo, c.hi, DType::f32).to(DType::bf16);
    Tensor y = c.op(x);
    EXPECT_EQ(y.dtype(), DType::bf16) << c.name;
    // The float32 result rounded once to bfloat16.
    EXPECT_TRUE(test::all_close(y.to(DType::f32), c.op(x.to(DType::f32)).to(DType::bf16).to(DType::f32), 0, 0)) << c.name;
  }
}

TEST(UnaryValues, NaNAndInfinityAsPyTorch) {
  Tensor x = tensor({kNaN, kInf, -kInf, 0.0, -0.0, -1.0});
  // torch.<op>(torch.tensor([nan, inf, -inf, 0., -0., -1.], dtype=torch.float64))
  EXPECT_TRUE(test::all_close(relu(x), tensor({kNaN, kInf, 0.0, 0.0, 0.0, 0.0})));
  EXPECT_TRUE(std::signbit(relu(x).at<double>({4})));  // relu(-0.) is -0. (clamp_min keeps it)
  EXPECT_TRUE(test::all_close(leaky_relu(x), tensor({kNaN, kInf, -kInf, 0.0, 0.0, -0.01})));
  EXPECT_TRUE(test::all_close(exp(x), tensor({kNaN, kInf, 0.0, 1.0, 1.0, std::exp(-1.0)})));
  EXPECT_TRUE(test::all_close(log(x), tensor({kNaN, kInf, kNaN, -kInf, -kInf, kNaN})));
  EXPECT_TRUE(test::all_close(sqrt(x), tensor({kNaN, kInf, kNaN, 0.0, -0.0, kNaN})));
  EXPECT_TRUE(test::all_close(rsqrt(x), tensor({kNaN, 0.0, kNaN, kInf, -kInf, kNaN})));
  EXPECT_TRUE(test::all_close(reciprocal(x), tensor({kNaN, 0.0, -0.0, kInf, -kInf, -1.0})));
  EXPECT_TRUE(test::all_close(log1p(x), tensor({kNaN, kInf, kNaN, 0.0, -0.0, -kInf})));
  EXPECT_TRUE(test::all_close(tanh(x), tensor({kNaN, 1.0, -1.0, 0.0, -0.0, std::tanh(-1.0)})));
  EXPECT_TRUE(test::all_close(sigmoid(x), tensor({kNaN, 1.0, 0.0, 0.5, 0.5, sigmoid_ref(-1)})));
  EXPECT_TRUE(test::all_close(elu(x), tensor({kNaN, kInf, -1.0, 0.0, 0.0, std::expm1(-1.0)})));
  EXPECT_TRUE(test::all_close(softplus(x), tensor({kNaN, kInf, 0.0, std::log(2.0), std::log(2.0), std::log1p(std::exp(-1.0))})));
  EXPECT_TRUE(test::all_close(silu(x).slice(0, 0, 1), tensor({kNaN})));
  EXPECT_TRUE(test::all_close(clamp(x, -0.5, 0.5), tensor({kNaN, 0.5, -0.5, 0.0, 0.0, -0.5})));  // NaN passes through
  EXPECT_TRUE(test::all_close(abs(x), tensor({kNaN, kInf, kInf, 0.0, 0.0, 1.0})));
  EXPECT_FALSE(std::signbit(abs(x).at<double>({4})));  // abs(-0.) is +0.
  // sign(nan) is 0 and sign(-0.) is +0. in PyTorch 1.13
  EXPECT_EQ(sign(x).to_vector<double>(), (std::vector<double>{0, 1, -1, 0, 0, -1}));
  EXPECT_FALSE(std::signbit(sign(x).at<double>({4})));
  EXPECT_EQ(isnan(x).to_vector<bool>(), (std::vector<bool>{true, false, false, false, false, false}));
  EXPECT_EQ(isfinite(x).to_vector<bool>(), (std::vector<bool>{false, false, false, true, true, true}));
  EXPECT_EQ(logical_not(x).to_vector<bool>(), (std::vector<bool>{false, false, false, true, true, false}));
  EXPECT_EQ(isnan(x).dtype(), DType::boolean);
  // Same for float32, whose exp/tanh/sigmoid use cajal's own vectorized polynomials.
  Tensor f = x.to(DType::f32);
  EXPECT_TRUE(test::all_close(exp(f), exp(x).to(DType::f32)));
  EXPECT_TRUE(test::all_close(tanh(f), tanh(x).to(DType::f32)));
  EXPECT_TRUE(test::all_close(sigmoid(f), sigmoid(x).to(DType::f32)));
  EXPECT_TRUE(test::all_close(relu(f), relu(x).to(DType::f32)));
}

TEST(UnaryValues, Float32ExpNearOverflowAndUnderflow) {
  // expf is finite up to log(FLT_MAX) = 88.7228; the vectorized exp must stay accurate
  // over its whole range, not saturate early.
  Tensor x = tensor({88.0f, 88.5f, 88.7f, 88.72f, 88.75f, -80.f, -87.f, 50.f, -50.f, 1e-3f});
  std::vector<float> y = exp(x).to_vector<float>();
  std::vector<float> in = x.to_vector<float>();
  for (size_t i = 0; i < in.size(); ++i) {
    float want = std::exp(in[i]);
    if (std::isinf(want)) EXPECT_TRUE(std::isinf(y[i])) << in[i];
    else EXPECT_NEAR(y[i], want, 4e-7 * want) << "exp(" << in[i] << ")";
  }
  // tanh and sigmoid inherit exp's accuracy.
  EXPECT_TRUE(test::all_close(tanh(tensor({-44.f, -20.f, 0.3f, 0.7f, 9.f})), tensor({-1.f, -1.f, std::tanh(0.3f), std::tanh(0.7f), 1.f}), 1e-6));
  EXPECT_TRUE(test::all_close(sigmoid(tensor({-88.f, -30.f, 30.f})), tensor({1 / (1 + std::exp(88.f)), 1 / (1 + std::exp(30.f)), 1.f}), 1e-5, 0));
}

TEST(UnaryValues, RoundHalfToEvenAndIntegerRounding) {
  // torch.round(torch.tensor([2.5, 3.5, -2.5, 0.49999997, -0.5, 1.5]))
  EXPECT_EQ(round(tensor({2.5f, 3.5f, -2.5f, 0.49999997f, -0.5f, 1.5f})).to_vector<float>(),
            (std::vector<float>{2, 4, -2, 0, -0.f, 2}));
  EXPECT_EQ(floor(tensor({-1.5, 1.5})).to_vector<double>(), (std::vector<double>{-2, 1}));
  EXPECT_EQ(ceil(tensor({-1.5, 1.5})).to_vector<double>(), (std::vector<double>{-1, 2}));
  Tensor ints = tensor({-3, 0, 7});
  for (const Tensor& r : {floor(ints), ceil(ints), round(ints)}) {
    EXPECT_EQ(r.dtype(), DType::i64);
    EXPECT_EQ(r.to_vector<int64_t>(), (std::vector<int64_t>{-3, 0, 7}));
  }
}

TEST(UnaryValues, IntegerInputs) {
  Tensor ints = tensor({-3, 0, 7});
  // Ops that keep integers keep the dtype ...
  EXPECT_EQ(abs(ints).to_vector<int64_t>(), (std::vector<int64_t>{3, 0, 7}));
  EXPECT_EQ(abs(ints).dtype(), DType::i64);
  EXPECT_EQ(neg(ints).to_vector<int64_t>(), (std::vector<int64_t>{3, 0, -7}));
  EXPECT_EQ(square(ints).to_vector<int64_t>(), (std::vector<int64_t>{9, 0, 49}));
  EXPECT_EQ(sign(ints).to_vector<int64_t>(), (std::vector<int64_t>{-1, 0, 1}));
  EXPECT_EQ(relu(ints).to_vector<int64_t>(), (std::vector<int64_t>{0, 0, 7}));
  EXPECT_EQ(clamp(ints, -1, 5).to_vector<int64_t>(), (std::vector<int64_t>{-1, 0, 5}));
  EXPECT_EQ(clamp(ints, -1, 5).dtype(), DType::i64);
  // torch.clamp(torch.tensor([-3, 0, 7]), -2.5, 6.5) is float32
  EXPECT_EQ(clamp(ints, -2.5, 6.5).dtype(), DType::f32);
  EXPECT_EQ(clamp(ints, -2.5, 6.5).to_vector<float>(), (std::vector<float>{-2.5f, 0, 6.5f}));
  EXPECT_EQ(clamp(ints, std::nullopt, 0.5).to_vector<float>(), (std::vector<float>{-3, 0, 0.5f}));
  EXPECT_EQ(pow(ints, 3).to_vector<int64_t>(), (std::vector<int64_t>{-27, 0, 343}));
  EXPECT_EQ(pow(ints, 3).dtype(), DType::i64);
  EXPECT_EQ(pow(ints, 0).to_vector<int64_t>(), (std::vector<int64_t>{1, 1, 1}));
  EXPECT_EQ(abs(from_vector(std::vector<uint8_t>{0, 200})).to_vector<int64_t>(), (std::vector<int64_t>{0, 200}));
  // ... and floating ones compute in float32, as torch.exp(int tensor) does.
  Tensor e = exp(ints);
  EXPECT_EQ(e.dtype(), DType::f32);
  EXPECT_TRUE(test::all_close(e, tensor({std::exp(-3.f), 1.f, std::exp(7.f)}), 1e-6));
  EXPECT_EQ(sqrt(tensor({true, false})).dtype(), DType::f32);
  EXPECT_EQ(pow(ints, 0.5).dtype(), DType::f32);
  EXPECT_EQ(sigmoid(from_vector(std::vector<int32_t>{0})).item<float>(), 0.5f);
  EXPECT_EQ(isnan(ints).to_vector<bool>(), (std::vector<bool>{false, false, false}));
  EXPECT_EQ(isfinite(ints).to_vector<bool>(), (std::vector<bool>{true, true, true}));
  EXPECT_EQ(logical_not(ints).to_vector<bool>(), (std::vector<bool>{false, true, false}));
  EXPECT_EQ((!tensor({true, false})).to_vector<bool>(), (std::vector<bool>{false, true}));
}

TEST(UnaryValues, PowSpecialCases) {
  // torch.pow(torch.tensor([0., -8., -2., 4.]), e)
  Tensor x = tensor({0.0, -8.0, -2.0, 4.0});
  EXPECT_TRUE(test::all_close(pow(x, 0), tensor({1.0, 1.0, 1.0, 1.0})));  // 0^0 = 1
  EXPECT_TRUE(test::all_close(pow(x, 1.0 / 3), tensor({0.0, kNaN, kNaN, std::cbrt(4.0)})));  // negative base, fractional exponent
  EXPECT_TRUE(test::all_close(pow(x, -1.0), tensor({kInf, -0.125, -0.5, 0.25})));
  EXPECT_TRUE(test::all_close(pow(x, 3), tensor({0.0, -512.0, -8.0, 64.0})));
  EXPECT_TRUE(test::all_close(pow(x, -1.5).slice(0, 3, 4), tensor({0.125})));
  // Tensor exponents, with integer powers for integer tensors.
  EXPECT_EQ(pow(tensor({2, 3, -2}), tensor({3, 2, 3})).to_vector<int64_t>(), (std::vector<int64_t>{8, 9, -8}));
  EXPECT_EQ(pow(tensor({2, 1, -1}), tensor({-1, -3, -3})).to_vector<int64_t>(), (std::vector<int64_t>{0, 1, -1}));
  EXPECT_TRUE(test::all_close(pow(tensor({2.0, -8.0, 0.0}), tensor({0.5, 2.0, 0.0})), tensor({std::sqrt(2.0), 64.0, 1.0})));
  EXPECT_TRUE(test::all_close(pow(tensor({0.0}), tensor({0.5})), tensor({0.0})));
  Tensor p = pow(2, tensor({1.f, 3.f}));
  EXPECT_EQ(p.dtype(), DType::f32);
  EXPECT_EQ(p.to_vector<float>(), (std::vector<float>{2, 8}));
  EXPECT_EQ(pow(2, tensor({1, 3})).to_vector<int64_t>(), (std::vector<int64_t>{2, 8}));
  EXPECT_EQ(pow(2.5, tensor({1, 2})).dtype(), DType::f32);
  EXPECT_THROW(pow(tensor({2, 3}), -1), ValueError);  // integers to negative integer powers
}

TEST(UnaryGradients, MatchFiniteDifferences) {
  for (const UnaryCase& c : unary_cases()) {
    SCOPED_TRACE(c.name);
    for (const Tensor& x : gradcheck_inputs(c.lo, c.hi))
      test::expect_gradcheck([&c](const TensorList& in) { return c.op(in[0]); }, {x});
  }
}

TEST(UnaryGradients, AtKinksAsPyTorch) {
  // torch: d|x|/dx at 0 is 0, relu'(0) = 0, clamp passes the gradient at its bounds,
  // sqrt'(0) = inf, pow(x, 0)' = 0 everywhere, pow(x, 2.5)' at 0 is 0.
  auto grad_of = [](const std::function<Tensor(const Tensor&)>& f, const Tensor& at) {
    Tensor x = at.clone().requires_grad_();
    f(x).sum().backward();
    return x.grad().to_vector<double>();
  };
  EXPECT_EQ(grad_of([](const Tensor& x) { return abs(x); }, tensor({0.0, -2.0})), (std::vector<double>{0, -1}));
  EXPECT_EQ(grad_of([](const Tensor& x) { return relu(x); }, tensor({0.0, 1.0})), (std::vector<double>{0, 1}));
  EXPECT_EQ(grad_of([](const Tensor& x) { return clamp(x, 1, 3); }, tensor({1.0, 3.0, 4.0})), (std::vector<double>{1, 1, 0}));
  EXPECT_EQ(grad_of([](const Tensor& x) { return sqrt(x); }, tensor({0.0}))[0], kInf);
  EXPECT_EQ(grad_of([](const Tensor& x) { return pow(x, 0); }, tensor({0.0, 1.0})), (std::vector<double>{0, 0}));
  EXPECT_EQ(grad_of([](const Tensor& x) { return pow(x, 2.5); }, tensor({0.0, 1.0})), (std::vector<double>{0, 2.5}));
  EXPECT_EQ(grad_of([](const Tensor& x) { return sign(x) + floor(x) + round(x); }, tensor({0.5, 2.0})), (std::vector<double>{0, 0}));
  // Float32 gradients use fused one-pass kernels; they agree with the float64 formula.
  for (auto f : std::vector<std::function<Tensor(const Tensor&)>>{
           [](const Tensor& x) { return tanh(x); }, [](const Tensor& x) { return sigmoid(x); },
           [](const Tensor& x) { return relu(x); }}) {
    Tensor x = spread({5, 7}, -3, 3);
    std::vector<double> g64 = grad_of(f, x);
    std::vector<double> g32 = grad_of(f, x.to(DType::f32));
    for (size_t i = 0; i < g64.size(); ++i) EXPECT_NEAR(g32[i], g64[i], 1e-6);
  }
}

namespace {
struct BinaryCase {
  const char* name;
  std::function<Tensor(const Tensor&, const Tensor&)> op;
  std::function<double(double, double)> ref;
  double a_lo, a_hi, b_lo, b_hi;
};

const std::vector<BinaryCase>& binary_cases() {
  static const std::vector<BinaryCase> cases = {
      {"add", [](const Tensor& a, const Tensor& b) { return a + b; }, [](double a, double b) { return a + b; }, -3, 3, -3, 3},
      {"add_alpha", [](const Tensor& a, const Tensor& b) { return add(a, b, 2.5); }, [](double a, double b) { return a + 2.5 * b; }, -3, 3, -3, 3},
      {"sub", [](const Tensor& a, const Tensor& b) { return a - b; }, [](double a, double b) { return a - b; }, -3, 3, -3, 3},
      {"sub_alpha", [](const Tensor& a, const Tensor& b) { return sub(a, b, -0.5); }, [](double a, double b) { return a + 0.5 * b; }, -3, 3, -3, 3},
      {"mul", [](const Tensor& a, const Tensor& b) { return a * b; }, [](double a, double b) { return a * b; }, -3, 3, -3, 3},
      {"div", [](const Tensor& a, const Tensor& b) { return a / b; }, [](double a, double b) { return a / b; }, -3, 3, 0.5, 3},
      {"pow", [](const Tensor& a, const Tensor& b) { return pow(a, b); }, [](double a, double b) { return std::pow(a, b); }, 0.2, 3, -2, 2},
      {"maximum", [](const Tensor& a, const Tensor& b) { return maximum(a, b); }, [](double a, double b) { return std::max(a, b); }, -3, 3, -2.9, 2.9},
      {"minimum", [](const Tensor& a, const Tensor& b) { return minimum(a, b); }, [](double a, double b) { return std::min(a, b); }, -3, 3, -2.9, 2.9},
      {"atan2", [](const Tensor& a, const Tensor& b) { return atan2(a, b); }, [](double a, double b) { return std::atan2(a, b); }, -3, 3, -3, 3},
      {"where", [](const Tensor& a, const Tensor& b) { return where(gt(a, b), a * b, a - b); },
       [](double a, double b) { return a > b ? a * b : a - b; }, -3, 3, -2.9, 2.9},
  };
  return cases;
}

// Evaluates ref on the broadcast of a and b (shapes [3,1] and [1,4] style).
Tensor binary_reference(const Tensor& a, const Tensor& b, const std::function<double(double, double)>& ref) {
  Dims shape = broadcast_shapes(a.sizes(), b.sizes(), "test");
  std::vector<double> x = a.expand(shape).to_vector<double>(), y = b.expand(shape).to_vector<double>();
  for (size_t i = 0; i < x.size(); ++i) x[i] = ref(x[i], y[i]);
  return from_vector(x, shape, TensorOptions{.dtype = DType::f64});
}
}  // namespace

TEST(BinaryValues, BroadcastingAndStridesMatchReference) {
  for (const BinaryCase& c : binary_cases()) {
    SCOPED_TRACE(c.name);
    Tensor a = spread({3, 1}, c.a_lo, c.a_hi), b = spread({1, 4}, c.b_lo, c.b_hi, DType::f64, 0.71);
    EXPECT_TRUE(test::all_close(c.op(a, b), binary_reference(a, b, c.ref), 1e-13, 1e-14));
    Tensor at = spread({4, 3}, c.a_lo, c.a_hi).t(), bt = spread({3, 4}, c.b_lo, c.b_hi, DType::f64, 0.71);
    EXPECT_TRUE(test::all_close(c.op(at, bt), binary_reference(at, bt, c.ref), 1e-13, 1e-14));
    Tensor s = scalar_tensor(c.b_lo + 0.61 * (c.b_hi - c.b_lo), DType::f64);
    EXPECT_TRUE(test::all_close(c.op(at, s), binary_reference(at, s, c.ref), 1e-13, 1e-14));
    EXPECT_TRUE(test::all_close(c.op(s, at), binary_reference(s, at, c.ref), 1e-13, 1e-14));
    // Large float32 operands take the threaded path, with a broadcast row.
    Tensor big = spread({500, 100}, c.a_lo, c.a_hi, DType::f32), row = spread({100}, c.b_lo, c.b_hi, DType::f32, 0.71);
    EXPECT_TRUE(test::all_close(c.op(big, row), binary_reference(big, row, c.ref), 1e-6, 1e-6));
    EXPECT_TRUE(test::all_close(c.op(big.t().contiguous().t(), row), binary_reference(big, row, c.ref), 1e-6, 1e-6));
  }
}

TEST(BinaryValues, ThreadedChunksSplitMidRow) {
  // 3 * 111 * 101 elements: above the parallel grain, so the loop is split between threads
  // at element offsets that fall inside rows, over permuted and broadcast operands.
  Tensor a = spread({101, 3, 111}, -2, 2, DType::f32).permute({1, 2, 0});  // [3, 111, 101], strided
  Tensor b = spread({111, 1}, -2, 2, DType::f32, 0.71);                      // broadcast over dims 0 and 2
  auto ref = [](double x, double y) { return x * y - x; };
  EXPECT_TRUE(test::all_close(a * b - a, binary_reference(a, b, ref), 1e-6, 1e-6));
  EXPECT_TRUE(test::all_close(exp(a), reference(a, [](double x) { return std::exp(x); }), 1e-6));
  Tensor out = zeros({3, 111, 101}).permute({2, 0, 1});  // write into a permuted view
  out.copy_(a.permute({2, 0, 1}));
  EXPECT_TRUE(test::all_close(out.permute({1, 2, 0}), a, 0, 0));
}

TEST(BinaryValues, NaNSemantics) {
  Tensor a = tensor({kNaN, 1.0, kNaN, 2.0});
  Tensor b = tensor({1.0, kNaN, kNaN, 3.0});
  // torch.maximum / torch.minimum propagate NaN from either side
  EXPECT_TRUE(test::all_close(maximum(a, b), tensor({kNaN, kNaN, kNaN, 3.0})));
  EXPECT_TRUE(test::all_close(minimum(a, b), tensor({kNaN, kNaN, kNaN, 2.0})));
  EXPECT_TRUE(test::all_close(maximum(a, 1.5), tensor({kNaN, 1.5, kNaN, 2.0})));
  EXPECT_TRUE(test::all_close(minimum(b, 1.5), tensor({1.0, kNaN, kNaN, 1.5})));
  EXPECT_EQ(eq(a, a).to_vector<bool>(), (std::vector<bool>{false, true, false, true}));
  EXPECT_EQ(ne(a, a).to_vector<bool>(), (std::vector<bool>{true, false, true, false}));
  EXPECT_EQ(lt(a, b).to_vector<bool>(), (std::vector<bool>{false, false, false, true}));
  EXPECT_EQ(ge(a, b).to_vector<bool>(), (std::vector<bool>{false, false, false, false}));
  EXPECT_TRUE(test::all_close(tensor({1.0, -1.0, 0.0}) / tensor({0.0, 0.0, 0.0}), tensor({kInf, -kInf, kNaN})));
  EXPECT_TRUE(test::all_close(atan2(tensor({1, -1}), tensor({0, -1})), tensor({1.5707963f, -2.3561945f})));
}

TEST(BinaryValues, IntegerAndBoolArithmetic) {
  Tensor a = tensor({7, -7, 3}), b = tensor({2, 2, -4});
  EXPECT_EQ((a + b).to_vector<int64_t>(), (std::vector<int64_t>{9, -5, -1}));
  EXPECT_EQ((a - b).to_vector<int64_t>(), (std::vector<int64_t>{5, -9, 7}));
  EXPECT_EQ((a * b).to_vector<int64_t>(), (std::vector<int64_t>{14, -14, -12}));
  EXPECT_EQ(add(a, b, 3).to_vector<int64_t>(), (std::vector<int64_t>{13, -1, -9}));
  EXPECT_EQ((a / b).to_vector<float>(), (std::vector<float>{3.5f, -3.5f, -0.75f}));
  EXPECT_EQ(maximum(a, b).to_vector<int64_t>(), (std::vector<int64_t>{7, 2, 3}));
  EXPECT_EQ(minimum(a, 0).to_vector<int64_t>(), (std::vector<int64_t>{0, -7, 0}));
  EXPECT_EQ(maximum(a, b).dtype(), DType::i64);
  Tensor t = tensor({true, false, true}), f = tensor({true, true, false});
  EXPECT_EQ((t * f).to_vector<bool>(), (std::vector<bool>{true, false, false}));
  EXPECT_EQ((t * f).dtype(), DType::boolean);
  EXPECT_EQ((t + 1).to_vector<int64_t>(), (std::vector<int64_t>{2, 1, 2}));
}

TEST(BinaryValues, ScalarOverloadsAndOperators) {
  Tensor x = tensor({1.f, 2.f, 4.f});
  EXPECT_EQ((x + 1).to_vector<float>(), (std::vector<float>{2, 3, 5}));
  EXPECT_EQ((1 + x).to_vector<float>(), (std::vector<float>{2, 3, 5}));
  EXPECT_EQ((x - 1).to_vector<float>(), (std::vector<float>{0, 1, 3}));
  EXPECT_EQ((1 - x).to_vector<float>(), (std::vector<float>{0, -1, -3}));
  EXPECT_EQ((x * 0.5).to_vector<float>(), (std::vector<float>{0.5f, 1, 2}));
  EXPECT_EQ((0.5 * x).to_vector<float>(), (std::vector<float>{0.5f, 1, 2}));
  EXPECT_EQ((x / 2).to_vector<float>(), (std::vector<float>{0.5f, 1, 2}));
  EXPECT_EQ((2 / x).to_vector<float>(), (std::vector<float>{2, 1, 0.5f}));
  EXPECT_EQ((-x).to_vector<float>(), (std::vector<float>{-1, -2, -4}));
  EXPECT_EQ(add(x, 1).to_vector<float>(), sub(x, -1).to_vector<float>());
  EXPECT_EQ(mul(x, 3).to_vector<float>(), (std::vector<float>{3, 6, 12}));
  EXPECT_EQ(div(x, 4).to_vector<float>(), (std::vector<float>{0.25f, 0.5f, 1}));
  EXPECT_EQ(x.add(tensor({1.f}), 2).to_vector<float>(), (std::vector<float>{3, 4, 6}));
  EXPECT_EQ(x.sub(tensor({1.f})).to_vector<float>(), (std::vector<float>{0, 1, 3}));
  EXPECT_EQ(x.mul(x).to_vector<float>(), (std::vector<float>{1, 4, 16}));
  EXPECT_EQ(x.div(x).to_vector<float>(), (std::vector<float>{1, 1, 1}));
}

TEST(Comparisons, ValuesAndTypes) {
  Tensor ints = tensor({1, 2, 3});
  EXPECT_EQ((ints < 2.5).to_vector<bool>(), (std::vector<bool>{true, true, false}));  // compared in float
  EXPECT_EQ((ints <= 2).to_vector<bool>(), (std::vector<bool>{true, true, false}));
  EXPECT_EQ((ints > 2).to_vector<bool>(), (std::vector<bool>{false, false, true}));
  EXPECT_EQ((ints >= 2).to_vector<bool>(), (std::vector<bool>{false, true, true}));
  EXPECT_EQ(eq(ints, 2).to_vector<bool>(), (std::vector<bool>{false, true, false}));
  EXPECT_EQ(ne(ints, 2).to_vector<bool>(), (std::vector<bool>{true, false, true}));
  Tensor f = tensor({1.5f, 2.f, 2.5f});
  EXPECT_EQ((ints == f).to_vector<bool>(), (std::vector<bool>{false, true, false}));
  EXPECT_EQ((ints != f).to_vector<bool>(), (std::vector<bool>{true, false, true}));
  EXPECT_EQ((ints < f).to_vector<bool>(), (std::vector<bool>{true, false, false}));
  EXPECT_EQ((ints >= f).to_vector<bool>(), (std::vector<bool>{false, true, true}));
  EXPECT_EQ(le(f, ints).to_vector<bool>(), (std::vector<bool>{false, true, true}));
  EXPECT_EQ(gt(f, ints).to_vector<bool>(), (std::vector<bool>{true, false, false}));
  Tensor m = lt(tensor({1.0, 5.0}, {2, 1}), tensor({2.0, 4.0, 6.0}, {1, 3}));  // broadcast
  EXPECT_EQ(m.sizes(), (Dims{2, 3}));
  EXPECT_EQ(m.dtype(), DType::boolean);
  EXPECT_EQ(m.to_vector<bool>(), (std::vector<bool>{true, true, true, false, false, true}));
  // A large integer compared with a float scalar: both sides in float32, as PyTorch.
  EXPECT_EQ(eq(tensor({16777217}), 16777216.0).item<bool>(), true);
}

TEST(Logical, AndOrXorNot) {
  Tensor a = tensor({1.f, 0.f, 2.f, 0.f}), b = tensor({1, 1, 0, 0});
  EXPECT_EQ(logical_and(a, b).to_vector<bool>(), (std::vector<bool>{true, false, false, false}));
  EXPECT_EQ(logical_or(a, b).to_vector<bool>(), (std::vector<bool>{true, true, true, false}));
  EXPECT_EQ(logical_xor(a, b).to_vector<bool>(), (std::vector<bool>{false, true, true, false}));
  EXPECT_EQ((a && b).to_vector<bool>(), logical_and(a, b).to_vector<bool>());
  EXPECT_EQ((a || b).to_vector<bool>(), logical_or(a, b).to_vector<bool>());
  EXPECT_EQ(logical_and(a, b).dtype(), DType::boolean);
  EXPECT_EQ(logical_or(tensor({kNaN}), tensor({0.0})).item<bool>(), true);  // NaN is truthy
}

TEST(Where, ValuesTypesAndBroadcast) {
  Tensor cond = tensor({true, false, true});
  EXPECT_EQ(where(cond, tensor({1, 2, 3}), tensor({10, 20, 30})).to_vector<int64_t>(), (std::vector<int64_t>{1, 20, 3}));
  Tensor r = where(cond, tensor({1, 2, 3}), 2.5);
  EXPECT_EQ(r.dtype(), DType::f32);  // torch.where(cond, int tensor, 2.5) is float32
  EXPECT_EQ(r.to_vector<float>(), (std::vector<float>{1, 2.5f, 3}));
  EXPECT_EQ(where(cond, 0, tensor({1.0, 2.0, 3.0})).to_vector<double>(), (std::vector<double>{0, 2, 0}));
  EXPECT_EQ(where(cond, tensor({1.0}), tensor({2.f})).dtype(), DType::f64);
  Tensor w = where(tensor({true, false}, {2, 1}), tensor({1.f, 2.f, 3.f}), scalar_tensor(0.f));
  EXPECT_EQ(w.sizes(), (Dims{2, 3}));
  EXPECT_EQ(w.to_vector<float>(), (std::vector<float>{1, 2, 3, 0, 0, 0}));
  Tensor bf = where(cond, tensor({1.f, 2.f, 3.f}).to(DType::bf16), tensor({0.f, 0.f, 0.f}).to(DType::bf16));
  EXPECT_EQ(bf.dtype(), DType::bf16);
  EXPECT_EQ(bf.to_vector<float>(), (std::vector<float>{1, 0, 3}));
  EXPECT_THROW(where(tensor({1, 0, 1}), tensor({1.f}), tensor({2.f})), DTypeError);
}

TEST(BinaryGradients, MatchFiniteDifferences) {
  for (const BinaryCase& c : binary_cases()) {
    SCOPED_TRACE(c.name);
    auto f = [&c](const TensorList& in) { return c.op(in[0], in[1]); };
    // Broadcast [3,1] with [1,4]: the gradients are summed back to each shape.
    test::expect_gradcheck(f, {spread({3, 1}, c.a_lo, c.a_hi).requires_grad_(),
                               spread({1, 4}, c.b_lo, c.b_hi, DType::f64, 0.71).requires_grad_()});
    // Transposed (non-contiguous) with contiguous.
    test::expect_gradcheck(f, {spread({4, 3}, c.a_lo, c.a_hi).t().requires_grad_(),
                               spread({3, 4}, c.b_lo, c.b_hi, DType::f64, 0.71).requires_grad_()});
    // A 0-d tensor on either side, and a lower-rank operand.
    Tensor s = scalar_tensor(c.b_lo + 0.61 * (c.b_hi - c.b_lo), DType::f64).requires_grad_();
    test::expect_gradcheck(f, {spread({2, 3}, c.a_lo, c.a_hi).requires_grad_(), s});
    test::expect_gradcheck(f, {scalar_tensor(c.a_lo + 0.43 * (c.a_hi - c.a_lo), DType::f64).requires_grad_(),
                               spread({2, 3}, c.b_lo, c.b_hi, DType::f64, 0.71).requires_grad_()});
    test::expect_gradcheck(f, {spread({2, 3, 4}, c.a_lo, c.a_hi).requires_grad_(),
                               spread({4}, c.b_lo, c.b_hi, DType::f64, 0.71).requires_grad_()});
    // Only one side requires grad.
    Tensor a_const = spread({3, 4}, c.a_lo, c.a_hi), b_const = spread({3, 4}, c.b_lo, c.b_hi, DType::f64, 0.71);
    test::expect_gradcheck([&c, b_const](const TensorList& in) { return c.op(in[0], b_const); },
                           {spread({3, 4}, c.a_lo, c.a_hi).requires_grad_()});
    test::expect_gradcheck([&c, a_const](const TensorList& in) { return c.op(a_const, in[0]); },
                           {spread({4}, c.b_lo, c.b_hi, DType::f64, 0.71).requires_grad_()});
  }
}

TEST(BinaryGradients, TiesAndZerosAsPyTorch) {
  // torch.maximum/minimum split the gradient in half on ties.
  Tensor a = tensor({1.0, 2.0}).requires_grad_(), b = tensor({1.0, 3.0}).requires_grad_();
  maximum(a, b).sum().backward();
  EXPECT_EQ(a.grad().to_vector<double>(), (std::vector<double>{0.5, 0}));
  EXPECT_EQ(b.grad().to_vector<double>(), (std::vector<double>{0.5, 1}));
  // pow: d/da at b == 0 is 0, d/db at a == 0 is 0 (torch: a=[0,0,2], b=[0,2,0]).
  Tensor pa = tensor({0.0, 0.0, 2.0}).requires_grad_(), pb = tensor({0.0, 2.0, 0.0}).requires_grad_();
  pow(pa, pb).sum().backward();
  EXPECT_EQ(pa.grad().to_vector<double>(), (std::vector<double>{0, 0, 0}));
  EXPECT_TRUE(test::all_close(pb.grad(), tensor({0.0, 0.0, std::log(2.0)})));
  // where: the gradient goes to the chosen side only.
  Tensor x = tensor({1.0, 2.0, 3.0}).requires_grad_(), y = tensor({4.0, 5.0, 6.0}).requires_grad_();
  where(tensor({true, false, true}), x, y).sum().backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{1, 0, 1}));
  EXPECT_EQ(y.grad().to_vector<double>(), (std::vector<double>{0, 1, 0}));
  // A float32 input combined with float64 gets its gradient back in float32.
  Tensor h = tensor({1.f, 2.f}).requires_grad_();
  (h * tensor({0.5, 0.25})).sum().backward();
  EXPECT_EQ(h.grad().dtype(), DType::f32);
  EXPECT_EQ(h.grad().to_vector<float>(), (std::vector<float>{0.5f, 0.25f}));
}

TEST(InPlace, ValuesAndVersionCounter) {
  Tensor a = tensor({1.f, 2.f, 3.f, 4.f}, {2, 2});
  uint32_t v = a.version();
  a += tensor({1.f, 1.f});  // broadcast row
  a -= 0.5;
  a *= tensor({2.f});
  a /= 4;
  EXPECT_EQ(a.version(), v + 4);
  EXPECT_EQ(a.to_vector<float>(), (std::vector<float>{0.75f, 1.25f, 1.75f, 2.25f}));
  a.add_(tensor({1.f, 1.f, 1.f, 1.f}, {2, 2}), 2).sub_(tensor({1.f}), 0.5).mul_(tensor({2.f})).div_(tensor({2.f}));
  EXPECT_EQ(a.to_vector<float>(), (std::vector<float>{2.25f, 2.75f, 3.25f, 3.75f}));
  a.add_(1).sub_(1).mul_(2).div_(2);
  EXPECT_EQ(a.version(), v + 12);
  EXPECT_EQ(a.to_vector<float>(), (std::vector<float>{2.25f, 2.75f, 3.25f, 3.75f}));
  void* data = a.raw_data();
  clamp_(a, 2.5, 3.5);
  EXPECT_EQ(a.raw_data(), data);  // same memory
  EXPECT_EQ(a.to_vector<float>(), (std::vector<float>{2.5f, 2.75f, 3.25f, 3.5f}));
  a -= 3;
  relu_(a);
  EXPECT_EQ(a.to_vector<float>(), (std::vector<float>{0, 0, 0.25f, 0.5f}));
  exp_(a);
  EXPECT_TRUE(test::all_close(a, tensor({1.f, 1.f, std::exp(0.25f), std::exp(0.5f)}, {2, 2})));
  masked_fill_(a, tensor({true, false, false, true}, {2, 2}), -7);
  EXPECT_EQ(a.to_vector<float>()[0], -7.f);  // masked_fill_ writes where the mask is true
  EXPECT_EQ(a.to_vector<float>()[3], -7.f);
  EXPECT_FLOAT_EQ(a.to_vector<float>()[2], std::exp(0.25f));
  EXPECT_EQ(a.version(), v + 17);
  // Integer tensors keep their dtype; a float result cannot be written into them.
  Tensor i = tensor({5, 6});
  i += 2;
  i *= tensor({2, 3});
  EXPECT_EQ(i.to_vector<int64_t>(), (std::vector<int64_t>{14, 24}));
  masked_fill_(i, tensor({true, false}), 0);
  EXPECT_EQ(i.to_vector<int64_t>(), (std::vector<int64_t>{0, 24}));
  masked_fill_(i, tensor({false, true}), 2.5);  // torch casts the value to the tensor's dtype
  EXPECT_EQ(i.to_vector<int64_t>(), (std::vector<int64_t>{0, 2}));
  Tensor flags = tensor({true, false, true});
  masked_fill_(flags, tensor({true, true, false}), false);
  EXPECT_EQ(flags.to_vector<bool>(), (std::vector<bool>{false, false, true}));
  EXPECT_THROW(i += 2.5, DTypeError);
  EXPECT_THROW(i /= 2, DTypeError);
  // A float tensor accepts any result type, like torch: float32 += float64.
  Tensor f = tensor({1.f});
  f += tensor({0.5});
  EXPECT_EQ(f.dtype(), DType::f32);
  EXPECT_EQ(f.item<float>(), 1.5f);
  // In place through a view writes into the base.
  Tensor base = zeros({2, 3});
  Tensor row = base[1];
  row += tensor({1.f, 2.f, 3.f});
  EXPECT_EQ(base.to_vector<float>(), (std::vector<float>{0, 0, 0, 1, 2, 3}));
  EXPECT_THROW(row += zeros({2, 3}), ShapeError);  // the result may not outgrow the tensor
}

TEST(InPlace, GradientsFlowThroughInPlaceOps) {
  // torch: h = x * 1; h.clamp_(-1, 1); h.sum().backward() -> x.grad = [0, 1, 0]
  Tensor x = tensor({-2.0, 0.5, 2.0}).requires_grad_();
  Tensor h = x * 1;
  clamp_(h, -1, 1);
  h.sum().backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{0, 1, 0}));

  // torch: h = x * 1; h.mul_(w) -> x.grad = w, w.grad = x (the original h is kept for backward)
  Tensor x2 = tensor({-2.0, 0.5, 2.0}).requires_grad_(), w = tensor({3.0, 4.0, 5.0}).requires_grad_();
  Tensor h2 = x2 * 1;
  h2.mul_(w);
  h2.sum().backward();
  EXPECT_EQ(x2.grad().to_vector<double>(), (std::vector<double>{3, 4, 5}));
  EXPECT_EQ(w.grad().to_vector<double>(), (std::vector<double>{-2, 0.5, 2}));

  // Chained in-place ops on a non-leaf, checked against finite differences, also to second order.
  auto chain = [](const TensorList& in) {
    Tensor y = in[0] * 1;
    y += in[1];
    y *= in[0];
    y /= in[1];
    exp_(y);
    y -= 1;
    return y;
  };
  test::expect_gradcheck(chain, {spread({2, 3}, -1, 1).requires_grad_(), spread({3}, 1, 2).requires_grad_()});
  test::expect_gradcheck(chain, {spread({2, 3}, -1, 1).requires_grad_(), spread({3}, 1, 2).requires_grad_()}, true);
  test::expect_gradcheck([](const TensorList& in) {
    Tensor y = in[0] * 2;
    relu_(y);
    masked_fill_(y, gt(in[0], 0.5), 0.25);
    return y;
  }, {spread({3, 4}, -1, 1).requires_grad_()});
}
