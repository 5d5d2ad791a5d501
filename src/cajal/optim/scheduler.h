#pragma once
// Learning-rate schedulers, as torch.optim.lr_scheduler (PyTorch 1.13) has them: the same
// arguments, the same step() semantics and the same numbers (each scheduler computes the
// next rate from the current one, the "chainable" form, exactly as PyTorch does, so that
// schedulers can be combined and rounding matches).
//
//   optim::SGD opt(model->parameters(), {.lr = 0.1, .momentum = 0.9});
//   optim::StepLR scheduler(opt, /*step_size=*/30, /*gamma=*/0.1);
//   for (epoch ...) { train(...); scheduler.step(); }
//
// A scheduler changes each parameter group's lr (ParamGroupView::lr). Constructing one
// already applies the rate of epoch 0, as in PyTorch. The first scheduler attached to an
// optimizer records each group's initial_lr; later ones start from it.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cajal/optim/optimizer.h"

namespace cajal::optim {

class LRScheduler {
 public:
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;
  virtual ~LRScheduler() = default;

  // Moves to the next epoch (or iteration) and sets the groups' learning rates.
  void step() { step_to(std::nullopt); }
  // The learning rates the last step set, one per group.
  const std::vector<double>& get_last_lr() const { return last_lr_; }
  int64_t last_epoch() const { return last_epoch_; }
  Optimizer& optimizer() const { return *optimizer_; }

  // The scheduler's counters as 0-d float64 tensors ("last_epoch", "base_lrs.0", ...), so a
  // checkpoint resumes the schedule exactly; load_state_dict restores them.
  NamedTensors state_dict();
  void load_state_dict(const NamedTensors& state);

 protected:
  // Records each group's initial_lr (when no scheduler did yet) as this scheduler's base.
  explicit LRScheduler(Optimizer& optimizer);
  // PyTorch's _initial_step: every concrete scheduler's constructor ends with it.
  void initial_step();

  // PyTorch's step(epoch): the next epoch through get_lr(), or a jump to `epoch` through
  // closed_form_lr() (SequentialLR jumps to 0 when it switches schedulers).
  virtual void step_to(std::optional<int64_t> epoch);
  // The new rates from the current ones (PyTorch's get_lr).
  virtual std::vector<double> get_lr() = 0;
  // The rates at last_epoch from the base rates; schedulers without a closed form use get_lr().
  virtual std::vector<double> closed_form_lr() { return get_lr(); }
  // Lists the mutable state, by name, for state_dict; subclasses add theirs after the base's.
  virtual void each_value(const std::function<void(const std::string&, double&)>& f);

  std::vector<double> current_lrs() const;
  void set_lrs(const std::vector<double>& lrs);

  Optimizer* optimizer_;
  std::vector<double> base_lrs_;
  std::vector<double> last_lr_;
  int64_t last_epoch_ = -1;
  int64_t step_count_ = 0;

  friend class SequentialLR;
  friend class ChainedScheduler;
};

// Multiplies the rate by gamma every step_size epochs.
class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, int64_t step_size, double gamma = 0.1);

 protected:
  std::vector<double> get_lr() override;
  std::vector<double> closed_form_lr() override;

 private:
  int64_t step_size_;
  double gamma_;
};

// Multiplies the rate by gamma at each milestone epoch (a milestone listed twice counts twice).
class MultiStepLR : public LRScheduler {
 public:
  MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma = 0.1);

 protected:
  std::vector<double> get_lr() override;
  std::vector<double> closed_form_lr() override;

 private:
  std::vector<int64_t> milestones_;  // sorted
  double gamma_;
};

// Multiplies the rate by gamma every epoch.
class ExponentialLR : public LRScheduler {
 public:
  ExponentialLR(Optimizer& optimizer, double gamma);

 protected:
  std::vector<double> get_lr() override;
  std::vector<double> closed_form_lr() override;

 private:
  double gamma_;
};

// Multiplies the rate by factor until epoch total_iters.
class ConstantLR : public LRScheduler {
 public:
  ConstantLR(Optimizer& optimizer, double factor = 1.0 / 3, int64_t total_iters = 5);

 protected:
  std::vector<double> get_lr() override;
  std::vector<double> closed_form_lr() override;

 private:
  double factor_;
  int64_t total_iters_;
};

// Warm-up: the factor on the base rate goes linearly from start_factor to end_factor over
// total_iters epochs, then stays.
class LinearLR : public LRScheduler {
 public:
  LinearLR(Optimizer& optimizer, double start_factor = 1.0 / 3, double end_factor = 1.0, int64_t total_iters = 5);

 protected:
  std::vector<double> get_lr() override;
  std::vector<double> closed_form_lr() override;

 private:
  double start_factor_;
  double end_factor_;
  int64_t total_iters_;
};

// The base rate times lambda(epoch).
class LambdaLR : public LRScheduler {
 public:
  LambdaLR(Optimizer& optimizer, std::function<double(int64_t)> lambda);

 protected:
  std::vector<double> get_lr() override;

 private:
  std::function<double(int64_t)> lambda_;
};

// Cosine annealing from the base rate down to eta_min over T_max epochs (and back up over
// the next T_max, as PyTorch's recursive form does).
class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min = 0);

 protected:
  std::vector<double> get_lr() override;
  std::vector<double> closed_form_lr() override;

 private:
  int64_t T_max_;
  double eta_min_;
};

// SGDR: cosine annealing restarted every T_i epochs, with T_0 first and T_i growing by T_mult.
class CosineAnnealingWarmRestarts : public LRScheduler {
 public:
  CosineAnnealingWarmRestarts(Optimizer& optimizer, int64_t T_0, int64_t T_mult = 1, double eta_min = 0);

 protected:
  void step_to(std::optional<int64_t> epoch) override;
  std::vector<double> get_lr() override;
  void each_value(const std::function<void(const std::string&, double&)>& f) override;

 private:
  int64_t T_0_;
  int64_t T_mult_;
  double eta_min_;
  double T_i_;
  double T_cur_;
};

struct OneCycleLROptions {
  std::vector<double> max_lr{};  // one value for every group, or one per group (required)
  int64_t total_steps = 0;     // or epochs * steps_per_epoch when 0
  int64_t epochs = 0;
  int64_t steps_per_epoch = 0;
  double pct_start = 0.3;  // the fraction of the cycle spent increasing the rate
  std::string anneal_strategy = "cos";  // "cos" or "linear"
  bool cycle_momentum = true;  // momentum (SGD, RMSprop) or beta1 (Adam family) moves inversely
  double base_momentum = 0.85;
  double max_momentum = 0.95;
  double div_factor = 25;          // initial_lr = max_lr / div_factor
  double final_div_factor = 1e4;   // min_lr = initial_lr / final_div_factor
  bool three_phase = false;        // a third phase anneals from initial_lr down to min_lr
};

// The 1cycle policy: the rate rises from max_lr / div_factor to max_lr, then anneals far
// below; it is stepped after every batch, total_steps times at most.
class OneCycleLR : public LRScheduler {
 public:
  OneCycleLR(Optimizer& optimizer, const OneCycleLROptions& options);

 protected:
  std::vector<double> get_lr() override;

 private:
  enum Level { kInitial, kMax, kMin };  // which rate (or momentum: max or base) a phase starts or ends at
  struct Phase {
    double end_step;
    Level start_lr, end_lr;
    bool start_at_max_momentum, end_at_max_momentum;
  };
  double anneal(double start, double end, double pct) const;

  OneCycleLROptions options_;
  std::vector<Phase> phases_;
  std::vector<double> initial_lrs_, max_lrs_, min_lrs_;
};

// Runs schedulers one after another: schedulers[i + 1] takes over at milestones[i].
class SequentialLR : public LRScheduler {
 public:
  SequentialLR(Optimizer& optimizer, std::vector<std::shared_ptr<LRScheduler>> schedulers, std::vector<int64_t> milestones);

 protected:
  void step_to(std::optional<int64_t> epoch) override;
  std::vector<double> get_lr() override { return current_lrs(); }
  void each_value(const std::function<void(const std::string&, double&)>& f) override;

 private:
  std::vector<std::shared_ptr<LRScheduler>> schedulers_;
  std::vector<int64_t> milestones_;
};

// Steps every scheduler at each step, so their factors multiply.
class ChainedScheduler : public LRScheduler {
 public:
  explicit ChainedScheduler(std::vector<std::shared_ptr<LRScheduler>> schedulers);

 protected:
  void step_to(std::optional<int64_t> epoch) override;
  std::vector<double> get_lr() override { return current_lrs(); }
  void each_value(const std::function<void(const std::string&, double&)>& f) override;

 private:
  std::vector<std::shared_ptr<LRScheduler>> schedulers_;
};

struct ReduceLROnPlateauOptions {
  std::string mode = "min";  // "min": the metric should fall (a loss); "max": rise (an accuracy)
  double factor = 0.1;       // new_lr = lr * factor
  int64_t patience = 10;     // epochs without improvement before reducing
  double threshold = 1e-4;   // what counts as an improvement...
  std::string threshold_mode = "rel";  // ... relative ("rel") or absolute ("abs")
  int64_t cooldown = 0;      // epochs to wait after a reduction
  std::vector<double> min_lr = {0};  // one value for every group, or one per group
  double eps = 1e-8;         // smaller changes of the rate are skipped
};

// Reduces the rate when a metric stops improving: step(validation_loss) once per epoch.
class ReduceLROnPlateau {
 public:
  ReduceLROnPlateau(Optimizer& optimizer, const ReduceLROnPlateauOptions& options = {});
  void step(double metric);
  const std::vector<double>& get_last_lr() const { return last_lr_; }
  int64_t last_epoch() const { return last_epoch_; }
  // The counters as 0-d float64 tensors ("best", "num_bad_epochs", ...), for checkpoints.
  NamedTensors state_dict();
  void load_state_dict(const NamedTensors& state);

 private:
  bool is_better(double a, double best) const;
  void each_value(const std::function<void(const std::string&, double&)>& f);

  Optimizer* optimizer_;
  ReduceLROnPlateauOptions options_;
  std::vector<double> min_lrs_;
  double best_;
  int64_t num_bad_epochs_ = 0;
  int64_t cooldown_counter_ = 0;
  int64_t last_epoch_ = 0;
  std::vector<double> last_lr_;
};

}  // namespace cajal::optim
