#include "cajal/train/trainer.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "cajal/autograd/grad_mode.h"
#include "cajal/core/generator.h"
#include "cajal/data/dataset.h"
#include "cajal/metrics/classification.h"
#include "cajal/nn/serialize.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/shape.h"
#include "cajal/optim/clip.h"
#include "cajal/train/progress.h"

namespace cajal::train {

namespace {

Tensor scalar_tensor(double value) { return full({}, value, {.dtype = DType::f64}); }

// The loader's batches of `epoch` after the first `skip`, for resuming in the middle of an
// epoch. An epoch's batches are a function of (seed, epoch) (DataLoader::batch_indices), so
// their examples, in order, chunked by batch_size, are the same batches again (only an
// epoch's last batch can be short); the subset keeps the loader's workers and the examples'
// augmentation of `epoch`. Null when no batch is left.
std::unique_ptr<data::DataLoader> remaining_batches(const data::DataLoader& loader, int64_t epoch, int64_t skip) {
  std::vector<int64_t> indices;
  const auto batches = loader.batch_indices(epoch);
  for (size_t b = static_cast<size_t>(skip); b < batches.size(); ++b)
    indices.insert(indices.end(), batches[b].begin(), batches[b].end());
  if (indices.empty()) return nullptr;
  data::LoaderOptions options = loader.options();
  options.shuffle = false;
  options.drop_last = false;
  auto rest = std::make_unique<data::DataLoader>(data::subset(loader.dataset(), std::move(indices)), options);
  rest->set_epoch(epoch);
  return rest;
}

}  // namespace

// The running sums behind an epoch's (or an evaluation's) mean loss and accuracy.
struct Trainer::EpochSums {
  double loss_sum = 0;  // sum over batches of loss * batch size
  int64_t samples = 0;
  int64_t classified = 0;  // samples of batches with class-index targets
  int64_t correct = 0;     // those whose predicted class is the target

  void add(double loss, const Tensor& output, const data::Batch& batch, bool classification) {
    loss_sum += loss * static_cast<double>(batch.size);
    samples += batch.size;
    if (classification) {
      classified += batch.size;
      // Per-step scores [N, T, C] of targets [N, T]: every position is one prediction.
      Tensor scores = output.detach(), target = batch.target;
      if (scores.dim() > 2) {
        scores = scores.flatten(0, -2);
        target = target.flatten();
      }
      correct += std::llround(metrics::accuracy(scores, target) * static_cast<double>(batch.size));
    }
  }
  // "<prefix>loss" and "<prefix>accuracy" (when computed), of these sums combined with other
  // processes' by `combine` when given.
  void write(Logs& logs, const std::string& prefix,
             const std::function<void(std::vector<double>&)>& combine = nullptr) const {
    std::vector<double> all = {loss_sum, static_cast<double>(samples), static_cast<double>(classified), static_cast<double>(correct)};
    if (combine) combine(all);
    logs.set(prefix + "loss", all[0] / all[1]);
    if (all[2] > 0) logs.set(prefix + "accuracy", all[3] / all[2]);
  }
};

Trainer::Trainer(nn::ModulePtr model, LossFunction loss, optim::Optimizer& optimizer, TrainerOptions options)
    : model_(std::move(model)),
      loss_(std::move(loss)),
      optimizer_(optimizer),
      options_(std::move(options)),
      sums_(std::make_unique<EpochSums>()) {
  if (!model_) fail<ValueError>("Trainer: the model is null");
  if (!loss_) fail<ValueError>("Trainer: the loss function is empty");
  if (options_.scheduler && options_.plateau_scheduler)
    fail<ValueError>("Trainer: give either scheduler or plateau_scheduler, not both");
  if (options_.clip_grad_norm < 0 || options_.clip_grad_value < 0)
    fail<ValueError>("Trainer: clip_grad_norm and clip_grad_value must be >= 0 (0: off), got ", options_.clip_grad_norm,
                     " and ", options_.clip_grad_value);
}

Trainer::~Trainer() = default;

void Trainer::add_callback(CallbackPtr callback) {
  if (!callback) fail<ValueError>("Trainer::add_callback: the callback is null");
  callback->trainer_ = this;
  callbacks_.push_back(std::move(callback));
}

std::vector<Callback*> Trainer::ordered_callbacks() const {
  std::vector<Callback*> ordered;
  for (bool writers : {false, true})
    for (const CallbackPtr& c : callbacks_)
      if (c->writes_checkpoints() == writers) ordered.push_back(c.get());
  return ordered;
}

void Trainer::stop_training(std::string reason) {
  stop_requested_ = true;
  stop_reason_ = std::move(reason);
}

double Trainer::learning_rate() { return optimizer_.param_group(0).lr; }

bool Trainer::is_classification(const Tensor& output, const Tensor& target) const {
  switch (options_.task) {
    case Task::classification: return is_integral(target.dtype());
    case Task::regression: return false;
    case Task::automatic:
      return is_integral(target.dtype()) && output.dim() >= 2 && output.dim() == target.dim() + 1 &&
             Dims(output.shape().begin(), output.shape().end() - 1) == target.shape();
  }
  return false;
}

// ------------------------------------------------------------------ training

const std::vector<Logs>& Trainer::fit(data::DataLoader& train, data::DataLoader* val, int64_t epochs,
                                      const std::string& resume_from) {
  if (epochs < 1) fail<ValueError>("Trainer::fit: epochs must be >= 1, got ", epochs);
  std::set<std::string> keys;
  for (const CallbackPtr& c : callbacks_)
    if (!c->state_key().empty() && !keys.insert(c->state_key()).second)
      fail<ValueError>("Trainer::fit: two callbacks keep state under the name \"", c->state_key(),
                       "\"; a checkpoint could not tell them apart");

  state_ = {};
  history_.clear();
  *sums_ = {};
  stop_requested_ = false;
  stop_reason_.clear();
  if (!resume_from.empty()) {
    restore(load_checkpoint(resume_from), resume_from);
  } else {
    // A fresh run starts every callback afresh, also on a trainer that has run before.
    for (const CallbackPtr& c : callbacks_)
      if (!c->state_key().empty()) c->load_state_dict({});
  }
  state_.epochs = epochs;
  state_.batches_per_epoch = train.num_batches();
  if (state_.batches_per_epoch == 0)
    fail<ValueError>("Trainer::fit: the training loader yields no batch (", train.dataset()->size(),
                     " examples, batch_size ", train.options().batch_size,
                     train.options().drop_last ? ", drop_last" : "", ")");
  if (!resume_from.empty()) check_counters(resume_from, train.options().batch_size);

  std::vector<Callback*> callbacks = ordered_callbacks();
  ProgressBar progress;
  if (options_.progress) {
    progress.trainer_ = this;
    callbacks.push_back(&progress);
  }

  std::string diverged;  // why training stopped on a non-finite loss
  for (Callback* c : callbacks) c->on_train_begin();
  for (int64_t epoch = state_.epochs_done + 1; epoch <= epochs && !stop_requested_; ++epoch) {
    state_.epoch = epoch;
    for (Callback* c : callbacks) c->on_epoch_begin(epoch);
    diverged = train_epoch(train, callbacks);
    if (stop_requested_ && state_.batches_done < state_.batches_per_epoch) break;  // stopped mid-epoch

    Logs& logs = history_.emplace_back();
    sums_->write(logs, "", options_.combine_sums);
    if (val) evaluate_into(*val, logs, "val_");
    if (options_.perplexity) {
      logs.set("perplexity", std::exp(logs.get("loss", "Trainer")));
      if (val) logs.set("val_perplexity", std::exp(logs.get("val_loss", "Trainer")));
    }
    logs.set("lr", learning_rate());
    if (options_.scheduler && options_.scheduler_interval == Interval::epoch) options_.scheduler->step();
    if (options_.plateau_scheduler)
      options_.plateau_scheduler->step(logs.get(options_.plateau_monitor, "Trainer (plateau_monitor)"));
    state_.epochs_done = epoch;
    state_.batches_done = 0;
    state_.samples_done = 0;
    *sums_ = {};
    for (Callback* c : callbacks) c->on_epoch_end(epoch, logs);
  }
  for (Callback* c : callbacks) c->on_train_end();
  if (!diverged.empty()) fail<Error>(diverged);
  return history_;
}

std::string Trainer::train_epoch(data::DataLoader& loader, const std::vector<Callback*>& callbacks) {
  const int64_t loader_epoch = state_.epoch - 1;  // the loader counts epochs from 0
  std::unique_ptr<data::DataLoader> rest;
  data::DataLoader* source = &loader;
  if (state_.batches_done > 0) {
    rest = remaining_batches(loader, loader_epoch, state_.batches_done);
    source = rest.get();
  } else {
    loader.set_epoch(loader_epoch);
  }
  if (!source) return "";

  model_->train();
  const TensorList params = model_->parameters();  // for clipping
  for (data::Batch& batch : *source) {
    if (options_.batch_transform) {
      Generator gen(data::example_seed(options_.batch_transform_seed, loader_epoch, state_.batches_done));
      batch = options_.batch_transform(batch, gen);
    }
    optimizer_.zero_grad();
    Tensor output = model_->forward(batch.input);
    Tensor loss = options_.training_loss ? options_.training_loss(output, batch) : loss_(output, batch.target);
    const double value = loss.item();
    if (options_.stop_on_nonfinite_loss && !std::isfinite(value)) {
      std::string why = detail::concat("Trainer: the loss is ", value, " at epoch ", state_.epoch, ", step ",
                                       state_.step + 1, " (batch ", state_.batches_done + 1, " of ",
                                       state_.batches_per_epoch, "); training stopped before this update. ",
                                       "Lower the learning rate (now ", learning_rate(),
                                       ") or clip gradients (clip_grad_norm), and check the data for NaN or infinity");
      stop_training(why);
      return why;
    }
    loss.backward();
    if (options_.after_backward) options_.after_backward();
    if (options_.clip_grad_norm > 0) optim::clip_grad_norm_(params, options_.clip_grad_norm);
    if (options_.clip_grad_value > 0) optim::clip_grad_value_(params, options_.clip_grad_value);
    optimizer_.step();
    if (options_.scheduler && options_.scheduler_interval == Interval::step) options_.scheduler->step();

    sums_->add(value, output, batch, is_classification(output, batch.target));
    ++state_.step;
    ++state_.batches_done;
    state_.samples_done += batch.size;
    Logs logs;
    sums_->write(logs, "");
    logs.set("batch_loss", value);
    logs.set("lr", learning_rate());
    for (Callback* c : callbacks) c->on_batch_end(state_.step, logs);
    if (stop_requested_) break;
  }
  return "";
}

// ------------------------------------------------------------------ evaluation

void Trainer::evaluate_into(data::DataLoader& loader, Logs& logs, const std::string& prefix) {
  const bool was_training = model_->is_training();
  model_->eval();
  NoGradGuard no_grad;
  EpochSums sums;
  loader.set_epoch(0);  // the same examples in the same order at every evaluation
  for (data::Batch& batch : loader) {
    Tensor output = model_->forward(batch.input);
    sums.add(loss_(output, batch.target).item(), output, batch, is_classification(output, batch.target));
  }
  model_->train(was_training);
  if (sums.samples == 0) fail<ValueError>("Trainer::evaluate: the loader yielded no examples");
  sums.write(logs, prefix);
}

Logs Trainer::evaluate(data::DataLoader& loader) {
  Logs logs;
  evaluate_into(loader, logs, "");
  return logs;
}

Tensor Trainer::predict(data::DataLoader& loader) {
  const bool was_training = model_->is_training();
  model_->eval();
  NoGradGuard no_grad;
  TensorList outputs;
  loader.set_epoch(0);
  for (data::Batch& batch : loader) outputs.push_back(model_->forward(batch.input));
  model_->train(was_training);
  if (outputs.empty()) fail<ValueError>("Trainer::predict: the loader yielded no examples");
  return cat(outputs, 0);
}

// ------------------------------------------------------------------ checkpoints
//
// The trainer's own part of a checkpoint ("state." in the file):
//   "epoch.loss_sum", "epoch.samples", "epoch.classified", "epoch.correct"
//                                                the sums of the epoch in progress (0-d float64)
//   "history.<k>.<name>"                         column k of the history: the metric's value
//                                                in each finished epoch (1-D float64, NaN
//                                                where an epoch lacked it)
//   "callbacks.<key>.<name>"                     each callback's state_dict()

NamedTensors Trainer::state_tensors() const {
  NamedTensors state = {
      {"epoch.loss_sum", scalar_tensor(sums_->loss_sum)},
      {"epoch.samples", scalar_tensor(static_cast<double>(sums_->samples))},
      {"epoch.classified", scalar_tensor(static_cast<double>(sums_->classified))},
      {"epoch.correct", scalar_tensor(static_cast<double>(sums_->correct))},
  };
  std::vector<std::string> columns;
  for (const Logs& logs : history_)
    for (const auto& [name, value] : logs)
      if (std::find(columns.begin(), columns.end(), name) == columns.end()) columns.push_back(name);
  for (size_t k = 0; k < columns.size(); ++k) {
    std::vector<double> values;
    for (const Logs& logs : history_) values.push_back(logs.contains(columns[k]) ? logs.get(columns[k], "") : NAN);
    Tensor t = empty({static_cast<int64_t>(values.size())}, {.dtype = DType::f64});
    std::copy(values.begin(), values.end(), t.data_ptr<double>());
    state.emplace_back("history." + std::to_string(k) + "." + columns[k], t);
  }
  for (const CallbackPtr& c : callbacks_)
    if (!c->state_key().empty())
      for (auto& [name, t] : c->state_dict()) state.emplace_back("callbacks." + c->state_key() + "." + name, t);
  return state;
}

Checkpoint Trainer::checkpoint() {
  Checkpoint c;
  c.model = model_->state_dict();
  c.optimizer = optimizer_.state_dict();
  if (options_.scheduler) c.scheduler = options_.scheduler->state_dict();
  if (options_.plateau_scheduler) c.scheduler = options_.plateau_scheduler->state_dict();
  c.state = state_tensors();
  c.rng = default_generator().state();
  c.epochs_done = state_.epochs_done;
  c.batches_done = state_.batches_done;
  c.step = state_.step;
  c.batches_per_epoch = state_.batches_per_epoch;
  c.epoch_start_step = state_.step - state_.batches_done;
  c.config = options_.config;
  return c;
}

void Trainer::save_checkpoint(const std::string& path) { train::save_checkpoint(checkpoint(), path); }

// A checkpoint's counters must fit the data it resumes on: batches_done at most one epoch's
// batches, each finished batch an optimizer step, and the running sums those batches' examples.
// A forged or mismatched checkpoint would otherwise skip an epoch and log NaN metrics.
void Trainer::check_counters(const std::string& path, int64_t batch_size) const {
  const std::string where = "Trainer::fit: resume_from " + path;
  const int64_t per_epoch = state_.batches_per_epoch;
  if (state_.batches_done > per_epoch)
    fail<IOError>(where, ": the checkpoint has batches_done ", state_.batches_done, ", but an epoch of this data has ",
                  per_epoch, " batches (a damaged checkpoint, or the data or batch_size changed)");
  // Epochs of another size (another number of ranks) can only continue from an epoch's end.
  const int64_t written_per_epoch = resumed_batches_per_epoch_ ? resumed_batches_per_epoch_ : per_epoch;
  if (written_per_epoch != per_epoch && state_.batches_done > 0)
    fail<ValueError>(where, ": written in the middle of an epoch of ", written_per_epoch, " batches, but an epoch here has ",
                     per_epoch, " (another number of ranks or batch_size); resume from a checkpoint written at an epoch's end");
  const bool known_history = resumed_batches_per_epoch_ > 0;
  if (state_.step != resumed_epoch_start_step_ + state_.batches_done ||
      (!known_history && state_.step != state_.epochs_done * per_epoch + state_.batches_done) ||
      resumed_epoch_start_step_ < state_.epochs_done)
    fail<IOError>(where, ": the checkpoint's step ", state_.step, " does not match its epochs_done ", state_.epochs_done,
                  " and batches_done ", state_.batches_done, " at ", written_per_epoch,
                  " batches per epoch (a damaged checkpoint, or the data or batch_size changed)");
  const int64_t samples = state_.samples_done;
  if ((state_.batches_done == 0) != (samples == 0) || samples < 0 || samples > state_.batches_done * batch_size)
    fail<IOError>(where, ": the checkpoint's epoch.samples ", samples, " does not fit its batches_done ", state_.batches_done,
                  " of batch_size ", batch_size, " (a damaged checkpoint, or the data or batch_size changed)");
}

void Trainer::restore(const Checkpoint& c, const std::string& path) {
  const std::string where = "Trainer::fit: resume_from " + path;
  const bool has_scheduler = options_.scheduler || options_.plateau_scheduler;
  if (has_scheduler != !c.scheduler.empty())
    fail<ValueError>(where, ": the checkpoint ", c.scheduler.empty() ? "has no" : "has a",
                     " scheduler state but the trainer ", has_scheduler ? "has a" : "has no", " scheduler");
  nn::load_state_dict(*model_, c.model, true, where + ": the checkpoint's model");
  optimizer_.load_state_dict(c.optimizer);
  if (options_.scheduler) options_.scheduler->load_state_dict(c.scheduler);
  if (options_.plateau_scheduler) options_.plateau_scheduler->load_state_dict(c.scheduler);
  default_generator().set_state(c.rng);
  state_.epochs_done = c.epochs_done;
  state_.epoch = c.epochs_done;
  state_.batches_done = c.batches_done;
  state_.step = c.step;
  resumed_batches_per_epoch_ = c.batches_per_epoch;
  resumed_epoch_start_step_ = c.epoch_start_step;

  std::map<size_t, std::pair<std::string, Tensor>> history_columns;
  std::map<std::string, NamedTensors> callback_states;
  for (const auto& [name, t] : c.state) {
    if (name == "epoch.loss_sum") sums_->loss_sum = t.item();
    else if (name == "epoch.samples") sums_->samples = t.item<int64_t>();
    else if (name == "epoch.classified") sums_->classified = t.item<int64_t>();
    else if (name == "epoch.correct") sums_->correct = t.item<int64_t>();
    else if (name.starts_with("history.")) {
      const size_t dot = name.find('.', 8);
      if (dot == std::string::npos || t.dim() != 1 || t.size(0) != c.epochs_done)
        fail<IOError>(where, ": malformed history entry \"", name, "\" (expected history.<column>.<metric>, ",
                      c.epochs_done, " values)");
      const std::string column = name.substr(8, dot - 8);
      if (column.empty() || column.find_first_not_of("0123456789") != std::string::npos)
        fail<IOError>(where, ": malformed history entry \"", name, "\" (expected history.<column>.<metric>)");
      history_columns[std::stoul(column)] = {name.substr(dot + 1), t};
    } else if (name.starts_with("callbacks.")) {
      const size_t dot = name.find('.', 10);
      if (dot == std::string::npos) fail<IOError>(where, ": malformed callback state \"", name, "\"");
      callback_states[name.substr(10, dot - 10)].emplace_back(name.substr(dot + 1), t);
    } else {
      fail<IOError>(where, ": unknown trainer state \"", name, "\"");
    }
  }
  state_.samples_done = sums_->samples;
  history_.assign(static_cast<size_t>(c.epochs_done), Logs());
  for (const auto& [k, column] : history_columns) {
    const std::vector<double> values = column.second.to_vector<double>();
    for (size_t e = 0; e < values.size(); ++e)
      if (!std::isnan(values[e])) history_[e].set(column.first, values[e]);
  }
  for (const CallbackPtr& cb : callbacks_)
    if (!cb->state_key().empty()) cb->load_state_dict(callback_states[cb->state_key()]);
}

}  // namespace cajal::train
