#pragma once
// Learning from little: the sections of `task: maml` and `task: protonet` configs.
//
// A meta-learning run (`task: maml`; see examples/sinusoid_maml.yaml):
//
//   task: maml
//   data: {reader: sinusoid, shots: 10, query: 10}   # K support points per task, query points
//   model: {hidden: [40, 40], activation: relu}      # an MLP from x to y
//   meta:
//     method: maml          # maml | fomaml (first order) | reptile | pretrain (the baseline:
//                           # plain regression on the points of many tasks at once)
//     inner_steps: 1        # SGD steps on a task's support set while meta-training
//     inner_lr: 0.01        # their step size, also used when adapting at evaluation
//     meta_batch: 25        # tasks per meta-step
//     iterations: 70000     # meta-steps (the optimizer section gives the outer optimizer)
//     log_every: 1000       # iterations per metrics.csv row
//   optimizer: {name: adam, lr: 0.001}
//   evaluation: {tasks: 1000, points: 100, steps: [1, 10]}  # new tasks; query points per
//                           # task; inner steps at which the adapted mean squared error is reported
//
// A few-shot run (`task: protonet`; see examples/fashion_mnist_protonet.yaml): the data
// section is a classifier's (data: {reader: idx, ...}), the model the embedding network.
//
//   task: protonet
//   model: {channels: 64, blocks: 4}        # [conv3x3 + batch norm + ReLU + maxpool 2] x blocks
//   few_shot:
//     train_classes: [0, 1, 2, 3, 4]        # episodes of training draw from these (train split)
//     test_classes: [5, 6, 7, 8, 9]         # and of evaluation from these (test split)
//     ways: 5                               # classes per episode
//     shots: 5                              # support examples per class while training
//     queries: 15                           # query examples per class
//     episodes: 2000                        # training episodes
//     test_episodes: 1000                   # evaluation episodes, for each of test_shots
//     test_shots: [1, 5]
//     log_every: 100
//
// Self-supervised pretraining (`task: simclr`; see examples/fashion_mnist_simclr.yaml): data and
// model sections as a classifier's; data.transforms (required) make the two views of every
// image; the model's output layer is the projection (its size: simclr.projection), so a later
// run loads it with init_from and replaces that layer (cli/transfer.h). Labels are not used.
//
//   task: simclr
//   simclr: {temperature: 0.5, projection: 64}
//
// A denoising / masked autoencoder (`task: autoencoder`; examples/fashion_mnist_autoencoder.yaml):
// the same sections, the model's output one value per input value (a last linear layer of
// C*H*W units), trained to undo the corruption below; data.transforms are optional.
//
//   task: autoencoder
//   autoencoder: {noise: 0.5, mask: 0.25}
#include <cstdint>
#include <string>
#include <vector>

#include "cajal/data/episodes.h"
#include "cajal/models/options.h"
#include "cajal/models/presets.h"
#include "cajal/train/meta_learning.h"

namespace cajal::cli {

struct MetaConfig {
  data::SinusoidOptions tasks;
  int64_t shots = 10, query = 10;
  models::MlpOptions model{.hidden = {40, 40}};
  bool pretrain = false;  // the joint-regression baseline instead of a meta-learning method
  train::MetaOptions meta{.method = train::MetaMethod::Maml, .inner_steps = 1, .inner_lr = 0.01};
  int64_t meta_batch = 25, iterations = 70000, log_every = 1000;
  int64_t eval_tasks = 1000, eval_points = 100;
  std::vector<int64_t> eval_steps = {1, 10};

  std::string method_name() const { return pretrain ? "pretrain" : train::meta_method_name(meta.method); }
};

// Reads the data, model, meta and evaluation sections of a `task: maml` config.
MetaConfig read_meta_config(models::Options data, models::Options model, models::Options meta, models::Options evaluation);

struct FewShotConfig {
  models::ProtoNetOptions model;
  std::vector<int64_t> train_classes = {0, 1, 2, 3, 4}, test_classes = {5, 6, 7, 8, 9};
  data::EpisodeOptions episode{.ways = 5, .shots = 5, .queries = 15};
  int64_t episodes = 2000, test_episodes = 1000, log_every = 100;
  std::vector<int64_t> test_shots = {1, 5};
};

// Reads the model and few_shot sections of a `task: protonet` config.
FewShotConfig read_few_shot_config(models::Options model, models::Options few_shot);

struct SimclrConfig {
  double temperature = 0.5;
  int64_t projection = 64;
};
SimclrConfig read_simclr_config(models::Options simclr);

// task: autoencoder: autoencoder: {noise: 0.5, mask: 0.25}; the standard deviation of the
// Gaussian noise added to each (normalized) input value, and the share of values set to 0.
struct AutoencoderConfig {
  double noise = 0.5, mask = 0.25;
};
AutoencoderConfig read_autoencoder_config(models::Options autoencoder);

}  // namespace cajal::cli
