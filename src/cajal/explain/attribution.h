#pragma once
// Attributions: how much each input feature (pixel, column) contributed to a model's score
// for a class, by the methods Captum offers, written from their papers.
//
//   explain::ModelFunction f = [&](const Tensor& x) { return model->forward(x); };  // scores [B, C]
//   Tensor targets = from_vector<int64_t>({3, 7}, {2});                      // the class explained, per example
//   Tensor map = explain::integrated_gradients(f, images, targets).attributions;  // shape of images
//   Tensor cam = explain::grad_cam(*model, "layer3", images, targets).heatmap;     // [B, H, W]
//
// Every method takes a batch `inputs` [B, ...] (floating) and `targets` int64 [B] (the class
// whose score, output[:, target], is explained) and returns attributions of the inputs' shape
// (Grad-CAM: one map per example). The model runs in whatever mode it is in: call eval() first,
// so that dropout and batch norm do not change the explanation from one call to the next.
#include <functional>
#include <string>
#include <vector>

#include "cajal/core/tensor.h"

namespace cajal::nn {
class Module;
}

namespace cajal::explain {

// A differentiable model: inputs [B, ...] -> scores [B, C] (logits; any score per class).
using ModelFunction = std::function<Tensor(const Tensor&)>;

// The class scores output[b, targets[b]] as a [B] tensor (errors name a bad target).
Tensor target_scores(const Tensor& output, const Tensor& targets);

// Saliency (Simonyan et al. 2014): the gradient of the target score in the input; its absolute
// value when `absolute` (Captum's Saliency default).
Tensor saliency(const ModelFunction& model, const Tensor& inputs, const Tensor& targets, bool absolute = true);

// Gradient x input (Shrikumar et al. 2016): the gradient times the input, element by element.
Tensor gradient_x_input(const ModelFunction& model, const Tensor& inputs, const Tensor& targets);

// SmoothGrad (Smilkov et al. 2017): the mean gradient over `samples` noisy copies of each input,
// the noise N(0, sigma^2) with sigma = noise_level * (max - min) of that example's values (the
// paper's parameterization), drawn from a Generator seeded with `seed`: sample by sample, one
// randn(inputs.sizes(), inputs' dtype) for the whole batch, scaled by each example's sigma (so a
// caller can redraw the noisy inputs). squared: the mean of squared gradients
// (SmoothGrad-Squared). noise_level 0 and samples 1 is the plain gradient.
struct SmoothGradOptions {
  int64_t samples = 50;
  double noise_level = 0.15;
  bool squared = false;
  uint64_t seed = 0;
};
Tensor smoothgrad(const ModelFunction& model, const Tensor& inputs, const Tensor& targets,
                  const SmoothGradOptions& options = {});

// Integrated Gradients (Sundararajan et al. 2017): (x - x') times the integral over alpha in
// [0, 1] of the gradient at x' + alpha (x - x'), by a quadrature rule with `steps` points:
// Riemann sums (left, right, middle, trapezoid) or Gauss-Legendre (Captum's default). The
// attributions sum to f(x) - f(x') up to the quadrature error ("completeness"); `delta` is that
// error per example, sum(attributions) - (f(x) - f(x')).
enum class Quadrature { riemann_left, riemann_right, riemann_middle, riemann_trapezoid, gauss_legendre };
struct IntegratedGradientsOptions {
  int64_t steps = 50;
  Quadrature quadrature = Quadrature::gauss_legendre;
  Tensor baseline = {};          // x': the inputs' shape, or one example's shape; undefined: zeros
  int64_t points_per_batch = 0;  // interpolation points evaluated per model call (0: all steps at once)
};
struct IntegratedGradientsResult {
  Tensor attributions;  // the inputs' shape
  Tensor delta;         // [B]
};
IntegratedGradientsResult integrated_gradients(const ModelFunction& model, const Tensor& inputs, const Tensor& targets,
                                               const IntegratedGradientsOptions& options = {});

// The quadrature's points alpha in [0, 1] and weights (summing to 1), as Captum's
// approximation_parameters give them: riemann_left alpha_i = i/n, riemann_right (i+1)/n,
// riemann_middle (i+0.5)/n, each with weight 1/n; riemann_trapezoid alpha_i = i/(n-1) with the
// trapezoid rule's weights 1/(n-1), halved at both ends (Captum's own trapezoid weights are 1/n,
// halved at the ends, and sum to (n-1)/n; these sum to 1); gauss_legendre numpy's
// leggauss(n) nodes x and weights w mapped to [0, 1]: alpha = (x+1)/2, weight w/2. steps >= 1
// (>= 2 for the trapezoid), else a ValueError.
struct QuadratureRule {
  std::vector<double> alphas, weights;
};
QuadratureRule quadrature_rule(Quadrature quadrature, int64_t steps);
// "riemann_left", ..., "gauss_legendre"; parsing gives a ValueError listing the names.
const char* quadrature_name(Quadrature quadrature);
Quadrature parse_quadrature(const std::string& name);

// Occlusion (Zeiler and Fergus 2014): a window slides over each example (window and strides
// over the dims after the batch, e.g. {C, 4, 4} and {C, 2, 2} for images); every position
// replaces the window with `baseline` and the drop of the target score, f(x) - f(occluded), is
// credited to each element the window covered, averaged over the windows that covered it
// (elements no window covers get 0). A window or strides of another rank than an example, or a
// window larger than the example, is a ShapeError.
struct OcclusionOptions {
  Dims window = {};
  Dims strides = {};  // empty: the window (no overlap)
  double baseline = 0;
  int64_t windows_per_batch = 64;  // occluded copies evaluated per model call
};
Tensor occlusion(const ModelFunction& model, const Tensor& inputs, const Tensor& targets, const OcclusionOptions& options);

// Grad-CAM (Selvaraju et al. 2017) on the module at `layer` (a dotted path, e.g. "features.6"
// or "layer3") whose output is a feature map A [B, K, h, w]: weights a_k = the mean over h, w of
// d score / d A_k, map = ReLU(sum_k a_k A_k) [B, h, w], and `heatmap`, that map bilinearly
// upsampled to the input's height and width (align_corners false). The layer's output and
// gradient are read through forward and backward hooks (nn::Module::register_forward_hook).
// A layer that does not give 4-D outputs (a Linear, a flattened vector) is a ValueError saying
// Grad-CAM needs a convolutional feature map, naming the layer and the shape it gave; so is a
// layer that is not called through call() exactly once per forward pass (the hooks would see
// no output, or several).
struct GradCamResult {
  Tensor map;      // [B, h, w]
  Tensor heatmap;  // [B, H, W]
};
GradCamResult grad_cam(nn::Module& model, const std::string& layer, const Tensor& inputs, const Tensor& targets);
// The path of the last module producing a 4-D output with more than one position (h * w > 1)
// on `inputs`, pooling layers left out: the Grad-CAM paper's layer, the rectified output of the
// last convolutional block before it is pooled (a global pooling's [B, C, 1, 1] never counts),
// in the order modules return from call() (a container returns after its children, so a block
// is preferred to its last layer). A ValueError when none does.
std::string last_feature_map_layer(nn::Module& model, const Tensor& inputs);

// Permutation feature importance (Breiman 2001; scikit-learn's permutation_importance): the
// drop of `score` (higher is better, e.g. accuracy) when one feature column of `features`
// [N, F] is shuffled, `repeats` times per feature. The permutations come from one Generator
// seeded with `seed`, drawn feature by feature, repeat by repeat (randperm(N) each), so a
// caller can reproduce them.
using ScoreFunction = std::function<double(const Tensor& features)>;
struct PermutationImportance {
  double baseline = 0;    // score on the unshuffled features
  Tensor importances;     // float64 [F, repeats]: baseline - score with that column shuffled
  Tensor mean, std;       // float64 [F]: over the repeats (std with ddof 0, as scikit-learn)
};
PermutationImportance permutation_importance(const ScoreFunction& score, const Tensor& features, int64_t repeats = 5,
                                             uint64_t seed = 0);

}  // namespace cajal::explain
