// Attribution methods against PyTorch (tests/reference/attribution_reference.py, the formulas
// written from the papers on a twin of the small CNN below, in float64): saliency, gradient x
// input, SmoothGrad at the noisy inputs this test draws, Integrated Gradients under every
// quadrature (with numpy's Gauss-Legendre nodes) and its completeness, occlusion, Grad-CAM
// through torch's module hooks, permutation importance under the Generator's permutations and
// Spearman's correlation against scipy; then Adebayo et al.'s randomization sanity check on a
// model trained here, and one clear error per bad input.
#include <cmath>

#include "cajal/explain/attribution.h"
#include "cajal/explain/sanity.h"
#include "cajal/models/resnet.h"
#include "cajal/nn/nn.h"
#include "cajal/nn/serialize.h"
#include "support/reference_npy.h"
#include "support/test_support.h"

namespace cajal {
namespace {

using explain::Quadrature;

const test::ReferenceNpy& reference() {
  static const test::ReferenceNpy files("attribution_reference.py");
  return files;
}
Tensor load(const std::string& name) { return reference().load(name); }

// The reference's CNN: conv 1->4, ReLU, conv 4->6, ReLU, max pool, flatten, linear 96->3 (or,
// smooth, tanh and average pooling), with its weights.
nn::Sequential twin_cnn(bool smooth = false) {
  nn::Sequential model = smooth ? nn::Sequential(nn::Conv2d(1, 4, 3, {.padding = 1}), nn::Tanh(), nn::Conv2d(4, 6, 3, {.padding = 1}),
                                                 nn::Tanh(), nn::AvgPool2d(2), nn::Flatten(), nn::Linear(96, 3))
                                : nn::Sequential(nn::Conv2d(1, 4, 3, {.padding = 1}), nn::ReLU(), nn::Conv2d(4, 6, 3, {.padding = 1}),
                                                 nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(), nn::Linear(96, 3));
  NamedTensors state;
  for (const auto& [name, value] : model->state_dict()) state.emplace_back(name, load("state." + name));
  nn::load_state_dict(*model, state);
  model->eval();
  return model;
}

explain::ModelFunction function_of(const nn::Sequential& model) {
  return [model](const Tensor& x) { return model(x); };
}

// |actual - expected| <= rtol |expected| + atol * max|expected|, compared in float64 (the
// reference computes in float64, the model here in float32).
::testing::AssertionResult close(const Tensor& actual, const Tensor& expected, double rtol = 1e-4, double atol = 1e-5) {
  const Tensor e = expected.to(DType::f64);
  const double scale = e.numel() ? e.abs().max().item<double>() : 0;
  return test::all_close(actual.to(DType::f64), e, rtol, atol * scale);
}

Tensor twin_inputs() { return load("x"); }
Tensor twin_targets() { return load("targets"); }

// ------------------------------------------------------------------ gradients

TEST(Attribution, TargetScoresPickEachExamplesClass) {
  const Tensor output = tensor({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}, {2, 3});
  EXPECT_TRUE(test::all_close(explain::target_scores(output, tensor({2, 0})), tensor({3.f, 4.f}), 0, 0));
  test::expect_error<IndexError>([&] { explain::target_scores(output, tensor({0, 3})); },
                                 {"target 3 of example 1", "3 outputs"});
  test::expect_error<IndexError>([&] { explain::target_scores(output, tensor({-1, 0})); }, {"target -1 of example 0"});
  test::expect_error<ShapeError>([&] { explain::target_scores(output, tensor({0})); }, {"int64 [B]", "B = 2", "[1]"});
  test::expect_error<ShapeError>([&] { explain::target_scores(output, tensor({0.f, 1.f})); }, {"int64 [B]", "float32"});
  test::expect_error<ShapeError>([&] { explain::target_scores(output.flatten(), tensor({0})); }, {"scores [B, C]", "[6]"});
}

TEST(Attribution, SaliencyAndGradientTimesInputAreTorchs) {
  const nn::Sequential model = twin_cnn();
  const Tensor x = twin_inputs(), targets = twin_targets();
  const Tensor gradient = load("gradient");
  EXPECT_TRUE(close(explain::saliency(function_of(model), x, targets, false), gradient));
  EXPECT_TRUE(close(explain::saliency(function_of(model), x, targets), gradient.abs()));
  EXPECT_TRUE(close(explain::gradient_x_input(function_of(model), x, targets), gradient * x.to(DType::f64)));
  EXPECT_TRUE(close(explain::target_scores(model(x), targets), load("scores")));
  // Explaining changes no parameter's .grad(), and works under NoGradGuard.
  for (const Tensor& p : model->parameters()) EXPECT_FALSE(p.grad().defined());
  NoGradGuard no_grad;
  EXPECT_TRUE(close(explain::saliency(function_of(model), x, targets, false), gradient));
}

TEST(Attribution, SmoothGradIsTheMeanGradientAtTheNoisyInputs) {
  const nn::Sequential model = twin_cnn();
  const Tensor x = twin_inputs(), targets = twin_targets();
  // No noise and one sample: the plain gradient.
  EXPECT_TRUE(test::all_close(explain::smoothgrad(function_of(model), x, targets, {.samples = 1, .noise_level = 0}),
                              explain::saliency(function_of(model), x, targets, false), 0, 0));
  // A linear model's gradient is its weight row whatever the noise.
  manual_seed(5);
  nn::Linear linear(5, 3);
  const Tensor rows = randn({4, 5});
  const Tensor classes = tensor({2, 0, 1, 2});
  const Tensor weight_rows = index_select(linear->named_parameters()[0].second.detach(), 0, classes);
  auto linear_model = [&](const Tensor& in) { return linear(in); };
  EXPECT_TRUE(test::all_close(explain::smoothgrad(linear_model, rows, classes, {.samples = 7, .noise_level = 0.5}), weight_rows,
                              1e-6, 1e-7));
  EXPECT_TRUE(test::all_close(explain::smoothgrad(linear_model, rows, classes, {.samples = 7, .squared = true}),
                              weight_rows * weight_rows, 1e-6, 1e-7));

  // The noise as the header describes it: per sample one randn of the batch's shape from
  // Generator(seed), times noise_level * (max - min) of each example. The reference takes the
  // gradients at these inputs.
  const explain::SmoothGradOptions options{.samples = 4, .noise_level = 0.2, .seed = 9};
  const Tensor flat = x.flatten(1);
  const Tensor sigma = ((max(flat, 1).values - min(flat, 1).values) * options.noise_level).reshape({3, 1, 1, 1});
  Generator gen(options.seed);
  TensorList noisy;
  for (int64_t s = 0; s < options.samples; ++s) noisy.push_back(x + randn(x.sizes(), {}, &gen) * sigma);
  save_npy(stack(noisy), reference().dir() + "/smoothgrad_inputs.npy");
  std::string output;
  ASSERT_TRUE(test::run_reference("attribution_reference.py", reference().dir() + " smoothgrad", &output)) << output;
  EXPECT_TRUE(close(explain::smoothgrad(function_of(model), x, targets, options), load("smoothgrad_mean")));
  explain::SmoothGradOptions squared = options;
  squared.squared = true;
  EXPECT_TRUE(close(explain::smoothgrad(function_of(model), x, targets, squared), load("smoothgrad_squared")));
}

// ------------------------------------------------------------------ integrated gradients

TEST(Attribution, QuadratureRulesAreCaptumsAndNumpysGaussLegendre) {
  const explain::QuadratureRule left = explain::quadrature_rule(Quadrature::riemann_left, 4);
  EXPECT_EQ(left.alphas, (std::vector<double>{0, 0.25, 0.5, 0.75}));
  EXPECT_EQ(left.weights, (std::vector<double>{0.25, 0.25, 0.25, 0.25}));
  EXPECT_EQ(explain::quadrature_rule(Quadrature::riemann_right, 4).alphas, (std::vector<double>{0.25, 0.5, 0.75, 1}));
  EXPECT_EQ(explain::quadrature_rule(Quadrature::riemann_middle, 4).alphas, (std::vector<double>{0.125, 0.375, 0.625, 0.875}));
  const explain::QuadratureRule trapezoid = explain::quadrature_rule(Quadrature::riemann_trapezoid, 5);
  EXPECT_EQ(trapezoid.alphas, (std::vector<double>{0, 0.25, 0.5, 0.75, 1}));
  EXPECT_EQ(trapezoid.weights, (std::vector<double>{0.125, 0.25, 0.25, 0.25, 0.125}));
  double worst = 0;
  for (int64_t n : {1, 2, 3, 5, 16, 64, 100, 256}) {
    const explain::QuadratureRule rule = explain::quadrature_rule(Quadrature::gauss_legendre, n);
    const std::vector<double> nodes = load("leggauss_nodes." + std::to_string(n)).to_vector<double>();
    const std::vector<double> weights = load("leggauss_weights." + std::to_string(n)).to_vector<double>();
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) {
      worst = std::max({worst, std::abs(rule.alphas[i] - (nodes[i] + 1) / 2), std::abs(rule.weights[i] - weights[i] / 2)});
      sum += rule.weights[i];
    }
    EXPECT_NEAR(sum, 1, 1e-13) << n;
  }
  EXPECT_LT(worst, 1e-14);
  for (Quadrature q : {Quadrature::riemann_left, Quadrature::riemann_right, Quadrature::riemann_middle,
                       Quadrature::riemann_trapezoid, Quadrature::gauss_legendre})
    EXPECT_EQ(explain::parse_quadrature(explain::quadrature_name(q)), q);
  test::expect_error<ValueError>([] { explain::parse_quadrature("simpson"); },
                                 {"unknown quadrature 'simpson'", "riemann_left", "gauss_legendre"});
}

TEST(Attribution, IntegratedGradientsAreTheFormulaUnderEveryRule) {
  const nn::Sequential model = twin_cnn();
  const Tensor x = twin_inputs(), targets = twin_targets();
  for (Quadrature q : {Quadrature::riemann_left, Quadrature::riemann_right, Quadrature::riemann_middle,
                       Quadrature::riemann_trapezoid, Quadrature::gauss_legendre}) {
    const std::string name = explain::quadrature_name(q);
    const auto all = explain::integrated_gradients(function_of(model), x, targets, {.steps = 16, .quadrature = q});
    EXPECT_TRUE(close(all.attributions, load("ig." + name))) << name;
    EXPECT_TRUE(close(all.delta, load("ig_delta." + name), 1e-3, 1e-4)) << name;
    // Five points per model call: the same sums.
    const auto chunked =
        explain::integrated_gradients(function_of(model), x, targets, {.steps = 16, .quadrature = q, .points_per_batch = 5});
    EXPECT_TRUE(close(chunked.attributions, all.attributions, 1e-5, 1e-6)) << name;
  }
  // One example's baseline, broadcast over the batch; the same baseline given per example.
  const Tensor baseline = load("ig_example_baseline");
  const auto broadcast = explain::integrated_gradients(function_of(model), x, targets, {.steps = 16, .baseline = baseline});
  EXPECT_TRUE(close(broadcast.attributions, load("ig_baseline.gauss_legendre")));
  EXPECT_TRUE(close(broadcast.delta, load("ig_baseline_delta.gauss_legendre"), 1e-3, 1e-4));
  const auto full = explain::integrated_gradients(function_of(model), x, targets,
                                                  {.steps = 16, .baseline = baseline.unsqueeze(0).expand({3, 1, 8, 8})});
  EXPECT_TRUE(test::all_close(full.attributions, broadcast.attributions, 0, 0));
}

// Completeness: sum(attributions) = f(x) - f(x') up to the quadrature error, delta. On a smooth
// model that error falls fast with the steps (Gauss-Legendre's to rounding); the ReLU twin's
// integrand jumps where a unit switches along the path, and its error is larger (the reference's
// float64 values, at 64 steps: 1.4%, 0.07%, 1.1% of |f(x) - f(x')| for Gauss-Legendre and
// 3.3%, 2.4%, 0.3% for the trapezoid rule), under the 5% Sundararajan et al. give for 20 to 300 steps.
TEST(Attribution, IntegratedGradientsAreComplete) {
  const Tensor x = twin_inputs(), targets = twin_targets();
  for (bool smooth : {true, false}) {
    const nn::Sequential model = twin_cnn(smooth);
    for (Quadrature q : {Quadrature::gauss_legendre, Quadrature::riemann_trapezoid}) {
      const std::string name = explain::quadrature_name(q);
      const auto result = explain::integrated_gradients(function_of(model), x, targets, {.steps = 64, .quadrature = q});
      const Tensor change = load(smooth ? "ig64_smooth_change" : "ig64_change");
      const Tensor relative = result.delta.to(DType::f64).abs() / change.abs();
      EXPECT_LT(relative.max().item<double>(), smooth ? 0.01 : 0.05) << name << (smooth ? " smooth" : " relu");
      const std::string expected = std::string(smooth ? "ig64_smooth_delta." : "ig64_delta.") + name;
      const double scale = change.abs().max().item<double>();  // delta itself may be ~0
      EXPECT_TRUE(test::all_close(result.delta.to(DType::f64), load(expected), 0, 1e-4 * scale)) << expected;
    }
  }
}

// ------------------------------------------------------------------ occlusion

TEST(Attribution, OcclusionAveragesTheDropOverCoveringWindows) {
  const nn::Sequential model = twin_cnn();
  const Tensor x = twin_inputs(), targets = twin_targets();
  // 3x3 windows every 2 pixels: 3 x 3 positions, overlapping; row and column 7 uncovered (0).
  const Tensor overlapping =
      explain::occlusion(function_of(model), x, targets, {.window = {1, 3, 3}, .strides = {1, 2, 2}, .windows_per_batch = 4});
  EXPECT_TRUE(close(overlapping, load("occlusion.overlapping")));
  EXPECT_EQ(overlapping.select(2, 7).abs().max().item<double>(), 0);
  const Tensor tiles = explain::occlusion(function_of(model), x, targets, {.window = {1, 4, 4}, .baseline = 0.5});
  EXPECT_TRUE(close(tiles, load("occlusion.tiles")));
  // A 4x4 tile gets one drop, the same for its 16 pixels.
  const Tensor tile = tiles.narrow(2, 0, 4).narrow(3, 0, 4);
  EXPECT_EQ((tile - tile.narrow(2, 0, 1).narrow(3, 0, 1)).abs().max().item<double>(), 0);
}

// ------------------------------------------------------------------ Grad-CAM

TEST(Attribution, GradCamIsTorchsThroughModuleHooks) {
  const nn::Sequential model = twin_cnn();
  const Tensor x = twin_inputs(), targets = twin_targets();
  for (const char* layer : {"2", "4"}) {  // conv 2 (8x8, before its ReLU) and the pooled 4x4 map, upsampled
    const explain::GradCamResult cam = explain::grad_cam(*model, layer, x, targets);
    EXPECT_TRUE(close(cam.map, load(std::string("gradcam_map.") + layer))) << layer;
    EXPECT_TRUE(close(cam.heatmap, load(std::string("gradcam_heatmap.") + layer))) << layer;
    EXPECT_EQ(cam.heatmap.sizes(), (Dims{3, 8, 8}));
  }
  // The hooks are gone afterwards: a second run gives the same maps, and no .grad() was set.
  EXPECT_TRUE(test::all_close(explain::grad_cam(*model, "4", x, targets).map, explain::grad_cam(*model, "4", x, targets).map, 0, 0));
  for (const Tensor& p : model->parameters()) EXPECT_FALSE(p.grad().defined());
  EXPECT_EQ(explain::last_feature_map_layer(*model, x), "3");  // the ReLU after conv 2, before the pooling (4)

  test::expect_error<ValueError>([&] { explain::grad_cam(*model, "6", x, targets); },
                                 {"Grad-CAM needs a convolutional feature map [B, C, H, W]; layer '6' (Linear) gives [3, 3]"});
  test::expect_error<ValueError>([&] { explain::grad_cam(*model, "9", x, targets); }, {"9"});
  nn::ReLU shared;
  nn::Sequential twice(nn::Conv2d(1, 2, 3), shared, shared, nn::Flatten(), nn::Linear(72, 3));
  test::expect_error<ValueError>([&] { explain::grad_cam(*twice, "1", x, targets); }, {"layer '1' (ReLU) ran 2 times"});
  nn::Sequential mlp(nn::Flatten(), nn::Linear(64, 3));
  test::expect_error<ValueError>([&] { explain::last_feature_map_layer(*mlp, x); }, {"no layer of Sequential", "[3, 1, 8, 8]"});
}

TEST(Attribution, GradCamFindsAResNetsLastStage) {
  manual_seed(4);
  models::ResNet net(models::ImageInput{3, {8, 8}, 10}, models::ResNetOptions{.depth = 8, .widths = {4, 8, 8}});
  net->eval();
  const Tensor x = randn({2, 3, 8, 8});
  const std::string layer = explain::last_feature_map_layer(*net, x);
  EXPECT_EQ(layer, "layer3");  // a stage returns after its blocks; global pooling is not a module
  const explain::GradCamResult cam = explain::grad_cam(*net, layer, x, tensor({1, 7}));
  EXPECT_EQ(cam.map.sizes(), (Dims{2, 2, 2}));
  EXPECT_EQ(cam.heatmap.sizes(), (Dims{2, 8, 8}));
  EXPECT_GE(cam.map.min().item<double>(), 0);
}

// ------------------------------------------------------------------ permutation importance and Spearman

TEST(Attribution, PermutationImportanceUnderTheGeneratorsPermutations) {
  nn::Sequential mlp(nn::Linear(4, 8), nn::ReLU(), nn::Linear(8, 2));
  NamedTensors state;
  for (const auto& [name, value] : mlp->state_dict()) state.emplace_back(name, load("mlp." + name));
  nn::load_state_dict(*mlp, state);
  const Tensor features = load("tab_x"), labels = load("tab_y");
  auto accuracy = [&](const Tensor& table) {
    NoGradGuard no_grad;
    return mean(eq(argmax(mlp(table), 1), labels).to(DType::f64)).item<double>();
  };
  const int64_t repeats = 3;
  const explain::PermutationImportance result = explain::permutation_importance(accuracy, features, repeats, 17);

  // The permutations the header promises: Generator(seed), feature by feature, repeat by repeat.
  Generator gen(17);
  TensorList permutations;
  for (int64_t i = 0; i < 4 * repeats; ++i) permutations.push_back(randperm(80, &gen));
  save_npy(stack(permutations).reshape({4, repeats, 80}), reference().dir() + "/permutations.npy");
  std::string output;
  ASSERT_TRUE(test::run_reference("attribution_reference.py", reference().dir() + " permutation", &output)) << output;
  EXPECT_DOUBLE_EQ(result.baseline, load("permutation_baseline").item<double>());
  EXPECT_TRUE(test::all_close(result.importances, load("permutation_importances"), 0, 1e-12));
  EXPECT_TRUE(test::all_close(result.mean, load("permutation_mean"), 0, 1e-12));
  EXPECT_TRUE(test::all_close(result.std, load("permutation_std"), 0, 1e-12));
  // Column 0 decides the class; columns 2 and 3 play no part.
  const std::vector<double> means = result.mean.to_vector<double>();
  EXPECT_GT(means[0], 0.2);
  EXPECT_GT(means[0], means[1]);
  EXPECT_EQ(result.importances.dtype(), DType::f64);
}

TEST(Attribution, SpearmanIsScipys) {
  EXPECT_NEAR(explain::spearman_correlation(load("spearman_a"), load("spearman_b")), load("spearman_ties").item<double>(), 1e-12);
  EXPECT_NEAR(explain::spearman_correlation(load("spearman_c"), load("spearman_d").to(DType::f32)),
              load("spearman_continuous").item<double>(), 1e-12);
  EXPECT_DOUBLE_EQ(explain::spearman_correlation(tensor({1.f, 2.f, 3.f}), tensor({30.f, 20.f, 10.f})), -1);
  EXPECT_TRUE(std::isnan(explain::spearman_correlation(tensor({1.f, 1.f, 1.f}), tensor({1.f, 2.f, 3.f}))));
  test::expect_error<ValueError>([] { explain::spearman_correlation(tensor({1.f, 2.f}), tensor({1.f, 2.f, 3.f})); },
                                 {"a has 2 elements and b 3"});
  test::expect_error<ValueError>([] { explain::spearman_correlation(tensor({1.f}), tensor({1.f})); }, {"at least 2"});
  test::expect_error<ValueError>([] { explain::spearman_correlation(tensor({1.f, NAN}), tensor({1.f, 2.f})); }, {"a contains NaN"});
}

// ------------------------------------------------------------------ the randomization sanity check

TEST(Attribution, RandomizeParametersCascadesFromTheTop) {
  nn::Sequential model = twin_cnn();
  auto values = [&] {
    std::vector<Tensor> copies;
    for (const Tensor& p : model->parameters()) copies.push_back(p.detach().clone());
    return copies;
  };
  const std::vector<Tensor> trained = values();
  explain::randomize_parameters(*model, 3, "2");  // conv 2 and the linear layer; conv 1 kept
  const std::vector<Tensor> top = values();
  EXPECT_TRUE(test::all_close(top[0], trained[0], 0, 0));
  EXPECT_TRUE(test::all_close(top[1], trained[1], 0, 0));
  for (size_t k = 2; k < top.size(); ++k) EXPECT_FALSE(test::all_close(top[k], trained[k], 0, 0)) << k;
  // Torch's default bounds: |w| <= 1/sqrt(fan_in) for weights and biases.
  EXPECT_LE(top[4].abs().max().item<double>(), 1 / std::sqrt(96.0));
  EXPECT_LE(top[5].abs().max().item<double>(), 1 / std::sqrt(96.0));
  EXPECT_GT(top[4].abs().max().item<double>(), 0.9 / std::sqrt(96.0));
  // The same seed redraws the same values; all layers when from_layer is empty.
  explain::randomize_parameters(*model, 3, "2");
  EXPECT_TRUE(test::all_close(values()[2], top[2], 0, 0));
  explain::randomize_parameters(*model, 4);
  EXPECT_FALSE(test::all_close(values()[0], trained[0], 0, 0));
  test::expect_error<ValueError>([&] { explain::randomize_parameters(*model, 1, "8"); }, {"8"});
  nn::Sequential tail(nn::Linear(2, 2), nn::ReLU());
  test::expect_error<ValueError>([&] { explain::randomize_parameters(*tail, 1, "1"); }, {"at or after '1'", "holds a parameter"});
}

// A task where the class is where a bright 2x2 patch lies on a noisy 8x8 image: top left, top
// right or bottom middle.
struct PatchImages {
  Tensor images, labels;
};
PatchImages patch_images(int64_t count, Generator& gen) {
  PatchImages data{randn({count, 1, 8, 8}, {}, &gen) * 0.3, randint(0, 3, {count}, {.dtype = DType::i64}, &gen)};
  const int64_t rows[] = {1, 1, 5}, cols[] = {1, 5, 3};
  const std::vector<int64_t> labels = data.labels.to_vector<int64_t>();
  for (int64_t i = 0; i < count; ++i)
    data.images.select(0, i).narrow(1, rows[labels[i]], 2).narrow(2, cols[labels[i]], 2).add_(2.0);
  return data;
}

// Adebayo et al. (2018): maps of a trained model against those of the same model with random
// weights (every layer). Saliency and the signed Integrated Gradients depend on what was learned:
// their rank correlation falls near 0. The absolute Integrated Gradients keep about half of it
// (0.52 here; 0.50 to 0.61 over other seeds): x - x' multiplies every map, so the input's own
// structure survives the randomization, as the paper found for the methods that multiply by the
// input.
TEST(Attribution, MapsChangeWhenTheWeightsAreRandomized) {
  manual_seed(21);
  nn::Sequential model(nn::Conv2d(1, 4, 3, {.padding = 1}), nn::ReLU(), nn::Conv2d(4, 6, 3, {.padding = 1}), nn::ReLU(),
                       nn::MaxPool2d(2), nn::Flatten(), nn::Linear(96, 3));
  Generator gen(8);
  optim::Adam adam(model->parameters(), {.lr = 0.02});
  for (int step = 0; step < 150; ++step) {
    const PatchImages batch = patch_images(64, gen);
    adam.zero_grad();
    cross_entropy(model(batch.images), batch.labels).backward();
    adam.step();
  }
  model->eval();
  const PatchImages test_set = patch_images(16, gen);
  {
    NoGradGuard no_grad;
    EXPECT_GT(mean(eq(argmax(model(test_set.images), 1), test_set.labels).to(DType::f64)).item<double>(), 0.9);
  }
  struct Maps {
    Tensor saliency, integrated_gradients;
  };
  auto maps = [&] {
    const auto f = function_of(model);
    return Maps{explain::saliency(f, test_set.images, test_set.labels),
                explain::integrated_gradients(f, test_set.images, test_set.labels, {.steps = 32}).attributions};
  };
  // The mean over examples of the rank correlation of their maps.
  auto correlation = [](const Tensor& a, const Tensor& b) {
    double total = 0;
    for (int64_t i = 0; i < a.size(0); ++i) total += explain::spearman_correlation(a[i], b[i]);
    return total / static_cast<double>(a.size(0));
  };
  const Maps trained = maps(), again = maps();
  EXPECT_DOUBLE_EQ(correlation(trained.saliency, again.saliency), 1);
  EXPECT_DOUBLE_EQ(correlation(trained.integrated_gradients, again.integrated_gradients), 1);
  explain::randomize_parameters(*model, 99);
  const Maps random = maps();
  const double saliency = correlation(trained.saliency, random.saliency);
  const double signed_ig = correlation(trained.integrated_gradients, random.integrated_gradients);
  const double absolute_ig = correlation(trained.integrated_gradients.abs(), random.integrated_gradients.abs());
  EXPECT_LT(saliency, 0.5);   // -0.00
  EXPECT_LT(signed_ig, 0.5);  // 0.00
  EXPECT_GT(absolute_ig, saliency);
}

// ------------------------------------------------------------------ bad inputs

TEST(Attribution, BadInputsNameTheProblem) {
  const nn::Sequential model = twin_cnn();
  const auto f = function_of(model);
  const Tensor x = twin_inputs(), targets = twin_targets();
  test::expect_error<ShapeError>([&] { explain::saliency(f, x, tensor({0, 1})); }, {"saliency", "targets must be int64 [B]", "B = 3"});
  test::expect_error<ShapeError>([&] { explain::gradient_x_input(f, x, tensor({0.f, 1.f, 2.f})); }, {"float32"});
  test::expect_error<IndexError>([&] { explain::saliency(f, x, tensor({0, 5, 1})); }, {"target 5 of example 1"});
  test::expect_error<DTypeError>([&] { explain::saliency(f, x.to(DType::i64), targets); }, {"inputs must be floating", "int64"});
  test::expect_error<ValueError>([&] { explain::integrated_gradients(f, x, targets, {.steps = 0}); },
                                 {"gauss_legendre quadrature needs at least 1 step", "steps = 0"});
  test::expect_error<ValueError>(
      [&] { explain::integrated_gradients(f, x, targets, {.steps = 1, .quadrature = Quadrature::riemann_trapezoid}); },
      {"riemann_trapezoid quadrature needs at least 2 steps"});
  test::expect_error<ShapeError>([&] { explain::integrated_gradients(f, x, targets, {.baseline = zeros({8, 8})}); },
                                 {"baseline must have the inputs' shape [3, 1, 8, 8] or one example's shape [1, 8, 8]", "[8, 8]"});
  test::expect_error<ValueError>([&] { explain::integrated_gradients(f, x, targets, {.points_per_batch = -1}); },
                                 {"points_per_batch"});
  test::expect_error<ValueError>([&] { explain::smoothgrad(f, x, targets, {.noise_level = -0.1}); }, {"noise_level", "-0.1"});
  test::expect_error<ValueError>([&] { explain::smoothgrad(f, x, targets, {.noise_level = NAN}); }, {"noise_level"});
  test::expect_error<ValueError>([&] { explain::smoothgrad(f, x, targets, {.samples = 0}); }, {"samples must be at least 1"});
  test::expect_error<ShapeError>([&] { explain::occlusion(f, x, targets, {.window = {1, 9, 3}}); },
                                 {"window [1, 9, 3] does not fit in an example [1, 8, 8]"});
  test::expect_error<ShapeError>([&] { explain::occlusion(f, x, targets, {.window = {3, 3}}); },
                                 {"one size per dim of an example [1, 8, 8]", "window [3, 3]"});
  test::expect_error<ValueError>([&] { explain::occlusion(f, x, targets, {.window = {1, 3, 3}, .strides = {1, 0, 2}}); },
                                 {"strides must be >= 1"});
  test::expect_error<ValueError>([&] { explain::occlusion(f, x, targets, {.window = {1, 3, 3}, .windows_per_batch = 0}); },
                                 {"windows_per_batch"});
  test::expect_error<ShapeError>([&] { explain::grad_cam(*model, "2", x.flatten(1), targets); }, {"images [B, C, H, W]"});
  auto score = [](const Tensor&) { return 1.0; };
  test::expect_error<ShapeError>([&] { explain::permutation_importance(score, zeros({5})); }, {"table [N, F]", "[5]"});
  test::expect_error<ValueError>([&] { explain::permutation_importance(score, zeros({5, 2}), 0); }, {"repeats must be >= 1"});
}

}  // namespace
}  // namespace cajal
