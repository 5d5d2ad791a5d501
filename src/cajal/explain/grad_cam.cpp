// Grad-CAM: a layer's feature maps weighted by the mean gradient of the target score in them,
// read through the layer's forward and backward hooks.
#include <vector>

#include "cajal/autograd/engine.h"
#include "cajal/autograd/grad_mode.h"
#include "cajal/core/error.h"
#include "cajal/explain/attribution.h"
#include "cajal/explain/attribution_checks.h"
#include "cajal/nn/module.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/pool.h"
#include "cajal/ops/reduce.h"

namespace cajal::explain {

GradCamResult grad_cam(nn::Module& model, const std::string& layer, const Tensor& inputs, const Tensor& targets) {
  detail::check_batch("grad_cam", inputs, targets);
  CAJAL_CHECK(inputs.dim() >= 3, ShapeError,
              "grad_cam: inputs must be images [B, C, H, W] (the heatmap takes their last two sizes); got ", inputs.sizes());
  const nn::ModulePtr module = model.get_submodule(layer);  // a ValueError naming a missing part

  // The hooks record the layer's output A and, when backward passes it, d score / d A.
  Tensor features, gradient;
  int calls = 0;
  const auto forward_hook = module->register_forward_hook([&](nn::Module&, const Tensor&, const Tensor& output) {
    features = output;
    ++calls;
    return Tensor();
  });
  const auto backward_hook = module->register_backward_hook([&](nn::Module&, const Tensor& grad_output) {
    gradient = grad_output;
    return Tensor();
  });

  GradModeGuard grad_on(true);
  const Tensor x = inputs.detach().requires_grad_(true);  // so that every layer's output has a gradient history
  const Tensor scores = target_scores(model.call(x), targets);
  CAJAL_CHECK(calls == 1, ValueError, "grad_cam: layer '", layer, "' (", module->name(), ") ran ", calls,
              " times in one forward pass; Grad-CAM needs a layer called once, through call() (or its holder)");
  CAJAL_CHECK(features.dim() == 4, ValueError, "Grad-CAM needs a convolutional feature map [B, C, H, W]; layer '", layer,
              "' (", module->name(), ") gives ", features.sizes());
  // Backward from the scores down to the layer (no parameter's .grad() changes); on its way it
  // passes the layer's output, where the backward hook records the gradient.
  autograd::grad({scores.sum()}, {features});
  CAJAL_CHECK(gradient.defined(), ValueError, "grad_cam: no gradient reached layer '", layer, "'");

  const Tensor weights = gradient.mean({2, 3}, /*keepdim=*/true);        // a_k: [B, K, 1, 1]
  const Tensor map = relu((weights * features.detach()).sum({1}));       // [B, h, w]
  const Tensor heatmap = interpolate(map.unsqueeze(1), {.size = {inputs.size(-2), inputs.size(-1)},
                                                        .mode = InterpolateMode::Bilinear,
                                                        .align_corners = false})
                             .squeeze(1);
  return {map, heatmap};
}

std::string last_feature_map_layer(nn::Module& model, const Tensor& inputs) {
  std::string last;
  std::vector<nn::Module::HookHandle> hooks;
  for (const auto& [path, module] : model.named_modules()) {
    if (path.empty()) continue;  // the model itself
    hooks.push_back(module->register_forward_hook([&last, path = path](nn::Module& m, const Tensor&, const Tensor& output) {
      const bool pooling = m.name().find("Pool") != std::string::npos;
      if (output.dim() == 4 && output.size(2) * output.size(3) > 1 && !pooling) last = path;
      return Tensor();
    }));
  }
  {
    NoGradGuard no_grad;
    model.call(inputs.detach());
  }
  CAJAL_CHECK(!last.empty(), ValueError, "last_feature_map_layer: no layer of ", model.name(),
              " gives a feature map [B, C, H, W] larger than 1x1 on inputs ", inputs.sizes(),
              "; Grad-CAM needs a convolutional layer");
  return last;
}

}  // namespace cajal::explain
