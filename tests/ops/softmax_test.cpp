// Softmax and log-softmax: values against exp/log computed here in double, stability for
// large and infinite inputs, both kernel layouts (last dim and down columns), the fused
// first-order backward against the differentiable one, float64 gradient checks (first and
// second order) on contiguous, transposed and expanded inputs, errors.
#include <cmath>
#include <limits>

#include "support/test_support.h"

using namespace cajal;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

test::NormalSampler normal(1234, /*stddev=*/3.0);

Tensor leaf(const Dims& shape) { return normal(shape, {.dtype = DType::f64}).requires_grad_(); }

// softmax (or log_softmax) of a float64 [rows, n] tensor along dim 1, in plain double loops.
Tensor reference_softmax(const Tensor& x, bool log) {
  std::vector<double> v = x.to_vector<double>();
  int64_t rows = x.size(0), n = x.size(1);
  for (int64_t r = 0; r < rows; ++r) {
    double* row = v.data() + r * n;
    double m = *std::max_element(row, row + n), s = 0;
    for (int64_t i = 0; i < n; ++i) s += std::exp(row[i] - m);
    for (int64_t i = 0; i < n; ++i) row[i] = log ? row[i] - m - std::log(s) : std::exp(row[i] - m) / s;
  }
  return from_vector(v, x.sizes(), TensorOptions{.dtype = DType::f64});
}

Tensor apply(bool log, const Tensor& x, int64_t dim) { return log ? log_softmax(x, dim) : softmax(x, dim); }

}  // namespace

TEST(Softmax, SmallValues) {
  Tensor x = tensor({1.0, 2.0, 3.0, -1.0, 0.0, 1.0}, {2, 3});
  double s = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  std::vector<double> row = {std::exp(1.0) / s, std::exp(2.0) / s, std::exp(3.0) / s};
  EXPECT_TRUE(test::all_close(softmax(x, 1), tensor({row[0], row[1], row[2], row[0], row[1], row[2]}, {2, 3}), 1e-12));
  EXPECT_TRUE(test::all_close(x.log_softmax(-1), tensor({1.0, 2.0, 3.0, 1.0, 2.0, 3.0}, {2, 3}) - std::log(s), 1e-12));
  // Along dim 0: columns differ by 2, so every column is [1, e^-2] / (1 + e^-2) reversed.
  double a = 1 / (1 + std::exp(-2.0)), b = 1 - a;
  EXPECT_TRUE(test::all_close(x.softmax(0), tensor({a, a, a, b, b, b}, {2, 3}), 1e-12));
  // A 0-d tensor: softmax 1, log_softmax 0, as in PyTorch.
  EXPECT_EQ(softmax(tensor({4.0}).view({}), 0).item(), 1.0);
  EXPECT_EQ(log_softmax(tensor({4.0}).view({}), -1).item(), 0.0);
  EXPECT_EQ(softmax(zeros({3, 0}), 1).sizes(), (Dims{3, 0}));
}

TEST(Softmax, LargeAndInfiniteInputs) {
  // exp(1000) overflows: the max is subtracted first.
  Tensor big = tensor({1000.0, 1001.0, 999.0});
  double s = std::exp(-1.0) + 1 + std::exp(-2.0);
  EXPECT_TRUE(test::all_close(softmax(big, 0), tensor({std::exp(-1.0) / s, 1 / s, std::exp(-2.0) / s}), 1e-12));
  EXPECT_TRUE(test::all_close(softmax(big.to(DType::f32), 0), tensor({std::exp(-1.0) / s, 1 / s, std::exp(-2.0) / s}), 1e-6));
  // Values from PyTorch: -inf entries get probability 0 (log-probability -inf); a row with
  // +inf, or all -inf, is NaN.
  EXPECT_TRUE(test::all_close(log_softmax(tensor({-kInf, 1.0}), 0), tensor({-kInf, 0.0})));
  EXPECT_TRUE(test::all_close(softmax(tensor({-kInf, 1.0, 1.0}), 0), tensor({0.0, 0.5, 0.5})));
  for (bool log : {false, true}) {
    for (double v : apply(log, tensor({kInf, 1.0}), 0).to_vector<double>()) EXPECT_TRUE(std::isnan(v));
    for (double v : apply(log, tensor({-kInf, -kInf}).to(DType::f32), 0).to_vector<double>()) EXPECT_TRUE(std::isnan(v));
  }
}

TEST(Softmax, BothKernelLayoutsMatchDoubleReference) {
  // Odd sizes leave vector-loop tails; 4200 columns span more than one column block.
  for (bool log : {false, true}) {
    SCOPED_TRACE(log ? "log_softmax" : "softmax");
    Tensor x = normal({37, 129}, {.dtype = DType::f64});
    Tensor expected = reference_softmax(x, log);
    EXPECT_TRUE(test::all_close(apply(log, x, 1), expected, 1e-12, 1e-14));
    EXPECT_TRUE(test::all_close(apply(log, x.to(DType::f32), 1), expected, 1e-5, 1e-6));
    // Down columns: the transpose made contiguous, along dim 0.
    Tensor xt = x.t().contiguous();
    EXPECT_TRUE(test::all_close(apply(log, xt, 0), expected.t(), 1e-12, 1e-14));
    EXPECT_TRUE(test::all_close(apply(log, xt.to(DType::f32), 0), expected.t(), 1e-5, 1e-6));
    // A strided input (the transpose itself) and a middle dim of a 3-D tensor.
    EXPECT_TRUE(test::all_close(apply(log, x.t(), 0), expected.t(), 1e-12, 1e-14));
    Tensor wide = normal({2, 5, 4200}, {.dtype = DType::f64});
    Tensor rows = wide.permute({0, 2, 1}).reshape({2 * 4200, 5});
    Tensor middle = apply(log, wide.to(DType::f32), 1).permute({0, 2, 1}).reshape({2 * 4200, 5});
    EXPECT_TRUE(test::all_close(middle, reference_softmax(rows, log), 1e-5, 1e-6));
  }
}

TEST(Softmax, Bfloat16ComputesInFloat) {
  Tensor x = normal({4, 33});
  Tensor y = softmax(x.to(DType::bf16), 1);
  EXPECT_EQ(y.dtype(), DType::bf16);
  EXPECT_TRUE(test::all_close(y.to(DType::f32), softmax(x.to(DType::bf16).to(DType::f32), 1), 1e-2, 1e-3));
  // The fused backward too: bfloat16 gradient close to the float32 one.
  Tensor xb = x.to(DType::bf16).requires_grad_();
  Tensor xf = xb.detach().to(DType::f32).requires_grad_();
  Tensor g = normal({4, 33});
  log_softmax(xb, 1).backward(g.to(DType::bf16));
  log_softmax(xf, 1).backward(g.to(DType::bf16).to(DType::f32));
  EXPECT_EQ(xb.grad().dtype(), DType::bf16);
  EXPECT_TRUE(test::all_close(xb.grad().to(DType::f32), xf.grad(), 2e-2, 2e-2));
}

TEST(Softmax, FusedBackwardMatchesDifferentiableBackward) {
  // create_graph=false takes the fused kernel; create_graph=true the composed ops.
  for (bool log : {false, true}) {
    for (int64_t dim : {0, 1}) {
      SCOPED_TRACE(std::string(log ? "log_softmax" : "softmax") + " dim " + std::to_string(dim));
      Tensor x = normal({6, 700}).requires_grad_();
      Tensor g = normal({6, 700});
      Tensor fused = autograd::grad({apply(log, x, dim)}, {x}, {g}, std::nullopt, false)[0];
      Tensor composed = autograd::grad({apply(log, x, dim)}, {x}, {g}, std::nullopt, true)[0];
      EXPECT_TRUE(composed.requires_grad());
      EXPECT_TRUE(test::all_close(fused, composed.detach(), 1e-4, 1e-5));
    }
  }
}

TEST(Softmax, Gradcheck) {
  for (bool log : {false, true}) {
    SCOPED_TRACE(log ? "log_softmax" : "softmax");
    for (int64_t dim : {0, -1}) {
      test::expect_gradcheck_layouts([&](const Tensor& x) { return apply(log, x, dim); }, leaf, true);
    }
    test::expect_gradcheck([&](const TensorList& in) { return apply(log, in[0], 1); }, {leaf({2, 3, 2})}, true);
  }
}

TEST(Softmax, Errors) {
  test::expect_error<IndexError>([] { softmax(zeros({2, 3}), 2); }, {"softmax: dim 2 out of range"});
  test::expect_error<IndexError>([] { log_softmax(zeros({2, 3}), -3); }, {"log_softmax: dim -3 out of range"});
  test::expect_error<DTypeError>([] { softmax(tensor({1, 2}), 0); }, {"softmax: input must be floating point, got int64"});
}
