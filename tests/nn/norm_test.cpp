// Normalization: the layers against PyTorch's (tests/reference/norm_reference.py: outputs,
// input and parameter gradients, running statistics over several training steps, then
// eval mode); float64 gradient checks of every op (first order on contiguous and strided
// inputs, second order in training mode); the recorded backward against the fused one;
// printing and error messages.
#include <fstream>
#include <sstream>

#include "cajal/nn/norm.h"
#include "cajal/ops/norm.h"
#include "support/test_support.h"

using namespace cajal;

namespace {

test::NormalSampler normal(20240521);

// ------------------------------------------------------------------ PyTorch reference

constexpr int kTrainSteps = 3;  // as TRAIN_STEPS in norm_reference.py; one eval step follows

const std::string& reference_dir() {
  static const std::string dir = [] {
    std::string d = test::temp_dir();
    test::run_reference("norm_reference.py", d);
    return d;
  }();
  return dir;
}

Tensor load(const std::string& name) { return load_npy(reference_dir() + "/" + name + ".npy"); }

// The cajal layer for each case of norm_reference.py.
nn::ModulePtr make_layer(const std::string& id) {
  if (id == "bn2d") return nn::BatchNorm2d(6);
  if (id == "bn2d_cumulative") return nn::BatchNorm2d(4, {.momentum = std::nullopt});
  if (id == "bn2d_no_affine") return nn::BatchNorm2d(3, {.momentum = 0.3, .affine = false});
  if (id == "bn2d_untracked") return nn::BatchNorm2d(3, {.track_running_stats = false});
  if (id == "bn2d_long") return nn::BatchNorm2d(2);
  if (id == "bn1d") return nn::BatchNorm1d(5);
  if (id == "bn1d_seq") return nn::BatchNorm1d(3, {.eps = 1e-3});
  if (id == "ln") return nn::LayerNorm(Dims{6, 5});
  if (id == "ln_rows") return nn::LayerNorm(32, {.eps = 1e-6});
  if (id == "ln_no_affine") return nn::LayerNorm(7, {.elementwise_affine = false});
  if (id == "gn") return nn::GroupNorm(3, 6);
  if (id == "gn_no_affine") return nn::GroupNorm(2, 4, {.affine = false});
  if (id == "in2d") return nn::InstanceNorm2d(4);
  if (id == "in2d_tracked") return nn::InstanceNorm2d(4, {.affine = true, .track_running_stats = true});
  return nullptr;
}

std::string joined_names(const nn::Named<Tensor>& named) {
  std::string out;
  for (const auto& entry : named) out += (out.empty() ? "" : ",") + entry.first;
  return out.empty() ? "-" : out;
}

// Float32 against PyTorch: `rtol` relative to each tensor's largest value, so that elements
// near zero (sums of terms that cancel) are held to the same absolute accuracy as the rest.
::testing::AssertionResult close_f32(const Tensor& actual, const Tensor& expected, double rtol) {
  double scale = expected.numel() ? max(abs(expected.to(DType::f64))).item() : 0.0;
  return test::all_close(actual, expected, rtol, rtol * scale);
}

TEST(NormLayers, MatchPyTorchInTrainingAndEval) {
  std::ifstream manifest(reference_dir() + "/manifest.txt");
  std::string id, torch_names;
  int checked = 0;
  while (manifest >> id >> torch_names) {
    SCOPED_TRACE(id);
    nn::ModulePtr layer = make_layer(id);
    ASSERT_TRUE(layer) << "no cajal layer for case " << id;
    EXPECT_EQ(joined_names(layer->state_dict()), torch_names);
    {
      NoGradGuard no_grad;
      for (auto [name, p] : layer->named_parameters()) p.copy_(load(id + "_param_" + name));
    }
    // A long reduction (64 * 40 * 40 values per channel) sums in another order than PyTorch.
    double rtol = id == "bn2d_long" ? 1e-4 : 1e-5;
    for (int step = 0; step <= kTrainSteps; ++step) {
      SCOPED_TRACE("step " + std::to_string(step));
      std::string prefix = id + "_step" + std::to_string(step) + "_";
      layer->train(step < kTrainSteps);
      layer->zero_grad();
      Tensor x = load(prefix + "x").requires_grad_();
      Tensor y = layer->forward(x);
      EXPECT_TRUE(close_f32(y, load(prefix + "y"), rtol));
      y.backward(load(prefix + "gy"));
      EXPECT_TRUE(close_f32(x.grad(), load(prefix + "gx"), rtol));
      for (const auto& [name, p] : layer->named_parameters())
        EXPECT_TRUE(close_f32(p.grad(), load(prefix + "grad_" + name), rtol)) << name;
      for (const auto& [name, b] : layer->named_buffers())
        EXPECT_TRUE(close_f32(b, load(prefix + "buffer_" + name), rtol)) << name;
    }
    ++checked;
  }
  EXPECT_EQ(checked, 14);
}

// ------------------------------------------------------------------ gradient checks (float64)

Tensor leaf(const Dims& shape) { return normal(shape, {.dtype = DType::f64}).requires_grad_(); }
// Positive values (weights, running variances) that require grad.
Tensor positive_leaf(const Dims& shape) { return (abs(normal(shape, {.dtype = DType::f64})) + 0.5).requires_grad_(); }
// x's values in a strided layout: the [N, C, H, W] input is a permuted view of an NHWC leaf.
Tensor strided_leaf(const Dims& nchw) {
  Tensor t = normal({nchw[0], nchw[2], nchw[3], nchw[1]}, {.dtype = DType::f64}).permute({0, 3, 1, 2});
  EXPECT_FALSE(t.is_contiguous());
  return t.requires_grad_();
}

TEST(NormGradcheck, BatchNormTraining) {
  auto f = [](const TensorList& in) { return batch_norm(in[0], {}, {}, in[1], in[2], true); };
  test::expect_gradcheck(f, {leaf({3, 2, 2, 3}), positive_leaf({2}), leaf({2})});
  test::expect_gradcheck(f, {strided_leaf({3, 2, 2, 3}), positive_leaf({2}), leaf({2})});
  test::expect_gradcheck(f, {leaf({5, 3}), positive_leaf({3}), leaf({3})});  // [N, C]
  test::expect_gradcheck([](const TensorList& in) { return batch_norm(in[0], {}, {}, {}, {}, true); },
                         {leaf({2, 3, 4})});
  // Running statistics are updated but do not change the gradient.
  Tensor running_mean = zeros({2}, {.dtype = DType::f64}), running_var = ones({2}, {.dtype = DType::f64});
  test::expect_gradcheck([&](const TensorList& in) { return batch_norm(in[0], running_mean, running_var, in[1], {}, true); },
                         {leaf({4, 2, 3}), positive_leaf({2})});
}

TEST(NormGradcheck, BatchNormEval) {
  Tensor running_mean = normal({2}, {.dtype = DType::f64}), running_var = abs(normal({2}, {.dtype = DType::f64})) + 0.5;
  auto f = [&](const TensorList& in) { return batch_norm(in[0], running_mean, running_var, in[1], in[2], false); };
  test::expect_gradcheck(f, {leaf({3, 2, 2, 3}), positive_leaf({2}), leaf({2})});
  test::expect_gradcheck(f, {strided_leaf({3, 2, 2, 3}), positive_leaf({2}), leaf({2})});
  test::expect_gradcheck(f, {leaf({3, 2, 2, 3}), positive_leaf({2}), leaf({2})}, true);
  // The running statistics themselves are differentiable inputs too.
  test::expect_gradcheck([](const TensorList& in) { return batch_norm(in[0], in[1], in[2], {}, {}, false); },
                         {leaf({3, 2, 4}), leaf({2}), positive_leaf({2})});
}

TEST(NormGradcheck, LayerNorm) {
  auto f = [](const TensorList& in) { return layer_norm(in[0], {2, 3}, in[1], in[2]); };
  test::expect_gradcheck(f, {leaf({4, 2, 3}), positive_leaf({2, 3}), leaf({2, 3})});
  test::expect_gradcheck(f, {leaf({3, 2, 4}).transpose(0, 2), positive_leaf({2, 3}), leaf({2, 3})});
  test::expect_gradcheck([](const TensorList& in) { return layer_norm(in[0], {5}); }, {leaf({3, 5})});
}

TEST(NormGradcheck, GroupNorm) {
  auto f = [](const TensorList& in) { return group_norm(in[0], 2, in[1], in[2]); };
  test::expect_gradcheck(f, {leaf({2, 4, 3}), positive_leaf({4}), leaf({4})});
  test::expect_gradcheck(f, {strided_leaf({2, 4, 2, 2}), positive_leaf({4}), leaf({4})});
  test::expect_gradcheck([](const TensorList& in) { return group_norm(in[0], 3); }, {leaf({2, 6})});
}

TEST(NormGradcheck, InstanceNorm) {
  auto f = [](const TensorList& in) { return instance_norm(in[0], {}, {}, in[1], in[2]); };
  test::expect_gradcheck(f, {leaf({2, 3, 2, 3}), positive_leaf({3}), leaf({3})});
  test::expect_gradcheck(f, {strided_leaf({2, 3, 2, 3}), positive_leaf({3}), leaf({3})});
  test::expect_gradcheck([](const TensorList& in) { return instance_norm(in[0]); }, {leaf({2, 2, 5})});
}

TEST(NormGradcheck, SecondOrderInTraining) {
  test::expect_gradcheck([](const TensorList& in) { return batch_norm(in[0], {}, {}, in[1], in[2], true); },
                         {leaf({3, 2, 2}), positive_leaf({2}), leaf({2})}, true);
  test::expect_gradcheck([](const TensorList& in) { return layer_norm(in[0], {4}, in[1], in[2]); },
                         {leaf({3, 4}), positive_leaf({4}), leaf({4})}, true);
  test::expect_gradcheck([](const TensorList& in) { return group_norm(in[0], 2, in[1], in[2]); },
                         {leaf({2, 4, 2}), positive_leaf({4}), leaf({4})}, true);
}

// The backward built from differentiable ops (create_graph) and the fused kernels give the
// same first-order gradients. The small shape runs on one thread; the large one splits the
// kernels' work (and the partial sums of dweight and dbias) between threads.
TEST(NormBackward, RecordedBackwardMatchesFusedKernel) {
  for (Dims shape : {Dims{3, 4, 2, 2}, Dims{32, 4, 32, 16}}) {
    Tensor w = positive_leaf({4}), b = leaf({4});
    Tensor w_ln = positive_leaf({shape[2], shape[3]}), b_ln = leaf({shape[2], shape[3]});
    struct Case {
      const char* name;
      std::function<Tensor(const Tensor&)> op;
      TensorList params;
    };
    std::vector<Case> cases = {
        {"batch_norm", [&](const Tensor& x) { return batch_norm(x, {}, {}, w, b, true); }, {w, b}},
        {"batch_norm [N, C]",
         [&](const Tensor& x) { return batch_norm(x.permute({0, 2, 3, 1}).reshape({-1, 4}), {}, {}, w, b, true); },
         {w, b}},
        {"group_norm", [&](const Tensor& x) { return group_norm(x, 2, w, b); }, {w, b}},
        {"instance_norm", [&](const Tensor& x) { return instance_norm(x, {}, {}, w, b); }, {w, b}},
        {"layer_norm", [&](const Tensor& x) { return layer_norm(x, {shape[2], shape[3]}, w_ln, b_ln); }, {w_ln, b_ln}},
    };
    for (const Case& c : cases) {
      SCOPED_TRACE(std::string(c.name) + ", " + std::to_string(numel_of(shape)) + " values");
      Tensor x = leaf(shape);
      TensorList inputs = {x, c.params[0], c.params[1]};
      Tensor y = c.op(x);
      Tensor g = normal(y.sizes(), {.dtype = DType::f64});
      TensorList fused = autograd::grad({y}, inputs, {g}, true);
      TensorList recorded = autograd::grad({y}, inputs, {g}, true, true);
      EXPECT_TRUE(recorded[0].requires_grad() && recorded[1].requires_grad());  // functions of x
      for (size_t i = 0; i < inputs.size(); ++i)
        EXPECT_TRUE(test::all_close(fused[i], recorded[i], 1e-10, 1e-12)) << "input " << i;
    }
  }
}

// ------------------------------------------------------------------ dtypes and layouts

TEST(NormOps, Float32StridedInputMatchesContiguous) {
  Tensor x = normal({4, 6, 3, 5}).permute({0, 3, 1, 2});  // [4, 5, 6, 3], channels 5
  Tensor xc = x.contiguous();
  Tensor w = normal({5}), b = normal({5});
  EXPECT_TRUE(test::all_close(batch_norm(x, {}, {}, w, b, true), batch_norm(xc, {}, {}, w, b, true)));
  EXPECT_TRUE(test::all_close(instance_norm(x, {}, {}, w, b), instance_norm(xc, {}, {}, w, b)));
  EXPECT_TRUE(test::all_close(layer_norm(x, {6, 3}), layer_norm(xc, {6, 3})));
}

TEST(NormOps, BFloat16ComputesInFloat32) {
  Tensor x = normal({4, 3, 5}).to(DType::bf16);
  Tensor y = batch_norm(x, {}, {}, {}, {}, true);
  EXPECT_EQ(y.dtype(), DType::bf16);
  EXPECT_TRUE(test::all_close(y.to(DType::f32), batch_norm(x.to(DType::f32), {}, {}, {}, {}, true).to(DType::bf16).to(DType::f32)));
}

TEST(NormOps, RunningStatisticsAreUpdatedWithoutHistory) {
  // Per channel: values {1, 3} and {2, 6}: means 2 and 4, unbiased variances 2 and 8.
  Tensor x = tensor({1.f, 2.f, 3.f, 6.f}, {2, 2}).requires_grad_();
  Tensor running_mean = zeros({2}), running_var = ones({2}), count = zeros({}, {.dtype = DType::i64});
  batch_norm(x, running_mean, running_var, {}, {}, true, 0.25, 1e-5, count);
  EXPECT_TRUE(test::all_close(running_mean, tensor({0.5f, 1.f})));
  EXPECT_TRUE(test::all_close(running_var, tensor({0.75f + 0.5f, 0.75f + 2.f})));
  EXPECT_EQ(count.item<int64_t>(), 1);
  EXPECT_FALSE(running_mean.requires_grad());
  // momentum = nullopt: the running statistics become the average of all batches so far.
  batch_norm(x * 3, running_mean, running_var, {}, {}, true, std::nullopt, 1e-5, count);
  EXPECT_EQ(count.item<int64_t>(), 2);
  EXPECT_TRUE(test::all_close(running_mean, tensor({(0.5f + 6.f) / 2, (1.f + 12.f) / 2})));
}

// ------------------------------------------------------------------ modules: printing, buffers

TEST(NormLayers, PrintLikePyTorch) {
  EXPECT_EQ(nn::BatchNorm2d(32)->to_string(), "BatchNorm2d(32, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)");
  EXPECT_EQ(nn::BatchNorm1d(4, {.momentum = std::nullopt, .affine = false})->to_string(),
            "BatchNorm1d(4, eps=1e-05, momentum=None, affine=False, track_running_stats=True)");
  EXPECT_EQ(nn::LayerNorm(Dims{3, 4})->to_string(), "LayerNorm((3, 4), eps=1e-05, elementwise_affine=True)");
  EXPECT_EQ(nn::LayerNorm(10)->to_string(), "LayerNorm((10,), eps=1e-05, elementwise_affine=True)");
  EXPECT_EQ(nn::GroupNorm(4, 32)->to_string(), "GroupNorm(4, 32, eps=1e-05, affine=True)");
  EXPECT_EQ(nn::InstanceNorm2d(32)->to_string(),
            "InstanceNorm2d(32, eps=1e-05, momentum=0.1, affine=False, track_running_stats=False)");
}

TEST(NormLayers, BuffersStartAsInPyTorch) {
  nn::BatchNorm2d bn(3);
  EXPECT_EQ(bn->num_batches_tracked.dtype(), DType::i64);
  EXPECT_EQ(bn->num_batches_tracked.dim(), 0);
  EXPECT_TRUE(test::all_close(bn->running_var, ones({3})));
  bn(normal({2, 3, 2, 2}));
  bn(normal({2, 3, 2, 2}));
  EXPECT_EQ(bn->num_batches_tracked.item<int64_t>(), 2);
  bn->eval();
  bn(normal({2, 3, 2, 2}));  // eval mode leaves the running statistics alone
  EXPECT_EQ(bn->num_batches_tracked.item<int64_t>(), 2);
  bn->reset_running_stats();
  EXPECT_EQ(bn->num_batches_tracked.item<int64_t>(), 0);
  EXPECT_TRUE(test::all_close(bn->running_mean, zeros({3})));
  // An unbatched [C, H, W] instance-norm input is one sample.
  Tensor x = normal({2, 3, 4});
  EXPECT_TRUE(test::all_close(nn::InstanceNorm2d(2)(x), instance_norm(x.unsqueeze(0)).squeeze(0)));
}

// ------------------------------------------------------------------ errors

TEST(NormErrors, WrongChannelCountNamesBoth) {
  Tensor x = zeros({8, 32, 4, 4});
  test::expect_error<ShapeError>([&] { batch_norm(x, {}, {}, ones({16}), {}, true); },
                                 {"batch_norm: weight has shape [16]", "[8, 32, 4, 4]", "32 channels"});
  test::expect_error<ShapeError>([&] { batch_norm(x, zeros({16}), ones({16})); }, {"running_mean has shape [16]", "32 channels"});
  test::expect_error<ShapeError>([&] { group_norm(x, 4, {}, zeros({30})); }, {"group_norm: bias has shape [30]", "32 channels"});
  test::expect_error<ShapeError>([&] { nn::BatchNorm2d(16)(x); }, {"BatchNorm2d: expected 16 channels", "[8, 32, 4, 4]", "32"});
  test::expect_error<ShapeError>([&] { nn::InstanceNorm2d(3)(x); }, {"InstanceNorm2d: expected 3 channels", "32"});
  test::expect_error<ShapeError>([&] { nn::GroupNorm(4, 16)(x); }, {"GroupNorm: expected an input [N, 16, ...]", "[8, 32, 4, 4]"});
  test::expect_error<ShapeError>([&] { layer_norm(x, {4, 5}); }, {"layer_norm: normalized_shape [4, 5]", "[8, 32, 4, 4]"});
  test::expect_error<ShapeError>([&] { layer_norm(x, {4, 4}, ones({16})); }, {"layer_norm: weight has shape [16]", "[4, 4]"});
}

TEST(NormErrors, BadArguments) {
  test::expect_error<ValueError>([] { batch_norm(zeros({1, 3}), {}, {}, {}, {}, true); },
                                 {"batch_norm: training needs more than 1 value per channel", "[1, 3]"});
  test::expect_error<ValueError>([] { batch_norm(zeros({2, 3}), {}, {}); }, {"batch_norm: eval mode", "running_mean"});
  test::expect_error<ValueError>([] { batch_norm(zeros({2, 3}), zeros({3}), {}, {}, {}, true); },
                                 {"running_mean and running_var must be given together"});
  test::expect_error<ValueError>([] { batch_norm(zeros({2, 3}), zeros({3}), ones({3}), {}, {}, true, std::nullopt); },
                                 {"momentum = nullopt", "num_batches_tracked"});
  test::expect_error<ValueError>([] { group_norm(zeros({2, 6, 3}), 4); }, {"group_norm: 6 channels cannot be split into 4 groups"});
  test::expect_error<ValueError>([] { instance_norm(zeros({2, 3, 1})); }, {"instance_norm: needs more than 1 spatial value"});
  test::expect_error<ShapeError>([] { instance_norm(zeros({2, 3})); }, {"instance_norm: expected an input of shape", "[2, 3]"});
  test::expect_error<DTypeError>([] { layer_norm(zeros({2, 3}, {.dtype = DType::i64}), {3}); },
                                 {"layer_norm: input must be floating point, got int64"});
  test::expect_error<ValueError>([] { nn::BatchNorm1d(3)(zeros({2, 3, 4, 5})); }, {"BatchNorm1d: expected a 2D", "[2, 3, 4, 5]"});
  test::expect_error<ValueError>([] { nn::BatchNorm2d(3)(zeros({2, 3})); }, {"BatchNorm2d: expected a 4D", "[2, 3]"});
  test::expect_error<ValueError>([] { nn::GroupNorm(4, 6); }, {"GroupNorm: num_channels (6) must be divisible by num_groups (4)"});
}

}  // namespace
