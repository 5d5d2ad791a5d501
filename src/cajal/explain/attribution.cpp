// The gradient methods: saliency, gradient x input, SmoothGrad and Integrated Gradients, all
// built on one helper, target_gradient, and the quadrature rules Integrated Gradients uses.
// Occlusion and permutation importance are in perturbation.cpp, Grad-CAM in grad_cam.cpp.
#include "cajal/explain/attribution.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <utility>

#include "cajal/autograd/engine.h"
#include "cajal/autograd/grad_mode.h"
#include "cajal/core/error.h"
#include "cajal/core/generator.h"
#include "cajal/explain/attribution_checks.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/random.h"
#include "cajal/ops/reduce.h"
#include "cajal/ops/shape.h"

namespace cajal::explain {

using detail::check_batch;
using detail::per_example_shape;

Tensor target_scores(const Tensor& output, const Tensor& targets) {
  CAJAL_CHECK(output.defined() && output.dim() == 2, ShapeError,
              "target_scores: the model must give scores [B, C] (one per class); got ", output.defined() ? output.sizes() : Dims{});
  CAJAL_CHECK(targets.defined() && targets.dtype() == DType::i64 && targets.dim() == 1 && targets.size(0) == output.size(0),
              ShapeError, "target_scores: targets must be int64 [B] with one class per example (B = ", output.size(0),
              "); got ", targets.defined() ? dtype_name(targets.dtype()) : "undefined", " ",
              targets.defined() ? targets.sizes() : Dims{});
  const int64_t classes = output.size(1);
  const std::vector<int64_t> values = targets.contiguous().to_vector<int64_t>();
  for (size_t b = 0; b < values.size(); ++b)
    CAJAL_CHECK(values[b] >= 0 && values[b] < classes, IndexError, "target_scores: target ", values[b], " of example ", b,
                " is not a class of the model's ", classes, " outputs (0 to ", classes - 1, ")");
  return gather(output, 1, targets.unsqueeze(1)).squeeze(1);
}

namespace {

// The model's target scores on `inputs` [N, ...] and d(sum_n score_n) / d inputs. An example's
// score depends on its own input only (eval mode), so this one gradient holds every example's
// gradient. autograd::grad leaves every parameter's .grad() as it was.
struct ScoresAndGradient {
  Tensor scores;    // [N], without history
  Tensor gradient;  // the inputs' shape
};
ScoresAndGradient target_gradient(const ModelFunction& model, const Tensor& inputs, const Tensor& targets) {
  GradModeGuard grad_on(true);
  Tensor x = inputs.detach().requires_grad_(true);
  Tensor scores = target_scores(model(x), targets);
  Tensor gradient = autograd::grad({scores.sum()}, {x}, {}, false, false, /*allow_unused=*/true)[0];
  if (!gradient.defined()) gradient = zeros_like(inputs);  // scores that do not depend on the inputs
  return {scores.detach(), gradient};
}

// The target scores without a gradient.
Tensor scores_of(const ModelFunction& model, const Tensor& inputs, const Tensor& targets) {
  NoGradGuard no_grad;
  return target_scores(model(inputs), targets);
}

}  // namespace

Tensor saliency(const ModelFunction& model, const Tensor& inputs, const Tensor& targets, bool absolute) {
  check_batch("saliency", inputs, targets);
  Tensor gradient = target_gradient(model, inputs, targets).gradient;
  return absolute ? gradient.abs() : gradient;
}

Tensor gradient_x_input(const ModelFunction& model, const Tensor& inputs, const Tensor& targets) {
  check_batch("gradient_x_input", inputs, targets);
  return target_gradient(model, inputs, targets).gradient * inputs.detach();
}

Tensor smoothgrad(const ModelFunction& model, const Tensor& inputs, const Tensor& targets, const SmoothGradOptions& options) {
  check_batch("smoothgrad", inputs, targets);
  CAJAL_CHECK(options.samples >= 1, ValueError, "smoothgrad: samples must be at least 1; got ", options.samples);
  CAJAL_CHECK(options.noise_level >= 0 && std::isfinite(options.noise_level), ValueError,
              "smoothgrad: noise_level (the noise's standard deviation as a fraction of each example's range) must be "
              "finite and >= 0; got ",
              options.noise_level);
  const Tensor x = inputs.detach();
  // sigma = noise_level * (max - min) of each example: [B, 1, ..., 1].
  const Tensor flat = x.reshape({x.size(0), x.numel() / x.size(0)});
  const Tensor range = max(flat, 1).values - min(flat, 1).values;
  const Tensor sigma = (range * options.noise_level).reshape(per_example_shape(x));
  Generator gen(options.seed);
  Tensor total = zeros_like(x);
  for (int64_t s = 0; s < options.samples; ++s) {
    const Tensor noisy = x + randn(x.sizes(), {.dtype = x.dtype()}, &gen) * sigma;
    const Tensor gradient = target_gradient(model, noisy, targets).gradient;
    total += options.squared ? gradient * gradient : gradient;
  }
  return total / options.samples;
}

// ------------------------------------------------------------------ quadrature

namespace {

constexpr std::pair<Quadrature, const char*> kQuadratureNames[] = {
    {Quadrature::riemann_left, "riemann_left"},           {Quadrature::riemann_right, "riemann_right"},
    {Quadrature::riemann_middle, "riemann_middle"},       {Quadrature::riemann_trapezoid, "riemann_trapezoid"},
    {Quadrature::gauss_legendre, "gauss_legendre"},
};

// P_n(x) and P_n'(x), the Legendre polynomial of degree n >= 1, by the three-term recurrence
// k P_k = (2k - 1) x P_{k-1} - (k - 1) P_{k-2}; the derivative from n (x P_n - P_{n-1}) / (x^2 - 1).
std::pair<double, double> legendre(int64_t n, double x) {
  double previous = 1, current = x;  // P_0, P_1
  for (int64_t k = 2; k <= n; ++k) {
    const double next = ((2 * k - 1) * x * current - (k - 1) * previous) / k;
    previous = current;
    current = next;
  }
  return {current, n * (x * current - previous) / (x * x - 1)};
}

// The n-point Gauss-Legendre rule on [-1, 1], nodes ascending as numpy's leggauss: the roots of
// P_n by Newton's method from Tricomi's estimates cos(pi (i + 3/4) / (n + 1/2)), weights
// 2 / ((1 - x^2) P_n'(x)^2). Computed for the positive roots and mirrored, so the rule is
// exactly symmetric (an odd n has the root 0).
void gauss_legendre(int64_t n, std::vector<double>& nodes, std::vector<double>& weights) {
  nodes.assign(n, 0.0);
  weights.assign(n, 0.0);
  for (int64_t i = 0; i < (n + 1) / 2; ++i) {  // i = 0 is the largest root
    double x = std::cos(std::numbers::pi * (i + 0.75) / (n + 0.5));
    if (2 * i + 1 == n) x = 0;  // the middle root of an odd n
    for (int iteration = 0; iteration < 100; ++iteration) {
      const auto [p, dp] = legendre(n, x);
      const double step = p / dp;
      x -= step;
      if (std::abs(step) <= 1e-16) break;
    }
    const double dp = legendre(n, x).second;
    const double w = 2 / ((1 - x * x) * dp * dp);
    nodes[n - 1 - i] = x;
    nodes[i] = -x;
    weights[n - 1 - i] = weights[i] = w;
  }
}

}  // namespace

const char* quadrature_name(Quadrature quadrature) {
  for (const auto& [q, name] : kQuadratureNames)
    if (q == quadrature) return name;
  fail<ValueError>("quadrature_name: unknown quadrature ", static_cast<int>(quadrature));
}

Quadrature parse_quadrature(const std::string& name) {
  std::string known;
  for (const auto& [q, text] : kQuadratureNames) {
    if (name == text) return q;
    known += known.empty() ? text : std::string(", ") + text;
  }
  fail<ValueError>("unknown quadrature '", name, "'; the quadratures are ", known);
}

QuadratureRule quadrature_rule(Quadrature quadrature, int64_t steps) {
  const int64_t minimum = quadrature == Quadrature::riemann_trapezoid ? 2 : 1;
  CAJAL_CHECK(steps >= minimum, ValueError, "the ", quadrature_name(quadrature), " quadrature needs at least ", minimum,
              " step", minimum > 1 ? "s" : "", "; got steps = ", steps);
  const double n = static_cast<double>(steps);
  QuadratureRule rule;
  rule.alphas.resize(steps);
  rule.weights.assign(steps, 1 / n);
  for (int64_t i = 0; i < steps; ++i) {
    switch (quadrature) {
      case Quadrature::riemann_left: rule.alphas[i] = i / n; break;
      case Quadrature::riemann_right: rule.alphas[i] = (i + 1) / n; break;
      case Quadrature::riemann_middle: rule.alphas[i] = (i + 0.5) / n; break;
      case Quadrature::riemann_trapezoid:
        rule.alphas[i] = i / (n - 1);
        rule.weights[i] = (i == 0 || i == steps - 1 ? 0.5 : 1.0) / (n - 1);
        break;
      case Quadrature::gauss_legendre: break;
    }
  }
  if (quadrature == Quadrature::gauss_legendre) {
    gauss_legendre(steps, rule.alphas, rule.weights);
    for (int64_t i = 0; i < steps; ++i) {
      rule.alphas[i] = (rule.alphas[i] + 1) / 2;
      rule.weights[i] /= 2;
    }
  }
  return rule;
}

// ------------------------------------------------------------------ integrated gradients

namespace {

// x' as a tensor of the inputs' shape: zeros, the given baseline, or one example's baseline
// repeated over the batch.
Tensor full_baseline(const Tensor& baseline, const Tensor& x) {
  if (!baseline.defined()) return zeros_like(x);
  CAJAL_CHECK(baseline.is_floating_point(), DTypeError, "integrated_gradients: the baseline must be floating; got ",
              baseline.dtype());
  const Dims example(x.sizes().begin() + 1, x.sizes().end());
  const Tensor b = baseline.detach().to(x.dtype());
  if (b.sizes() == x.sizes()) return b;
  if (b.sizes() == example) return b.unsqueeze(0).expand(x.sizes());
  fail<ShapeError>("integrated_gradients: the baseline must have the inputs' shape ", x.sizes(), " or one example's shape ",
                   example, "; got ", b.sizes());
}

}  // namespace

IntegratedGradientsResult integrated_gradients(const ModelFunction& model, const Tensor& inputs, const Tensor& targets,
                                               const IntegratedGradientsOptions& options) {
  check_batch("integrated_gradients", inputs, targets);
  CAJAL_CHECK(options.points_per_batch >= 0, ValueError,
              "integrated_gradients: points_per_batch must be >= 0 (0: all steps at once); got ", options.points_per_batch);
  const QuadratureRule rule = quadrature_rule(options.quadrature, options.steps);
  const Tensor x = inputs.detach();
  const Tensor baseline = full_baseline(options.baseline, x);
  const Tensor difference = x - baseline;
  const int64_t batch = x.size(0), steps = options.steps;
  const int64_t chunk = options.points_per_batch > 0 ? std::min(options.points_per_batch, steps) : steps;

  // integral = sum_i w_i * gradient at x' + alpha_i (x - x'), `chunk` points per model call:
  // the points are stacked point after point into one batch [count * B, ...].
  Tensor integral = zeros_like(x);
  for (int64_t first = 0; first < steps; first += chunk) {
    const int64_t count = std::min(chunk, steps - first);
    TensorList points;
    for (int64_t i = first; i < first + count; ++i) points.push_back(baseline + difference * rule.alphas[i]);
    const Tensor gradients = target_gradient(model, cat(points), repeat(targets, {count})).gradient;
    for (int64_t i = first; i < first + count; ++i)
      integral += gradients.narrow(0, (i - first) * batch, batch) * rule.weights[i];
  }
  const Tensor attributions = difference * integral;

  // Completeness: the attributions should sum to f(x) - f(x').
  const Tensor ends = scores_of(model, cat({x, baseline}), repeat(targets, {2}));
  const Tensor change = ends.narrow(0, 0, batch) - ends.narrow(0, batch, batch);
  const Tensor total = attributions.reshape({batch, x.numel() / batch}).sum({1});
  return {attributions, total - change};
}

}  // namespace cajal::explain
