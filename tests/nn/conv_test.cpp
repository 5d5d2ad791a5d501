// Convolutions: every op and option against PyTorch (tests/reference/conv_reference.py:
// outputs and the gradients of input, weight and bias) on both backends, the backends
// against each other on the benchmark's shapes, float64 gradchecks (first and second order),
// error messages, and the Conv1d / Conv2d / ConvTranspose2d modules (PyTorch's printing,
// initialization, forward and gradients through the layer parity harness).
#include <cmath>
#include <thread>

#include "cajal/nn/conv.h"
#include "cajal/ops/conv.h"
#include "nn/layer_parity.h"
#include "nn/reference_cases.h"

namespace cajal {
namespace {

test::NormalSampler normal(20261201);

// The backends this build has, each selected while a test runs on it.
std::vector<ConvBackend> backends() {
  std::vector<ConvBackend> all{ConvBackend::Im2col};
  if (conv_backend_available(ConvBackend::OneDNN)) all.push_back(ConvBackend::OneDNN);
  return all;
}

const char* backend_name(ConvBackend b) { return b == ConvBackend::Im2col ? "im2col" : "oneDNN"; }

// Restores the default backend when a test ends.
struct BackendGuard {
  ConvBackend saved = conv_backend();
  ~BackendGuard() { set_conv_backend(saved); }
};

template <size_t D>
ConvPadding<D> padding_of(const test::ReferenceCase& c) {
  if (!c.has("padding")) return 0;
  if (c.text("padding") == "same" || c.text("padding") == "valid") return c.text("padding");
  return c.sizes<D>("padding", 0);
}

Tensor run_case(const test::ReferenceCase& c, const Tensor& x, const Tensor& w, const Tensor& b) {
  int64_t groups = c.integer("groups", 1);
  if (c.op == "conv1d")
    return conv1d(x, w, b, {c.sizes<1>("stride", 1), padding_of<1>(c), c.sizes<1>("dilation", 1), groups});
  if (c.op == "conv2d")
    return conv2d(x, w, b, {c.sizes<2>("stride", 1), padding_of<2>(c), c.sizes<2>("dilation", 1), groups});
  return conv_transpose2d(x, w, b,
                          {c.sizes<2>("stride", 1), c.sizes<2>("padding", 0), c.sizes<2>("output_padding", 0), groups,
                           c.sizes<2>("dilation", 1)});
}

TEST(Conv, MatchesPyTorchOnBothBackends) {
  std::vector<test::ReferenceCase> cases = test::reference_cases("conv");
  ASSERT_FALSE(cases.empty());
  BackendGuard guard;
  for (ConvBackend backend : backends()) {
    set_conv_backend(backend);
    for (const test::ReferenceCase& c : cases) {
      SCOPED_TRACE(std::string(backend_name(backend)) + ": " + c.describe());
      Tensor x = c.load("x").requires_grad_(), w = c.load("w").requires_grad_();
      Tensor b = c.flag("bias", false) ? c.load("b").requires_grad_() : Tensor();
      Tensor y = run_case(c, x, w, b);
      EXPECT_EQ(y.dtype(), DType::f32);
      y.backward(c.load("gy"));
      EXPECT_TRUE(test::close_to_scale(y, c.load("y"), 1e-5)) << "output";
      EXPECT_TRUE(test::close_to_scale(x.grad(), c.load("gx"), 1e-5)) << "input gradient";
      // Weight and bias gradients sum over the batch and every position: long reductions.
      EXPECT_TRUE(test::close_to_scale(w.grad(), c.load("gw"), 1e-4)) << "weight gradient";
      if (b.defined()) {
        EXPECT_TRUE(test::close_to_scale(b.grad(), c.load("gb"), 1e-4)) << "bias gradient";
      }
    }
  }
}

// The two backends on the benchmark's shapes (smaller batches), float32.
TEST(Conv, BackendsAgree) {
  if (!conv_backend_available(ConvBackend::OneDNN)) GTEST_SKIP() << "built without oneDNN";
  BackendGuard guard;
  struct Shape {
    Dims x, w;
    Conv2dArgs args;
  };
  std::vector<Shape> shapes = {
      {{8, 1, 28, 28}, {32, 1, 3, 3}, {.padding = 1}},     {{8, 32, 14, 14}, {64, 32, 3, 3}, {.padding = 1}},
      {{2, 64, 32, 32}, {64, 64, 3, 3}, {.padding = 1}},   {{4, 64, 16, 16}, {128, 64, 3, 3}, {.stride = 2, .padding = 1}},
      {{4, 64, 16, 16}, {128, 64, 1, 1}, {.stride = 2}},   {{4, 32, 15, 15}, {32, 1, 3, 3}, {.padding = 1, .groups = 32}},
      {{4, 16, 12, 12}, {32, 8, 5, 5}, {.padding = "same", .dilation = 2, .groups = 2}},
  };
  for (const Shape& s : shapes) {
    SCOPED_TRACE(detail::concat("input ", s.x, ", weight ", s.w));
    Tensor x = normal(s.x), w = normal(s.w) * 0.1, b = normal({s.w[0]}), gy;
    Tensor bt = normal({s.w[1] * s.args.groups});  // bias of the transposed convolution
    TensorList results[2];
    for (int i = 0; i < 2; ++i) {
      set_conv_backend(i == 0 ? ConvBackend::Im2col : ConvBackend::OneDNN);
      Tensor xl = x.detach().requires_grad_(), wl = w.detach().requires_grad_(), bl = b.detach().requires_grad_();
      Tensor y = conv2d(xl, wl, bl, s.args);
      if (!gy.defined()) gy = normal(y.sizes());
      y.backward(gy);
      results[i] = {y.detach(), xl.grad(), wl.grad(), bl.grad()};
    }
    const char* names[] = {"output", "input gradient", "weight gradient", "bias gradient"};
    for (int k = 0; k < 4; ++k)
      EXPECT_TRUE(test::close_to_scale(results[1][k], results[0][k], k < 2 ? 1e-5 : 1e-4)) << names[k];
    // Transposed convolution: the same geometry read backwards.
    Tensor y0, y1;
    ConvTranspose2dArgs targs{.stride = s.args.stride, .padding = s.args.padding.sizes(), .groups = s.args.groups,
                              .dilation = s.args.dilation};
    if (s.args.padding.same()) continue;
    Tensor t = normal({s.x[0], s.w[0], 5, 6});
    set_conv_backend(ConvBackend::Im2col);
    y0 = conv_transpose2d(t, w, bt, targs);
    set_conv_backend(ConvBackend::OneDNN);
    y1 = conv_transpose2d(t, w, bt, targs);
    EXPECT_TRUE(test::close_to_scale(y1, y0, 1e-5)) << "transposed output";
  }
}

// Gradients for every subset of {input, weight, bias} requiring grad (frozen layers, a
// first layer's images) equal those of the full backward.
TEST(Conv, GradientSubsets) {
  BackendGuard guard;
  Tensor x = normal({3, 4, 6, 5}), w = normal({6, 2, 3, 3}), b = normal({6}), gy = normal({3, 6, 3, 3});
  Conv2dArgs args{.stride = 2, .padding = 1, .groups = 2};
  // Leaves of x, w, b; those whose bit is set in `mask` require grad.
  auto leaves = [&](int mask) {
    return TensorList{x.detach().requires_grad_(mask & 1), w.detach().requires_grad_(mask & 2), b.detach().requires_grad_(mask & 4)};
  };
  for (ConvBackend backend : backends()) {
    set_conv_backend(backend);
    TensorList full = leaves(7);
    conv2d(full[0], full[1], full[2], args).backward(gy);
    for (int mask = 1; mask < 7; ++mask) {
      SCOPED_TRACE(detail::concat(backend_name(backend), ", mask ", mask));
      TensorList some = leaves(mask);
      conv2d(some[0], some[1], some[2], args).backward(gy);
      for (int k = 0; k < 3; ++k) {
        ASSERT_EQ(some[k].grad().defined(), (mask >> k & 1) == 1);
        if (some[k].grad().defined()) {
          EXPECT_TRUE(test::all_close(some[k].grad(), full[k].grad(), 1e-6, 1e-6)) << "input " << k;
        }
      }
    }
  }
}

// Primitives are shared between threads (their scratch memory is per call): two threads
// convolving at once get the single-threaded results.
TEST(Conv, ConcurrentCalls) {
  Tensor x = normal({4, 8, 10, 10}), w = normal({16, 8, 3, 3}), b = normal({16}), gy = normal({4, 16, 10, 10});
  auto run = [&] {
    Tensor xl = x.detach().requires_grad_(), wl = w.detach().requires_grad_();
    Tensor y = conv2d(xl, wl, b, {.padding = 1});
    y.backward(gy);
    return TensorList{y.detach(), xl.grad(), wl.grad()};
  };
  TensorList expected = run();
  TensorList results[2];
  std::thread first([&] { for (int i = 0; i < 20; ++i) results[0] = run(); });
  std::thread second([&] { for (int i = 0; i < 20; ++i) results[1] = run(); });
  first.join();
  second.join();
  for (const TensorList& r : results)
    for (int k = 0; k < 3; ++k) EXPECT_TRUE(test::all_close(r[k], expected[k], 1e-6, 1e-6)) << k;
}

TEST(Conv, DefaultBackendAndSwitch) {
  BackendGuard guard;
  EXPECT_EQ(conv_backend(), conv_backend_available(ConvBackend::OneDNN) ? ConvBackend::OneDNN : ConvBackend::Im2col);
  set_conv_backend(ConvBackend::Im2col);
  EXPECT_EQ(conv_backend(), ConvBackend::Im2col);
  if (!conv_backend_available(ConvBackend::OneDNN))
    test::expect_error<ValueError>([] { set_conv_backend(ConvBackend::OneDNN); }, {"oneDNN"});
}

// ------------------------------------------------------------------ gradchecks (float64)

TEST(Conv, Gradcheck2d) {
  Tensor x = test::gradcheck_leaf({2, 4, 5, 6}, 0.1), b = test::gradcheck_leaf({4}, 2.0);
  Tensor w = test::gradcheck_leaf({4, 4, 3, 3}, 0.7), wg = test::gradcheck_leaf({4, 2, 3, 2}, 1.1);
  Tensor wd = test::gradcheck_leaf({4, 1, 3, 3}, 1.9);
  test::expect_gradcheck([](const TensorList& t) { return conv2d(t[0], t[1], t[2]); }, {x, w, b});
  test::expect_gradcheck([](const TensorList& t) { return conv2d(t[0], t[1], t[2], {.stride = {2, 1}, .padding = {1, 2}}); }, {x, w, b});
  test::expect_gradcheck([](const TensorList& t) { return conv2d(t[0], t[1], {}, {.padding = 2, .dilation = 2}); }, {x, w});
  test::expect_gradcheck([](const TensorList& t) { return conv2d(t[0], t[1], t[2], {.stride = 2, .padding = 1, .groups = 2}); },
                         {x, wg, b});
  test::expect_gradcheck([](const TensorList& t) { return conv2d(t[0], t[1], t[2], {.padding = "same", .groups = 4}); }, {x, wd, b});
  test::expect_gradcheck([](const TensorList& t) { return conv2d(t[0], t[1], {}, {.padding = "same"}); },
                         {x, test::gradcheck_leaf({3, 4, 2, 2}, 0.4)});  // even kernel: uneven padding
  // A non-contiguous input (a transposed view).
  Tensor xt = test::gradcheck_leaf({2, 4, 6, 5}, 0.3);
  test::expect_gradcheck([](const TensorList& t) { return conv2d(t[0].transpose(2, 3), t[1], {}, {.padding = 1}); }, {xt, w});
}

TEST(Conv, Gradcheck1dAndTransposed) {
  Tensor x = test::gradcheck_leaf({2, 4, 7}, 0.2), w = test::gradcheck_leaf({6, 2, 3}, 0.9), b = test::gradcheck_leaf({6}, 1.4);
  test::expect_gradcheck([](const TensorList& t) { return conv1d(t[0], t[1], t[2], {.stride = 2, .padding = 1, .dilation = 2, .groups = 2}); },
                         {x, w, b});
  test::expect_gradcheck([](const TensorList& t) { return conv1d(t[0], t[1], {}, {.padding = "same", .groups = 2}); }, {x, w});
  Tensor xt = test::gradcheck_leaf({2, 4, 3, 4}, 0.5), wt = test::gradcheck_leaf({4, 3, 3, 3}, 1.2), bt = test::gradcheck_leaf({6}, 0.8);
  test::expect_gradcheck([](const TensorList& t) { return conv_transpose2d(t[0], t[1], t[2], {.stride = 2, .padding = 1, .output_padding = 1, .groups = 2}); },
                         {xt, wt, bt});
  test::expect_gradcheck([](const TensorList& t) { return conv_transpose2d(t[0], t[1], {}, {.stride = {1, 2}, .dilation = 2}); },
                         {xt, test::gradcheck_leaf({4, 2, 2, 3}, 0.6)});
}

TEST(Conv, SecondOrderGradcheck) {
  // Backward under create_graph is built from convolutions, so Hessian-vector products work.
  Tensor x = test::gradcheck_leaf({2, 4, 4, 5}, 0.1), w = test::gradcheck_leaf({4, 2, 3, 3}, 0.7), b = test::gradcheck_leaf({4}, 2.0);
  test::expect_gradcheck([](const TensorList& t) { return conv2d(t[0], t[1], t[2], {.stride = 2, .padding = 1, .groups = 2}); },
                         {x, w, b}, /*second_order=*/true);
  test::expect_gradcheck([](const TensorList& t) { return conv2d(t[0], t[1], {}, {.padding = "same", .dilation = {1, 2}}); },
                         {x, test::gradcheck_leaf({3, 4, 2, 3}, 0.3)}, true);
  Tensor xt = test::gradcheck_leaf({1, 4, 3, 3}, 0.5), wt = test::gradcheck_leaf({4, 2, 3, 3}, 1.2);
  test::expect_gradcheck([](const TensorList& t) { return conv_transpose2d(t[0], t[1], {}, {.stride = 2, .padding = 1, .output_padding = 1}); },
                         {xt, wt}, true);
  test::expect_gradcheck([](const TensorList& t) { return conv1d(t[0], t[1], {}, {.stride = 2}); },
                         {test::gradcheck_leaf({2, 2, 7}, 0.4), test::gradcheck_leaf({3, 2, 3}, 0.8)}, true);
}

TEST(Conv, Float32SecondOrderOnBothBackends) {
  // The gradient penalty pattern: d/dw of |d conv / dx|^2, against float64.
  BackendGuard guard;
  Tensor x64 = normal({2, 3, 6, 6}, {.dtype = DType::f64}), w64 = normal({4, 3, 3, 3}, {.dtype = DType::f64});
  auto penalty_grad = [](const Tensor& x0, const Tensor& w0) {
    Tensor x = x0.detach().requires_grad_(), w = w0.detach().requires_grad_();
    Tensor y = conv2d(x, w, {}, {.padding = 1});
    TensorList gx = autograd::grad({(y * y).sum()}, {x}, {}, /*retain_graph=*/true, /*create_graph=*/true);
    return autograd::grad({(gx[0] * gx[0]).sum()}, {w})[0];
  };
  Tensor expected = penalty_grad(x64, w64);
  for (ConvBackend backend : backends()) {
    set_conv_backend(backend);
    SCOPED_TRACE(backend_name(backend));
    EXPECT_TRUE(test::close_to_scale(penalty_grad(x64.to(DType::f32), w64.to(DType::f32)), expected, 1e-4));
  }
}

TEST(Conv, DtypesAndLayouts) {
  Tensor x = normal({2, 3, 5, 5}), w = normal({4, 3, 3, 3}), b = normal({4});
  Tensor y = conv2d(x, w, b, {.padding = 1});
  // float64 and bfloat16 give the same values (bfloat16 rounded).
  EXPECT_TRUE(test::close_to_scale(conv2d(x.to(DType::f64), w.to(DType::f64), b.to(DType::f64), {.padding = 1}), y, 1e-5));
  Tensor yb = conv2d(x.to(DType::bf16), w.to(DType::bf16), b.to(DType::bf16), {.padding = 1});
  EXPECT_EQ(yb.dtype(), DType::bf16);
  EXPECT_TRUE(test::close_to_scale(yb, conv2d(x.to(DType::bf16).to(DType::f32), w.to(DType::bf16).to(DType::f32),
                                              b.to(DType::bf16).to(DType::f32), {.padding = 1}),
                                   1e-2));
  // Strided inputs (a channels-last copy seen as NCHW) give the same result.
  Tensor x_strided = x.permute({0, 2, 3, 1}).contiguous().permute({0, 3, 1, 2});
  EXPECT_TRUE(test::all_close(conv2d(x_strided, w, b, {.padding = 1}), y, 1e-6, 1e-6));
  // Empty batch.
  EXPECT_EQ(conv2d(zeros({0, 3, 5, 5}), w, b).sizes(), (Dims{0, 4, 3, 3}));
}

// ------------------------------------------------------------------ errors

TEST(Conv, Errors) {
  Tensor w = zeros({32, 1, 3, 3});
  test::expect_error<ShapeError>([&] { conv2d(zeros({8, 3, 28, 28}), w); },
                                 {"conv2d", "[8, 3, 28, 28]", "[32, 1, 3, 3]", "3 channels", "expects 1"});
  test::expect_error<ShapeError>([&] { conv2d(zeros({1, 1, 2, 2}), w); }, {"conv2d", "[1, 1, 2, 2]", "[32, 1, 3, 3]", "smaller"});
  test::expect_error<ShapeError>([&] { conv2d(zeros({1, 1, 5, 5}), w, {}, {.dilation = 3}); }, {"[1, 1, 5, 5]", "kernel extent 7"});
  test::expect_error<ShapeError>([&] { conv2d(zeros({1, 1, 5, 5}), w, zeros({31})); }, {"bias", "[31]", "[32]"});
  test::expect_error<ShapeError>([&] { conv2d(zeros({28, 28}), w); }, {"4-D", "[28, 28]"});
  test::expect_error<ShapeError>([&] { conv2d(zeros({1, 1, 5, 5}), zeros({32, 3, 3})); }, {"weight", "[32, 3, 3]"});
  test::expect_error<ShapeError>([&] { conv2d(zeros({1, 4, 5, 5}), zeros({6, 2, 3, 3}), {}, {.groups = 4}); },
                                 {"[6, 2, 3, 3]", "groups=4"});
  test::expect_error<DTypeError>([&] { conv2d(zeros({1, 1, 5, 5}, {.dtype = DType::f64}), w); }, {"float64", "float32"});
  test::expect_error<DTypeError>([&] { conv2d(zeros({1, 1, 5, 5}, {.dtype = DType::i64}), w); }, {"floating"});
  test::expect_error<ValueError>([&] { conv2d(zeros({1, 1, 5, 5}), w, {}, {.stride = 0}); }, {"stride", "positive"});
  test::expect_error<ValueError>([&] { conv2d(zeros({1, 1, 5, 5}), w, {}, {.stride = 2, .padding = "same"}); }, {"same", "stride"});
  test::expect_error<ValueError>([&] { conv2d(zeros({1, 1, 5, 5}), w, {}, {.padding = -1}); }, {"padding"});
  test::expect_error<ValueError>([] { (void)Conv2dArgs{.padding = "full"}; }, {"same", "valid", "full"});
  test::expect_error<ValueError>([] { (void)Conv2dArgs{.stride = {1, 2, 3}}; }, {"1 or 2", "[1, 2, 3]"});
  // 1-D: the messages show the caller's shapes, not the 2-D ones computed inside.
  test::expect_error<ShapeError>([] { conv1d(zeros({2, 3, 10}), zeros({4, 2, 3})); }, {"conv1d", "[2, 3, 10]", "[4, 2, 3]"});
  test::expect_error<ShapeError>([] { conv1d(zeros({2, 3, 2}), zeros({4, 3, 5})); }, {"conv1d", "[2, 3, 2]", "[4, 3, 5]", "smaller"});
  // Transposed: the weight's first dim must match the input's channels.
  test::expect_error<ShapeError>([] { conv_transpose2d(zeros({1, 3, 4, 4}), zeros({4, 2, 3, 3})); },
                                 {"conv_transpose2d", "[1, 3, 4, 4]", "[4, 2, 3, 3]", "3 channels"});
  test::expect_error<ValueError>([] { conv_transpose2d(zeros({1, 4, 4, 4}), zeros({4, 2, 3, 3}), {}, {.stride = 2, .output_padding = 2}); },
                                 {"output_padding"});
  test::expect_error<ShapeError>([] { conv_transpose2d(zeros({1, 4, 1, 1}), zeros({4, 2, 1, 1}), {}, {.padding = 1}); },
                                 {"[1, 4, 1, 1]", "empty output"});
}

// ------------------------------------------------------------------ modules

TEST(ConvModules, MatchPyTorch) {
  std::vector<test::LayerCase> cases = {
      {"nn.Conv2d(1, 32, 3, padding=1)", nn::Conv2d(1, 32, 3, {.padding = 1}), {normal({2, 1, 8, 8})}},
      {"nn.Conv2d(4, 6, (3, 2), stride=(2, 1), dilation=(1, 2), groups=2, bias=False)",
       nn::Conv2d(4, 6, {3, 2}, {.stride = {2, 1}, .dilation = {1, 2}, .groups = 2, .bias = false}), {normal({2, 4, 9, 8})}},
      {"nn.Conv2d(3, 5, 4, padding='same')", nn::Conv2d(3, 5, 4, {.padding = "same"}), {normal({2, 3, 7, 6})}},
      {"nn.Conv1d(4, 6, 3, stride=2, padding=1)", nn::Conv1d(4, 6, 3, {.stride = 2, .padding = 1}), {normal({2, 4, 11})}},
      {"nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2)",
       nn::ConvTranspose2d(4, 6, 3, {.stride = 2, .padding = 1, .output_padding = 1, .groups = 2}), {normal({2, 4, 5, 4})}},
  };
  test::expect_layers_match_torch(cases, 1e-5);
}

TEST(ConvModules, PrintLikePyTorch) {
  std::string dir;
  ASSERT_FALSE(test::reference_cases("conv", &dir).empty());
  std::vector<std::string> expected = test::reference_reprs(dir);
  // The first six modules of conv_reference.py's MODULES.
  std::vector<nn::ModulePtr> modules = {
      nn::Conv2d(1, 32, 3, {.padding = 1}),
      nn::Conv2d(16, 32, {3, 5}, {.stride = 2, .padding = {1, 2}, .dilation = {1, 2}, .groups = 4, .bias = false}),
      nn::Conv2d(3, 8, 3, {.padding = "same"}),
      nn::Conv1d(4, 8, 5, {.stride = 2, .padding = 2}),
      nn::ConvTranspose2d(16, 8, 2, {.stride = 2}),
      nn::ConvTranspose2d(16, 8, 3, {.stride = 2, .padding = 1, .output_padding = 1, .groups = 2, .bias = false, .dilation = 2}),
  };
  ASSERT_GE(expected.size(), modules.size());
  for (size_t i = 0; i < modules.size(); ++i) EXPECT_EQ(modules[i]->to_string(), expected[i]);
  std::vector<std::string> names;
  for (const auto& entry : nn::Conv2d(1, 32, 3)->named_parameters()) names.push_back(entry.first);
  EXPECT_EQ(names, (std::vector<std::string>{"weight", "bias"}));
}

// Checks n values drawn from U(-bound, bound): inside, reaching near both ends, standard
// deviation bound / sqrt(3) (margins that a fair draw misses with probability below 1e-6).
void expect_uniform(const Tensor& t, double bound) {
  double n = static_cast<double>(t.numel());
  double lo = t.min().item<double>(), hi = t.max().item<double>();
  double std = std::sqrt(((t.to(DType::f64) - t.to(DType::f64).mean()).square()).mean().item<double>());
  EXPECT_GE(lo, -bound);
  EXPECT_LE(hi, bound);
  EXPECT_LT(lo, -(1 - 28 / n) * bound);
  EXPECT_GT(hi, (1 - 28 / n) * bound);
  EXPECT_NEAR(std, bound / std::sqrt(3.0), 1.3 * bound / std::sqrt(n));
}

TEST(ConvModules, DefaultInitMatchesPyTorchFormulas) {
  // torch's _ConvNd: kaiming_uniform_(a=sqrt(5)) = U(+-1/sqrt(fan_in)), fan_in = size(1) * kernel area.
  nn::Conv2d conv(32, 64, 3);
  expect_uniform(conv->weight(), 1 / std::sqrt(32.0 * 9));
  expect_uniform(conv->bias(), 1 / std::sqrt(32.0 * 9));
  nn::Conv2d grouped(64, 256, 3, {.groups = 4});  // fan_in 16 * 9
  expect_uniform(grouped->weight(), 1 / std::sqrt(16.0 * 9));
  nn::ConvTranspose2d up(256, 64, 2);  // weight [256, 64, 2, 2]: fan_in 64 * 4
  EXPECT_EQ(up->weight().sizes(), (Dims{256, 64, 2, 2}));
  expect_uniform(up->weight(), 1 / std::sqrt(64.0 * 4));
  expect_uniform(up->bias(), 1 / std::sqrt(64.0 * 4));
  nn::Conv1d c1(16, 256, 5);
  expect_uniform(c1->weight(), 1 / std::sqrt(16.0 * 5));
}

TEST(ConvModules, Errors) {
  test::expect_error<ValueError>([] { nn::Conv2d(3, 8, 3, {.groups = 2}); }, {"Conv2d", "in_channels (3)", "groups (2)"});
  test::expect_error<ValueError>([] { nn::Conv2d(4, 6, 3, {.groups = 4}); }, {"out_channels (6)"});
  test::expect_error<ValueError>([] { nn::Conv2d(4, 6, 3, {.stride = 2, .padding = "same"}); }, {"same", "stride"});
  test::expect_error<ValueError>([] { nn::Conv1d(4, 6, 0); }, {"kernel_size"});
  nn::Conv2d conv(1, 32, 3);
  test::expect_error<ShapeError>([&] { conv(zeros({2, 3, 28, 28})); }, {"[2, 3, 28, 28]", "[32, 1, 3, 3]"});
}

}  // namespace
}  // namespace cajal
