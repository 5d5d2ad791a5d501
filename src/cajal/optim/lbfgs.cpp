#include "cajal/optim/lbfgs.h"

#include <algorithm>
#include <cmath>

#include "cajal/ops/creation.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/linalg.h"
#include "cajal/ops/reduce.h"
#include "cajal/ops/shape.h"
#include "cajal/optim/optimizer_impl.h"

namespace cajal::optim {

namespace {

double dot_value(const Tensor& a, const Tensor& b) { return dot(a, b).item<double>(); }
double abs_max(const Tensor& t) { return max(abs(t)).item<double>(); }

// The minimizer of the cubic through (x1, f1) and (x2, f2) with slopes g1 and g2, clamped to
// the bounds (the interval between x1 and x2 by default); their midpoint when it has none.
double cubic_interpolate(double x1, double f1, double g1, double x2, double f2, double g2,
                         std::optional<std::pair<double, double>> bounds = std::nullopt) {
  auto [lo, hi] = bounds ? *bounds : (x1 <= x2 ? std::pair{x1, x2} : std::pair{x2, x1});
  double d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2);
  double d2_square = d1 * d1 - g1 * g2;
  if (d2_square < 0) return (lo + hi) / 2.;
  double d2 = std::sqrt(d2_square);
  double min_pos = x1 <= x2 ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
                            : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
  return std::min(std::max(min_pos, lo), hi);
}

}  // namespace

LBFGS::LBFGS(const TensorList& params, const LBFGSOptions& options) : params_(params), options_(options) {
  if (params.empty()) fail<ValueError>("LBFGS: got an empty parameter list");
  for (size_t i = 0; i < params.size(); ++i) detail::check_param("LBFGS", params[i], i);
  detail::check_unique("LBFGS", params, {});
  if (options_.max_eval == 0) options_.max_eval = options_.max_iter * 5 / 4;
  if (options_.line_search_fn != "" && options_.line_search_fn != "strong_wolfe")
    fail<ValueError>("LBFGS: only \"strong_wolfe\" is supported as line_search_fn, got \"", options_.line_search_fn, "\"");
  if (!(options_.lr >= 0)) fail<ValueError>("LBFGS: invalid learning rate ", options_.lr);
  if (options_.history_size <= 0) fail<ValueError>("LBFGS: history_size must be positive, got ", options_.history_size);
}

void LBFGS::step() { fail<ValueError>("LBFGS: step needs a closure that re-evaluates the loss: step([&] { ... })"); }

ParamGroupView LBFGS::param_group(size_t index) {
  if (index != 0) fail<IndexError>("LBFGS: parameter group ", index, " out of range (1 group)");
  return {params_, options_.lr, initial_lr_, nullptr};
}

Tensor LBFGS::gather_flat_grad() const {
  TensorList views;
  for (const Tensor& p : params_) views.push_back(p.grad().defined() ? p.grad().reshape({-1}) : zeros({p.numel()}, {.dtype = p.dtype()}));
  return cat(views, 0);
}

void LBFGS::add_to_params(double step_size, const Tensor& direction) {
  int64_t offset = 0;
  for (Tensor& p : params_) {
    p.add_(direction.slice(0, offset, offset + p.numel()).view(p.sizes()), step_size);
    offset += p.numel();
  }
}

LBFGS::Evaluation LBFGS::evaluate_along(const std::function<Tensor()>& closure, const TensorList& start, double t, const Tensor& d) {
  add_to_params(t, d);
  double loss;
  {
    GradModeGuard grad_mode(true);
    loss = closure().item<double>();
  }
  Tensor flat_grad = gather_flat_grad();
  for (size_t i = 0; i < params_.size(); ++i) params_[i].copy_(start[i]);
  return {loss, flat_grad};
}

std::tuple<double, Tensor, double> LBFGS::strong_wolfe(const std::function<Tensor()>& closure, double t, const Tensor& d,
                                                       double f, const Tensor& g_start, double gtd, int64_t& evals) {
  const double c1 = 1e-4, c2 = 0.9;
  const int64_t max_ls = 25;
  TensorList x;
  for (const Tensor& p : params_) x.push_back(p.clone());
  double d_norm = abs_max(d);
  Tensor g = g_start.clone();
  auto [f_new, g_new] = evaluate_along(closure, x, t, d);
  evals = 1;
  double gtd_new = dot_value(g_new, d);
  double t_prev = 0, f_prev = f, gtd_prev = gtd;
  Tensor g_prev = g;
  bool done = false;
  int64_t ls_iter = 0;
  // The bracket: two points (or one when the first already satisfies the conditions).
  std::vector<double> bracket, bracket_f, bracket_gtd;
  TensorList bracket_g;
  while (ls_iter < max_ls) {
    if (f_new > f + c1 * t * gtd || (ls_iter > 1 && f_new >= f_prev)) {
      bracket = {t_prev, t}, bracket_f = {f_prev, f_new}, bracket_g = {g_prev, g_new.clone()}, bracket_gtd = {gtd_prev, gtd_new};
      break;
    }
    if (std::abs(gtd_new) <= -c2 * gtd) {
      bracket = {t}, bracket_f = {f_new}, bracket_g = {g_new};
      done = true;
      break;
    }
    if (gtd_new >= 0) {
      bracket = {t_prev, t}, bracket_f = {f_prev, f_new}, bracket_g = {g_prev, g_new.clone()}, bracket_gtd = {gtd_prev, gtd_new};
      break;
    }
    // Extrapolate.
    double min_step = t + 0.01 * (t - t_prev), max_step = t * 10;
    double previous_t = t;
    t = cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, std::pair{min_step, max_step});
    t_prev = previous_t, f_prev = f_new, g_prev = g_new.clone(), gtd_prev = gtd_new;
    std::tie(f_new, g_new) = evaluate_along(closure, x, t, d);
    evals += 1;
    gtd_new = dot_value(g_new, d);
    ls_iter += 1;
  }
  if (ls_iter == max_ls) bracket = {0, t}, bracket_f = {f, f_new}, bracket_g = {g, g_new};

  // Zoom: shrink the bracket until a point satisfies the strong Wolfe conditions.
  bool insufficient_progress = false;
  size_t low = bracket_f[0] <= bracket_f.back() ? 0 : 1, high = 1 - low;
  while (!done && ls_iter < max_ls) {
    if (std::abs(bracket[1] - bracket[0]) * d_norm < options_.tolerance_change) break;
    t = cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1]);
    double b_max = std::max(bracket[0], bracket[1]), b_min = std::min(bracket[0], bracket[1]);
    double eps = 0.1 * (b_max - b_min);
    if (std::min(b_max - t, t - b_min) < eps) {
      // Too close to an end: move away from it, unless the last move made progress.
      if (insufficient_progress || t >= b_max || t <= b_min) {
        t = std::abs(t - b_max) < std::abs(t - b_min) ? b_max - eps : b_min + eps;
        insufficient_progress = false;
      } else {
        insufficient_progress = true;
      }
    } else {
      insufficient_progress = false;
    }
    std::tie(f_new, g_new) = evaluate_along(closure, x, t, d);
    evals += 1;
    gtd_new = dot_value(g_new, d);
    ls_iter += 1;
    if (f_new > f + c1 * t * gtd || f_new >= bracket_f[low]) {
      bracket[high] = t, bracket_f[high] = f_new, bracket_g[high] = g_new.clone(), bracket_gtd[high] = gtd_new;
      low = bracket_f[0] <= bracket_f[1] ? 0 : 1, high = 1 - low;
    } else {
      if (std::abs(gtd_new) <= -c2 * gtd) {
        done = true;
      } else if (gtd_new * (bracket[high] - bracket[low]) >= 0) {
        bracket[high] = bracket[low], bracket_f[high] = bracket_f[low], bracket_g[high] = bracket_g[low];
        bracket_gtd[high] = bracket_gtd[low];
      }
      bracket[low] = t, bracket_f[low] = f_new, bracket_g[low] = g_new.clone(), bracket_gtd[low] = gtd_new;
    }
  }
  return {bracket_f[low], bracket_g[low], bracket[low]};
}

Tensor LBFGS::step(const std::function<Tensor()>& closure) {
  NoGradGuard no_grad;
  auto evaluate = [&] {
    GradModeGuard grad_mode(true);
    return closure();
  };
  const LBFGSOptions& o = options_;
  Tensor orig_loss = evaluate();
  double loss = orig_loss.item<double>();
  int64_t current_evals = 1;
  func_evals_ += 1;
  Tensor flat_grad = gather_flat_grad();
  if (abs_max(flat_grad) <= o.tolerance_grad) return orig_loss;

  for (int64_t n_iter = 1; n_iter <= o.max_iter; ++n_iter) {
    n_iter_ += 1;
    // The direction: steepest descent first, then the two-loop recursion over the history.
    if (n_iter_ == 1) {
      d_ = neg(flat_grad);
      old_dirs_.clear(), old_stps_.clear(), ro_.clear();
      H_diag_ = 1;
    } else {
      Tensor y = flat_grad - prev_flat_grad_;
      Tensor s = d_ * t_;
      double ys = dot_value(y, s);
      if (ys > 1e-10) {
        if (static_cast<int64_t>(old_dirs_.size()) == o.history_size) {
          old_dirs_.erase(old_dirs_.begin()), old_stps_.erase(old_stps_.begin()), ro_.erase(ro_.begin());
        }
        old_dirs_.push_back(y), old_stps_.push_back(s), ro_.push_back(1. / ys);
        H_diag_ = ys / dot_value(y, y);
      }
      size_t num_old = old_dirs_.size();
      std::vector<double> al(num_old);
      Tensor q = neg(flat_grad);
      for (size_t i = num_old; i-- > 0;) {
        al[i] = dot_value(old_stps_[i], q) * ro_[i];
        q.add_(old_dirs_[i], -al[i]);
      }
      Tensor r = q * H_diag_;
      for (size_t i = 0; i < num_old; ++i) {
        double be_i = dot_value(old_dirs_[i], r) * ro_[i];
        r.add_(old_stps_[i], al[i] - be_i);
      }
      d_ = r;
    }
    if (prev_flat_grad_.defined()) prev_flat_grad_.copy_(flat_grad);
    else prev_flat_grad_ = flat_grad.clone();
    prev_loss_ = loss;

    // The step length: scaled by the gradient at the very first iteration, lr after.
    t_ = n_iter_ == 1 ? std::min(1., 1. / sum(abs(flat_grad)).item<double>()) * o.lr : o.lr;
    double gtd = dot_value(flat_grad, d_);
    if (gtd > -o.tolerance_change) break;  // not a descent direction

    int64_t ls_func_evals = 0;
    bool opt_cond = false;
    if (o.line_search_fn == "strong_wolfe") {
      std::tie(loss, flat_grad, t_) = strong_wolfe(closure, t_, d_, loss, flat_grad, gtd, ls_func_evals);
      add_to_params(t_, d_);
      opt_cond = abs_max(flat_grad) <= o.tolerance_grad;
    } else {
      add_to_params(t_, d_);
      if (n_iter != o.max_iter) {  // re-evaluate, except after the last iteration
        loss = evaluate().item<double>();
        flat_grad = gather_flat_grad();
        opt_cond = abs_max(flat_grad) <= o.tolerance_grad;
        ls_func_evals = 1;
      }
    }
    current_evals += ls_func_evals;
    func_evals_ += ls_func_evals;

    if (n_iter == o.max_iter || current_evals >= o.max_eval || opt_cond) break;
    if (abs_max(d_ * t_) <= o.tolerance_change) break;
    if (std::abs(loss - prev_loss_) < o.tolerance_change) break;
  }
  return orig_loss;
}

NamedTensors LBFGS::state_dict() const {
  NamedTensors out;
  auto key = [](const std::string& name) { return "state.0." + name; };
  if (n_iter_ > 0 || func_evals_ > 0) {
    out.emplace_back(key("func_evals"), detail::step_tensor(func_evals_));
    out.emplace_back(key("n_iter"), detail::step_tensor(n_iter_));
    if (d_.defined()) out.emplace_back(key("d"), d_);
    out.emplace_back(key("t"), detail::number_tensor(t_));
    out.emplace_back(key("H_diag"), detail::number_tensor(H_diag_));
    if (prev_flat_grad_.defined()) out.emplace_back(key("prev_flat_grad"), prev_flat_grad_);
    out.emplace_back(key("prev_loss"), detail::number_tensor(prev_loss_));
    for (size_t k = 0; k < old_dirs_.size(); ++k) {
      out.emplace_back(key("old_dirs." + std::to_string(k)), old_dirs_[k]);
      out.emplace_back(key("old_stps." + std::to_string(k)), old_stps_[k]);
      out.emplace_back(key("ro." + std::to_string(k)), detail::number_tensor(ro_[k]));
    }
  }
  auto group = [](const char* name) { return detail::group_key(0, name); };
  out.emplace_back(group("params"), detail::index_tensor(0, params_.size()));
  out.emplace_back(group("lr"), detail::number_tensor(options_.lr));
  out.emplace_back(group("max_iter"), detail::number_tensor(static_cast<double>(options_.max_iter)));
  out.emplace_back(group("max_eval"), detail::number_tensor(static_cast<double>(options_.max_eval)));
  out.emplace_back(group("tolerance_grad"), detail::number_tensor(options_.tolerance_grad));
  out.emplace_back(group("tolerance_change"), detail::number_tensor(options_.tolerance_change));
  out.emplace_back(group("history_size"), detail::number_tensor(static_cast<double>(options_.history_size)));
  out.emplace_back(group("line_search_fn"), detail::number_tensor(options_.line_search_fn == "strong_wolfe" ? 1 : 0));
  if (initial_lr_) out.emplace_back(group("initial_lr"), detail::number_tensor(*initial_lr_));
  return out;
}

void LBFGS::load_state_dict(const NamedTensors& state) {
  detail::StateReader reader("LBFGS", state);
  auto group = [](const char* name) { return detail::group_key(0, name); };
  Tensor indices = reader.take(group("params"));
  if (!indices.defined() || indices.numel() != static_cast<int64_t>(params_.size()))
    reader.fail_entry(group("params"), cajal::detail::concat("should list the ", params_.size(), " parameters"));
  LBFGSOptions o = options_;
  o.lr = reader.take_number(group("lr"));
  o.max_iter = static_cast<int64_t>(reader.take_number(group("max_iter")));
  o.max_eval = static_cast<int64_t>(reader.take_number(group("max_eval")));
  o.tolerance_grad = reader.take_number(group("tolerance_grad"));
  o.tolerance_change = reader.take_number(group("tolerance_change"));
  o.history_size = static_cast<int64_t>(reader.take_number(group("history_size")));
  o.line_search_fn = reader.take_number(group("line_search_fn")) != 0 ? "strong_wolfe" : "";
  Tensor initial_lr = reader.take(group("initial_lr"));

  // Flat vectors have as many elements as all parameters together, in the first one's dtype.
  int64_t numel = 0;
  for (const Tensor& p : params_) numel += p.numel();
  Tensor flat_like = empty({numel}, {.dtype = params_[0].dtype()});
  auto key = [](const std::string& name) { return "state.0." + name; };
  auto number = [&](const std::string& name, double fallback) {
    Tensor t = reader.take(key(name));
    return t.defined() ? t.item<double>() : fallback;
  };
  int64_t func_evals = static_cast<int64_t>(number("func_evals", 0)), n_iter = static_cast<int64_t>(number("n_iter", 0));
  Tensor d = reader.take_buffer(key("d"), flat_like), prev_flat_grad = reader.take_buffer(key("prev_flat_grad"), flat_like);
  double t = number("t", 0), H_diag = number("H_diag", 1), prev_loss = number("prev_loss", 0);
  TensorList old_dirs, old_stps;
  std::vector<double> ro;
  for (size_t k = 0;; ++k) {
    Tensor y = reader.take_buffer(key("old_dirs." + std::to_string(k)), flat_like);
    if (!y.defined()) break;
    old_dirs.push_back(y);
    old_stps.push_back(reader.take_buffer(key("old_stps." + std::to_string(k)), flat_like));
    ro.push_back(reader.take_number(key("ro." + std::to_string(k))));
    if (!old_stps.back().defined()) reader.fail_entry(key("old_stps." + std::to_string(k)), "is missing");
  }
  reader.finish();

  options_ = o;
  initial_lr_ = initial_lr.defined() ? std::optional<double>(initial_lr.item<double>()) : std::nullopt;
  func_evals_ = func_evals, n_iter_ = n_iter, d_ = d, t_ = t, H_diag_ = H_diag, prev_flat_grad_ = prev_flat_grad;
  prev_loss_ = prev_loss, old_dirs_ = old_dirs, old_stps_ = old_stps, ro_ = ro;
}

}  // namespace cajal::optim
