// Higher-order gradients (create_graph=true): a full Hessian through tanh, matmul and
// softmax against second-order finite differences, second-order gradchecks of the
// elementwise ops, gradient penalties, and backward(create_graph).
#include <cmath>
#include <functional>

#include "support/test_support.h"

using namespace cajal;

namespace {

Tensor spread(const Dims& shape, double lo, double hi, double phase = 0.3) {
  std::vector<double> v(static_cast<size_t>(numel_of(shape)));
  for (size_t i = 0; i < v.size(); ++i) v[i] = lo + (hi - lo) * std::fmod(phase + 0.6180339887 * static_cast<double>(i), 1.0);
  return from_vector(v, shape, TensorOptions{.dtype = DType::f64});
}

// The Hessian of the scalar f at `params` by autograd: one row per parameter element,
// each the gradient of one element of the create_graph first gradient.
std::vector<std::vector<double>> autograd_hessian(const std::function<Tensor(const TensorList&)>& f, const TensorList& params) {
  Tensor y = f(params);
  TensorList g = autograd::grad({y}, params, {}, true, /*create_graph=*/true);
  std::vector<std::vector<double>> rows;
  for (size_t p = 0; p < params.size(); ++p)
    for (int64_t k = 0; k < params[p].numel(); ++k) {
      Tensor seed = zeros_like(g[p]);
      seed.view({-1}).at<double>({k}) = 1;
      TensorList row = autograd::grad({g[p]}, params, {seed}, true, false, /*allow_unused=*/true);
      std::vector<double> flat;
      for (const Tensor& r : row) {
        std::vector<double> v = r.defined() ? r.to_vector<double>() : std::vector<double>(1, 0.0);
        flat.insert(flat.end(), v.begin(), v.end());
      }
      rows.push_back(flat);
    }
  return rows;
}

// The same Hessian from values of f alone: central differences in both coordinates.
std::vector<std::vector<double>> finite_difference_hessian(const std::function<Tensor(const TensorList&)>& f,
                                                           const TensorList& params, double h = 1e-4) {
  NoGradGuard no_grad;
  std::vector<double*> slots;  // every parameter element (params are contiguous here)
  for (const Tensor& p : params)
    for (int64_t k = 0; k < p.numel(); ++k) slots.push_back(p.data_ptr<double>() + k);
  auto value = [&] { return f(params).item<double>(); };
  size_t n = slots.size();
  std::vector<std::vector<double>> hess(n, std::vector<double>(n));
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j) {
      double sum = 0;
      for (int si : {1, -1})
        for (int sj : {1, -1}) {
          *slots[i] += si * h;
          *slots[j] += sj * h;
          sum += si * sj * value();
          *slots[i] -= si * h;
          *slots[j] -= sj * h;
        }
      hess[i][j] = sum / (4 * h * h);
    }
  return hess;
}

}  // namespace

TEST(HigherOrder, HessianThroughTanhMatmulSoftmax) {
  Tensor x = spread({2, 3}, -1, 1).requires_grad_();
  Tensor w = spread({3, 4}, -1.5, 1.5, 0.71).requires_grad_();
  Tensor c = spread({2, 4}, -2, 2, 0.13);  // a fixed projection of the output
  auto f = [c](const TensorList& p) { return (softmax(tanh(matmul(p[0], p[1])), 1) * c).sum(); };
  auto analytic = autograd_hessian(f, {x, w});
  auto numeric = finite_difference_hessian(f, {x, w});
  ASSERT_EQ(analytic.size(), 18u);
  double largest = 0;
  for (size_t i = 0; i < analytic.size(); ++i)
    for (size_t j = 0; j < analytic.size(); ++j) {
      largest = std::max(largest, std::fabs(numeric[i][j]));
      EXPECT_NEAR(analytic[i][j], numeric[i][j], 1e-6) << "d2f / dp" << i << " dp" << j;
      EXPECT_NEAR(analytic[i][j], analytic[j][i], 1e-12) << "the Hessian is symmetric";
    }
  EXPECT_GT(largest, 0.1);  // the test exercises real curvature
  // The same function passes a second-order gradcheck (Hessian-vector products).
  test::expect_gradcheck(f, {x, w}, true);
}

TEST(HigherOrder, UnaryOpsSecondOrderGradcheck) {
  struct Case {
    const char* name;
    std::function<Tensor(const Tensor&)> op;
    double lo, hi;
  };
  const std::vector<Case> cases = {
      {"neg", [](const Tensor& x) { return neg(x); }, -3, 3},
      {"abs", [](const Tensor& x) { return abs(x); }, -3, 3},
      {"exp", [](const Tensor& x) { return exp(x); }, -2, 2},
      {"log", [](const Tensor& x) { return log(x); }, 0.2, 4},
      {"log1p", [](const Tensor& x) { return log1p(x); }, -0.8, 3},
      {"expm1", [](const Tensor& x) { return expm1(x); }, -2, 2},
      {"sqrt", [](const Tensor& x) { return sqrt(x); }, 0.2, 4},
      {"rsqrt", [](const Tensor& x) { return rsqrt(x); }, 0.2, 4},
      {"square", [](const Tensor& x) { return square(x); }, -3, 3},
      {"erf", [](const Tensor& x) { return erf(x); }, -2, 2},
      {"sin", [](const Tensor& x) { return sin(x); }, -3, 3},
      {"cos", [](const Tensor& x) { return cos(x); }, -3, 3},
      {"tanh", [](const Tensor& x) { return tanh(x); }, -2, 2},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }, -3, 3},
      {"relu", [](const Tensor& x) { return relu(x); }, -3, 3},
      {"leaky_relu", [](const Tensor& x) { return leaky_relu(x, 0.2); }, -3, 3},
      {"elu", [](const Tensor& x) { return elu(x, 0.7); }, -3, 3},
      {"selu", [](const Tensor& x) { return selu(x); }, -3, 3},
      {"gelu", [](const Tensor& x) { return gelu(x); }, -3, 3},
      {"gelu_tanh", [](const Tensor& x) { return gelu(x, GeluApprox::Tanh); }, -3, 3},
      {"silu", [](const Tensor& x) { return silu(x); }, -3, 3},
      {"softplus", [](const Tensor& x) { return softplus(x, 2, 3); }, -3, 3},
      {"reciprocal", [](const Tensor& x) { return reciprocal(x); }, 0.3, 3},
      {"clamp", [](const Tensor& x) { return clamp(x, -1, 1.5) * x; }, -3, 3},
      {"pow_3", [](const Tensor& x) { return pow(x, 3); }, -3, 3},
      {"pow_2.5", [](const Tensor& x) { return pow(x, 2.5); }, 0.2, 3},
      {"pow_-1.5", [](const Tensor& x) { return pow(x, -1.5); }, 0.2, 3},
      {"sign_floor_round", [](const Tensor& x) { return (sign(x) + floor(x) + ceil(x) + round(x)) * x; }, -3, 3},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto f = [&c](const TensorList& in) { return c.op(in[0]); };
    test::expect_gradcheck(f, {spread({3, 4}, c.lo, c.hi).requires_grad_()}, true);
    test::expect_gradcheck(f, {spread({4, 3}, c.lo, c.hi, 0.55).t().requires_grad_()}, true);
  }
}

TEST(HigherOrder, BinaryOpsSecondOrderGradcheck) {
  struct Case {
    const char* name;
    std::function<Tensor(const Tensor&, const Tensor&)> op;
    double a_lo, a_hi, b_lo, b_hi;
  };
  const std::vector<Case> cases = {
      {"add", [](const Tensor& a, const Tensor& b) { return add(a, b, 2.5) * a; }, -2, 2, -2, 2},
      {"sub", [](const Tensor& a, const Tensor& b) { return (a - b) * (a - b); }, -2, 2, -2, 2},
      {"mul", [](const Tensor& a, const Tensor& b) { return a * b * b; }, -2, 2, -2, 2},
      {"div", [](const Tensor& a, const Tensor& b) { return a / b; }, -2, 2, 0.5, 2},
      {"pow", [](const Tensor& a, const Tensor& b) { return pow(a, b); }, 0.3, 2, -1.5, 2},
      {"maximum", [](const Tensor& a, const Tensor& b) { return maximum(a, b) * a; }, -2, 2, -1.9, 1.9},
      {"minimum", [](const Tensor& a, const Tensor& b) { return minimum(a, b) * b; }, -2, 2, -1.9, 1.9},
      {"atan2", [](const Tensor& a, const Tensor& b) { return atan2(a, b); }, -2, 2, -2, 2},
      {"where", [](const Tensor& a, const Tensor& b) { return where(gt(a, b), a * b, a / (b * b + 1)); }, -2, 2, -1.9, 1.9},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto f = [&c](const TensorList& in) { return c.op(in[0], in[1]); };
    test::expect_gradcheck(f, {spread({3, 1}, c.a_lo, c.a_hi).requires_grad_(),
                               spread({1, 4}, c.b_lo, c.b_hi, 0.71).requires_grad_()}, true);
    test::expect_gradcheck(f, {spread({2, 3}, c.a_lo, c.a_hi).requires_grad_(),
                               scalar_tensor(c.b_lo + 0.61 * (c.b_hi - c.b_lo), DType::f64).requires_grad_()}, true);
  }
}

TEST(HigherOrder, GradientPenalty) {
  // penalty(x, w) = || d/dx sum(tanh(x @ w)) ||^2, differentiated with respect to w (WGAN-GP).
  auto penalty = [](const TensorList& p) {
    Tensor y = tanh(matmul(p[0], p[1])).sum();
    Tensor gx = autograd::grad({y}, {p[0]}, {}, true, /*create_graph=*/true)[0];
    return (gx * gx).sum();
  };
  test::expect_gradcheck(penalty, {spread({2, 3}, -1, 1).requires_grad_(), spread({3, 2}, -1, 1, 0.71).requires_grad_()});
}

TEST(HigherOrder, BackwardWithCreateGraph) {
  Tensor x = tensor({2.0, -1.0}).requires_grad_();
  (x * x * x).sum().backward(Tensor(), false, /*create_graph=*/true);
  Tensor g = x.grad();  // 3x^2, with history
  EXPECT_EQ(g.to_vector<double>(), (std::vector<double>{12, 3}));
  ASSERT_TRUE(g.requires_grad());
  TensorList gg = autograd::grad({g.sum()}, {x});
  EXPECT_EQ(gg[0].to_vector<double>(), (std::vector<double>{12, -6}));  // 6x
  // A second create_graph backward adds to the gradient with history.
  x.zero_grad();
  Tensor y = (x * x).sum();
  y.backward(Tensor(), true, true);
  y.backward(Tensor(), false, true);
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{8, -4}));  // 2 * 2x
  EXPECT_EQ(autograd::grad({x.grad().sum()}, {x})[0].to_vector<double>(), (std::vector<double>{4, 4}));
  x.zero_grad();  // breaks the leaf -> grad -> graph -> leaf cycle (engine.h)
}

// A create_graph gradient saved in a leaf holds a graph that holds the leaf (engine.h): the
// cycle is freed, leaf, gradient and graph, once the gradient is cleared. (LeakSanitizer
// reported it in BackwardWithCreateGraph above, which now clears its gradient at the end.)
TEST(HigherOrder, ClearingACreateGraphGradientFreesTheCycle) {
  std::weak_ptr<TensorImpl> leaf, grad;
  {
    Tensor x = tensor({2.0, -1.0}).requires_grad_();
    (x * x * x).sum().backward(Tensor(), false, /*create_graph=*/true);
    leaf = x.impl_ptr();
    grad = x.grad().impl_ptr();
    ASSERT_TRUE(x.grad().requires_grad());
    x.zero_grad();
  }
  EXPECT_TRUE(leaf.expired());
  EXPECT_TRUE(grad.expired());
}

// Repeated second-order steps (a gradient penalty each step) on a parameter that lives on:
// each step's gradient and its graph are freed once the next step clears them, so memory
// stays flat however many steps run.
TEST(HigherOrder, RepeatedSecondOrderStepsFreeEachGraph) {
  Tensor w = tensor({0.5, -0.3, 0.8}).requires_grad_();
  std::vector<std::weak_ptr<TensorImpl>> earlier_grads;
  for (int step = 0; step < 50; ++step) {
    w.zero_grad();
    Tensor loss = (w * w * w).sum();
    loss.backward(Tensor(), false, /*create_graph=*/true);
    Tensor penalty = w.grad().square().sum();  // differentiates through the gradient
    TensorList g = autograd::grad({penalty}, {w});
    ASSERT_TRUE(g[0].defined());
    earlier_grads.push_back(w.grad().impl_ptr());
  }
  w.zero_grad();
  for (size_t i = 0; i < earlier_grads.size(); ++i) EXPECT_TRUE(earlier_grads[i].expired()) << "step " << i;
}

TEST(HigherOrder, ViewsAndReductionsInTheGraph) {
  // Second order through view ops, sums and broadcasting.
  test::expect_gradcheck([](const TensorList& in) {
    Tensor t = in[0].t().unsqueeze(0).expand({2, 4, 3});
    return (t * t.exp()).sum({0}) / (in[0].select(1, 2).square().sum() + 1);
  }, {spread({3, 4}, -1, 1).requires_grad_()}, true);
}
