#pragma once
// Attention maps of the Transformer layers in a model, per layer and head, and attention
// rollout (Abnar and Zuidema 2020), which follows attention through the layers.
//
//   auto maps = explain::attention_maps(*model, [&] { model->forward(tokens); });
//   maps[0].layer;    // "encoder.layers.0.self_attn"
//   maps[0].weights;  // [N, H, L, S]: how much each query position attends to each key, per head
//   Tensor flow = explain::attention_rollout(maps);  // [N, L, L]
#include <functional>
#include <string>
#include <vector>

#include "cajal/core/tensor.h"

namespace cajal::nn {
class Module;
}

namespace cajal::explain {

struct AttentionMap {
  std::string layer;  // the MultiheadAttention's dotted path in the model
  Tensor weights;     // [N, H, L, S] (batched calls; [H, L, S] unbatched)
};

// Runs `run` (which calls the model) with every MultiheadAttention in `model` recording its
// weights per head, and returns one map per attention call: layer by layer in the model's
// module order (a Transformer's order of calls), a layer's calls in order. A model without
// MultiheadAttention layers is a ValueError.
std::vector<AttentionMap> attention_maps(nn::Module& model, const std::function<void()>& run);

// Rollout of self-attention maps [N, H, L, L] taken in order from the input up: each layer's
// heads averaged, the residual connection added as the identity, A' = (1 - residual) A +
// residual I, rows renormalized to sum to 1, and the layers multiplied:
// R = A'_last ... A'_first, [N, L, L]; R[n, i, j] is how much output position i draws on input
// position j. Maps that are not square (cross-attention) are a ShapeError.
Tensor attention_rollout(const std::vector<AttentionMap>& maps, double residual = 0.5);

}  // namespace cajal::explain
