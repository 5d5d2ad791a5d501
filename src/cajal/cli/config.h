#pragma once
// The config file of `cajal train`, in YAML (see examples/*.yaml):
//
//   data:
//     reader: idx                    # idx | csv | npy | image_folder | text | series (cli/sequence.h)
//     train: {inputs: .../train-images-idx3-ubyte.gz, targets: .../train-labels-idx1-ubyte.gz}
//     test: {inputs: ..., targets: ...}          # csv, image_folder: a path (file or folder)
//     validation_split: 0.1          # held out of train, chosen by split_seed (default: seed)
//     normalize: true                # per-channel mean and std of the training split
//     transforms: [{type: random_crop, padding: 2}, {type: random_horizontal_flip}]
//     class_names: [T-shirt/top, Trouser, ...]   # idx, npy: the name of class 0, 1, ...
//     classes: [5, 6, 7, 8, 9]       # only these classes, renumbered 0..4 (a target task)
//     per_class: 100                 # training examples kept of each class (few labels)
//   model: {preset: cnn, options: {dropout: 0.25}}   # or {layers: [{type: conv2d, ...}, ...]}
//   loss: cross_entropy
//   optimizer: {name: adamw, lr: 0.002, weight_decay: 0.05}
//   schedule: {name: onecycle, max_lr: 0.006}
//   epochs: 8
//   batch_size: 128
//   seed: 0
//   num_workers: 2
//   callbacks:
//     early_stopping: {monitor: val_loss, patience: 3}
//     checkpoint: {monitor: val_accuracy, mode: max}
//     grad_clip: {max_norm: 1.0}     # default: 1.0 for models with recurrent layers, else off
//   output: runs/fashion_mnist_cnn
//
// `task: vae` and `task: gan` train generative models instead: their model and evaluation
// sections are described in cli/generative_config.h; `task: maml` (meta-learning on drawn
// tasks), `task: protonet` (few-shot episodes) and `task: simclr` (contrastive pretraining) and `task:
// autoencoder` (denoising)
// in cli/meta_config.h.
//
// Every key is checked when the file is loaded: a typo is one line naming the nearest key
// ("config.yaml: unknown key 'optimiser'; did you mean 'optimizer'?"), a value of the wrong
// type names the key and the value. `--set key.sub=value` overrides are applied to the
// YAML first, so they are checked the same way. Paths are relative to the working directory.
#include <array>
#include <optional>
#include <string>
#include <vector>

#include "cajal/cli/compress_config.h"
#include "cajal/cli/generative_config.h"
#include "cajal/cli/meta_config.h"
#include "cajal/cli/model_config.h"
#include "cajal/cli/optim_config.h"
#include "cajal/cli/sequence.h"
#include "cajal/cli/transfer.h"
#include "cajal/data/dataset.h"
#include "cajal/models/layers.h"
#include "cajal/models/options.h"
#include "cajal/train/callbacks.h"

namespace cajal::cli {

// One split's files: `path` (csv: the table; image_folder: the folder) or `inputs` and
// `targets` (idx: images and labels files; npy: two .npy files).
struct SplitFiles {
  std::string path;
  std::string inputs, targets;
  bool given() const { return !path.empty() || !inputs.empty(); }
};

struct DataConfig {
  std::string reader;
  SplitFiles train, test;
  // csv
  std::string label_column = "-1";  // a header name, or a 0-based index (negative from the end)
  std::string labels = "indices";   // indices | names | values (regression)
  std::vector<std::string> ignore_columns;  // columns kept out of the features (ids, a sensitive attribute)
  // Reweighing (Kamiran and Calders 2012): an ignored column whose groups the training loss
  // balances, each example weighted so that label and group look independent; "": none.
  std::string reweigh;
  // image_folder
  int64_t channels = 3;
  std::array<int64_t, 2> image_size = {0, 0};  // 0: keep each image's size
  // every reader
  double validation_split = 0;  // fraction of train held out for validation; 0: none
  uint64_t split_seed = 0;
  bool normalize = false;
  std::vector<double> mean, std;  // given statistics; empty: computed on the training split
  std::vector<data::Transform> transforms;  // augmentation of the training split, in order
  int64_t num_classes = 0;  // 0: the largest label + 1 (or the class names' count)
  // A task of some classes (transfer learning): only these labels, renumbered 0..k-1 in this
  // order, in every split; empty: all. per_class > 0 keeps that many training examples of
  // each class (drawn by split_seed, before the validation split).
  std::vector<int64_t> classes;
  int64_t per_class = 0;
  std::vector<std::string> class_names;  // idx, npy: the name of each class index, in order; empty: none
  TextDataConfig text;      // reader text
  SeriesDataConfig series;  // reader series
};

// A monitor left "" watches val_loss, or the training loss when there is no validation split.
struct CallbacksConfig {
  std::optional<train::EarlyStoppingOptions> early_stopping;
  train::ModelCheckpointOptions checkpoint;
  std::optional<double> clip_grad_norm;  // not given: 1.0 for models with recurrent layers, else off
  double clip_grad_value = 0;
};

// Data-parallel training under mpirun (supervised runs): the DistributedDataParallel
// options; ignored in a single process.
struct DistributedConfig {
  double bucket_mb = 25;
  bool sync_batchnorm = false;  // batch norm statistics of the global batch (SyncBatchNorm)
};

struct RunConfig {
  std::string path;  // the config file
  std::string text;  // the YAML with overrides applied: what the run folder and checkpoints keep
  // supervised (classification, regression, language models; the default) | vae | gan | maml | protonet | simclr | autoencoder
  std::string task = "supervised";
  DataConfig data;
  ModelConfig model;              // supervised
  GenerativeConfig generative;    // vae, gan (cli/generative_config.h)
  EvaluationConfig evaluation;    // vae, gan
  TransferConfig transfer;        // supervised: init_from, freeze, ... (cli/transfer.h)
  std::optional<PruneConfig> prune;      // supervised (cli/compress_config.h)
  std::optional<DistillConfig> distill;  // supervised
  bool quantize_aware = false;           // supervised: train with int8 rounding simulated (compress/qat.h)
  DistributedConfig distributed;         // supervised, under mpirun
  MetaConfig meta;                // maml (cli/meta_config.h)
  FewShotConfig few_shot;         // protonet (cli/meta_config.h)
  SimclrConfig simclr;            // simclr (cli/meta_config.h)
  AutoencoderConfig autoencoder;  // autoencoder (cli/meta_config.h)
  LossSpec loss;
  OptimizerSpec optimizer;
  ScheduleSpec schedule;
  int64_t epochs = 10;
  int64_t batch_size = 64;
  uint64_t seed = 0;
  int64_t num_workers = 2;
  CallbacksConfig callbacks;
  std::string output;  // the run folder; default runs/<config file name without extension>
};

// Reads and checks `path` with `overrides` ("key.sub=value") applied. Every problem is an
// Error whose message starts with the file name (or "--set" for a malformed override).
RunConfig load_config(const std::string& path, const std::vector<std::string>& overrides = {});

// The same from YAML text (`name` stands for the file in messages).
RunConfig parse_config(const std::string& yaml, const std::string& name, const std::vector<std::string>& overrides = {});

// A generative model section (`task` vae or gan) from YAML text, as model files store it.
GenerativeConfig parse_generative_config(const std::string& yaml, const std::string& task, const std::string& name);
// The model section as one line of YAML (flow style), for model files' metadata.
std::string model_config_yaml(const std::string& config_yaml);

}  // namespace cajal::cli
