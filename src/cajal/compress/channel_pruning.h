#pragma once
// Structured pruning: whole output channels of convolutions (units of linear layers) go,
// and the layers that read them shrink with them, so the model is really smaller and faster.
//
//   compress::LayerWidths kept = compress::prune_channels(*model, 0.5);   // {{"0", 16}, {"4", 32}, ...}
//
// Works on a chain of layers (an nn::Sequential: the mlp, lenet5 and cnn presets, `layers:`
// configs): a Conv2d or Linear layer whose outputs reach the next Conv2d or Linear through
// per-channel layers only (batch norm, activations, pooling, dropout, flatten) is pruned;
// the last one (the model's outputs) never is. Channels are ranked by the L1 norm of their
// weights, as torch.nn.utils.prune.ln_structured(n=1, dim=0) ranks them, and round(fraction
// * channels) of the smallest go (rounded half to even, as torch); the batch norm between
// keeps the same channels, and the next layer drops the matching inputs (after a flatten,
// each channel's block of features).
#include <string>
#include <utility>
#include <vector>

#include "cajal/nn/module.h"

namespace cajal::compress {

// A pruned layer's name in the Sequential and the outputs it kept.
using LayerWidths = std::vector<std::pair<std::string, int64_t>>;

// Prunes `fraction` (in [0, 1)) of the channels of every prunable layer of `model`, in place,
// and returns the widths kept. A model that is not an nn::Sequential, or has no prunable
// layer, is a ValueError saying why.
LayerWidths prune_channels(nn::Module& model, double fraction);

// Gives the layers named in `widths` that many outputs (their first ones), in place: the
// shape of a pruned model, rebuilt from its description before its weights are loaded.
void resize_channels(nn::Module& model, const LayerWidths& widths);

}  // namespace cajal::compress
