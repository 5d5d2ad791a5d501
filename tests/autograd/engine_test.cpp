// The backward engine: seeds, accumulation, retain_graph, autograd::grad, grad mode,
// detach, hooks, retain_grad, in-place checks, anomaly mode and dtype casting. Expected
// gradients are derived by hand (noted beside each) and agree with PyTorch.
#include <cmath>

#include "support/test_support.h"

using namespace cajal;

namespace {
std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }
}  // namespace

TEST(Backward, ScalarOutputSeedsWithOne) {
  Tensor x = tensor({1.0, 2.0, 3.0}).requires_grad_();
  (x * x).sum().backward();  // d/dx sum(x^2) = 2x
  EXPECT_EQ(values(x.grad()), (std::vector<double>{2, 4, 6}));
  EXPECT_EQ(x.grad().dtype(), DType::f64);
  EXPECT_FALSE(x.grad().requires_grad());
}

TEST(Backward, SeedGradientForNonScalarOutput) {
  Tensor x = tensor({1.0, 2.0, 3.0}).requires_grad_();
  Tensor y = x * x;
  y.backward(tensor({1.0, 0.5, -2.0}));  // vector-Jacobian product: seed * 2x
  EXPECT_EQ(values(x.grad()), (std::vector<double>{2, 2, -12}));
  Tensor x2 = tensor({1.0, 2.0}).requires_grad_();
  EXPECT_THROW((x2 * 2).backward(), AutogradError);  // no implicit seed for 2 elements
  EXPECT_THROW((x2 * 2).backward(tensor({1.0, 2.0, 3.0})), ShapeError);
  Tensor leaf = tensor({3.0}).requires_grad_();
  leaf.backward();  // backward on a leaf: its gradient is the seed
  EXPECT_EQ(values(leaf.grad()), (std::vector<double>{1}));
}

TEST(Backward, MultipleRootsAndSharedSubgraphs) {
  Tensor x = tensor({1.0, 2.0}).requires_grad_();
  // Diamond: y = (2x) * (3x) = 6x^2 -> dy/dx = 12x
  Tensor a = x * 2, b = x * 3;
  (a * b).sum().backward();
  EXPECT_EQ(values(x.grad()), (std::vector<double>{12, 24}));
  // A leaf used twice in one op, and a long chain.
  Tensor z = tensor({3.0}).requires_grad_();
  Tensor c = z + z;
  for (int i = 0; i < 50; ++i) c = c * 1.0 + 0.0;
  c.backward();
  EXPECT_EQ(values(z.grad()), (std::vector<double>{2}));
  // Two outputs with their own seeds, in one pass: d(x1*x2)/dx with seed [1,1] + d(x^3) with seed [2,0]
  Tensor w = tensor({1.0, 2.0}).requires_grad_();
  Tensor o1 = w * w, o2 = w * w * w;
  autograd::backward({o1, o2}, {ones({2}, {.dtype = DType::f64}), tensor({2.0, 0.0})});
  EXPECT_EQ(values(w.grad()), (std::vector<double>{2 + 6, 4}));
  EXPECT_THROW(autograd::backward({o1, o2}, {ones({2})}, true), ValueError);
  // Branches that do not require grad are skipped.
  Tensor k = tensor({5.0});
  Tensor m = tensor({2.0}).requires_grad_();
  (k * k + m * k).backward();
  EXPECT_EQ(values(m.grad()), (std::vector<double>{5}));
  EXPECT_FALSE(k.grad().defined());
}

TEST(Backward, AccumulatesIntoLeavesAcrossCalls) {
  Tensor x = tensor({1.0, -1.0}).requires_grad_();
  (x * 3).sum().backward();
  Tensor first = x.grad();
  (x * x).sum().backward();
  EXPECT_EQ(values(x.grad()), (std::vector<double>{3 + 2, 3 - 2}));
  EXPECT_TRUE(first.is_same(x.grad()));  // accumulated in place, like PyTorch (x.grad is first)
  x.zero_grad();
  EXPECT_FALSE(x.grad().defined());
  (x * 2).sum().backward();
  EXPECT_EQ(values(x.grad()), (std::vector<double>{2, 2}));
  // A user-set gradient is added to, not replaced.
  x.set_grad(tensor({10.0, 10.0}));
  (x * 2).sum().backward();
  EXPECT_EQ(values(x.grad()), (std::vector<double>{12, 12}));
  // The seed given by the user is never aliased by .grad().
  Tensor leaf = tensor({1.0, 1.0}).requires_grad_();
  Tensor seed = tensor({4.0, 5.0});
  leaf.backward(seed);
  leaf.backward(seed);
  EXPECT_EQ(values(seed), (std::vector<double>{4, 5}));
  EXPECT_EQ(values(leaf.grad()), (std::vector<double>{8, 10}));
}

TEST(Backward, RetainGraph) {
  Tensor x = tensor({2.0}).requires_grad_();
  Tensor y = (x * x).exp();  // dy/dx = 2x exp(x^2)
  double dy = 4 * std::exp(4.0);
  y.backward(Tensor(), /*retain_graph=*/true);
  y.backward(Tensor(), true);
  EXPECT_NEAR(x.grad().item(), 2 * dy, 1e-9 * dy);
  y.backward();  // the last one may free the graph
  EXPECT_NEAR(x.grad().item(), 3 * dy, 1e-9 * dy);
  std::string msg = test::error_message([&] { y.backward(); });
  EXPECT_NE(msg.find("second time"), std::string::npos) << msg;
  EXPECT_NE(msg.find("retain_graph"), std::string::npos) << msg;
  EXPECT_NE(msg.find("exp"), std::string::npos) << msg;
  EXPECT_THROW(y.backward(), AutogradError);
  // A graph whose nodes saved no tensors can run again without retain_graph, as in PyTorch.
  Tensor z = (x + 1).view({1, 1}).t();
  z.backward();
  z.backward();
  EXPECT_NEAR(x.grad().item(), 3 * dy + 2, 1e-9 * dy);
}

TEST(Backward, ErrorsOnTensorsWithoutHistory) {
  Tensor x = tensor({1.0});
  EXPECT_THROW(x.backward(), AutogradError);
  EXPECT_THROW((x * 2).backward(), AutogradError);
  EXPECT_THROW(autograd::grad({x * 2}, {x}), AutogradError);
}

TEST(Grad, ReturnsGradientsWithoutTouchingDotGrad) {
  Tensor x = tensor({1.0, 2.0}).requires_grad_(), w = tensor({3.0, -1.0}).requires_grad_();
  Tensor y = (x * w).sum();
  TensorList g = autograd::grad({y}, {x, w});
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(values(g[0]), (std::vector<double>{3, -1}));
  EXPECT_EQ(values(g[1]), (std::vector<double>{1, 2}));
  EXPECT_FALSE(x.grad().defined());
  EXPECT_FALSE(w.grad().defined());
  EXPECT_FALSE(g[0].requires_grad());
  // With respect to an intermediate tensor, with a seed gradient.
  Tensor x2 = tensor({1.0, 2.0}).requires_grad_();
  Tensor h = x2 * 3;
  Tensor out = h * h;
  TensorList gh = autograd::grad({out}, {h}, {tensor({1.0, 0.5})});
  EXPECT_EQ(values(gh[0]), (std::vector<double>{6, 6}));  // 2h * seed
  EXPECT_FALSE(x2.grad().defined());
}

TEST(Grad, AllowUnusedAndUnusedInputError) {
  Tensor x = tensor({1.0}).requires_grad_(), unused = tensor({2.0}).requires_grad_();
  Tensor y = x * 2;
  std::string msg = test::error_message([&] { autograd::grad({y}, {x, unused}, {}, true); });
  EXPECT_NE(msg.find("input 1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("allow_unused"), std::string::npos) << msg;
  TensorList g = autograd::grad({y}, {x, unused}, {}, true, false, /*allow_unused=*/true);
  EXPECT_EQ(values(g[0]), (std::vector<double>{2}));
  EXPECT_FALSE(g[1].defined());
  EXPECT_THROW(autograd::grad({y}, {tensor({1.0})}, {}, true), AutogradError);  // input without grad
}

TEST(Grad, RetainGraphDefaultsToCreateGraph) {
  Tensor x = tensor({1.5}).requires_grad_();
  Tensor y = x * x * x;
  TensorList g = autograd::grad({y}, {x}, {}, std::nullopt, /*create_graph=*/true);
  EXPECT_DOUBLE_EQ(g[0].item(), 3 * 1.5 * 1.5);
  EXPECT_TRUE(g[0].requires_grad());
  TensorList again = autograd::grad({y}, {x}, {}, true);  // the graph was retained by create_graph
  EXPECT_DOUBLE_EQ(again[0].item(), 6.75);
  TensorList gg = autograd::grad({g[0]}, {x});  // d/dx 3x^2 = 6x; frees the graph (shared with y's)
  EXPECT_DOUBLE_EQ(gg[0].item(), 9.0);
  EXPECT_THROW(autograd::grad({y}, {x}), AutogradError);  // as in PyTorch
}

TEST(GradMode, NoGradGuardStopsRecording) {
  Tensor x = tensor({1.0}).requires_grad_();
  {
    NoGradGuard no_grad;
    Tensor y = x * 2;
    EXPECT_FALSE(y.requires_grad());
    EXPECT_FALSE(y.grad_fn());
    EXPECT_FALSE(x.view({1}).requires_grad());
    {
      GradModeGuard on(true);
      EXPECT_TRUE((x * 2).requires_grad());
    }
    EXPECT_FALSE((x * 2).requires_grad());
    x.mul_(3);  // in place on a leaf is allowed without recording (optimizer updates)
  }
  EXPECT_EQ(values(x), (std::vector<double>{3}));
  EXPECT_TRUE(autograd::GradMode::enabled());
  Tensor y = x * 2;
  EXPECT_TRUE(y.requires_grad());
  EXPECT_FALSE(y.is_leaf());
}

TEST(Detach, SharesDataWithoutHistory) {
  Tensor x = tensor({1.0, 2.0}).requires_grad_();
  Tensor y = x * 2;
  Tensor d = y.detach();
  EXPECT_FALSE(d.requires_grad());
  EXPECT_TRUE(d.is_leaf());
  EXPECT_EQ(d.raw_data(), y.raw_data());
  d.at<double>({0}) = 100;  // shares memory with y
  EXPECT_EQ(y.at<double>({0}), 100);
  // A detached factor is a constant: d(x * detach(x))/dx = detach(x)
  Tensor x2 = tensor({3.0}).requires_grad_();
  (x2 * x2.detach()).backward();
  EXPECT_EQ(values(x2.grad()), (std::vector<double>{3}));
  Tensor z = x * 3;
  z.detach_();
  EXPECT_FALSE(z.requires_grad());
  EXPECT_TRUE(z.is_leaf());
}

TEST(RequiresGrad, OnlyFloatingLeaves) {
  EXPECT_THROW(tensor({1, 2}).requires_grad_(), DTypeError);
  EXPECT_THROW(tensor({true}).requires_grad_(), DTypeError);
  EXPECT_THROW(zeros({2}, {.dtype = DType::i32, .requires_grad = true}), DTypeError);
  EXPECT_TRUE(tensor({1.f}).to(DType::bf16).requires_grad_().requires_grad());
  Tensor x = tensor({1.0}).requires_grad_();
  Tensor y = x * 2;
  EXPECT_THROW(y.requires_grad_(false), AutogradError);  // a non-leaf cannot stop requiring grad
  x.requires_grad_(false);
  EXPECT_FALSE((x * 2).requires_grad());
  // Converting to an integer type drops the history, like PyTorch.
  Tensor idx = (tensor({1.7, 2.2}).requires_grad_() * 2).to(DType::i64);
  EXPECT_FALSE(idx.requires_grad());
  EXPECT_EQ(idx.to_vector<int64_t>(), (std::vector<int64_t>{3, 4}));
  // Comparisons never require grad.
  EXPECT_FALSE(gt(y, 1).requires_grad());
}

TEST(Hooks, LeafHookModifiesGradient) {
  Tensor x = tensor({1.0, 2.0}).requires_grad_();
  int calls = 0;
  x.register_hook([&calls](const Tensor& g) {
    ++calls;
    return g * 10;
  });
  (x * x).sum().backward();  // 2x, then the hook scales it
  EXPECT_EQ(values(x.grad()), (std::vector<double>{20, 40}));
  EXPECT_EQ(calls, 1);
  (x + x).sum().backward();  // one call with the summed gradient of both uses
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(values(x.grad()), (std::vector<double>{40, 60}));
  // A hook that returns an undefined tensor only observes.
  Tensor seen;
  Tensor w = tensor({1.0}).requires_grad_();
  w.register_hook([&seen](const Tensor& g) {
    seen = g.clone();
    return Tensor();
  });
  (w * 7).backward();
  EXPECT_EQ(values(seen), (std::vector<double>{7}));
  EXPECT_EQ(values(w.grad()), (std::vector<double>{7}));
  // autograd::grad sees the hooked gradient too.
  EXPECT_EQ(values(autograd::grad({(x * 1).sum()}, {x})[0]), (std::vector<double>{10, 10}));
  EXPECT_THROW(tensor({1.0}).register_hook([](const Tensor& g) { return g; }), AutogradError);
}

TEST(Hooks, NonLeafHookChangesWhatFlowsBack) {
  Tensor x = tensor({1.0, 2.0}).requires_grad_();
  Tensor h = x * 3;
  Tensor captured;
  h.register_hook([&captured](const Tensor& g) {
    captured = g.clone();
    return g * 0.5;
  });
  (h * h).sum().backward();  // dL/dh = 2h = [6, 12]; halved, then times 3
  EXPECT_EQ(values(captured), (std::vector<double>{6, 12}));
  EXPECT_EQ(values(x.grad()), (std::vector<double>{9, 18}));
  EXPECT_FALSE(h.grad().defined());  // not retained
}

TEST(RetainGrad, KeepsNonLeafGradients) {
  Tensor x = tensor({1.0, 2.0}).requires_grad_();
  Tensor h = x * 3;
  h.retain_grad();
  Tensor y = (h * h).sum();
  y.backward(Tensor(), true);
  EXPECT_EQ(values(h.grad()), (std::vector<double>{6, 12}));
  y.backward();
  EXPECT_EQ(values(h.grad()), (std::vector<double>{12, 24}));  // accumulates like a leaf
  EXPECT_EQ(values(x.grad()), (std::vector<double>{36, 72}));
  x.retain_grad();  // a no-op on leaves
  // A hook registered before retain_grad changes what is retained.
  Tensor x2 = tensor({1.0}).requires_grad_();
  Tensor h2 = x2 * 2;
  h2.register_hook([](const Tensor& g) { return g * 3; });
  h2.retain_grad();
  (h2 * 5).backward();
  EXPECT_EQ(values(h2.grad()), (std::vector<double>{15}));
  EXPECT_EQ(values(x2.grad()), (std::vector<double>{30}));
}

TEST(InPlaceChecks, ModifiedSavedTensorNamesTheOp) {
  Tensor x = tensor({1.0, 2.0}).requires_grad_();
  Tensor y = x.exp();  // exp saves its output
  y.add_(1);
  std::string msg = test::error_message([&] { y.sum().backward(); });
  EXPECT_NE(msg.find("'exp'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("in-place"), std::string::npos) << msg;
  EXPECT_NE(msg.find("version 0"), std::string::npos) << msg;

  // An input saved by mul, changed through a view without recording: views share the counter.
  Tensor a = tensor({1.0, 2.0}).requires_grad_();
  Tensor h = a * 1;
  Tensor prod = h * a;
  {
    NoGradGuard no_grad;
    h[0].mul_(scalar_tensor(5.0));
  }
  msg = test::error_message([&] { prod.sum().backward(); });
  EXPECT_NE(msg.find("'mul'"), std::string::npos) << msg;

  // where saves its condition.
  Tensor p = tensor({1.0, 2.0}).requires_grad_();
  Tensor cond = tensor({true, false});
  Tensor chosen = where(cond, p, 0);
  masked_fill_(cond, tensor({true, true}), false);
  msg = test::error_message([&] { chosen.sum().backward(); });
  EXPECT_NE(msg.find("'where'"), std::string::npos) << msg;

  // An in-place op whose input is not saved leaves backward valid: add saves nothing.
  Tensor b = tensor({1.0, 2.0}).requires_grad_();
  Tensor s = b + 1;
  Tensor t = s * 2;  // saves only the constant
  s.add_(1);
  t.sum().backward();
  EXPECT_EQ(values(b.grad()), (std::vector<double>{2, 2}));
}

TEST(InPlaceChecks, LeafThatRequiresGrad) {
  Tensor x = tensor({1.0, 2.0}).requires_grad_();
  std::string msg = test::error_message([&] { x.add_(1); });
  EXPECT_NE(msg.find("add_"), std::string::npos) << msg;
  EXPECT_NE(msg.find("leaf"), std::string::npos) << msg;
  EXPECT_THROW(x.mul_(2), AutogradError);
  EXPECT_THROW(x += x, AutogradError);
  EXPECT_THROW(x.copy_(tensor({0.0, 0.0})), AutogradError);
  EXPECT_THROW(x.fill_(0), AutogradError);
  EXPECT_THROW(relu_(x), AutogradError);
  EXPECT_THROW(x[0].fill_(1), AutogradError);  // a view of the leaf would write into it too
  EXPECT_THROW(x.t().mul_(tensor({2.0})), AutogradError);
  EXPECT_EQ(values(x), (std::vector<double>{1, 2}));  // nothing was written
  {
    NoGradGuard no_grad;  // optimizer-style updates are fine, through views too
    x.mul_(2);
    x[1].fill_(5);
  }
  EXPECT_EQ(values(x), (std::vector<double>{2, 5}));
}

TEST(InPlaceChecks, ViewsWithHistoryAreRefused) {
  // The base's history would not see a change made through its view (PyTorch rebuilds the
  // base's graph; cajal refuses instead of returning a wrong gradient).
  Tensor x = tensor({1.0, 2.0, 3.0}).requires_grad_();
  Tensor h = x * 2;
  std::string msg = test::error_message([&] { h[0].mul_(scalar_tensor(3.0)); });
  EXPECT_NE(msg.find("mul_"), std::string::npos) << msg;
  EXPECT_NE(msg.find("view"), std::string::npos) << msg;
  EXPECT_THROW(h.slice(0, 0, 2).copy_(tensor({0.0, 0.0})), AutogradError);
  EXPECT_THROW(h.view({3, 1}).fill_(0), AutogradError);
  // A buffer without history filled through a view from a tensor that requires grad: the
  // buffer would silently carry no gradient, so this is refused too.
  Tensor buffer = zeros({2, 3}, {.dtype = DType::f64});
  EXPECT_THROW(buffer[0].copy_(x), AutogradError);
  EXPECT_THROW(buffer[1].add_(x), AutogradError);
  EXPECT_EQ(values(buffer), std::vector<double>(6, 0.0));
  // Views of tensors without history stay writable.
  buffer[0].copy_(tensor({1.0, 2.0, 3.0}));
  buffer[1].add_(tensor({4.0, 5.0, 6.0}));
  EXPECT_EQ(values(buffer), (std::vector<double>{1, 2, 3, 4, 5, 6}));
  // The in-place op on the tensor itself is fine.
  h.mul_(scalar_tensor(3.0));
  h.sum().backward();
  EXPECT_EQ(values(x.grad()), (std::vector<double>{6, 6, 6}));
}

TEST(InPlaceChecks, HistoryFollowsInPlaceOps) {
  // h = x*2; h.mul_(x); h.add_(1) -> h = 2x^2 + 1, dh/dx = 4x
  Tensor x = tensor({1.0, 3.0}).requires_grad_();
  Tensor h = x * 2;
  h.mul_(x);
  h.add_(1);
  EXPECT_EQ(values(h), (std::vector<double>{3, 19}));
  h.sum().backward();
  EXPECT_EQ(values(x.grad()), (std::vector<double>{4, 12}));
  // A tensor without history picks one up from an in-place op with a grad-requiring operand.
  Tensor w = tensor({2.0}).requires_grad_();
  Tensor buf = zeros({1}, {.dtype = DType::f64});
  buf += w * 3;
  EXPECT_TRUE(buf.requires_grad());
  buf.backward();
  EXPECT_EQ(values(w.grad()), (std::vector<double>{3}));
  // copy_ from a grad-requiring source carries its gradient (cast back to the source dtype).
  Tensor src = tensor({1.0, 2.0}).requires_grad_();
  Tensor dst = zeros({2, 2});
  dst.copy_(src * 2);
  EXPECT_EQ(dst.dtype(), DType::f32);
  (dst * tensor({1.f, 2.f})).sum().backward();
  EXPECT_EQ(src.grad().dtype(), DType::f64);
  EXPECT_EQ(values(src.grad()), (std::vector<double>{4, 8}));
  // copy_ or fill_ of constants into a non-leaf cuts its old history.
  Tensor y = tensor({1.0, 2.0}).requires_grad_();
  Tensor c = y * 2;
  c.copy_(tensor({5.0, 5.0}));
  EXPECT_FALSE(c.requires_grad());
  Tensor f = y * 2;
  f.fill_(1);
  EXPECT_FALSE(f.requires_grad());
}

TEST(Anomaly, NamesTheOpWhoseBackwardProducedNaN) {
  {
    Tensor x = tensor({0.0, 4.0}).requires_grad_();
    Tensor y = x.sqrt().sum();  // d sqrt(x)/dx = 1 / (2 sqrt(x)): inf at 0
    DetectAnomalyGuard anomaly;
    std::string msg = test::error_message([&] { y.backward(); });
    EXPECT_NE(msg.find("'sqrt'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("NaN or infinity"), std::string::npos) << msg;
  }
  {
    Tensor x = tensor({0.0, 1.0}).requires_grad_();
    Tensor y = (x.log() * 0).sum();  // 0 * -inf = NaN in the forward; backward of log: 0 / 0
    DetectAnomalyGuard anomaly;
    std::string msg = test::error_message([&] { y.backward(); });
    EXPECT_NE(msg.find("'log'"), std::string::npos) << msg;
  }
  EXPECT_FALSE(autograd::AnomalyMode::enabled());
  // Without anomaly mode the infinite gradient just arrives.
  Tensor x = tensor({0.0, 4.0}).requires_grad_();
  x.sqrt().sum().backward();
  EXPECT_TRUE(std::isinf(x.grad().to_vector<double>()[0]));
  EXPECT_DOUBLE_EQ(x.grad().to_vector<double>()[1], 0.25);
}

TEST(DTypes, GradientsAreCastToEachInputsDtype) {
  Tensor a = tensor({1.f, 2.f}).requires_grad_();
  Tensor b = tensor({3.0, 4.0}).requires_grad_();
  Tensor y = a * b;  // float64
  EXPECT_EQ(y.dtype(), DType::f64);
  y.sum().backward();
  EXPECT_EQ(a.grad().dtype(), DType::f32);
  EXPECT_EQ(b.grad().dtype(), DType::f64);
  EXPECT_EQ(values(a.grad()), (std::vector<double>{3, 4}));
  EXPECT_EQ(values(b.grad()), (std::vector<double>{1, 2}));
  Tensor c = tensor({0.1f}).requires_grad_();
  c.to(DType::f64).exp().backward();
  EXPECT_EQ(c.grad().dtype(), DType::f32);
  EXPECT_FLOAT_EQ(c.grad().item<float>(), std::exp(0.1f));
  Tensor d = tensor({1.5f}).to(DType::bf16).requires_grad_();
  (d * tensor({2.f})).backward();
  EXPECT_EQ(d.grad().dtype(), DType::bf16);
  EXPECT_EQ(d.grad().item<float>(), 2.f);
  // Integer operands take no gradient.
  Tensor e = tensor({1.f, 2.f}).requires_grad_();
  (e * tensor({3, 4})).sum().backward();
  EXPECT_EQ(e.grad().dtype(), DType::f32);
  EXPECT_EQ(values(e.grad()), (std::vector<double>{3, 4}));
}
