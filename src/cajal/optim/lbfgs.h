#pragma once
// L-BFGS: torch.optim.LBFGS, same arguments, defaults and numbers. A quasi-Newton method for
// full-batch problems: each step() runs up to max_iter iterations and re-evaluates the loss
// through a closure, so step needs one:
//
//   optim::LBFGS opt(params, {.line_search_fn = "strong_wolfe"});
//   opt.step([&] {
//     opt.zero_grad();
//     Tensor loss = criterion(model->forward(x), y);
//     loss.backward();
//     return loss;
//   });
//
// As in PyTorch, there is one parameter group, and the state (directions, curvature pairs)
// is kept over the parameters flattened into one vector.
#include <string>

#include "cajal/optim/optimizer.h"

namespace cajal::optim {

struct LBFGSOptions {
  double lr = 1;
  int64_t max_iter = 20;      // iterations per step()
  int64_t max_eval = 0;       // loss evaluations per step(); 0 means max_iter * 5 / 4
  double tolerance_grad = 1e-7;    // stop when the largest gradient element is this small
  double tolerance_change = 1e-9;  // stop when the loss or the step changes less
  int64_t history_size = 100;      // curvature pairs kept
  std::string line_search_fn = "";  // "" (a fixed step of lr) or "strong_wolfe"
};

class LBFGS : public Optimizer {
 public:
  explicit LBFGS(const TensorList& params, const LBFGSOptions& options = {});

  const LBFGSOptions& options() const { return options_; }
  std::string name() const override { return "LBFGS"; }
  // Fails: L-BFGS re-evaluates the loss, so it needs step(closure).
  void step() override;
  // Runs up to max_iter iterations; returns the loss the closure gave at the start.
  Tensor step(const std::function<Tensor()>& closure) override;
  size_t num_param_groups() const override { return 1; }
  ParamGroupView param_group(size_t index) override;
  // "state.0.<name>" for the counters, the direction d, the step t, the curvature pairs
  // ("state.0.old_dirs.<k>", "state.0.old_stps.<k>", "state.0.ro.<k>"), H_diag, the previous
  // gradient and loss; "param_groups.0.<option>" (line_search_fn as 1 for "strong_wolfe").
  NamedTensors state_dict() const override;
  void load_state_dict(const NamedTensors& state) override;

 private:
  using Evaluation = std::pair<double, Tensor>;  // loss, flat gradient
  Tensor gather_flat_grad() const;
  void add_to_params(double step_size, const Tensor& direction);
  Evaluation evaluate_along(const std::function<Tensor()>& closure, const TensorList& start, double t, const Tensor& d);
  // The strong Wolfe line search: returns loss, gradient and step at the accepted point, and
  // adds the number of evaluations it made to `evals`.
  std::tuple<double, Tensor, double> strong_wolfe(const std::function<Tensor()>& closure, double t, const Tensor& d,
                                                  double loss, const Tensor& grad, double gtd, int64_t& evals);

  TensorList params_;
  LBFGSOptions options_;
  std::optional<double> initial_lr_;

  // State carried from one step() to the next.
  int64_t func_evals_ = 0;
  int64_t n_iter_ = 0;
  Tensor d_;               // the last search direction
  double t_ = 0;           // the last step length
  TensorList old_dirs_;    // gradient differences y
  TensorList old_stps_;    // steps s
  std::vector<double> ro_; // 1 / (y . s)
  double H_diag_ = 1;      // the initial inverse Hessian scale
  Tensor prev_flat_grad_;
  double prev_loss_ = 0;
};

}  // namespace cajal::optim
