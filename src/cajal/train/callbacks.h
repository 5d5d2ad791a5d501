#pragma once
// Callbacks: code the Trainer runs at fixed points of training, in the spirit of Keras
// callbacks. A callback overrides the hooks it needs:
//
//   on_train_begin()                 once, before the first epoch (after a resume's restore)
//   on_epoch_begin(epoch)            epochs count from 1
//   on_batch_end(step, logs)         after each optimizer step; step counts from 1 over the
//                                    whole run; logs: the epoch's running "loss" (and
//                                    "accuracy"), this batch's "batch_loss" and "lr"
//   on_epoch_end(epoch, logs)        after validation: "loss", "accuracy", "val_loss",
//                                    "val_accuracy", "lr"; a callback may add entries, which
//                                    the callbacks after it and the run's history see
//   on_train_end()                   once, also when training stops early
//
// Callbacks run in the order they were added, except those that write checkpoints
// (writes_checkpoints()), which run after all others, so that a checkpoint holds every other
// callback's state for the same point of the run. A callback stops the run with
// trainer().stop_training(reason): the trainer finishes the current batch (or epoch) first.
//
// Callbacks with state that must survive a resume (early stopping's best value) give it a
// name (state_key()) and return it from state_dict(); checkpoints store it under
// "state.callbacks.<key>.". fit() loads each such callback's state before on_train_begin:
// the checkpoint's when resuming, an empty one (the initial state) otherwise.
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cajal/io/safetensors.h"

namespace cajal {
class CsvLog;
class SummaryWriter;
}

namespace cajal::train {

class Trainer;

// Metric values by name, in the order they were first set ("loss", "accuracy", "val_loss", ...).
class Logs {
 public:
  using Entries = std::vector<std::pair<std::string, double>>;

  // Sets `name` (adding it at the end when new).
  void set(const std::string& name, double value);
  bool contains(const std::string& name) const;
  // The value of `name`; a ValueError names `who` (the callback asking), the metric and the
  // metrics there are.
  double get(const std::string& name, const std::string& who) const;
  // "loss, accuracy, lr"
  std::string names() const;

  Entries::const_iterator begin() const { return entries_.begin(); }
  Entries::const_iterator end() const { return entries_.end(); }
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }

 private:
  Entries entries_;
};

class Callback {
 public:
  Callback() = default;
  Callback(const Callback&) = delete;
  Callback& operator=(const Callback&) = delete;
  virtual ~Callback() = default;

  virtual void on_train_begin() {}
  virtual void on_train_end() {}
  virtual void on_epoch_begin(int64_t epoch) {}
  virtual void on_epoch_end(int64_t epoch, Logs& logs) {}
  virtual void on_batch_end(int64_t step, const Logs& logs) {}

  // True for callbacks that save checkpoints; they run after all other callbacks.
  virtual bool writes_checkpoints() const { return false; }

  // The name under which checkpoints store this callback's state ("" when it has none); it
  // must differ between the callbacks of one trainer.
  virtual std::string state_key() const { return ""; }
  virtual NamedTensors state_dict() const { return {}; }
  virtual void load_state_dict(const NamedTensors& state) {}

 protected:
  // The trainer running this callback (an Error outside of Trainer::fit).
  Trainer& trainer() const;

 private:
  friend class Trainer;
  Trainer* trainer_ = nullptr;
};
using CallbackPtr = std::shared_ptr<Callback>;

// "min": smaller is better (a loss); "max": larger is better (an accuracy). Shared by the
// callbacks that watch a metric.
class MetricMonitor {
 public:
  // `who` names the callback in errors; mode must be "min" or "max", min_delta >= 0.
  MetricMonitor(std::string who, std::string monitor, std::string mode, double min_delta);
  // Whether logs' monitored value beats the best so far by more than min_delta; if so it
  // becomes the best. A missing metric is a ValueError; NaN never improves.
  bool update(const Logs& logs);
  std::optional<double> best() const { return best_; }
  const std::string& monitor() const { return monitor_; }
  // "best" (when there is one), for checkpoints.
  void save(NamedTensors& state) const;
  void load(const NamedTensors& state);

 private:
  std::string who_;
  std::string monitor_;
  bool maximize_;
  double min_delta_;
  std::optional<double> best_;
};

struct EarlyStoppingOptions {
  std::string monitor = "val_loss";
  std::string mode = "min";  // "min" or "max"
  int64_t patience = 5;      // epochs without improvement before stopping (>= 1)
  double min_delta = 0;      // an improvement must beat the best by more than this
  bool restore_best_weights = false;  // when training ends (stopped or not), load the best epoch's weights
};

// Stops training when the monitored metric has not improved for `patience` epochs.
class EarlyStopping : public Callback {
 public:
  explicit EarlyStopping(EarlyStoppingOptions options = {});
  void on_epoch_end(int64_t epoch, Logs& logs) override;
  void on_train_end() override;
  std::string state_key() const override { return "early_stopping"; }
  NamedTensors state_dict() const override;
  void load_state_dict(const NamedTensors& state) override;

  // The epoch with the best value so far (0 before the first epoch ends).
  int64_t best_epoch() const { return best_epoch_; }
  // The epoch after which training was stopped (0 when it was not).
  int64_t stopped_epoch() const { return stopped_epoch_; }

 private:
  EarlyStoppingOptions options_;
  MetricMonitor monitor_;
  int64_t wait_ = 0;  // epochs since the last improvement
  int64_t best_epoch_ = 0;
  int64_t stopped_epoch_ = 0;
  NamedTensors best_weights_;  // copies of the model's state_dict at the best epoch
};

struct ModelCheckpointOptions {
  std::string monitor = "val_loss";  // which epoch metric picks best.ckpt ("" : no best.ckpt)
  std::string mode = "min";
  int64_t every_n_steps = 0;  // also write last.ckpt every n optimizer steps (0: only per epoch)
};

// Writes `dir`/last.ckpt at the end of every epoch (and every n steps when asked), and
// `dir`/best.ckpt whenever the monitored metric improves. Writes are atomic, so a run killed
// at any moment leaves a whole checkpoint to resume from.
class ModelCheckpoint : public Callback {
 public:
  explicit ModelCheckpoint(std::string dir, ModelCheckpointOptions options = {});
  void on_train_begin() override;
  void on_batch_end(int64_t step, const Logs& logs) override;
  void on_epoch_end(int64_t epoch, Logs& logs) override;
  bool writes_checkpoints() const override { return true; }
  std::string state_key() const override { return "model_checkpoint"; }
  NamedTensors state_dict() const override;
  void load_state_dict(const NamedTensors& state) override;

  std::string last_path() const { return dir_ + "/last.ckpt"; }
  std::string best_path() const { return dir_ + "/best.ckpt"; }

 private:
  std::string dir_;
  ModelCheckpointOptions options_;
  std::optional<MetricMonitor> monitor_;  // absent when options.monitor is ""
};

// Logs every epoch's metrics as one row of a CSV file (io/csv_log.h), e.g. run/metrics.csv:
// the columns are "epoch" and the epoch's logs. A resumed run keeps the rows of
// the epochs its checkpoint covers and drops any written after it.
class CSVLogger : public Callback {
 public:
  explicit CSVLogger(std::string path);
  ~CSVLogger() override;
  void on_train_begin() override;
  void on_epoch_end(int64_t epoch, Logs& logs) override;

 private:
  std::string path_;
  std::unique_ptr<CsvLog> log_;
};

struct TensorBoardOptions {
  int64_t log_every_n_steps = 10;  // per-step scalars every n steps (0: only per epoch)
};

// Writes TensorBoard scalars to `dir`: per step "batch/loss" and "batch/lr"; per epoch each
// metric as "epoch/<name>" (loss, accuracy, val_loss, val_accuracy, lr), at step = epoch.
class TensorBoardLogger : public Callback {
 public:
  explicit TensorBoardLogger(std::string dir, TensorBoardOptions options = {});
  ~TensorBoardLogger() override;
  void on_train_begin() override;
  void on_batch_end(int64_t step, const Logs& logs) override;
  void on_epoch_end(int64_t epoch, Logs& logs) override;
  void on_train_end() override;

 private:
  std::string dir_;
  TensorBoardOptions options_;
  std::unique_ptr<SummaryWriter> writer_;
};

}  // namespace cajal::train
