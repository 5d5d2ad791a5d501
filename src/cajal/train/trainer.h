#pragma once
// Trainer: the training loop, written once for every model, loss and optimizer.
//
//   auto model = nn::Sequential(nn::Linear(784, 128), nn::ReLU(), nn::Linear(128, 10));
//   optim::Adam opt(model->parameters(), {.lr = 1e-3});
//   train::Trainer trainer(model, nn::functional::cross_entropy_loss, opt, {.clip_grad_norm = 1.0});
//   trainer.add_callback(std::make_shared<train::ModelCheckpoint>("run"));
//   trainer.fit(train_loader, &val_loader, 10);            // or ..., 10, "run/last.ckpt" to resume
//   train::Logs test = trainer.evaluate(test_loader);     // test.get("accuracy", ...)
//
// One training step: model->train(); zero_grad; forward; loss; (stop if the loss is not
// finite); backward; optional gradient clipping; optimizer step; per-step scheduler step.
// After each epoch: validation (if a loader is given), the per-epoch scheduler step, and the
// callbacks' on_epoch_end.
//
// Determinism and resume: with the same seeds, thread count and machine, a run is
// reproducible bit for bit. A checkpoint (train/checkpoint.h) records the model, optimizer,
// scheduler, default generator (dropout), the position in the data (epoch and batch) and the
// callbacks' state, so fit(..., resume_from) continues exactly as if the run had never
// stopped, also from a checkpoint written in the middle of an epoch.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cajal/data/loader.h"
#include "cajal/nn/module.h"
#include "cajal/optim/optimizer.h"
#include "cajal/optim/scheduler.h"
#include "cajal/train/callbacks.h"
#include "cajal/train/checkpoint.h"

namespace cajal::train {

using LossFunction = std::function<Tensor(const Tensor& output, const Tensor& target)>;

// When the scheduler steps: after every epoch (StepLR, CosineAnnealingLR, ...) or after every
// optimizer step (OneCycleLR, warm-up over iterations).
enum class Interval { epoch, step };

// Which metrics besides the loss are computed: classification adds "accuracy" (outputs
// [N, C] of scores, targets [N] of class indices, or per step: outputs [N, T, C], targets
// [N, T], every position counted); automatic does so when the targets are integers and the
// outputs have one more dim (the classes, last). Batches with floating targets (mixed up,
// one-hot) count toward the loss only.
enum class Task { automatic, classification, regression };

struct TrainerOptions {
  std::shared_ptr<optim::LRScheduler> scheduler = nullptr;  // optional
  Interval scheduler_interval = Interval::epoch;
  // Optional, instead of `scheduler`: lowers the rate when plateau_monitor stops improving;
  // stepped after every epoch with that metric.
  std::shared_ptr<optim::ReduceLROnPlateau> plateau_scheduler = nullptr;
  std::string plateau_monitor = "val_loss";
  // Optional batch-level augmentation of training batches (data::mixup, data::cutmix). Its
  // Generator is seeded from (batch_transform_seed, epoch, batch index) with
  // data::example_seed, so it is reproducible and a resumed run draws the same.
  std::function<data::Batch(const data::Batch&, Generator&)> batch_transform = nullptr;
  uint64_t batch_transform_seed = 0;
  // Optional: what the training steps minimize instead of `loss`, from the outputs and the
  // whole batch (knowledge distillation compares the outputs with a teacher's on the same
  // inputs); the epoch's logged `loss` is this one. Evaluation (validation, test) keeps `loss`.
  std::function<Tensor(const Tensor& output, const data::Batch& batch)> training_loss = nullptr;
  // Data-parallel training (nn::DistributedDataParallel): after_backward runs after every
  // backward, before clipping and the step (where DDP waits for its gradient reductions), and
  // combine_sums adds up every process's epoch sums {loss * examples, examples, classified,
  // correct} in place before they are logged, so that each process logs the whole epoch.
  std::function<void()> after_backward = nullptr;
  std::function<void(std::vector<double>& sums)> combine_sums = nullptr;
  double clip_grad_norm = 0;   // > 0: scale gradients to this total 2-norm before each step
  double clip_grad_value = 0;  // > 0: clamp gradient elements to [-v, v] before each step
  bool stop_on_nonfinite_loss = true;  // a NaN or infinite loss stops training with an Error
  bool perplexity = false;  // log "perplexity" (and "val_perplexity"): exp of the epoch's loss (language models)
  Task task = Task::automatic;
  bool progress = true;  // show a progress display (train/progress.h) on stdout
  std::string config = "";  // the run's configuration text, stored in checkpoints
};

// Where a run stands; callbacks read it through trainer().state().
struct TrainingState {
  int64_t epoch = 0;              // the epoch running (from 1), or the last one finished
  int64_t epochs = 0;             // the epochs fit() was asked for
  int64_t epochs_done = 0;        // whole epochs finished
  int64_t batches_done = 0;       // batches of the current epoch finished
  int64_t batches_per_epoch = 0;
  int64_t samples_done = 0;       // examples of the current epoch trained on
  int64_t step = 0;               // optimizer steps since the run began
};

class Trainer {
 public:
  Trainer(nn::ModulePtr model, LossFunction loss, optim::Optimizer& optimizer, TrainerOptions options = {});
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  void add_callback(CallbackPtr callback);

  // Trains for `epochs` epochs in all (counting those a resumed checkpoint already did),
  // validating on `val` after each epoch when it is not null. `resume_from`: a checkpoint
  // to continue from. Returns each epoch's logs (the run's history).
  const std::vector<Logs>& fit(data::DataLoader& train, data::DataLoader* val, int64_t epochs,
                               const std::string& resume_from = "");
  // The mean loss (weighted by batch size) and, for classification, the accuracy, in eval
  // mode and without recording gradients. Both run over the loader's epoch 0 (set_epoch(0)),
  // so every call sees the same batches.
  Logs evaluate(data::DataLoader& loader);
  // The model's outputs for every example, in the loader's order, concatenated along dim 0.
  Tensor predict(data::DataLoader& loader);

  // --- for callbacks ---
  // Asks the run to stop after the current batch; `reason` is kept for the record.
  void stop_training(std::string reason);
  bool stop_requested() const { return stop_requested_; }
  const std::string& stop_reason() const { return stop_reason_; }
  const TrainingState& state() const { return state_; }
  const std::vector<Logs>& history() const { return history_; }
  // The first parameter group's learning rate.
  double learning_rate();
  // Everything needed to resume from this point, and the same written to `path` (atomically).
  Checkpoint checkpoint();
  void save_checkpoint(const std::string& path);

  const nn::ModulePtr& model() const { return model_; }
  optim::Optimizer& optimizer() const { return optimizer_; }

 private:
  struct EpochSums;  // the running loss and accuracy of an epoch

  void restore(const Checkpoint& checkpoint, const std::string& path);
  void check_counters(const std::string& path, int64_t batch_size) const;
  // Trains on the batches of state_.epoch that are not done yet. Returns why training must
  // stop when the loss became non-finite, "" otherwise.
  std::string train_epoch(data::DataLoader& loader, const std::vector<Callback*>& callbacks);
  // Adds "<prefix>loss" (and "<prefix>accuracy") over `loader` to logs.
  void evaluate_into(data::DataLoader& loader, Logs& logs, const std::string& prefix);
  bool is_classification(const Tensor& output, const Tensor& target) const;
  // The callbacks in the order they run: checkpoint writers last.
  std::vector<Callback*> ordered_callbacks() const;
  NamedTensors state_tensors() const;

  nn::ModulePtr model_;
  LossFunction loss_;
  optim::Optimizer& optimizer_;
  TrainerOptions options_;
  std::vector<CallbackPtr> callbacks_;
  std::unique_ptr<EpochSums> sums_;
  TrainingState state_;
  std::vector<Logs> history_;
  int64_t resumed_batches_per_epoch_ = 0;  // of the checkpoint resumed from (0: not known)
  int64_t resumed_epoch_start_step_ = 0;
  bool stop_requested_ = false;
  std::string stop_reason_;
};

}  // namespace cajal::train
