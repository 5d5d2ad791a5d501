#pragma once
// `cajal train` of the learning-from-little tasks. maml: meta-training on drawn tasks and the
// evaluation on new ones (cli/meta_train.cpp describes the run folder).
#include "cajal/cli/config.h"

namespace cajal::cli {

int train_meta(const RunConfig& config);
// `cajal train` of a `task: protonet` config: episodic training of a Prototypical Network on
// the source classes and its N-way K-shot accuracy on the target classes (cli/few_shot_train.cpp).
int train_protonet(const RunConfig& config);
// `cajal train` of a `task: simclr` or `task: autoencoder` config: self-supervised
// pretraining without labels (cli/self_supervised_train.cpp).
int train_self_supervised(const RunConfig& config);

}  // namespace cajal::cli
