// Reductions: values against hand-computed results and PyTorch (tests/reference/
// reduce_reference.py) for the edge cases (zeros, NaN, infinities, ties); float64 gradient
// checks on contiguous, transposed and expanded inputs; error messages.
#include <cmath>
#include <fstream>
#include <limits>
#include <random>

#include "support/test_support.h"

using namespace cajal;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

test::NormalSampler normal(20240917);

// A float64 leaf that requires grad, for gradcheck.
Tensor leaf(const Dims& shape) { return normal(shape, {.dtype = DType::f64}).requires_grad_(); }

// Values 0, 1, ..., n-1 shuffled and scaled: no ties, so max/min gradients are defined.
Tensor distinct(const Dims& shape) {
  static std::mt19937 rng(7);
  std::vector<double> v(static_cast<size_t>(numel_of(shape)));
  for (size_t i = 0; i < v.size(); ++i) v[i] = 0.37 * static_cast<double>(i) - 2.0;
  std::shuffle(v.begin(), v.end(), rng);
  return from_vector(v, shape, TensorOptions{.dtype = DType::f64}).requires_grad_();
}

}  // namespace

// ------------------------------------------------------------------ sum and mean kernels

TEST(Sum, AlongEveryDimOfA3DTensor) {
  // x[i, j, k] = 100 i + 10 j + k, so every sum has a closed form.
  std::vector<float> v;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) v.push_back(100.f * i + 10.f * j + k);
  Tensor x = from_vector(v, {2, 3, 4});
  std::vector<float> over_i, over_j, over_k;
  for (int j = 0; j < 3; ++j)
    for (int k = 0; k < 4; ++k) over_i.push_back(100.f + 2 * (10.f * j + k));
  for (int i = 0; i < 2; ++i)
    for (int k = 0; k < 4; ++k) over_j.push_back(300.f * i + 30.f + 3 * k);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) over_k.push_back(400.f * i + 40.f * j + 6);
  EXPECT_TRUE(test::all_close(sum(x, {0}), from_vector(over_i, {3, 4})));
  EXPECT_TRUE(test::all_close(sum(x, {1}), from_vector(over_j, {2, 4})));
  EXPECT_TRUE(test::all_close(sum(x, {2}), from_vector(over_k, {2, 3})));
  EXPECT_TRUE(test::all_close(sum(x, {0, 2}, true), tensor({412.f, 492.f, 572.f}, {1, 3, 1})));
  EXPECT_TRUE(test::all_close(mean(x, {-1, 0}), tensor({51.5f, 61.5f, 71.5f}, {3})));
  EXPECT_TRUE(test::all_close(sum(x.permute({2, 0, 1}), {1}), sum(x, {0}).t()));
}

TEST(Sum, LongFloatSumsKeepTheirPrecision) {
  // 100000 x 0.1f: a plain float running sum drifts to about 9998.6; partial sums combined
  // in float64 land within a few float ulps (~0.001 here) of 100000 * 0.1f = 10000.000149.
  Tensor x = full({100000, 2}, 0.1f);
  double exact = 100000 * static_cast<double>(0.1f);
  for (double v : sum(x, {0}).to_vector<double>()) EXPECT_NEAR(v, exact, 0.02);      // down columns
  for (double v : sum(x.t(), {1}).to_vector<double>()) EXPECT_NEAR(v, exact, 0.02);  // along rows
  EXPECT_NEAR(sum(x).item(), 2 * exact, 0.04);
}

TEST(Sum, ColumnReductionsMatchRowReductions) {
  // [outer, n, inner] column path against the permute-and-copy path on the same values.
  // 4500 columns span more than one column block.
  for (Dims shape : {Dims{5, 700, 9}, Dims{2, 3, 4500}}) {
    Tensor x = normal(shape);
    Tensor rows = x.permute({0, 2, 1}).contiguous();
    EXPECT_TRUE(test::all_close(sum(x, {1}), sum(rows, {2}), 1e-5, 1e-5));
    EXPECT_TRUE(test::all_close(norm(x, kInf, {1}), norm(rows, kInf, {2})));  // the kernel's Max
    EXPECT_TRUE(test::all_close(max(x, 1).values, max(rows, 2).values));
    EXPECT_EQ(argmin(x, 1).to_vector<int64_t>(), argmin(rows, 2).to_vector<int64_t>());
    EXPECT_TRUE(test::all_close(cumsum(x, 1), cumsum(rows, 2).permute({0, 2, 1}), 1e-5, 1e-5));
  }
}

// ------------------------------------------------------------------ prod

TEST(Prod, Values) {
  Tensor x = test::f64({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_DOUBLE_EQ(prod(x).item(), 720.0);
  EXPECT_TRUE(test::all_close(prod(x, 0), test::f64({4, 10, 18}, {3})));
  EXPECT_TRUE(test::all_close(prod(x, -1, true), test::f64({6, 120}, {2, 1})));
  EXPECT_TRUE(test::all_close(prod(x.t(), 1), test::f64({4, 10, 18}, {3})));
  Tensor ints = tensor({2, 3, 4});
  EXPECT_EQ(prod(ints).dtype(), DType::i64);
  EXPECT_EQ(prod(ints).item<int64_t>(), 24);
  EXPECT_EQ(prod(tensor({true, false})).dtype(), DType::i64);
  EXPECT_DOUBLE_EQ(prod(zeros({0})).item(), 1.0);  // empty product
}

TEST(Prod, GradientWithZerosIsTheProductOfTheOthers) {
  // Values from PyTorch: torch.prod(x).backward() and torch.prod(x, 1).sum().backward().
  Tensor a = test::f64({0, 2, 3}).requires_grad_();
  prod(a).backward();
  EXPECT_TRUE(test::all_close(a.grad(), test::f64({6, 0, 0})));
  Tensor b = test::f64({0, 2, 0}).requires_grad_();
  prod(b).backward();
  EXPECT_TRUE(test::all_close(b.grad(), test::f64({0, 0, 0})));
  Tensor c = test::f64({0, 2, 0, 1, 0, 3}, {2, 3}).requires_grad_();
  prod(c, 1).sum().backward();
  EXPECT_TRUE(test::all_close(c.grad(), test::f64({0, 0, 0, 0, 3, 0}, {2, 3})));
  Tensor d = test::f64({2, -1, 4}).requires_grad_();
  prod(d).backward();
  EXPECT_TRUE(test::all_close(d.grad(), test::f64({-4, 8, -2})));
}

TEST(Prod, Gradcheck) {
  test::expect_gradcheck_layouts([](const Tensor& x) { return prod(x); }, leaf);
  test::expect_gradcheck_layouts([](const Tensor& x) { return prod(x, 0); }, leaf);
  test::expect_gradcheck_layouts([](const Tensor& x) { return prod(x, -1, true); }, leaf, true);
  // One zero per slice: first and second derivatives are exact there too.
  auto with_zero = [](const Dims& shape) {
    Tensor x = normal(shape, {.dtype = DType::f64});
    x.view({-1}).narrow(0, 0, 1).zero_();
    return x.requires_grad_();
  };
  test::expect_gradcheck([](const TensorList& in) { return prod(in[0], 1); }, {with_zero({3, 4})}, true);
  test::expect_gradcheck([](const TensorList& in) { return prod(in[0]); }, {with_zero({2, 3})}, true);
  Tensor two_zeros = test::f64({0, 1.5, 0, -2}).requires_grad_();
  test::expect_gradcheck([](const TensorList& in) { return prod(in[0]); }, {two_zeros});
}

// ------------------------------------------------------------------ var and std

TEST(Var, Values) {
  Tensor x = test::f64({1, 2, 3, 4}, {2, 2});
  EXPECT_NEAR(var(x).item(), 5.0 / 3.0, 1e-12);
  EXPECT_NEAR(var(x, {}, false).item(), 1.25, 1e-12);
  EXPECT_TRUE(test::all_close(var(x, {0}), test::f64({2, 2}, {2})));
  EXPECT_TRUE(test::all_close(var(x, {1}, false, true), test::f64({0.25, 0.25}, {2, 1})));
  EXPECT_TRUE(test::all_close(cajal::std(x, {-1}), test::f64({std::sqrt(0.5), std::sqrt(0.5)}, {2})));
  EXPECT_TRUE(test::all_close(cajal::std(x.t(), {0}), test::f64({std::sqrt(0.5), std::sqrt(0.5)}, {2})));
  Tensor y = normal({3, 4, 5}, {.dtype = DType::f64});
  // Over two dims equals over the flattened pair.
  EXPECT_TRUE(test::all_close(var(y, {0, 2}), var(y.permute({1, 0, 2}).reshape({4, 15}), {1})));
  // One element: the unbiased estimate divides by 0 (NaN, as PyTorch); the biased one is 0.
  EXPECT_TRUE(std::isnan(var(test::f64({3})).item()));
  EXPECT_EQ(cajal::std(test::f64({3}), {}, false).item(), 0.0);
}

TEST(Var, TwoPassesStayAccurateForALargeMean) {
  // float32 values 1e6 + {0, 1, 2, 3} are exact; E[x^2] - E[x]^2 in float32 would lose them all.
  Tensor x = tensor({1e6f, 1e6f + 1, 1e6f + 2, 1e6f + 3});
  EXPECT_NEAR(var(x).item(), 5.0 / 3.0, 1e-6);
  EXPECT_NEAR(cajal::std(x, {}, false).item(), std::sqrt(1.25), 1e-6);
}

TEST(Var, Gradcheck) {
  test::expect_gradcheck_layouts([](const Tensor& x) { return var(x); }, leaf);
  test::expect_gradcheck_layouts([](const Tensor& x) { return var(x, {0}, false); }, leaf, true);
  test::expect_gradcheck_layouts([](const Tensor& x) { return cajal::std(x, {-1}, true, true); }, leaf, true);
  test::expect_gradcheck_layouts([](const Tensor& x) { return cajal::std(x, {0, 1}, false); }, leaf);
}

TEST(Std, GradientOfAConstantSliceIsZero) {
  // PyTorch: torch.std(torch.ones(3, requires_grad=True)).backward() gives zeros.
  Tensor x = ones({3}, {.dtype = DType::f64}).requires_grad_();
  cajal::std(x).backward();
  EXPECT_TRUE(test::all_close(x.grad(), zeros({3}, {.dtype = DType::f64})));
}

// ------------------------------------------------------------------ max / min along a dim

TEST(MaxDim, ValuesAndIndices) {
  Tensor x = test::f64({3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8}, {3, 4});
  ValuesIndices m = max(x, 1);
  EXPECT_TRUE(test::all_close(m.values, test::f64({4, 9, 8}, {3})));
  EXPECT_EQ(m.indices.dtype(), DType::i64);
  EXPECT_EQ(m.indices.to_vector<int64_t>(), (std::vector<int64_t>{2, 1, 3}));
  ValuesIndices n = min(x, 0, true);
  EXPECT_EQ(n.values.sizes(), (Dims{1, 4}));
  EXPECT_TRUE(test::all_close(n.values, test::f64({3, 1, 2, 1}, {1, 4})));
  EXPECT_EQ(n.indices.to_vector<int64_t>(), (std::vector<int64_t>{0, 0, 1, 0}));
  // Transposed input, negative dim: same as dim 0 of x (the first of the tied 5s).
  EXPECT_EQ(max(x.t(), -1).indices.to_vector<int64_t>(), (std::vector<int64_t>{1, 1, 2, 2}));
  // Integers and bool.
  EXPECT_EQ(max(tensor({4, 7, 7, 1}), 0).indices.item<int64_t>(), 1);
  EXPECT_EQ(min(tensor({true, false, false}), 0).indices.item<int64_t>(), 1);
  // A 0-d tensor reduces to itself at index 0, as in PyTorch.
  ValuesIndices s = max(test::f64({2.5}).view({}), 0);
  EXPECT_EQ(s.values.item(), 2.5);
  EXPECT_EQ(s.indices.item<int64_t>(), 0);
}

TEST(MaxDim, TiesKeepTheFirstIndexAndNaNWins) {
  Tensor x = test::f64({1, 5, 5, 2, kNaN, 7, kNaN, 0}, {2, 4});
  ValuesIndices m = max(x, 1);
  EXPECT_EQ(m.indices.to_vector<int64_t>(), (std::vector<int64_t>{1, 0}));
  EXPECT_TRUE(std::isnan(m.values.to_vector<double>()[1]));
  EXPECT_EQ(min(x, 1).indices.to_vector<int64_t>(), (std::vector<int64_t>{0, 0}));
  // Down columns (the vectorized path): dim 0 of the transpose, made contiguous.
  Tensor xt = x.t().contiguous();
  EXPECT_EQ(max(xt, 0).indices.to_vector<int64_t>(), (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(min(xt, 0).indices.to_vector<int64_t>(), (std::vector<int64_t>{0, 0}));
  // Wide columns cross several column blocks.
  Tensor wide = zeros({3, 1500}, {.dtype = DType::f64});
  wide.select(0, 2).fill_(1);
  wide.select(0, 1).narrow(0, 1400, 10).fill_(kNaN);
  std::vector<int64_t> idx = argmax(wide, 0).to_vector<int64_t>();
  EXPECT_EQ(idx[0], 2);
  EXPECT_EQ(idx[1405], 1);
  EXPECT_EQ(argmin(wide, 0).to_vector<int64_t>()[7], 0);
}

TEST(MaxDim, MatchesAPlainScanWithManyTiesAndNaNs) {
  // Values in {0, ..., 4} and some NaNs, so every row has ties; rows of 1 to 140 reach the
  // short-row loop, the vector lanes and the leftover tail. A plain scan is the oracle.
  std::mt19937 rng(3);
  for (int64_t n : {1, 5, 31, 32, 33, 100, 140}) {
    for (bool with_nan : {false, true}) {
      std::vector<double> v(static_cast<size_t>(3 * n));
      for (double& e : v) e = static_cast<double>(rng() % 5);
      if (with_nan) v[static_cast<size_t>(n + n / 2)] = v[static_cast<size_t>(2 * n + n - 1)] = kNaN;
      Tensor x = from_vector(v, {3, n});
      for (bool is_max : {true, false}) {
        SCOPED_TRACE("n " + std::to_string(n) + (with_nan ? " with NaN" : "") + (is_max ? " max" : " min"));
        std::vector<int64_t> expected;
        for (int64_t r = 0; r < 3; ++r) {
          int64_t best = 0;
          for (int64_t i = 1; i < n && !std::isnan(v[r * n + best]); ++i) {
            double a = v[r * n + i], b = v[r * n + best];
            if (std::isnan(a) || (is_max ? a > b : a < b)) best = i;
          }
          expected.push_back(best);
        }
        Tensor rows = is_max ? argmax(x, 1) : argmin(x, 1);
        Tensor columns = is_max ? argmax(x.t().contiguous(), 0) : argmin(x.t().contiguous(), 0);
        EXPECT_EQ(rows.to_vector<int64_t>(), expected);
        EXPECT_EQ(columns.to_vector<int64_t>(), expected);
        EXPECT_EQ((is_max ? argmax(x.to(DType::f32), 1) : argmin(x.to(DType::f32), 1)).to_vector<int64_t>(), expected);
        if (!with_nan) {
          EXPECT_EQ((is_max ? argmax(x.to(DType::i32), 1) : argmin(x.to(DType::i32), 1)).to_vector<int64_t>(), expected);
        }
      }
    }
  }
}

TEST(MaxDim, GradientGoesToTheSelectedIndex) {
  Tensor x = test::f64({1, 5, 5, 2, 9, 0}, {2, 3}).requires_grad_();
  max(x, 1).values.sum().backward();
  EXPECT_TRUE(test::all_close(x.grad(), test::f64({0, 1, 0, 0, 1, 0}, {2, 3})));  // PyTorch: the first tie
  Tensor y = test::f64({1, 5, 5, 2, 9, 0}, {2, 3}).requires_grad_();
  (min(y, 0, true).values * test::f64({1, 2, 3}, {1, 3})).sum().backward();
  EXPECT_TRUE(test::all_close(y.grad(), test::f64({1, 2, 0, 0, 0, 3}, {2, 3})));
}

TEST(MaxDim, Gradcheck) {
  test::expect_gradcheck_layouts([](const Tensor& x) { return max(x, 0).values; }, distinct);
  test::expect_gradcheck_layouts([](const Tensor& x) { return min(x, -1, true).values; }, distinct);
  test::expect_gradcheck([](const TensorList& in) { return max(in[0], 1).values; }, {distinct({2, 5, 3})});
}

TEST(Argmax, FlattenedOrAlongADim) {
  Tensor x = test::f64({3, 9, 4, 9, 0, -1}, {2, 3});
  EXPECT_EQ(argmax(x).item<int64_t>(), 1);
  EXPECT_EQ(argmax(x).dim(), 0);
  EXPECT_EQ(argmax(x, std::nullopt, true).sizes(), (Dims{1, 1}));
  EXPECT_EQ(argmin(x).item<int64_t>(), 5);
  // Flattened in the transpose's own order: [1, 4, 2, 8, 3, 6].
  EXPECT_EQ(argmax(test::f64({1, 2, 3, 4, 8, 6}, {2, 3}).t()).item<int64_t>(), 3);
  EXPECT_EQ(x.argmax(0).to_vector<int64_t>(), (std::vector<int64_t>{1, 0, 0}));
  EXPECT_EQ(argmin(x, 1, true).sizes(), (Dims{2, 1}));
  EXPECT_EQ(argmax(test::f64({1, kNaN, 3, kNaN})).item<int64_t>(), 1);
  EXPECT_EQ(argmin(test::f64({1, kNaN, 0})).item<int64_t>(), 1);
  EXPECT_EQ(argmax(tensor({1, 3, 3})).item<int64_t>(), 1);
  EXPECT_FALSE(argmax(leaf({3})).requires_grad());
}

TEST(MaxDim, Errors) {
  Tensor x = zeros({2, 3});
  test::expect_error<IndexError>([&] { max(x, 2); }, {"max: dim 2 out of range"});
  test::expect_error<IndexError>([&] { argmin(x, -3); }, {"argmin: dim -3 out of range"});
  test::expect_error<ValueError>([&] { max(zeros({0, 3}), 0); }, {"max: cannot reduce dim 0 of size 0"});
  test::expect_error<ValueError>([&] { argmax(zeros({0})); }, {"argmax: the tensor is empty"});
  EXPECT_EQ(max(zeros({0, 3}), 1).values.sizes(), (Dims{0}));  // nothing to reduce: fine
  // No outer slices, on one thread and on several (the column split divides by both).
  int threads = num_threads();
  for (int t : {1, 3}) {
    set_num_threads(t);
    EXPECT_EQ(max(zeros({0, 3, 4}), 1).indices.sizes(), (Dims{0, 4}));
    EXPECT_EQ(cumsum(zeros({0, 3, 4}), 1).sizes(), (Dims{0, 3, 4}));
  }
  set_num_threads(threads);
}

// ------------------------------------------------------------------ logsumexp

TEST(Logsumexp, StableValues) {
  Tensor x = test::f64({1, 2, 3, 1000, 1000, -kInf, -kInf, -kInf, 5}, {3, 3});
  Tensor r = logsumexp(x, {1});
  std::vector<double> v = r.to_vector<double>();
  EXPECT_NEAR(v[0], std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)), 1e-12);
  EXPECT_NEAR(v[1], 1000 + std::log(2.0 + std::exp(-1000.0)), 1e-9);  // exp(1000) overflows
  EXPECT_NEAR(v[2], 5.0, 1e-12);
  // Values from PyTorch: all -inf gives -inf, any +inf gives inf, NaN gives NaN.
  EXPECT_EQ(logsumexp(test::f64({-kInf, -kInf}), {0}).item(), -kInf);
  EXPECT_EQ(logsumexp(test::f64({kInf, 1}), {0}).item(), kInf);
  EXPECT_TRUE(std::isnan(logsumexp(test::f64({kNaN, 1}), {0}).item()));
  EXPECT_EQ(logsumexp(x, {0, 1}, true).sizes(), (Dims{1, 1}));
  EXPECT_NEAR(logsumexp(test::f64({0, 0, 0, 0}, {2, 2}), {}).item(), std::log(4.0), 1e-12);  // {} = all dims
  EXPECT_EQ(logsumexp(tensor({1, 2}), {0}).dtype(), DType::f32);  // integers promote, as in PyTorch
  EXPECT_NEAR(logsumexp(tensor({1, 2}), {0}).item(), std::log(std::exp(1.0) + std::exp(2.0)), 1e-6);
}

TEST(Logsumexp, Gradcheck) {
  test::expect_gradcheck_layouts([](const Tensor& x) { return logsumexp(x, {1}); }, leaf, true);
  test::expect_gradcheck_layouts([](const Tensor& x) { return logsumexp(x, {0}, true); }, leaf);
  test::expect_gradcheck_layouts([](const Tensor& x) { return logsumexp(x, {0, 1}); }, leaf);
}

// ------------------------------------------------------------------ norm

TEST(Norm, Values) {
  Tensor x = test::f64({3, -4, 0, 1, -2, 2}, {2, 3});
  EXPECT_NEAR(norm(x).item(), std::sqrt(34.0), 1e-12);
  EXPECT_TRUE(test::all_close(norm(x, 1, {1}), test::f64({7, 5}, {2})));
  EXPECT_TRUE(test::all_close(norm(x, 2, {1}, true), test::f64({5, 3}, {2, 1})));
  EXPECT_TRUE(test::all_close(norm(x, kInf, {0}), test::f64({3, 4, 2}, {3})));
  EXPECT_TRUE(test::all_close(norm(x.t(), kInf, {1}), test::f64({3, 4, 2}, {3})));
  EXPECT_TRUE(std::isnan(norm(test::f64({kNaN, 1}), kInf).item()));
  test::expect_error<ValueError>([&] { norm(x, 3); }, {"norm: p must be 1, 2 or inf, got 3"});
  test::expect_error<DTypeError>([&] { norm(tensor({1, 2})); }, {"norm: input must be floating point, got int64"});
  test::expect_error<IndexError>([&] { norm(x, 2, {0, 5}); }, {"norm: dim 5 out of range"});
  test::expect_error<ValueError>([&] { norm(x, 2, {1, -1}); }, {"norm: dim -1 appears more than once"});
}

TEST(Norm, GradientsAtZeroAndTies) {
  // PyTorch: the 2-norm's gradient at the zero vector is 0 (not NaN).
  Tensor z = zeros({3}, {.dtype = DType::f64}).requires_grad_();
  norm(z).backward();
  EXPECT_TRUE(test::all_close(z.grad(), zeros({3}, {.dtype = DType::f64})));
  // PyTorch: torch.norm([1, -3, 3], inf) shares the gradient between the tied entries.
  Tensor t = test::f64({1, -3, 3}).requires_grad_();
  norm(t, kInf).backward();
  EXPECT_TRUE(test::all_close(t.grad(), test::f64({0, -0.5, 0.5})));
  // PyTorch: the 1-norm's gradient is sign(x), 0 at 0.
  Tensor o = test::f64({0, 2, -3}).requires_grad_();
  norm(o, 1).backward();
  EXPECT_TRUE(test::all_close(o.grad(), test::f64({0, 1, -1})));
}

TEST(Norm, Gradcheck) {
  test::expect_gradcheck_layouts([](const Tensor& x) { return norm(x); }, leaf, true);
  test::expect_gradcheck_layouts([](const Tensor& x) { return norm(x, 2, {1}, true); }, leaf, true);
  test::expect_gradcheck_layouts([](const Tensor& x) { return norm(x, 1, {0}); }, leaf);
  test::expect_gradcheck_layouts([](const Tensor& x) { return norm(x, kInf, {1}); }, distinct);
}

// ------------------------------------------------------------------ cumsum

TEST(Cumsum, Values) {
  Tensor x = test::f64({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_TRUE(test::all_close(cumsum(x, 1), test::f64({1, 3, 6, 4, 9, 15}, {2, 3})));
  EXPECT_TRUE(test::all_close(cumsum(x, 0), test::f64({1, 2, 3, 5, 7, 9}, {2, 3})));
  EXPECT_TRUE(test::all_close(cumsum(x.t(), -1), test::f64({1, 5, 2, 7, 3, 9}, {3, 2})));
  Tensor ints = cumsum(tensor({true, true, false, true}), 0);
  EXPECT_EQ(ints.dtype(), DType::i64);
  EXPECT_EQ(ints.to_vector<int64_t>(), (std::vector<int64_t>{1, 2, 2, 3}));
  // float32 accumulates in float64, as PyTorch's CPU cumsum: a float running sum would
  // stay at 2^24 and end there.
  EXPECT_EQ(cumsum(tensor({16777216.f, 1.f, 1.f}), 0).to_vector<double>().back(), 16777218.0);
  EXPECT_EQ(cumsum(tensor({16777216.f, 5.f, 1.f, 6.f, 1.f, 7.f}, {3, 2}), 0).to_vector<double>(),
            (std::vector<double>{16777216.0, 5.0, 16777216.0, 11.0, 16777218.0, 18.0}));
  test::expect_error<IndexError>([&] { cumsum(x, 2); }, {"cumsum: dim 2 out of range"});
}

TEST(Cumsum, GradientIsTheReversedCumsum) {
  Tensor x = test::f64({1, 2, 3, 4}).requires_grad_();
  (cumsum(x, 0) * test::f64({1, 10, 100, 1000})).sum().backward();
  EXPECT_TRUE(test::all_close(x.grad(), test::f64({1111, 1110, 1100, 1000})));
}

TEST(Cumsum, Gradcheck) {
  test::expect_gradcheck_layouts([](const Tensor& x) { return cumsum(x, 0); }, leaf);
  test::expect_gradcheck_layouts([](const Tensor& x) { return cumsum(x, -1); }, leaf);
  test::expect_gradcheck([](const TensorList& in) { return cumsum(in[0], 1); }, {leaf({2, 3, 4})});
}

// ------------------------------------------------------------------ full max / min

TEST(MaxAll, GradientIsSharedAmongTiesAndNaNs) {
  // Values from PyTorch: x.max().backward() splits the gradient evenly among the maxima,
  // or among the NaNs when the result is NaN.
  Tensor a = test::f64({1, 3, 3, 0}).requires_grad_();
  max(a).backward();
  EXPECT_TRUE(test::all_close(a.grad(), test::f64({0, 0.5, 0.5, 0})));
  Tensor b = test::f64({1, kNaN, 3, kNaN}).requires_grad_();
  max(b).backward();
  EXPECT_TRUE(test::all_close(b.grad(), test::f64({0, 0.5, 0, 0.5})));
  Tensor c = test::f64({1, 3, 3, 0}).requires_grad_();
  min(c).backward();
  EXPECT_TRUE(test::all_close(c.grad(), test::f64({0, 0, 0, 1})));
}

// ------------------------------------------------------------------ errors shared by all

TEST(Reduce, BadDims) {
  Tensor x = zeros({2, 3});
  test::expect_error<IndexError>([&] { prod(x, 2); }, {"prod: dim 2 out of range"});
  test::expect_error<IndexError>([&] { var(x, {-3}); }, {"var: dim -3 out of range"});
  test::expect_error<IndexError>([&] { cajal::std(x, {4}); }, {"std: dim 4 out of range"});
  test::expect_error<IndexError>([&] { logsumexp(x, {2}); }, {"logsumexp: dim 2 out of range"});
  test::expect_error<ValueError>([&] { var(x, {0, 0}); }, {"var: dim 0 appears more than once"});
  test::expect_error<DTypeError>([&] { var(tensor({1, 2})); }, {"var: input must be floating point, got int64"});
}

// ------------------------------------------------------------------ PyTorch reference

// Edge cases computed by PyTorch (tests/reference/reduce_reference.py): for each case a
// value and, when the case is differentiable, the input's gradient of sum(out * w).
TEST(Reduce, MatchesPyTorchOnEdgeCases) {
  std::string dir = test::temp_dir();
  ASSERT_TRUE(test::run_reference("reduce_reference.py", dir));
  Tensor w = load_npy(dir + "/weights.npy");
  std::ifstream manifest(dir + "/manifest.txt");
  std::string id;
  int checked = 0;
  while (manifest >> id) {
    SCOPED_TRACE(id);
    Tensor x = load_npy(dir + "/" + id + "_input.npy").requires_grad_();
    Tensor expected = load_npy(dir + "/" + id + "_output.npy");
    Tensor out;
    if (id == "prod_zeros") out = prod(x, 1);
    else if (id == "prod_all_one_zero") out = prod(x);
    else if (id == "var_dims") out = var(x, {0, 2}, true, true);
    else if (id == "std_constant_rows") out = cajal::std(x, {1}, false);
    else if (id == "logsumexp_inf") out = logsumexp(x, {1});
    else if (id == "norm2_zero_rows") out = norm(x, 2, {1});
    else if (id == "norm_inf_ties") out = norm(x, kInf, {1});
    else if (id == "norm1_dims") out = norm(x, 1, {0, 1});
    else if (id == "max_dim_ties") out = max(x, 0).values;
    else if (id == "cumsum_mid") out = cumsum(x, 1);
    else FAIL() << "unknown case " << id;
    EXPECT_TRUE(test::all_close(out, expected, 1e-10, 1e-12));
    (out * w.narrow(0, 0, out.numel()).view(out.sizes())).sum().backward();
    EXPECT_TRUE(test::all_close(x.grad(), load_npy(dir + "/" + id + "_grad.npy"), 1e-10, 1e-12));
    ++checked;
  }
  EXPECT_EQ(checked, 10);
}
