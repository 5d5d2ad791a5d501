#include "cajal/explain/attention.h"

#include "cajal/autograd/grad_mode.h"
#include "cajal/nn/attention.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/linalg.h"
#include "cajal/ops/reduce.h"

namespace cajal::explain {

namespace {

// Turns recording on for a model's attention layers and off again, even when `run` throws.
class RecordingGuard {
 public:
  explicit RecordingGuard(const std::vector<std::pair<std::string, nn::MultiheadAttentionImpl*>>& layers) : layers_(layers) {
    for (const auto& [name, layer] : layers_) {
      layer->recorded_weights.clear();
      layer->record_weights(true);
    }
  }
  ~RecordingGuard() {
    for (const auto& [name, layer] : layers_) {
      layer->record_weights(false);
      layer->recorded_weights.clear();
    }
  }
  RecordingGuard(const RecordingGuard&) = delete;
  RecordingGuard& operator=(const RecordingGuard&) = delete;

 private:
  const std::vector<std::pair<std::string, nn::MultiheadAttentionImpl*>>& layers_;
};

}  // namespace

std::vector<AttentionMap> attention_maps(nn::Module& model, const std::function<void()>& run) {
  std::vector<std::pair<std::string, nn::MultiheadAttentionImpl*>> layers;
  for (const auto& [name, module] : model.named_modules())
    if (auto* attention = dynamic_cast<nn::MultiheadAttentionImpl*>(module.get())) layers.emplace_back(name, attention);
  if (layers.empty())
    fail<ValueError>("attention maps: the model (", model.name(), ") has no attention layers (MultiheadAttention)");
  RecordingGuard recording(layers);
  run();
  std::vector<AttentionMap> maps;
  for (const auto& [name, layer] : layers)
    for (const Tensor& weights : layer->recorded_weights) maps.push_back({name, weights});
  return maps;
}

Tensor attention_rollout(const std::vector<AttentionMap>& maps, double residual) {
  if (maps.empty()) fail<ValueError>("attention_rollout: no attention maps");
  if (residual < 0 || residual > 1) fail<ValueError>("attention_rollout: residual must be in [0, 1], got ", residual);
  NoGradGuard no_grad;
  Tensor rollout;
  for (const AttentionMap& map : maps) {
    const Tensor& w = map.weights;
    if (w.dim() != 4 || w.size(2) != w.size(3))
      fail<ShapeError>("attention_rollout: ", map.layer, " gives weights of shape ", w.sizes(),
                       "; rollout needs self-attention maps [N, heads, L, L]");
    if (rollout.defined() && w.size(2) != rollout.size(1))
      fail<ShapeError>("attention_rollout: ", map.layer, " attends over ", w.size(2), " positions, the layer before over ",
                       rollout.size(1));
    Tensor layer = w.to(DType::f64).mean({1}) * (1 - residual) + eye(w.size(2), std::nullopt, {.dtype = DType::f64}) * residual;
    layer = layer / layer.sum({2}, true);
    rollout = rollout.defined() ? matmul(layer, rollout) : layer;
  }
  return rollout;
}

}  // namespace cajal::explain
