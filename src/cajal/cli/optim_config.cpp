#include "cajal/cli/optim_config.h"

#include "cajal/core/error.h"
#include "cajal/models/suggest.h"
#include "cajal/ops/loss.h"
#include "cajal/optim/optim.h"

namespace cajal::cli {

namespace {

double non_negative(models::Options& options, const std::string& name, double fallback) {
  double value = options.get_float(name, fallback);
  if (value < 0) options.fail(name, "must not be negative, got " + std::to_string(value));
  return value;
}

double positive(models::Options& options, const std::string& name, std::optional<double> fallback) {
  double value = options.get_float(name, fallback);
  if (value <= 0) options.fail(name, "must be positive, got " + std::to_string(value));
  return value;
}

std::array<double, 2> betas(models::Options& options) {
  std::vector<double> values = options.get_floats("betas", std::vector<double>{0.9, 0.999});
  if (values.size() != 2 || values[0] < 0 || values[0] >= 1 || values[1] < 0 || values[1] >= 1) {
    options.fail("betas", "must be two numbers in [0, 1), e.g. [0.9, 0.999]");
  }
  return {values[0], values[1]};
}

// The name of a component (the `name` key), one of `names`.
std::string component_name(models::Options& options, const std::string& fallback, const std::vector<std::string>& names) {
  return options.get_string("name", fallback, names);
}

}  // namespace

LossSpec read_loss(models::Options options) {
  std::string name = component_name(options, "auto", {"auto", "cross_entropy", "nll", "mse", "l1", "smooth_l1", "huber"});
  LossSpec spec{name, {}};
  if (name == "cross_entropy") {
    double smoothing = options.get_float("label_smoothing", 0.0);
    if (smoothing < 0 || smoothing > 1) options.fail("label_smoothing", "must be in [0, 1]");
    spec.function = [smoothing](const Tensor& out, const Tensor& target) {
      return cross_entropy(out, target, {.label_smoothing = smoothing});
    };
    spec.per_example = [smoothing](const Tensor& out, const Tensor& target) {
      return cross_entropy(out, target, {.reduction = Reduction::None, .label_smoothing = smoothing});
    };
  } else if (name == "nll") {
    spec.function = [](const Tensor& out, const Tensor& target) { return nll_loss(out, target); };
    spec.per_example = [](const Tensor& out, const Tensor& target) {
      return nll_loss(out, target, {.reduction = Reduction::None});
    };
  } else if (name == "mse") {
    spec.function = [](const Tensor& out, const Tensor& target) { return mse_loss(out, target); };
  } else if (name == "l1") {
    spec.function = [](const Tensor& out, const Tensor& target) { return l1_loss(out, target); };
  } else if (name == "smooth_l1") {
    double beta = non_negative(options, "beta", 1.0);
    spec.function = [beta](const Tensor& out, const Tensor& target) { return smooth_l1_loss(out, target, {.beta = beta}); };
  } else if (name == "huber") {
    double delta = positive(options, "delta", 1.0);
    spec.function = [delta](const Tensor& out, const Tensor& target) { return huber_loss(out, target, {.delta = delta}); };
  }
  options.check_unused();
  return spec;
}

LossSpec resolve_loss(const LossSpec& loss, bool classification) {
  if (loss.name != "auto") return loss;
  models::Options options;
  options.set("name", models::OptionValue::scalar(classification ? "cross_entropy" : "mse"));
  return read_loss(options);
}

namespace {

// Builds optimizer Opt with one group per request, each the section's options with the
// request's lr and weight_decay where it gives them.
template <typename Opt, typename Options>
auto group_maker(Options options) {
  return [options](const std::vector<ParamGroupRequest>& requests) {
    std::vector<optim::ParamGroupSpec<Options>> groups;
    for (const ParamGroupRequest& request : requests) {
      Options o = options;
      if (request.lr) o.lr = *request.lr;
      if (request.weight_decay) o.weight_decay = *request.weight_decay;
      groups.push_back({request.params, o});
    }
    return std::make_unique<Opt>(groups);
  };
}

}  // namespace

OptimizerSpec read_optimizer(models::Options options) {
  std::string name = component_name(options, "adam", {"sgd", "adam", "adamw", "nadam", "rmsprop", "adagrad"});
  OptimizerSpec spec{name, {}};
  if (name == "sgd") {
    optim::SGDOptions o{.lr = positive(options, "lr", std::nullopt),
                        .momentum = non_negative(options, "momentum", 0.0),
                        .weight_decay = non_negative(options, "weight_decay", 0.0),
                        .nesterov = options.get_bool("nesterov", false)};
    if (o.nesterov && o.momentum == 0) options.fail("nesterov", "needs a momentum above 0");
    spec.make_groups = group_maker<optim::SGD>(o);
  } else if (name == "adam" || name == "adamw") {
    optim::AdamOptions o{.lr = positive(options, "lr", 1e-3),
                         .betas = betas(options),
                         .eps = positive(options, "eps", 1e-8),
                         .weight_decay = non_negative(options, "weight_decay", name == "adamw" ? 1e-2 : 0.0),
                         .amsgrad = options.get_bool("amsgrad", false)};
    if (name == "adam") {
      spec.make_groups = group_maker<optim::Adam>(o);
    } else {
      optim::AdamWOptions w{.lr = o.lr, .betas = o.betas, .eps = o.eps, .weight_decay = o.weight_decay, .amsgrad = o.amsgrad};
      spec.make_groups = group_maker<optim::AdamW>(w);
    }
  } else if (name == "nadam") {
    optim::NAdamOptions o{.lr = positive(options, "lr", 2e-3),
                          .betas = betas(options),
                          .eps = positive(options, "eps", 1e-8),
                          .weight_decay = non_negative(options, "weight_decay", 0.0)};
    spec.make_groups = group_maker<optim::NAdam>(o);
  } else if (name == "rmsprop") {
    optim::RMSpropOptions o{.lr = positive(options, "lr", 1e-2),
                            .alpha = non_negative(options, "alpha", 0.99),
                            .eps = positive(options, "eps", 1e-8),
                            .weight_decay = non_negative(options, "weight_decay", 0.0),
                            .momentum = non_negative(options, "momentum", 0.0),
                            .centered = options.get_bool("centered", false)};
    spec.make_groups = group_maker<optim::RMSprop>(o);
  } else {
    optim::AdagradOptions o{.lr = positive(options, "lr", 1e-2),
                            .weight_decay = non_negative(options, "weight_decay", 0.0),
                            .eps = positive(options, "eps", 1e-10)};
    spec.make_groups = group_maker<optim::Adagrad>(o);
  }
  options.check_unused();
  return spec;
}

ScheduleSpec read_schedule(models::Options options) {
  std::string name = component_name(options, "none",
                                    {"none", "onecycle", "cosine", "step", "multistep", "exponential", "plateau"});
  ScheduleSpec spec{name, [](train::TrainerOptions&, optim::Optimizer&, int64_t, int64_t) {}};
  using Install = decltype(spec.install);
  if (name == "onecycle") {
    std::optional<double> max_lr;
    if (options.contains("max_lr")) max_lr = positive(options, "max_lr", std::nullopt);
    optim::OneCycleLROptions o{.pct_start = options.get_float("pct_start", 0.3),
                               .anneal_strategy = options.get_string("anneal", "cos", {"cos", "linear"}),
                               .div_factor = positive(options, "div_factor", 25.0),
                               .final_div_factor = positive(options, "final_div_factor", 1e4)};
    if (o.pct_start <= 0 || o.pct_start >= 1) options.fail("pct_start", "must be in (0, 1)");
    spec.install = Install([o, max_lr](train::TrainerOptions& t, optim::Optimizer& opt, int64_t epochs, int64_t steps) {
      optim::OneCycleLROptions run = o;
      run.max_lr = {max_lr.value_or(opt.param_group(0).lr)};
      run.epochs = epochs;
      run.steps_per_epoch = steps;
      t.scheduler = std::make_shared<optim::OneCycleLR>(opt, run);
      t.scheduler_interval = train::Interval::step;
    });
  } else if (name == "cosine") {
    double eta_min = non_negative(options, "eta_min", 0.0);
    spec.install = Install([eta_min](train::TrainerOptions& t, optim::Optimizer& opt, int64_t epochs, int64_t) {
      t.scheduler = std::make_shared<optim::CosineAnnealingLR>(opt, epochs, eta_min);
    });
  } else if (name == "step") {
    int64_t step_size = options.get_int("step_size");
    double gamma = positive(options, "gamma", 0.1);
    if (step_size < 1) options.fail("step_size", "must be at least 1");
    spec.install = Install([step_size, gamma](train::TrainerOptions& t, optim::Optimizer& opt, int64_t, int64_t) {
      t.scheduler = std::make_shared<optim::StepLR>(opt, step_size, gamma);
    });
  } else if (name == "multistep") {
    std::vector<int64_t> milestones = options.get_ints("milestones");
    double gamma = positive(options, "gamma", 0.1);
    spec.install = Install([milestones, gamma](train::TrainerOptions& t, optim::Optimizer& opt, int64_t, int64_t) {
      t.scheduler = std::make_shared<optim::MultiStepLR>(opt, milestones, gamma);
    });
  } else if (name == "exponential") {
    double gamma = positive(options, "gamma", std::nullopt);
    spec.install = Install([gamma](train::TrainerOptions& t, optim::Optimizer& opt, int64_t, int64_t) {
      t.scheduler = std::make_shared<optim::ExponentialLR>(opt, gamma);
    });
  } else if (name == "plateau") {
    std::string monitor = options.get_string("monitor", "val_loss");
    optim::ReduceLROnPlateauOptions o{.mode = options.get_string("mode", "min", {"min", "max"}),
                                      .factor = positive(options, "factor", 0.1),
                                      .patience = options.get_int("patience", 10),
                                      .min_lr = {non_negative(options, "min_lr", 0.0)}};
    if (o.factor >= 1) options.fail("factor", "must be below 1");
    spec.install = Install([o, monitor](train::TrainerOptions& t, optim::Optimizer& opt, int64_t, int64_t) {
      t.plateau_scheduler = std::make_shared<optim::ReduceLROnPlateau>(opt, o);
      t.plateau_monitor = monitor;
    });
  }
  options.check_unused();
  return spec;
}

}  // namespace cajal::cli
