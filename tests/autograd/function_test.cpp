// Custom differentiable functions (autograd/function.h): forward/backward, saved tensors,
// non-tensor arguments, create_graph through a custom backward, and the errors.
// Oracles: derivatives by hand and finite differences.
#include <cmath>

#include "support/test_support.h"

using namespace cajal;

namespace {

struct Cube : autograd::Function<Cube> {
  static constexpr const char* name = "Cube";
  static Tensor forward(autograd::FunctionCtx& ctx, const Tensor& x) {
    ctx.save_for_backward({x});
    return x * x * x;
  }
  static TensorList backward(autograd::FunctionCtx& ctx, const Tensor& grad) {
    Tensor x = ctx.saved()[0];
    return {grad * 3 * x * x};
  }
};

// Two tensor arguments and a number: scale * a * exp(b).
struct ScaledMulExp : autograd::Function<ScaledMulExp> {
  static constexpr const char* name = "ScaledMulExp";
  static Tensor forward(autograd::FunctionCtx& ctx, const Tensor& a, double scale, const Tensor& b) {
    ctx.save_for_backward({a, b});
    ctx.values["scale"] = scale;
    return a * exp(b) * scale;
  }
  static TensorList backward(autograd::FunctionCtx& ctx, const Tensor& grad) {
    double scale = ctx.values["scale"];
    const Tensor& a = ctx.saved()[0];
    Tensor e = exp(ctx.saved()[1]);  // recomputed from the input, so that it is differentiable too
    return {grad * e * scale, grad * a * e * scale};
  }
};

struct WrongCount : autograd::Function<WrongCount> {
  static constexpr const char* name = "WrongCount";
  static Tensor forward(autograd::FunctionCtx&, const Tensor& a, const Tensor& b) { return a * b; }
  static TensorList backward(autograd::FunctionCtx&, const Tensor& grad) { return {grad}; }
};

struct WrongShape : autograd::Function<WrongShape> {
  static constexpr const char* name = "WrongShape";
  static Tensor forward(autograd::FunctionCtx&, const Tensor& a) { return a.sum(); }
  static TensorList backward(autograd::FunctionCtx&, const Tensor& grad) { return {grad}; }  // should expand
};

// A deliberately wrong derivative (2x instead of 3x^2), for checking that gradcheck fails.
struct BadCube : autograd::Function<BadCube> {
  static constexpr const char* name = "BadCube";
  static Tensor forward(autograd::FunctionCtx& ctx, const Tensor& x) {
    ctx.save_for_backward({x});
    return x * x * x;
  }
  static TensorList backward(autograd::FunctionCtx& ctx, const Tensor& grad) { return {grad * 2 * ctx.saved()[0]}; }
};

struct ReturnsInput : autograd::Function<ReturnsInput> {
  static constexpr const char* name = "ReturnsInput";
  static Tensor forward(autograd::FunctionCtx&, const Tensor& x) { return x; }
  static TensorList backward(autograd::FunctionCtx&, const Tensor& grad) { return {grad}; }
};

}  // namespace

TEST(Function, ForwardAndBackward) {
  Tensor x = tensor({1.0, -2.0, 0.5}).requires_grad_();
  Tensor y = Cube::apply(x);
  EXPECT_EQ(y.to_vector<double>(), (std::vector<double>{1, -8, 0.125}));
  EXPECT_TRUE(y.requires_grad());
  EXPECT_STREQ(y.grad_fn()->name(), "Cube");
  EXPECT_EQ(to_string(y), "tensor([ 1.0000, -8.0000,  0.1250], dtype=float64, grad_fn=<CubeBackward0>)");
  y.sum().backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{3, 12, 0.75}));  // 3x^2
}

TEST(Function, MatchesFiniteDifferences) {
  Tensor x = tensor({0.3, -1.2, 2.0}, {3}).requires_grad_();
  test::expect_gradcheck([](const TensorList& in) { return Cube::apply(in[0]); }, {x});
  Tensor a = tensor({0.5, -1.0, 2.0, 0.1}, {2, 2}).requires_grad_();
  Tensor b = tensor({0.2, -0.4, 0.3, 0.7}, {2, 2}).t().requires_grad_();  // non-contiguous
  test::expect_gradcheck([](const TensorList& in) { return ScaledMulExp::apply(in[0], 1.5, in[1]); }, {a, b});
  // Second order: the custom backward is built from differentiable ops.
  test::expect_gradcheck([](const TensorList& in) { return Cube::apply(in[0]); }, {x}, true);
  test::expect_gradcheck([](const TensorList& in) { return ScaledMulExp::apply(in[0], 1.5, in[1]); }, {a, b}, true);
}

TEST(Function, GradcheckCatchesAWrongBackward) {
  Tensor x = tensor({0.3, -1.2, 2.0}).requires_grad_();
  autograd::GradcheckResult r = autograd::gradcheck([](const TensorList& in) { return BadCube::apply(in[0]); }, {x});
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.message.find("input 0"), std::string::npos) << r.message;
  EXPECT_GT(r.max_abs_error, 0.1);
}

TEST(Function, CreateGraphThroughCustomBackward) {
  Tensor x = tensor({2.0}).requires_grad_();
  Tensor y = Cube::apply(x);
  TensorList g = autograd::grad({y}, {x}, {}, std::nullopt, /*create_graph=*/true);
  EXPECT_DOUBLE_EQ(g[0].item(), 12.0);  // 3x^2
  ASSERT_TRUE(g[0].requires_grad());
  TensorList gg = autograd::grad({g[0]}, {x}, {}, std::nullopt, true);
  EXPECT_DOUBLE_EQ(gg[0].item(), 12.0);  // 6x
  TensorList ggg = autograd::grad({gg[0]}, {x});
  EXPECT_DOUBLE_EQ(ggg[0].item(), 6.0);
}

TEST(Function, InputsWithoutGradAndNoGradMode) {
  Tensor a = tensor({1.0, 2.0}).requires_grad_();
  Tensor b = tensor({0.0, 1.0});  // a constant
  Tensor y = ScaledMulExp::apply(a, 2.0, b);
  y.sum().backward();
  EXPECT_TRUE(test::all_close(a.grad(), tensor({2.0, 2 * std::exp(1.0)})));
  EXPECT_FALSE(b.grad().defined());
  EXPECT_FALSE(ScaledMulExp::apply(b, 1.0, b).requires_grad());  // no input requires grad
  NoGradGuard no_grad;
  EXPECT_FALSE(Cube::apply(a).requires_grad());
}

TEST(Function, ForwardDoesNotRecord) {
  Tensor x = tensor({1.0}).requires_grad_();
  Tensor y = Cube::apply(x);
  // The graph below y is the single custom node: its input edge goes straight to x.
  ASSERT_EQ(y.grad_fn()->next.size(), 1u);
  EXPECT_STREQ(y.grad_fn()->next[0]->name(), "AccumulateGrad");
}

TEST(Function, Errors) {
  Tensor a = tensor({1.0, 2.0}).requires_grad_(), b = tensor({3.0, 4.0}).requires_grad_();
  std::string msg = test::error_message([&] { WrongCount::apply(a, b).sum().backward(); });
  EXPECT_NE(msg.find("WrongCount"), std::string::npos) << msg;
  EXPECT_NE(msg.find("returned 1 gradients, expected 2"), std::string::npos) << msg;

  msg = test::error_message([&] { WrongShape::apply(a).backward(); });
  EXPECT_NE(msg.find("WrongShape"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[2]"), std::string::npos) << msg;  // the input's shape

  msg = test::error_message([&] { ReturnsInput::apply(a); });
  EXPECT_NE(msg.find("ReturnsInput"), std::string::npos) << msg;
  EXPECT_NE(msg.find("leaf"), std::string::npos) << msg;

  // A saved tensor modified in place after forward: the error names the function.
  Tensor x = tensor({1.0, 2.0}).requires_grad_();
  Tensor h = x * 1;
  Tensor y = Cube::apply(h);
  h.mul_(scalar_tensor(2.0));
  msg = test::error_message([&] { y.sum().backward(); });
  EXPECT_NE(msg.find("'Cube'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("in-place"), std::string::npos) << msg;
}
