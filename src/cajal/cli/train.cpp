// `cajal train CONFIG.yaml [--set key=value ...] [--resume RUN/last.ckpt]`
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cajal/cli/args.h"
#include "cajal/cli/commands.h"
#include "cajal/cli/compress_run.h"
#include "cajal/cli/config.h"
#include "cajal/cli/data_config.h"
#include "cajal/cli/generative_run.h"
#include "cajal/cli/meta_run.h"
#include "cajal/cli/model_file.h"
#include "cajal/cli/run_report.h"
#include "cajal/core/error.h"
#include "cajal/core/generator.h"
#include "cajal/dist/dist.h"
#include "cajal/io/atomic_file.h"
#include "cajal/io/safetensors.h"
#include "cajal/models/sequence.h"
#include "cajal/nn/distributed.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/elementwise.h"
#include "cajal/train/trainer.h"

namespace cajal::cli {

namespace {

// An Error message prefixed with the config file, unless it names a file already.
[[noreturn]] void rethrow_in(const std::string& path, const Error& e) {
  std::string message = e.what();
  if (message.starts_with(path)) throw;
  fail<ValueError>(path, ": ", message);
}

// "" -> val_loss with a validation split, else loss; a val_ metric without one is an error.
std::string resolve_monitor(const std::string& monitor, bool has_val, const std::string& key) {
  if (monitor.empty()) return has_val ? "val_loss" : "loss";
  if (monitor.starts_with("val_") && !has_val) {
    fail<ValueError>(key, ".monitor: '", monitor, "' needs a validation split (data.validation_split > 0)");
  }
  return monitor;
}

// How to make the loss and the targets agree: read the targets the other way, or change the loss.
std::string loss_mismatch_fix(const DataConfig& data, bool classification) {
  if (classification) {
    return data.reader == "csv" ? "to regress on the label column's numbers, set data.labels: values (or use loss: cross_entropy)"
                                : "use loss: cross_entropy (or nll)";
  }
  return data.reader == "csv" ? "to classify, set data.labels: indices or names (or use loss: mse, l1, smooth_l1 or huber)"
                              : "use loss: mse, l1, smooth_l1 or huber";
}

// Whether a checkpoint is past its run's first epoch, so that its run folder holds metrics.csv.
bool resumes_an_epoch(const std::string& checkpoint) {
  const SafetensorsMetadata metadata = load_safetensors_metadata(checkpoint);
  auto epochs = metadata.find("epochs_done");
  return epochs != metadata.end() && epochs->second != "0";
}

// Ranks other than 0 print nothing on stdout (their errors still reach stderr).
class SilenceOtherRanks {
 public:
  explicit SilenceOtherRanks(int rank) {
    if (rank != 0) saved_ = std::cout.rdbuf(nullptr);
  }
  ~SilenceOtherRanks() {
    if (saved_) std::cout.rdbuf(saved_);
  }
  SilenceOtherRanks(const SilenceOtherRanks&) = delete;
  SilenceOtherRanks& operator=(const SilenceOtherRanks&) = delete;

 private:
  std::streambuf* saved_ = nullptr;
};

// Every rank must train the same run: a hash (FNV-1a) of the config text and the model's
// parameter names and shapes, compared across ranks before the first step.
void check_same_run_on_every_rank(const RunConfig& config, const nn::Module& model) {
  std::string text = config.text;
  for (const auto& [name, p] : model.named_parameters()) {
    text += "\n" + name;
    for (int64_t d : p.sizes()) text += " " + std::to_string(d);
  }
  uint64_t hash = 1469598103934665603ull;
  for (unsigned char c : text) hash = (hash ^ c) * 1099511628211ull;
  const auto mine = static_cast<int64_t>(hash >> 1);  // non-negative, for a readable message
  const std::vector<int64_t> all = dist::all_gather(from_vector(std::vector<int64_t>{mine}, {1})).to_vector<int64_t>();
  for (size_t r = 1; r < all.size(); ++r)
    if (all[r] != all[0])
      fail<ValueError>("data-parallel training: rank ", r, " has another config or model than rank 0 (hash ", all[r], " vs ",
                       all[0], "); every rank must run the same config file and overrides");
}

}  // namespace

int train_command(const std::vector<std::string>& argv) {
  Args args = parse_args(argv, "train", {"--set", "--resume", "--output"});
  if (args.positional.size() != 1) fail<UsageError>("cajal train: expected one config file (cajal train CONFIG.yaml)");
  const std::string& path = args.positional[0];
  std::vector<std::string> overrides = args.all("--set");
  if (auto output = args.value("--output")) overrides.push_back("output=" + *output);
  RunConfig config = load_config(path, overrides);
  // Under mpirun every rank runs this command; rank 0 writes the run folder and prints.
  dist::init();
  const int rank = dist::rank(), world = dist::world_size();
  SilenceOtherRanks silence(rank);
  std::string resume = args.value("--resume").value_or("");
  if (!resume.empty() && !std::filesystem::is_regular_file(resume)) fail<IOError>(resume, ": no such checkpoint file");
  if (world > 1 && config.task != "supervised")
    fail<UsageError>("cajal train: data-parallel training (", world, " ranks) runs supervised models; task ", config.task,
                     " trains in one process");
  if (config.task == "maml" || config.task == "protonet" || config.task == "simclr" || config.task == "autoencoder") {
    if (!resume.empty()) fail<UsageError>("cajal train: task ", config.task, " runs write no checkpoints to resume from");
    try {
      if (config.task == "simclr" || config.task == "autoencoder") return train_self_supervised(config);
      return config.task == "maml" ? train_meta(config) : train_protonet(config);
    } catch (const Error& e) {
      rethrow_in(path, e);
    }
  }
  if (config.task != "supervised") {
    try {
      return train_generative(config, resume);
    } catch (const Error& e) {
      rethrow_in(path, e);
    }
  }

  // Everything is built and checked before the first step.
  Prepared data;
  nn::ModulePtr model;
  LossSpec loss;
  std::vector<ParamGroupRequest> groups;  // for the optimizer: all trainable parameters, by param_groups
  compress::LayerWidths pruned_widths;
  std::function<Tensor(const Tensor&, const data::Batch&)> training_loss;  // distillation or reweighing; empty: `loss`
  std::shared_ptr<compress::QatSequentialImpl> qat;  // quantize_aware: `model` is this wrapper of the float model
  try {
    data = prepare_data(config.data, config.seed);
    loss = resolve_loss(config.loss, data.classification);
    if (data.classification != (loss.name == "cross_entropy" || loss.name == "nll")) {
      fail<ValueError>("loss '", loss.name, "' does not fit ", data.classification ? "class labels" : "target values", "; ",
                       loss_mismatch_fix(config.data, data.classification));
    }
    manual_seed(config.seed);  // initial weights and dropout follow the seed
    model = build_model(config.model, data.input);
    if (world > 1 && config.distributed.sync_batchnorm) nn::convert_sync_batchnorm(*model);
    if (data.input.per_step) loss.function = per_step_loss(loss.function);
    groups = prepare_transfer_and_prune(config, *model, data.input.num_classes, pruned_widths, std::cout);
    if (config.distill) training_loss = make_distillation_loss(*config.distill, data, std::cout);
    if (!config.data.reweigh.empty()) {
      if (config.distill) fail<ValueError>("data.reweigh and distill cannot be combined (each sets the training loss)");
      if (!loss.per_example) fail<ValueError>("data.reweigh needs a loss over class labels (cross_entropy or nll), not ", loss.name);
      // The weighted mean over the batch: sum(w * loss) / sum(w).
      training_loss = [per_example = loss.per_example](const Tensor& output, const data::Batch& batch) {
        return (per_example(output, batch.target) * batch.weight).sum() / batch.weight.sum();
      };
      std::cout << "reweighing: training examples weighted by group and label (" << config.data.reweigh << ")" << std::endl;
    }
    if (config.quantize_aware) {
      qat = std::make_shared<compress::QatSequentialImpl>(model, data.input.shape);
      model = qat;
      std::cout << "quantization-aware training: int8 rounding simulated at every weight and step output" << std::endl;
    }
  } catch (const Error& e) {
    rethrow_in(path, e);
  }
  std::unique_ptr<optim::Optimizer> optimizer = config.optimizer.make_groups(groups);
  if (world > 1) check_same_run_on_every_rank(config, *model);
  data::DataLoader train_loader(data.train, {.batch_size = config.batch_size, .shuffle = true,
                                             .num_workers = config.num_workers, .seed = config.seed,
                                             .num_replicas = world, .rank = rank});
  std::unique_ptr<data::DataLoader> val_loader, test_loader;
  // Evaluation uses the training batch size: its activations then reuse the blocks training
  // freed (core/storage.cpp's cache) instead of adding a second set to the peak memory.
  data::LoaderOptions eval_options{.batch_size = config.batch_size, .num_workers = config.num_workers};
  if (data.val) val_loader = std::make_unique<data::DataLoader>(data.val, eval_options);
  if (data.test) test_loader = std::make_unique<data::DataLoader>(data.test, eval_options);

  // Recurrent models clip gradients unless the config says otherwise (exploding gradients).
  const bool recurrent = models::has_recurrent_layers(*model);
  train::TrainerOptions trainer_options{.training_loss = training_loss,
                                        .clip_grad_norm = config.callbacks.clip_grad_norm.value_or(recurrent ? 1.0 : 0.0),
                                        .clip_grad_value = config.callbacks.clip_grad_value,
                                        .perplexity = data.input.per_step,
                                        .progress = rank == 0,
                                        .config = config.text};
  std::shared_ptr<nn::DistributedDataParallelImpl> ddp;
  if (world > 1) {
    ddp = std::make_shared<nn::DistributedDataParallelImpl>(model, nn::DdpOptions{.bucket_mb = config.distributed.bucket_mb});
    trainer_options.after_backward = [ddp] { ddp->synchronize(); };
    trainer_options.combine_sums = [](std::vector<double>& sums) {
      Tensor all = from_vector(sums, {static_cast<int64_t>(sums.size())});
      dist::all_reduce(all);
      sums = all.to_vector<double>();
    };
    std::cout << "data-parallel: " << world << " ranks x batch " << config.batch_size << " (global batch "
              << world * config.batch_size << "), gradients averaged in " << ddp->bucket_count() << " bucket(s)"
              << (config.distributed.sync_batchnorm ? ", batch norm synchronized" : "") << std::endl;
  }
  config.schedule.install(trainer_options, *optimizer, config.epochs, train_loader.num_batches());
  train::Trainer trainer(model, loss.function, *optimizer, trainer_options);

  const std::string& out = config.output;
  if (!resume.empty() && resumes_an_epoch(resume) && !std::filesystem::exists(out + "/metrics.csv")) {
    fail<IOError>(out, ": holds no run to resume (no metrics.csv); --resume ", resume,
                  " continues the run in its own folder (its --output)");
  }
  std::shared_ptr<compress::PruningCallback> pruning;
  try {
    pruning = make_pruning_callback(config, *model);
    train::ModelCheckpointOptions checkpoint = config.callbacks.checkpoint;
    checkpoint.monitor = resolve_monitor(checkpoint.monitor, data.val != nullptr, "callbacks.checkpoint");
    if (config.callbacks.early_stopping) {
      train::EarlyStoppingOptions stopping = *config.callbacks.early_stopping;
      stopping.monitor = resolve_monitor(stopping.monitor, data.val != nullptr, "callbacks.early_stopping");
      trainer.add_callback(std::make_shared<train::EarlyStopping>(stopping));
    }
    if (pruning) trainer.add_callback(pruning);
    if (rank == 0) {  // the other ranks write nothing
      std::filesystem::create_directories(out);
      trainer.add_callback(std::make_shared<train::CSVLogger>(out + "/metrics.csv"));
      trainer.add_callback(std::make_shared<train::TensorBoardLogger>(out));
      trainer.add_callback(std::make_shared<train::ModelCheckpoint>(out, checkpoint));
    }
  } catch (const Error& e) {
    rethrow_in(path, e);
  } catch (const std::filesystem::filesystem_error& e) {
    fail<IOError>(out, ": cannot create the run folder (", e.code().message(), ")");
  }
  if (rank == 0) {
    remove_stale_temporaries(out);  // last.ckpt.tmp-* of a run that was killed while writing
    write_file_atomically(out + "/config.yaml", {config.text}, "cajal train");
  }

  std::cout << "cajal train: " << config.model.describe() << " (" << model->num_parameters() << " parameters) on "
            << data.train->size() << " examples" << (data.val ? ", " + std::to_string(data.val->size()) + " for validation" : "")
            << "; run folder " << out << std::endl;
  if (data.train->size() < config.batch_size) {
    std::cout << "note: training has " << data.train->size() << " example(s)";
    if (data.val) {
      std::cout << " (data.validation_split " << config.data.validation_split << " holds out " << data.val->size() << " of "
                << data.train->size() + data.val->size() << ")";
    }
    std::cout << ", fewer than one batch (batch_size " << config.batch_size << ")" << std::endl;
  }
  if (recurrent && !config.callbacks.clip_grad_norm) {
    std::cout << "gradient clipping: max_norm 1 (the default for recurrent models; callbacks.grad_clip.max_norm: 0 turns it off)"
              << std::endl;
  }
  if (!resume.empty()) {
    const SafetensorsMetadata metadata = load_safetensors_metadata(resume);
    auto written = metadata.find("batches_per_epoch");
    if (written != metadata.end() && written->second != std::to_string(train_loader.num_batches()))
      std::cout << "the checkpoint's epochs had " << written->second << " batches, this run's have " << train_loader.num_batches()
                << " (another number of ranks or batch_size): later epochs hold the same examples, in batches of this run"
                << std::endl;
  }
  if (!resume.empty() && world > 1)
    std::cout << "resuming on " << world << " ranks: each epoch's examples are split over " << world
              << " ranks (an epoch's examples follow the seed and the epoch whatever the number of ranks; a checkpoint "
                 "written mid-epoch by another number of ranks continues that epoch with another split)"
              << std::endl;
  auto start = std::chrono::steady_clock::now();
  trainer.fit(train_loader, val_loader.get(), config.epochs, resume);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  RunSummary summary{.config = &config, .data = &data, .trainer = &trainer, .seconds = seconds};
  if (test_loader) summary.test = trainer.evaluate(*test_loader);
  ModelInfo info{.model_yaml = model_config_yaml(config.text), .input = data.input,
                 .classification = data.classification, .class_names = data.class_names,
                 .mean = data.mean, .std = data.std, .metrics = summary_metrics(summary)};
  info.pruned_widths = pruned_widths;
  if (rank != 0) return 0;
  save_model(qat ? *qat->float_model() : *model, info, out + "/model.safetensors");
  if (qat) finish_quantize_aware(*qat, info, data, out + "/model_int8.safetensors", std::cout);
  write_run_report(summary, test_loader.get(), out + "/report.html");

  char line[160];
  std::snprintf(line, sizeof line, "trained %lld epochs in %.1f s", static_cast<long long>(trainer.history().size()), seconds);
  std::cout << line;
  if (test_loader) {
    const train::Logs& test = summary.test;
    if (test.contains("accuracy")) {
      std::snprintf(line, sizeof line, "; test accuracy %.4f, test loss %.4f (%lld examples)", test.get("accuracy", "train"),
                    test.get("loss", "train"), static_cast<long long>(data.test->size()));
    } else {
      std::snprintf(line, sizeof line, "; test loss %.4f (%lld examples)", test.get("loss", "train"),
                    static_cast<long long>(data.test->size()));
    }
    std::cout << line;
    for (const auto& [name, value] : data.baselines) {
      if (name != "test_naive_mse") continue;
      std::snprintf(line, sizeof line, "; naive last-value forecast: test MSE %.4f", value);
      std::cout << line;
    }
  }
  if (ddp && ddp->steps() > 0) {
    std::snprintf(line, sizeof line, "; data-parallel: %.0f bytes all-reduced per step, %.1f%% of the time waiting for them",
                  static_cast<double>(ddp->total_bytes_reduced()) / static_cast<double>(ddp->steps()),
                  100 * ddp->total_wait_seconds() / seconds);
    std::cout << line;
  }
  if (pruning) {
    std::vector<Tensor> weights;
    for (const auto& [name, w] : compress::prunable_weights(*model)) weights.push_back(w);
    std::snprintf(line, sizeof line, "; %.2f%% of the convolution and linear weights are zero", 100 * compress::sparsity_of(weights));
    std::cout << line;
  }
  std::cout << "\nwrote " << out << "/{model.safetensors, last.ckpt, metrics.csv, report.html, events.out.tfevents.*}"
            << std::endl;
  return 0;
}

}  // namespace cajal::cli
