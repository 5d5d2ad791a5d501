#pragma once
// The loss, optimizer and learning-rate schedule a config names, e.g.
//
//   loss: {name: cross_entropy, label_smoothing: 0.1}     (or just `loss: cross_entropy`)
//   optimizer: {name: adamw, lr: 0.002, weight_decay: 0.05}
//   schedule: {name: onecycle, max_lr: 0.01}
//
// Each is read (names, types, unknown arguments) when the config is loaded, before any data
// or model exists; what is read becomes a function that builds the object once they do.
#include <functional>
#include <optional>
#include <memory>
#include <string>

#include "cajal/models/options.h"
#include "cajal/optim/optimizer.h"
#include "cajal/train/trainer.h"

namespace cajal::cli {

struct LossSpec {
  std::string name;  // "cross_entropy", "mse", ...; "auto": cross_entropy for class labels, mse for values
  train::LossFunction function;  // empty for "auto" until resolved
  // The same loss per example ([N], no reduction), for losses over class labels
  // (cross_entropy, nll): what a weighted training loss (data.reweigh) averages. Else empty.
  train::LossFunction per_example;
};
// Losses: auto, cross_entropy (label_smoothing), nll, mse, l1, smooth_l1 (beta), huber (delta).
LossSpec read_loss(models::Options options);
// "auto" as cross_entropy (classification) or mse (regression).
LossSpec resolve_loss(const LossSpec& loss, bool classification);

// One parameter group to build, with its own lr / weight_decay where given (else the
// optimizer section's).
struct ParamGroupRequest {
  TensorList params;
  std::optional<double> lr, weight_decay;
};

struct OptimizerSpec {
  std::string name;
  std::function<std::unique_ptr<optim::Optimizer>(const std::vector<ParamGroupRequest>& groups)> make_groups;
  std::unique_ptr<optim::Optimizer> make(const TensorList& params) const { return make_groups({{params, {}, {}}}); }
};
// Optimizers: sgd (lr, momentum, nesterov, weight_decay), adam and adamw (lr, betas, eps,
// weight_decay, amsgrad), nadam (lr, betas, eps, weight_decay), rmsprop (lr, alpha, eps,
// momentum, weight_decay, centered), adagrad (lr, weight_decay, eps).
OptimizerSpec read_optimizer(models::Options options);

struct ScheduleSpec {
  std::string name;  // "none" when there is no schedule
  // Puts the scheduler into the trainer's options, for a run of `epochs` epochs of
  // `steps_per_epoch` optimizer steps.
  std::function<void(train::TrainerOptions& trainer, optim::Optimizer& optimizer, int64_t epochs,
                     int64_t steps_per_epoch)>
      install;
};
// Schedules (stepped per epoch unless noted): none; onecycle (max_lr: the optimizer's lr by
// default, pct_start, div_factor, final_div_factor, anneal; per step); cosine (eta_min,
// warmup_epochs; over the run); step (step_size, gamma); multistep (milestones, gamma);
// exponential (gamma); plateau (monitor, mode, factor, patience, min_lr).
ScheduleSpec read_schedule(models::Options options);

}  // namespace cajal::cli
