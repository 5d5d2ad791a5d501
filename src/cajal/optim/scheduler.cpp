#include "cajal/optim/scheduler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numbers>

#include "cajal/ops/creation.h"

namespace cajal::optim {

namespace {

using ValueVisitor = std::function<void(const std::string&, double&)>;

// Lists an integer counter as a double (exact below 2^53) and writes the visited value back.
void visit_count(const ValueVisitor& f, const std::string& name, int64_t& count) {
  double value = static_cast<double>(count);
  f(name, value);
  count = static_cast<int64_t>(value);
}

void visit_list(const ValueVisitor& f, const std::string& name, std::vector<double>& values) {
  for (size_t i = 0; i < values.size(); ++i) f(name + "." + std::to_string(i), values[i]);
}

NamedTensors values_to_tensors(const std::function<void(const ValueVisitor&)>& each) {
  NamedTensors out;
  each([&](const std::string& name, double& value) { out.emplace_back(name, scalar_tensor(value, DType::f64)); });
  return out;
}

// Sets every listed value from `state`; every value must be there and every entry used.
void tensors_to_values(const char* who, const NamedTensors& state, const std::function<void(const ValueVisitor&)>& each) {
  std::map<std::string, double> values;
  for (const auto& [name, tensor] : state) {
    if (!tensor.defined() || tensor.numel() != 1)
      fail<ValueError>(who, ".load_state_dict: entry \"", name, "\" should hold one number");
    values[name] = tensor.item<double>();
  }
  each([&](const std::string& name, double& value) {
    auto it = values.find(name);
    if (it == values.end()) fail<ValueError>(who, ".load_state_dict: entry \"", name, "\" is missing");
    value = it->second;
    values.erase(it);
  });
  if (!values.empty())
    fail<ValueError>(who, ".load_state_dict: entry \"", values.begin()->first, "\" is not part of this scheduler's state");
}

// One value for every group, or one per group (PyTorch's _format_param).
std::vector<double> per_group(const char* who, const char* name, const std::vector<double>& values, size_t groups) {
  if (values.size() == 1) return std::vector<double>(groups, values[0]);
  if (values.size() != groups) fail<ValueError>(who, ": expected ", groups, " values for ", name, ", got ", values.size());
  return values;
}

template <typename F>
std::vector<double> map_lrs(const std::vector<double>& lrs, F&& f) {
  std::vector<double> out(lrs.size());
  for (size_t i = 0; i < lrs.size(); ++i) out[i] = f(lrs[i], i);
  return out;
}

}  // namespace

// ------------------------------------------------------------------ LRScheduler

LRScheduler::LRScheduler(Optimizer& optimizer) : optimizer_(&optimizer) {
  for (size_t g = 0; g < optimizer.num_param_groups(); ++g) {
    ParamGroupView group = optimizer.param_group(g);
    if (!group.initial_lr) group.initial_lr = group.lr;
    base_lrs_.push_back(*group.initial_lr);
  }
}

void LRScheduler::initial_step() {
  step_count_ = 0;
  step();
}

void LRScheduler::step_to(std::optional<int64_t> epoch) {
  ++step_count_;
  if (epoch) {
    last_epoch_ = *epoch;
    set_lrs(closed_form_lr());
  } else {
    ++last_epoch_;
    set_lrs(get_lr());
  }
}

std::vector<double> LRScheduler::current_lrs() const {
  size_t groups = optimizer_->num_param_groups();
  if (groups != base_lrs_.size())
    fail<ValueError>("LRScheduler: the optimizer has ", groups, " parameter groups, the scheduler was made for ",
                     base_lrs_.size());
  std::vector<double> lrs(groups);
  for (size_t g = 0; g < groups; ++g) lrs[g] = optimizer_->param_group(g).lr;
  return lrs;
}

void LRScheduler::set_lrs(const std::vector<double>& lrs) {
  for (size_t g = 0; g < lrs.size(); ++g) optimizer_->param_group(g).lr = lrs[g];
  last_lr_ = current_lrs();
}

void LRScheduler::each_value(const ValueVisitor& f) {
  visit_count(f, "last_epoch", last_epoch_);
  visit_count(f, "step_count", step_count_);
  visit_list(f, "base_lrs", base_lrs_);
  visit_list(f, "last_lr", last_lr_);
}

NamedTensors LRScheduler::state_dict() {
  return values_to_tensors([&](const ValueVisitor& f) { each_value(f); });
}

void LRScheduler::load_state_dict(const NamedTensors& state) {
  tensors_to_values("LRScheduler", state, [&](const ValueVisitor& f) { each_value(f); });
}

// ------------------------------------------------------------------ fixed decays

StepLR::StepLR(Optimizer& optimizer, int64_t step_size, double gamma)
    : LRScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
  if (step_size <= 0) fail<ValueError>("StepLR: step_size must be positive, got ", step_size);
  initial_step();
}

std::vector<double> StepLR::get_lr() {
  std::vector<double> lrs = current_lrs();
  if (last_epoch_ == 0 || last_epoch_ % step_size_ != 0) return lrs;
  return map_lrs(lrs, [&](double lr, size_t) { return lr * gamma_; });
}

std::vector<double> StepLR::closed_form_lr() {
  return map_lrs(base_lrs_, [&](double base, size_t) { return base * std::pow(gamma_, static_cast<double>(last_epoch_ / step_size_)); });
}

MultiStepLR::MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma)
    : LRScheduler(optimizer), milestones_(std::move(milestones)), gamma_(gamma) {
  std::sort(milestones_.begin(), milestones_.end());
  initial_step();
}

std::vector<double> MultiStepLR::get_lr() {
  auto count = std::count(milestones_.begin(), milestones_.end(), last_epoch_);
  std::vector<double> lrs = current_lrs();
  if (count == 0) return lrs;
  return map_lrs(lrs, [&](double lr, size_t) { return lr * std::pow(gamma_, static_cast<double>(count)); });
}

std::vector<double> MultiStepLR::closed_form_lr() {
  auto passed = std::upper_bound(milestones_.begin(), milestones_.end(), last_epoch_) - milestones_.begin();
  return map_lrs(base_lrs_, [&](double base, size_t) { return base * std::pow(gamma_, static_cast<double>(passed)); });
}

ExponentialLR::ExponentialLR(Optimizer& optimizer, double gamma) : LRScheduler(optimizer), gamma_(gamma) {
  initial_step();
}

std::vector<double> ExponentialLR::get_lr() {
  std::vector<double> lrs = current_lrs();
  if (last_epoch_ == 0) return lrs;
  return map_lrs(lrs, [&](double lr, size_t) { return lr * gamma_; });
}

std::vector<double> ExponentialLR::closed_form_lr() {
  return map_lrs(base_lrs_, [&](double base, size_t) { return base * std::pow(gamma_, static_cast<double>(last_epoch_)); });
}

ConstantLR::ConstantLR(Optimizer& optimizer, double factor, int64_t total_iters)
    : LRScheduler(optimizer), factor_(factor), total_iters_(total_iters) {
  if (factor > 1 || factor < 0) fail<ValueError>("ConstantLR: factor must be between 0 and 1, got ", factor);
  initial_step();
}

std::vector<double> ConstantLR::get_lr() {
  std::vector<double> lrs = current_lrs();
  if (last_epoch_ == 0) return map_lrs(lrs, [&](double lr, size_t) { return lr * factor_; });
  if (last_epoch_ != total_iters_) return lrs;
  return map_lrs(lrs, [&](double lr, size_t) { return lr * (1.0 / factor_); });
}

std::vector<double> ConstantLR::closed_form_lr() {
  double f = factor_ + (last_epoch_ >= total_iters_ ? 1 - factor_ : 0);
  return map_lrs(base_lrs_, [&](double base, size_t) { return base * f; });
}

LinearLR::LinearLR(Optimizer& optimizer, double start_factor, double end_factor, int64_t total_iters)
    : LRScheduler(optimizer), start_factor_(start_factor), end_factor_(end_factor), total_iters_(total_iters) {
  if (start_factor > 1 || start_factor < 0)
    fail<ValueError>("LinearLR: start_factor must be between 0 and 1, got ", start_factor);
  if (end_factor > 1 || end_factor < 0) fail<ValueError>("LinearLR: end_factor must be between 0 and 1, got ", end_factor);
  initial_step();
}

std::vector<double> LinearLR::get_lr() {
  std::vector<double> lrs = current_lrs();
  if (last_epoch_ == 0) return map_lrs(lrs, [&](double lr, size_t) { return lr * start_factor_; });
  if (last_epoch_ > total_iters_) return lrs;
  double span = end_factor_ - start_factor_;
  double ratio = 1. + span / (static_cast<double>(total_iters_) * start_factor_ + static_cast<double>(last_epoch_ - 1) * span);
  return map_lrs(lrs, [&](double lr, size_t) { return lr * ratio; });
}

std::vector<double> LinearLR::closed_form_lr() {
  double done = static_cast<double>(std::min(total_iters_, last_epoch_)) / static_cast<double>(total_iters_);
  return map_lrs(base_lrs_, [&](double base, size_t) { return base * (start_factor_ + (end_factor_ - start_factor_) * done); });
}

LambdaLR::LambdaLR(Optimizer& optimizer, std::function<double(int64_t)> lambda)
    : LRScheduler(optimizer), lambda_(std::move(lambda)) {
  if (!lambda_) fail<ValueError>("LambdaLR: the lambda is empty");
  initial_step();
}

std::vector<double> LambdaLR::get_lr() {
  return map_lrs(base_lrs_, [&](double base, size_t) { return base * lambda_(last_epoch_); });
}

// ------------------------------------------------------------------ cosine schedules

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min)
    : LRScheduler(optimizer), T_max_(T_max), eta_min_(eta_min) {
  if (T_max <= 0) fail<ValueError>("CosineAnnealingLR: T_max must be positive, got ", T_max);
  initial_step();
}

std::vector<double> CosineAnnealingLR::get_lr() {
  using std::numbers::pi;
  std::vector<double> lrs = current_lrs();
  if (last_epoch_ == 0) return lrs;
  double e = static_cast<double>(last_epoch_), T = static_cast<double>(T_max_);
  if ((last_epoch_ - 1 - T_max_) % (2 * T_max_) == 0)  // the bottom of the curve: climb back from eta_min
    return map_lrs(lrs, [&](double lr, size_t g) { return lr + (base_lrs_[g] - eta_min_) * (1 - std::cos(pi / T)) / 2; });
  return map_lrs(lrs, [&](double lr, size_t) {
    return (1 + std::cos(pi * e / T)) / (1 + std::cos(pi * (e - 1) / T)) * (lr - eta_min_) + eta_min_;
  });
}

std::vector<double> CosineAnnealingLR::closed_form_lr() {
  using std::numbers::pi;
  double e = static_cast<double>(last_epoch_), T = static_cast<double>(T_max_);
  return map_lrs(base_lrs_, [&](double base, size_t) { return eta_min_ + (base - eta_min_) * (1 + std::cos(pi * e / T)) / 2; });
}

CosineAnnealingWarmRestarts::CosineAnnealingWarmRestarts(Optimizer& optimizer, int64_t T_0, int64_t T_mult, double eta_min)
    : LRScheduler(optimizer),
      T_0_(T_0),
      T_mult_(T_mult),
      eta_min_(eta_min),
      T_i_(static_cast<double>(T_0)),
      T_cur_(static_cast<double>(last_epoch_)) {
  if (T_0 <= 0) fail<ValueError>("CosineAnnealingWarmRestarts: expected positive integer T_0, but got ", T_0);
  if (T_mult < 1) fail<ValueError>("CosineAnnealingWarmRestarts: expected integer T_mult >= 1, but got ", T_mult);
  initial_step();
}

void CosineAnnealingWarmRestarts::step_to(std::optional<int64_t> epoch) {
  if (!epoch && last_epoch_ < 0) epoch = 0;
  if (!epoch) {
    epoch = last_epoch_ + 1;
    T_cur_ += 1;
    if (T_cur_ >= T_i_) {
      T_cur_ -= T_i_;
      T_i_ *= static_cast<double>(T_mult_);
    }
  } else {
    int64_t e = *epoch;
    if (e < 0) fail<ValueError>("CosineAnnealingWarmRestarts: expected non-negative epoch, but got ", e);
    if (e >= T_0_) {
      if (T_mult_ == 1) {
        T_cur_ = static_cast<double>(e % T_0_);
      } else {
        double mult = static_cast<double>(T_mult_), T0 = static_cast<double>(T_0_);
        double n = std::trunc(std::log(static_cast<double>(e) / T0 * (mult - 1) + 1) / std::log(mult));
        T_cur_ = static_cast<double>(e) - T0 * (std::pow(mult, n) - 1) / (mult - 1);
        T_i_ = T0 * std::pow(mult, n);
      }
    } else {
      T_i_ = static_cast<double>(T_0_);
      T_cur_ = static_cast<double>(e);
    }
  }
  ++step_count_;
  last_epoch_ = *epoch;
  set_lrs(get_lr());
}

std::vector<double> CosineAnnealingWarmRestarts::get_lr() {
  using std::numbers::pi;
  return map_lrs(base_lrs_, [&](double base, size_t) { return eta_min_ + (base - eta_min_) * (1 + std::cos(pi * T_cur_ / T_i_)) / 2; });
}

void CosineAnnealingWarmRestarts::each_value(const ValueVisitor& f) {
  LRScheduler::each_value(f);
  f("T_i", T_i_);
  f("T_cur", T_cur_);
}

// ------------------------------------------------------------------ OneCycleLR

OneCycleLR::OneCycleLR(Optimizer& optimizer, const OneCycleLROptions& options) : LRScheduler(optimizer), options_(options) {
  const char* who = "OneCycleLR";
  if (options.total_steps == 0) {
    if (options.epochs <= 0 || options.steps_per_epoch <= 0)
      fail<ValueError>(who, ": give total_steps, or epochs and steps_per_epoch (got epochs ", options.epochs,
                       ", steps_per_epoch ", options.steps_per_epoch, ")");
    options_.total_steps = options.epochs * options.steps_per_epoch;
  } else if (options.total_steps < 0) {
    fail<ValueError>(who, ": expected positive integer total_steps, but got ", options.total_steps);
  }
  if (options.pct_start < 0 || options.pct_start > 1)
    fail<ValueError>(who, ": expected a pct_start between 0 and 1, but got ", options.pct_start);
  if (options.anneal_strategy != "cos" && options.anneal_strategy != "linear")
    fail<ValueError>(who, ": anneal_strategy must be \"cos\" or \"linear\", got \"", options.anneal_strategy, "\"");
  if (options.max_lr.empty()) fail<ValueError>(who, ": max_lr is required");

  double total = static_cast<double>(options_.total_steps), pct = options.pct_start;
  if (options.three_phase) {
    phases_ = {{pct * total - 1, kInitial, kMax, true, false},
               {2 * pct * total - 2, kMax, kInitial, false, true},
               {total - 1, kInitial, kMin, true, true}};
  } else {
    phases_ = {{pct * total - 1, kInitial, kMax, true, false}, {total - 1, kMax, kMin, false, true}};
  }

  size_t groups = optimizer.num_param_groups();
  max_lrs_ = per_group(who, "max_lr", options.max_lr, groups);
  for (size_t g = 0; g < groups; ++g) {
    ParamGroupView group = optimizer.param_group(g);
    initial_lrs_.push_back(max_lrs_[g] / options.div_factor);
    min_lrs_.push_back(initial_lrs_[g] / options.final_div_factor);
    group.initial_lr = initial_lrs_[g];
    if (options.cycle_momentum) {
      if (!group.momentum)
        fail<ValueError>(who, ": ", optimizer.name(), " has no momentum to cycle; use cycle_momentum = false");
      *group.momentum = options.max_momentum;
    }
  }
  base_lrs_ = initial_lrs_;
  initial_step();
}

double OneCycleLR::anneal(double start, double end, double pct) const {
  if (options_.anneal_strategy == "cos") return end + (start - end) / 2.0 * (std::cos(std::numbers::pi * pct) + 1);
  return (end - start) * pct + start;
}

std::vector<double> OneCycleLR::get_lr() {
  if (last_epoch_ > options_.total_steps)
    fail<ValueError>("OneCycleLR: tried to step ", last_epoch_ + 1, " times; the specified number of total steps is ",
                     options_.total_steps);
  double step = static_cast<double>(last_epoch_);
  std::vector<double> lrs(base_lrs_.size());
  for (size_t g = 0; g < lrs.size(); ++g) {
    const double levels[] = {initial_lrs_[g], max_lrs_[g], min_lrs_[g]};
    double start_step = 0;
    for (size_t i = 0; i < phases_.size(); ++i) {
      const Phase& phase = phases_[i];
      if (step <= phase.end_step || i + 1 == phases_.size()) {
        double pct = (step - start_step) / (phase.end_step - start_step);
        lrs[g] = anneal(levels[phase.start_lr], levels[phase.end_lr], pct);
        if (options_.cycle_momentum) {
          auto momentum = [&](bool at_max) { return at_max ? options_.max_momentum : options_.base_momentum; };
          *optimizer_->param_group(g).momentum =
              anneal(momentum(phase.start_at_max_momentum), momentum(phase.end_at_max_momentum), pct);
        }
        break;
      }
      start_step = phase.end_step;
    }
  }
  return lrs;
}

// ------------------------------------------------------------------ combinations

SequentialLR::SequentialLR(Optimizer& optimizer, std::vector<std::shared_ptr<LRScheduler>> schedulers,
                           std::vector<int64_t> milestones)
    : LRScheduler(optimizer), schedulers_(std::move(schedulers)), milestones_(std::move(milestones)) {
  if (schedulers_.empty()) fail<ValueError>("SequentialLR: expects at least one scheduler");
  for (size_t i = 0; i < schedulers_.size(); ++i)
    if (!schedulers_[i] || &schedulers_[i]->optimizer() != &optimizer)
      fail<ValueError>("SequentialLR: expects all schedulers to belong to the same optimizer, but scheduler ", i, " does not");
  if (milestones_.size() != schedulers_.size() - 1)
    fail<ValueError>("SequentialLR: expects one milestone fewer than schedulers, got ", schedulers_.size(),
                     " schedulers and ", milestones_.size(), " milestones");
  // As PyTorch: back to the initial rates, then the first scheduler starts over.
  last_epoch_ = 0;
  for (size_t g = 0; g < optimizer.num_param_groups(); ++g) {
    ParamGroupView group = optimizer.param_group(g);
    group.lr = *group.initial_lr;
  }
  for (auto& s : schedulers_) s->last_epoch_ -= 1;
  schedulers_[0]->initial_step();
  last_lr_ = schedulers_[0]->get_last_lr();
}

void SequentialLR::step_to(std::optional<int64_t>) {
  ++last_epoch_;
  size_t index = std::upper_bound(milestones_.begin(), milestones_.end(), last_epoch_) - milestones_.begin();
  LRScheduler& scheduler = *schedulers_[index];
  if (index > 0 && milestones_[index - 1] == last_epoch_) scheduler.step_to(0);
  else scheduler.step();
  last_lr_ = scheduler.get_last_lr();
}

void SequentialLR::each_value(const ValueVisitor& f) {
  LRScheduler::each_value(f);
  for (size_t i = 0; i < schedulers_.size(); ++i) {
    std::string prefix = "schedulers." + std::to_string(i) + ".";
    schedulers_[i]->each_value([&](const std::string& name, double& value) { f(prefix + name, value); });
  }
}

namespace {
Optimizer& first_optimizer(const std::vector<std::shared_ptr<LRScheduler>>& schedulers) {
  if (schedulers.empty() || !schedulers[0]) fail<ValueError>("ChainedScheduler: expects at least one scheduler");
  return schedulers[0]->optimizer();
}
}  // namespace

ChainedScheduler::ChainedScheduler(std::vector<std::shared_ptr<LRScheduler>> schedulers)
    : LRScheduler(first_optimizer(schedulers)), schedulers_(std::move(schedulers)) {
  for (size_t i = 1; i < schedulers_.size(); ++i)
    if (!schedulers_[i] || &schedulers_[i]->optimizer() != optimizer_)
      fail<ValueError>("ChainedScheduler: expects all schedulers to belong to the same optimizer, but scheduler ", i, " does not");
  last_lr_ = current_lrs();
}

void ChainedScheduler::step_to(std::optional<int64_t>) {
  for (auto& s : schedulers_) s->step();
  last_lr_ = current_lrs();
}

void ChainedScheduler::each_value(const ValueVisitor& f) {
  LRScheduler::each_value(f);
  for (size_t i = 0; i < schedulers_.size(); ++i) {
    std::string prefix = "schedulers." + std::to_string(i) + ".";
    schedulers_[i]->each_value([&](const std::string& name, double& value) { f(prefix + name, value); });
  }
}

// ------------------------------------------------------------------ ReduceLROnPlateau

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& optimizer, const ReduceLROnPlateauOptions& options)
    : optimizer_(&optimizer), options_(options) {
  const char* who = "ReduceLROnPlateau";
  if (options.factor >= 1.0) fail<ValueError>(who, ": factor should be < 1.0, got ", options.factor);
  if (options.mode != "min" && options.mode != "max") fail<ValueError>(who, ": mode \"", options.mode, "\" is unknown (min or max)");
  if (options.threshold_mode != "rel" && options.threshold_mode != "abs")
    fail<ValueError>(who, ": threshold mode \"", options.threshold_mode, "\" is unknown (rel or abs)");
  min_lrs_ = per_group(who, "min_lr", options.min_lr, optimizer.num_param_groups());
  best_ = options.mode == "min" ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
  for (size_t g = 0; g < optimizer.num_param_groups(); ++g) last_lr_.push_back(optimizer.param_group(g).lr);
}

bool ReduceLROnPlateau::is_better(double a, double best) const {
  bool rel = options_.threshold_mode == "rel";
  if (options_.mode == "min") return rel ? a < best * (1. - options_.threshold) : a < best - options_.threshold;
  return rel ? a > best * (options_.threshold + 1.) : a > best + options_.threshold;
}

void ReduceLROnPlateau::step(double metric) {
  last_epoch_ += 1;
  if (is_better(metric, best_)) {
    best_ = metric;
    num_bad_epochs_ = 0;
  } else {
    num_bad_epochs_ += 1;
  }
  if (cooldown_counter_ > 0) {
    cooldown_counter_ -= 1;
    num_bad_epochs_ = 0;  // bad epochs in cooldown do not count
  }
  if (num_bad_epochs_ > options_.patience) {
    for (size_t g = 0; g < min_lrs_.size(); ++g) {
      double& lr = optimizer_->param_group(g).lr;
      double new_lr = std::max(lr * options_.factor, min_lrs_[g]);
      if (lr - new_lr > options_.eps) lr = new_lr;
    }
    cooldown_counter_ = options_.cooldown;
    num_bad_epochs_ = 0;
  }
  for (size_t g = 0; g < last_lr_.size(); ++g) last_lr_[g] = optimizer_->param_group(g).lr;
}

void ReduceLROnPlateau::each_value(const ValueVisitor& f) {
  f("best", best_);
  visit_count(f, "num_bad_epochs", num_bad_epochs_);
  visit_count(f, "cooldown_counter", cooldown_counter_);
  visit_count(f, "last_epoch", last_epoch_);
  visit_list(f, "last_lr", last_lr_);
}

NamedTensors ReduceLROnPlateau::state_dict() {
  return values_to_tensors([&](const ValueVisitor& f) { each_value(f); });
}

void ReduceLROnPlateau::load_state_dict(const NamedTensors& state) {
  tensors_to_values("ReduceLROnPlateau", state, [&](const ValueVisitor& f) { each_value(f); });
}

}  // namespace cajal::optim
