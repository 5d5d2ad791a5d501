#pragma once
// Optimizer: the base of every optimizer, in the spirit of torch.optim.Optimizer.
//
//   optim::AdamW opt(model->parameters(), {.lr = 1e-3, .weight_decay = 1e-2});
//   opt.zero_grad(); loss.backward(); opt.step();
//
// Parameters come in groups, each with its own hyperparameters (a lower learning rate for a
// pretrained backbone):
//   optim::SGD opt({{backbone->parameters(), {.lr = 1e-4}},
//                   {head->parameters(), {.lr = 1e-2, .momentum = 0.9}}});
// A group is the optimizer's options struct plus its parameters, so its hyperparameters are
// plain fields: opt.param_groups()[0].lr = 0.05.
//
// Every update runs in place, in one fused pass over each parameter's memory (parameter,
// gradient and the optimizer's buffers), so a step allocates nothing once the buffers exist.
// Parameters must be contiguous float32 or float64 tensors; a parameter without a gradient
// is skipped, as in PyTorch.
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "cajal/core/tensor.h"

namespace cajal::optim {

// Tensors by name, in order (the form weight files and checkpoints store).
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// What every parameter group offers whatever the optimizer: schedulers read and write the
// learning rate through it.
struct ParamGroupView {
  TensorList& params;
  double& lr;
  // The learning rate a scheduler started from; set by the first scheduler attached.
  std::optional<double>& initial_lr;
  // The coefficient OneCycleLR cycles: SGD's and RMSprop's momentum, the Adam family's beta1;
  // null for optimizers that have none.
  double* momentum;
};

class Optimizer {
 public:
  Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;
  virtual ~Optimizer() = default;

  // The PyTorch class name ("SGD", "AdamW"), used in error messages.
  virtual std::string name() const = 0;

  // One update of every parameter that has a gradient.
  virtual void step() = 0;
  // Runs `closure` (which clears the gradients, computes the loss and calls backward) with
  // grad mode on, then steps; returns the loss. LBFGS calls the closure several times.
  virtual Tensor step(const std::function<Tensor()>& closure);

  // Clears the gradients of all parameters. As in PyTorch 1.13, the default zeroes them in
  // place (the gradient buffers are reused by the next backward); set_to_none drops them
  // instead, which PyTorch 2 made the default: backward then allocates fresh gradients, and
  // a parameter that receives none is skipped by step() rather than updated with zeros.
  void zero_grad(bool set_to_none = false);

  virtual size_t num_param_groups() const = 0;
  virtual ParamGroupView param_group(size_t index) = 0;
  // All parameters, group after group: the order state_dict numbers them in.
  TensorList parameters();

  // The optimizer's state as named tensors, as torch's state_dict holds it:
  //   "state.<i>.<buffer>"       per-parameter buffers and step counts (0-d int64) of the i-th
  //                              parameter (counted across groups), for parameters that have state
  //   "param_groups.<g>.params"  1-D int64: the indices of the group's parameters
  //   "param_groups.<g>.<name>"  each hyperparameter as a 0-d float64 (booleans 0 or 1),
  //                              "betas" as two entries "betas.0" and "betas.1"
  // The buffers are the optimizer's own tensors, not copies: save them before stepping again.
  virtual NamedTensors state_dict() const = 0;
  // Restores a state_dict (copying its tensors), so that training resumes exactly. The groups
  // and their sizes must match; every entry must be known to this optimizer.
  virtual void load_state_dict(const NamedTensors& state) = 0;
};

// A parameter group: the optimizer's options (lr, momentum, ...) and the parameters they apply to.
template <typename Options>
struct ParamGroup : Options {
  TensorList params;
  std::optional<double> initial_lr;
};

// What constructors take for several groups: {params, {.lr = 1e-4}}.
template <typename Options>
struct ParamGroupSpec {
  TensorList params;
  Options options = {};
};

// The machinery every optimizer shares: groups, per-parameter state, the step loop and
// state_dict. An optimizer derives from OptimizerBase<Itself, Options, State> and provides
//   static constexpr const char* kName;                        "SGD"
//   static void check(const Options&);                         throws ValueError on bad options
//   static void update(const Tensor& param, const Tensor& grad, const Options&, State&);
// and optionally
//   static void init_state(const Tensor& param, const Options&, State&);  at add_param_group
//   static double* momentum(Options&);                         for OneCycleLR
// Options and State list their fields by name with each(f) (state_dict uses the names):
// Options fields are double or bool; State fields are Tensor (buffers shaped like the
// parameter), int64_t (step counts) or double.
template <typename Derived, typename OptionsT, typename StateT>
class OptimizerBase : public Optimizer {
 public:
  using Options = OptionsT;
  using State = StateT;
  using Group = ParamGroup<Options>;
  using Optimizer::step;

  explicit OptimizerBase(const TensorList& params, const Options& options = {});
  explicit OptimizerBase(const std::vector<ParamGroupSpec<Options>>& groups);

  // Adds parameters with their own options (e.g. a layer unfrozen during fine-tuning).
  void add_param_group(const TensorList& params, const Options& options);

  // The groups, with their hyperparameters as fields (lr, momentum, ...), writable.
  std::span<Group> param_groups() { return groups_; }
  std::span<const Group> param_groups() const { return groups_; }
  // The state of the i-th parameter of a group (empty buffers until its first step).
  const State& state(size_t group, size_t index) const { return state_.at(group).at(index); }

  std::string name() const override { return Derived::kName; }
  void step() override;
  size_t num_param_groups() const override { return groups_.size(); }
  ParamGroupView param_group(size_t index) override;
  NamedTensors state_dict() const override;
  void load_state_dict(const NamedTensors& state) override;

  // Defaults of the optional hooks.
  static void init_state(const Tensor&, const Options&, State&) {}
  static double* momentum(Options&) { return nullptr; }

 private:
  std::vector<Group> groups_;
  std::vector<std::vector<State>> state_;  // [group][parameter]
};

}  // namespace cajal::optim
