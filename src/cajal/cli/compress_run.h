#pragma once
// How a supervised run's `prune` and `distill` sections (cli/compress_config.h) enter
// `cajal train`: structured pruning between loading init_from and making the optimizer,
// unstructured pruning as a training callback, distillation as the training loss.
#include <functional>
#include <memory>
#include <ostream>
#include <vector>

#include "cajal/cli/config.h"
#include "cajal/cli/data_config.h"
#include "cajal/cli/model_file.h"
#include "cajal/compress/channel_pruning.h"
#include "cajal/compress/pruning.h"
#include "cajal/compress/qat.h"
#include "cajal/data/loader.h"

namespace cajal::cli {

// prepare_transfer (cli/transfer.h) with structured pruning after init_from has loaded:
// `pruned_widths` receives the widths kept (left empty without structured pruning).
std::vector<ParamGroupRequest> prepare_transfer_and_prune(const RunConfig& config, nn::Module& model, int64_t classes,
                                                          compress::LayerWidths& pruned_widths, std::ostream& log);

// The callback of unstructured pruning; null unless the config prunes that way.
std::shared_ptr<compress::PruningCallback> make_pruning_callback(const RunConfig& config, const nn::Module& model);

// The distillation loss for training: the teacher run named by `config` loaded and checked
// against the data (same example shape, classes and class names; an error naming what
// differs), run in eval mode without gradients on every batch, its inputs normalized as its
// own training normalized them.
std::function<Tensor(const Tensor&, const data::Batch&)> make_distillation_loss(const DistillConfig& config,
                                                                                const Prepared& data, std::ostream& log);

// The first `count` examples of `dataset` (all by default), stacked: inputs and targets.
std::pair<Tensor, Tensor> first_examples(const data::Dataset& dataset, int64_t count = -1);

// The accuracy of a classifier on a whole dataset, in batches of 1000.
double dataset_accuracy(nn::Module& model, const data::Dataset& dataset);

// After quantization-aware training: converts, prints the int8 model's test accuracy (when
// the data has a test split) and writes it as `path` with `info` marked int8.
void finish_quantize_aware(const compress::QatSequentialImpl& qat, ModelInfo info, const Prepared& data, const std::string& path,
                           std::ostream& log);

}  // namespace cajal::cli
