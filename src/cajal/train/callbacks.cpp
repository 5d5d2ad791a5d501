#include "cajal/train/callbacks.h"

#include <cmath>
#include <filesystem>

#include "cajal/autograd/grad_mode.h"
#include "cajal/io/csv_log.h"
#include "cajal/io/tensorboard.h"
#include "cajal/nn/serialize.h"
#include "cajal/ops/creation.h"
#include "cajal/train/trainer.h"

namespace cajal::train {

namespace {

Tensor scalar_tensor(double value) { return full({}, value, {.dtype = DType::f64}); }

// The value of `name` in a callback's state, or nullopt when absent.
std::optional<double> find_value(const NamedTensors& state, const std::string& name) {
  for (const auto& [key, t] : state)
    if (key == name) return t.item();
  return std::nullopt;
}

}  // namespace

// ------------------------------------------------------------------ Logs

void Logs::set(const std::string& name, double value) {
  for (auto& [key, v] : entries_)
    if (key == name) {
      v = value;
      return;
    }
  entries_.emplace_back(name, value);
}

bool Logs::contains(const std::string& name) const {
  for (const auto& [key, v] : entries_)
    if (key == name) return true;
  return false;
}

double Logs::get(const std::string& name, const std::string& who) const {
  for (const auto& [key, v] : entries_)
    if (key == name) return v;
  fail<ValueError>(who, ": no metric \"", name, "\" in the logs (they hold: ", empty() ? "nothing" : names(),
                   "); val_ metrics need a validation loader");
}

std::string Logs::names() const {
  std::string s;
  for (const auto& [key, v] : entries_) s += (s.empty() ? "" : ", ") + key;
  return s;
}

// ------------------------------------------------------------------ Callback

Trainer& Callback::trainer() const {
  if (!trainer_) fail<Error>("Callback: not attached to a trainer (callbacks run inside Trainer::fit)");
  return *trainer_;
}

// ------------------------------------------------------------------ MetricMonitor

MetricMonitor::MetricMonitor(std::string who, std::string monitor, std::string mode, double min_delta)
    : who_(std::move(who)), monitor_(std::move(monitor)), maximize_(mode == "max"), min_delta_(min_delta) {
  if (mode != "min" && mode != "max") fail<ValueError>(who_, ": mode must be \"min\" or \"max\", got \"", mode, "\"");
  if (!(min_delta >= 0)) fail<ValueError>(who_, ": min_delta must be >= 0, got ", min_delta);
}

bool MetricMonitor::update(const Logs& logs) {
  const double value = logs.get(monitor_, who_);
  const bool improved = !best_ || (maximize_ ? value > *best_ + min_delta_ : value < *best_ - min_delta_);
  if (!std::isnan(value) && improved) {
    best_ = value;
    return true;
  }
  return false;
}

void MetricMonitor::save(NamedTensors& state) const {
  if (best_) state.emplace_back("best", scalar_tensor(*best_));
}

void MetricMonitor::load(const NamedTensors& state) { best_ = find_value(state, "best"); }

// ------------------------------------------------------------------ EarlyStopping

EarlyStopping::EarlyStopping(EarlyStoppingOptions options)
    : options_(std::move(options)), monitor_("EarlyStopping", options_.monitor, options_.mode, options_.min_delta) {
  if (options_.patience < 1) fail<ValueError>("EarlyStopping: patience must be >= 1, got ", options_.patience);
}

void EarlyStopping::on_epoch_end(int64_t epoch, Logs& logs) {
  if (monitor_.update(logs)) {
    wait_ = 0;
    best_epoch_ = epoch;
    if (options_.restore_best_weights) {
      best_weights_.clear();
      for (const auto& [name, t] : trainer().model()->state_dict()) best_weights_.emplace_back(name, t.detach().clone());
    }
    return;
  }
  if (++wait_ >= options_.patience) {
    stopped_epoch_ = epoch;
    trainer().stop_training(detail::concat("early stopping: ", options_.monitor, " has not improved for ", wait_,
                                           " epochs (best ", *monitor_.best(), " at epoch ", best_epoch_, ")"));
  }
}

void EarlyStopping::on_train_end() {
  if (options_.restore_best_weights && !best_weights_.empty())
    nn::load_state_dict(*trainer().model(), best_weights_, true, "EarlyStopping: the best weights");
}

NamedTensors EarlyStopping::state_dict() const {
  NamedTensors state;
  monitor_.save(state);
  state.emplace_back("wait", scalar_tensor(static_cast<double>(wait_)));
  state.emplace_back("best_epoch", scalar_tensor(static_cast<double>(best_epoch_)));
  for (const auto& [name, t] : best_weights_) state.emplace_back("best_weights." + name, t);
  return state;
}

void EarlyStopping::load_state_dict(const NamedTensors& state) {
  monitor_.load(state);
  wait_ = static_cast<int64_t>(find_value(state, "wait").value_or(0));
  best_epoch_ = static_cast<int64_t>(find_value(state, "best_epoch").value_or(0));
  stopped_epoch_ = 0;
  best_weights_.clear();
  const std::string prefix = "best_weights.";
  for (const auto& [name, t] : state)
    if (name.starts_with(prefix)) best_weights_.emplace_back(name.substr(prefix.size()), t);
}

// ------------------------------------------------------------------ ModelCheckpoint

ModelCheckpoint::ModelCheckpoint(std::string dir, ModelCheckpointOptions options)
    : dir_(std::move(dir)), options_(std::move(options)) {
  if (options_.every_n_steps < 0)
    fail<ValueError>("ModelCheckpoint: every_n_steps must be >= 0, got ", options_.every_n_steps);
  if (!options_.monitor.empty()) monitor_.emplace("ModelCheckpoint", options_.monitor, options_.mode, 0.0);
}

void ModelCheckpoint::on_train_begin() {
  std::error_code error;
  std::filesystem::create_directories(dir_, error);
  if (error) fail<IOError>("ModelCheckpoint: cannot create directory ", dir_, ": ", error.message());
}

void ModelCheckpoint::on_batch_end(int64_t step, const Logs& logs) {
  if (options_.every_n_steps > 0 && step % options_.every_n_steps == 0) trainer().save_checkpoint(last_path());
}

void ModelCheckpoint::on_epoch_end(int64_t epoch, Logs& logs) {
  // The best value is updated first, so that both files record it.
  const bool improved = monitor_ && monitor_->update(logs);
  Checkpoint checkpoint = trainer().checkpoint();
  save_checkpoint(checkpoint, last_path());
  if (improved) save_checkpoint(checkpoint, best_path());
}

NamedTensors ModelCheckpoint::state_dict() const {
  NamedTensors state;
  if (monitor_) monitor_->save(state);
  return state;
}

void ModelCheckpoint::load_state_dict(const NamedTensors& state) {
  if (monitor_) monitor_->load(state);
}

// ------------------------------------------------------------------ CSVLogger

CSVLogger::CSVLogger(std::string path) : path_(std::move(path)) {}

CSVLogger::~CSVLogger() = default;

void CSVLogger::on_train_begin() {
  // A resumed run continues the file of the epochs its checkpoint holds.
  const auto epochs_done = static_cast<size_t>(trainer().state().epochs_done);
  log_ = std::make_unique<CsvLog>(epochs_done > 0 ? CsvLog::resume(path_, epochs_done) : CsvLog(path_));
}

void CSVLogger::on_epoch_end(int64_t epoch, Logs& logs) {
  NamedValues row = {{"epoch", static_cast<double>(epoch)}};
  row.insert(row.end(), logs.begin(), logs.end());
  log_->log(row);
}

// ------------------------------------------------------------------ TensorBoardLogger

TensorBoardLogger::TensorBoardLogger(std::string dir, TensorBoardOptions options)
    : dir_(std::move(dir)), options_(options) {
  if (options_.log_every_n_steps < 0)
    fail<ValueError>("TensorBoardLogger: log_every_n_steps must be >= 0, got ", options_.log_every_n_steps);
}

TensorBoardLogger::~TensorBoardLogger() = default;

void TensorBoardLogger::on_train_begin() { writer_ = std::make_unique<SummaryWriter>(dir_); }

void TensorBoardLogger::on_batch_end(int64_t step, const Logs& logs) {
  if (options_.log_every_n_steps == 0 || step % options_.log_every_n_steps != 0) return;
  writer_->add_scalar("batch/loss", logs.get("batch_loss", "TensorBoardLogger"), step);
  writer_->add_scalar("batch/lr", logs.get("lr", "TensorBoardLogger"), step);
}

void TensorBoardLogger::on_epoch_end(int64_t epoch, Logs& logs) {
  for (const auto& [name, value] : logs) writer_->add_scalar("epoch/" + name, value, epoch);
  writer_->flush();
}

void TensorBoardLogger::on_train_end() { writer_.reset(); }

}  // namespace cajal::train
