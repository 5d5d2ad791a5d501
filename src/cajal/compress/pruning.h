#pragma once
// Unstructured magnitude pruning: the smallest weights (by absolute value) of the
// convolution and linear layers become zero and stay zero while the model fine-tunes.
//
//   auto weights = compress::prunable_weights(*model);          // every Conv/Linear weight
//   auto masks = compress::magnitude_masks(weights, 0.8);       // 80% of them, globally
//   compress::apply_masks(weights, masks);
//
// As torch.nn.utils.prune: global scope ranks all weights together
// (prune.global_unstructured with L1Unstructured), layer scope prunes each tensor by the
// same fraction (prune.l1_unstructured); round(sparsity * count) weights are pruned
// (rounded half to even, as torch). Biases and normalization parameters are never pruned.
// For training, PruningCallback keeps the masks (one-shot, or rising on the polynomial
// schedule of Zhu & Gupta 2017) and applies them after every optimizer step.
#include <string>
#include <utility>
#include <vector>

#include "cajal/nn/module.h"
#include "cajal/train/callbacks.h"

namespace cajal::compress {

enum class PruningScope { global, layer };

// The weights pruning acts on: each Conv1d/Conv2d/ConvTranspose2d/Linear layer's `weight`,
// by parameter name, in registration order.
std::vector<std::pair<std::string, Tensor>> prunable_weights(const nn::Module& model);

// Masks (1 keeps, 0 prunes; the weights' shapes and dtype) that prune `sparsity` of the
// weights with the smallest magnitudes. A sparsity outside [0, 1) is a ValueError.
std::vector<Tensor> magnitude_masks(const std::vector<Tensor>& weights, double sparsity,
                                    PruningScope scope = PruningScope::global);

// weights[i] *= masks[i], in place and unrecorded.
void apply_masks(const std::vector<Tensor>& weights, const std::vector<Tensor>& masks);

// The fraction of the elements that are exactly zero.
double sparsity_of(const std::vector<Tensor>& weights);

// The sparsity at optimizer step `step` of a gradual schedule (Zhu & Gupta 2017): `initial`
// until `begin`, then s = final + (initial - final) * (1 - (step - begin) / (end - begin))^3,
// and `final` from `end` on.
double polynomial_sparsity(double initial, double final, int64_t step, int64_t begin, int64_t end);

struct PruningOptions {
  double sparsity = 0.5;  // the final fraction of pruned weights
  PruningScope scope = PruningScope::global;
  bool gradual = false;   // false: prune once, before the first step
  double ramp = 0.75;     // gradual: the fraction of the run's steps over which sparsity rises
  int64_t every = 50;     // gradual: recompute the masks every this many steps
};

// Keeps a model's prunable weights masked through training: prunes at the start (one-shot)
// or on the polynomial schedule (from 0 at the first step to `sparsity` after `ramp` of the
// steps), and re-applies the masks after every optimizer step, so the optimizer's updates
// never revive a pruned weight. The masks travel in checkpoints (state key "pruning").
class PruningCallback : public train::Callback {
 public:
  PruningCallback(const nn::Module& model, PruningOptions options);
  void on_train_begin() override;
  void on_batch_end(int64_t step, const train::Logs& logs) override;
  std::string state_key() const override { return "pruning"; }
  NamedTensors state_dict() const override;
  void load_state_dict(const NamedTensors& state) override;

  double target_sparsity() const { return target_; }  // of the masks now

 private:
  void prune_to(double sparsity);
  int64_t total_steps() const;

  std::vector<std::pair<std::string, Tensor>> weights_;
  std::vector<Tensor> masks_;
  PruningOptions options_;
  double target_ = 0;
};

}  // namespace cajal::compress
