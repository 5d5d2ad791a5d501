#pragma once
// Compression in a supervised config: prune the model while it trains, or teach it from a
// teacher run (`cajal prune` writes the first kind for you; see README "Compression").
//
//   prune:
//     sparsity: 0.8          # the fraction of weights (unstructured) or channels (structured) to remove
//     structured: false      # true: whole channels / units by L1 norm, the layers really shrink
//     scope: global          # unstructured: global (all weights ranked together) | layer
//     schedule: one_shot     # unstructured: one_shot (before the first step) | polynomial
//                            # (Zhu & Gupta 2017: rises from 0 over `ramp` of the steps,
//                            # masks recomputed every `every` steps)
//     ramp: 0.75
//     every: 50
//
//   distill:
//     teacher: runs/fashion_mnist_resnet   # a run folder or model file with the same classes
//     temperature: 4
//     alpha: 0.9                           # weight of the teacher's soft targets (Hinton et al. 2015)
//
//   quantize_aware: true                   # train with int8 rounding simulated (compress/qat.h); the
//                                          # run folder gets model_int8.safetensors beside the float model
//
// Pruning usually starts from a trained run (init_from: RUN); structured pruning happens
// after init_from loads and before the optimizer is made.
#include <optional>
#include <string>

#include "cajal/compress/distillation.h"
#include "cajal/compress/pruning.h"
#include "cajal/models/options.h"

namespace cajal::cli {

struct PruneConfig {
  bool structured = false;
  compress::PruningOptions options;  // unstructured
};

struct DistillConfig {
  std::string teacher;
  compress::DistillationOptions options;
};

// The `prune` and `distill` sections of a config's top level (nullopt when absent).
std::optional<PruneConfig> read_prune(models::Options& root);
std::optional<DistillConfig> read_distill(models::Options& root);

}  // namespace cajal::cli
