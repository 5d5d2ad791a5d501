// Learning-rate schedulers against torch.optim.lr_scheduler: the rates (and cycled momenta)
// after every one of 50 steps, and the parameter trajectories they drive; state_dict round
// trips; errors.
#include "optim/trajectory.h"

namespace cajal {
namespace {

using test::TrajectoryCase;

// Builds scheduler S(opt, args...) and steps it once per training step.
template <typename S, typename... Args>
test::MakeScheduler schedule(Args... args) {
  return [=](optim::Optimizer& opt) -> test::SchedulerStep {
    auto s = std::make_shared<S>(opt, args...);
    return [s](int) {
      s->step();
      return s->get_last_lr();
    };
  };
}

test::MakeScheduler plateau(optim::ReduceLROnPlateauOptions options) {
  return [=](optim::Optimizer& opt) -> test::SchedulerStep {
    auto s = std::make_shared<optim::ReduceLROnPlateau>(opt, options);
    return [s](int step) {
      s->step(test::plateau_metric(step));
      return s->get_last_lr();
    };
  };
}

// Builds SequentialLR or ChainedScheduler over schedulers made by `parts`.
template <typename Combined>
test::MakeScheduler combine(std::function<std::vector<std::shared_ptr<optim::LRScheduler>>(optim::Optimizer&)> parts,
                            std::vector<int64_t> milestones = {}) {
  return [=](optim::Optimizer& opt) -> test::SchedulerStep {
    std::shared_ptr<optim::LRScheduler> s;
    if constexpr (std::is_same_v<Combined, optim::SequentialLR>) s = std::make_shared<Combined>(opt, parts(opt), milestones);
    else s = std::make_shared<Combined>(parts(opt));
    return [s](int) {
      s->step();
      return s->get_last_lr();
    };
  };
}

test::MakeOptimizer sgd(double lr, double momentum = 0) {
  return [=](const TensorList& p) { return std::make_unique<optim::SGD>(p, optim::SGDOptions{.lr = lr, .momentum = momentum}); };
}

test::MakeOptimizer sgd_groups() {
  return [](const TensorList& p) {
    return std::make_unique<optim::SGD>(
        std::vector<optim::ParamGroupSpec<optim::SGDOptions>>{{{p[0], p[1]}, {.lr = 0.02}}, {{p[2], p[3]}, {.lr = 0.1, .momentum = 0.5}}});
  };
}
const char* kTorchSGD = "SGD(params, lr=0.1, momentum=0.9)";
const char* kTorchSGDGroups = "SGD([{'params': g0, 'lr': 0.02}, {'params': g1, 'lr': 0.1, 'momentum': 0.5}], lr=0.1)";

std::vector<TrajectoryCase> scheduler_cases() {
  using namespace optim;
  using Schedulers = std::vector<std::shared_ptr<LRScheduler>>;
  std::vector<TrajectoryCase> base = {
      {"step", {}, kTorchSGD, sgd(0.1, 0.9), "StepLR(opt, step_size=7, gamma=0.5)", schedule<StepLR>(7, 0.5)},
      {"multistep", {}, kTorchSGDGroups, sgd_groups(), "MultiStepLR(opt, milestones=[30, 5, 12, 12], gamma=0.5)",
       schedule<MultiStepLR>(std::vector<int64_t>{30, 5, 12, 12}, 0.5)},
      {"exponential", {}, kTorchSGDGroups, sgd_groups(), "ExponentialLR(opt, gamma=0.95)", schedule<ExponentialLR>(0.95)},
      {"constant", {}, kTorchSGD, sgd(0.1, 0.9), "ConstantLR(opt, factor=0.5, total_iters=4)", schedule<ConstantLR>(0.5, 4)},
      {"linear", {}, kTorchSGDGroups, sgd_groups(), "LinearLR(opt, start_factor=0.1, end_factor=0.9, total_iters=10)",
       schedule<LinearLR>(0.1, 0.9, 10)},
      {"lambda", {}, kTorchSGD, sgd(0.1, 0.9), "LambdaLR(opt, lambda e: 0.97 ** e + 0.01 * (e % 3))",
       schedule<LambdaLR>(std::function<double(int64_t)>([](int64_t e) { return std::pow(0.97, e) + 0.01 * static_cast<double>(e % 3); }))},
      // 50 steps go past T_max = 20: PyTorch's recursive form climbs back up.
      {"cosine", {}, kTorchSGDGroups, sgd_groups(), "CosineAnnealingLR(opt, T_max=20, eta_min=0.001)",
       schedule<CosineAnnealingLR>(int64_t{20}, 0.001)},
      {"warm_restarts", {}, kTorchSGD, sgd(0.1, 0.9), "CosineAnnealingWarmRestarts(opt, T_0=5, T_mult=2, eta_min=0.01)",
       schedule<CosineAnnealingWarmRestarts>(int64_t{5}, int64_t{2}, 0.01)},
      {"warm_restarts_fixed", {}, kTorchSGDGroups, sgd_groups(), "CosineAnnealingWarmRestarts(opt, T_0=7)",
       schedule<CosineAnnealingWarmRestarts>(int64_t{7})},
      {"one_cycle_sgd", {}, kTorchSGD, sgd(0.1, 0.9), "OneCycleLR(opt, max_lr=0.2, total_steps=50)",
       schedule<OneCycleLR>(OneCycleLROptions{.max_lr = {0.2}, .total_steps = 50})},
      {"one_cycle_adam_linear_three_phase", {}, "Adam(params, lr=0.01)",
       [](const TensorList& p) { return std::make_unique<Adam>(p, AdamOptions{.lr = 0.01}); },
       "OneCycleLR(opt, max_lr=0.05, total_steps=60, pct_start=0.25, anneal_strategy='linear', three_phase=True, "
       "div_factor=10, final_div_factor=100, base_momentum=0.8, max_momentum=0.9)",
       schedule<OneCycleLR>(OneCycleLROptions{.max_lr = {0.05}, .total_steps = 60, .pct_start = 0.25, .anneal_strategy = "linear",
                                              .base_momentum = 0.8, .max_momentum = 0.9, .div_factor = 10,
                                              .final_div_factor = 100, .three_phase = true})},
      {"one_cycle_groups", {}, kTorchSGDGroups, sgd_groups(),
       "OneCycleLR(opt, max_lr=[0.05, 0.2], epochs=5, steps_per_epoch=10, cycle_momentum=False)",
       schedule<OneCycleLR>(OneCycleLROptions{.max_lr = {0.05, 0.2}, .epochs = 5, .steps_per_epoch = 10, .cycle_momentum = false})},
      {"one_cycle_rmsprop", {}, "RMSprop(params, lr=0.01)",
       [](const TensorList& p) { return std::make_unique<RMSprop>(p, RMSpropOptions{.lr = 0.01}); },
       "OneCycleLR(opt, max_lr=0.003, total_steps=50)", schedule<OneCycleLR>(OneCycleLROptions{.max_lr = {0.003}, .total_steps = 50})},
      // Warm-up, then cosine: at the milestone the second scheduler jumps to epoch 0 (closed form).
      {"sequential", {}, kTorchSGDGroups, sgd_groups(),
       "SequentialLR(opt, [LinearLR(opt, start_factor=0.1, total_iters=5), CosineAnnealingLR(opt, T_max=30, eta_min=1e-4)], "
       "milestones=[5])",
       combine<SequentialLR>([](Optimizer& opt) {
         return Schedulers{std::make_shared<LinearLR>(opt, 0.1, 1.0, 5), std::make_shared<CosineAnnealingLR>(opt, 30, 1e-4)};
       }, {5})},
      {"sequential_three", {}, kTorchSGD, sgd(0.1, 0.9),
       "SequentialLR(opt, [ConstantLR(opt, factor=0.5, total_iters=3), ExponentialLR(opt, gamma=0.9), "
       "MultiStepLR(opt, milestones=[3, 10], gamma=0.5)], milestones=[6, 20])",
       combine<SequentialLR>([](Optimizer& opt) {
         return Schedulers{std::make_shared<ConstantLR>(opt, 0.5, 3), std::make_shared<ExponentialLR>(opt, 0.9),
                           std::make_shared<MultiStepLR>(opt, std::vector<int64_t>{3, 10}, 0.5)};
       }, {6, 20})},
      {"chained", {}, kTorchSGDGroups, sgd_groups(),
       "ChainedScheduler([LinearLR(opt, start_factor=0.2, total_iters=8), ExponentialLR(opt, gamma=0.97)])",
       combine<ChainedScheduler>([](Optimizer& opt) {
         return Schedulers{std::make_shared<LinearLR>(opt, 0.2, 1.0, 8), std::make_shared<ExponentialLR>(opt, 0.97)};
       })},
      {"plateau", {}, kTorchSGDGroups, sgd_groups(),
       "ReduceLROnPlateau(opt, factor=0.5, patience=2, threshold=0.01, cooldown=1, min_lr=[0.001, 0.01])",
       plateau({.factor = 0.5, .patience = 2, .threshold = 0.01, .cooldown = 1, .min_lr = {0.001, 0.01}})},
      {"plateau_max_abs", {}, kTorchSGD, sgd(0.1, 0.9),
       "ReduceLROnPlateau(opt, mode='max', threshold_mode='abs', threshold=0.05, patience=1, factor=0.3)",
       plateau({.mode = "max", .factor = 0.3, .patience = 1, .threshold = 0.05, .threshold_mode = "abs"})},
  };
  std::vector<TrajectoryCase> cases;
  for (TrajectoryCase c : base) {
    c.dtype = DType::f64;
    c.id += "_f64";
    cases.push_back(c);
  }
  for (const char* id : {"one_cycle_sgd", "sequential", "plateau"}) {  // and a few in float32
    for (TrajectoryCase c : base)
      if (c.id == id) {
        c.dtype = DType::f32;
        c.id += "_f32";
        cases.push_back(c);
      }
  }
  return cases;
}

class SchedulerTrajectory : public ::testing::TestWithParam<TrajectoryCase> {
 protected:
  static const std::string& torch_dir() {
    static const std::string dir = test::run_torch(scheduler_cases());
    return dir;
  }
};

TEST_P(SchedulerTrajectory, MatchesTorch) { test::expect_trajectory(GetParam(), torch_dir()); }

INSTANTIATE_TEST_SUITE_P(Torch, SchedulerTrajectory, ::testing::ValuesIn(scheduler_cases()),
                         [](const auto& info) { return info.param.id; });

// ------------------------------------------------------------------ behaviour

TEST(Scheduler, ConstructionAppliesEpochZero) {
  Tensor p = zeros({2}).requires_grad_();
  optim::SGD opt({p}, {.lr = 0.1});
  optim::LinearLR warmup(opt, 0.25, 1.0, 4);
  EXPECT_DOUBLE_EQ(opt.param_group(0).lr, 0.025);
  EXPECT_EQ(warmup.get_last_lr(), std::vector<double>{opt.param_group(0).lr});
  EXPECT_EQ(*opt.param_group(0).initial_lr, 0.1);
  EXPECT_EQ(warmup.last_epoch(), 0);
}

// Steps a scheduler 12 times, saves it, restores into a fresh scheduler on a fresh optimizer
// (whose lrs are copied over, as the optimizer's own state_dict would), and expects the same
// rates for 30 more steps.
void expect_resume(const std::function<std::shared_ptr<optim::LRScheduler>(optim::Optimizer&)>& make) {
  Tensor p = zeros({2}).requires_grad_();
  optim::SGD a_opt({p}, {.lr = 0.1, .momentum = 0.9}), b_opt({p}, {.lr = 0.1, .momentum = 0.9});
  auto a = make(a_opt);
  for (int i = 0; i < 12; ++i) a->step();
  auto b = make(b_opt);
  b->load_state_dict(a->state_dict());
  b_opt.param_groups()[0].lr = a_opt.param_groups()[0].lr;
  for (int i = 0; i < 30; ++i) {
    a->step();
    b->step();
    ASSERT_EQ(b->get_last_lr(), a->get_last_lr()) << "step " << i;
  }
}

TEST(Scheduler, StateDictResumes) {
  using namespace optim;
  expect_resume([](Optimizer& o) { return std::make_shared<StepLR>(o, 5, 0.5); });
  expect_resume([](Optimizer& o) { return std::make_shared<CosineAnnealingLR>(o, 8); });
  expect_resume([](Optimizer& o) { return std::make_shared<CosineAnnealingWarmRestarts>(o, 3, 2); });
  expect_resume([](Optimizer& o) { return std::make_shared<OneCycleLR>(o, OneCycleLROptions{.max_lr = {1}, .total_steps = 50}); });
  expect_resume([](Optimizer& o) {
    return std::make_shared<SequentialLR>(
        o, std::vector<std::shared_ptr<LRScheduler>>{std::make_shared<LinearLR>(o, 0.1, 1.0, 5), std::make_shared<ExponentialLR>(o, 0.9)},
        std::vector<int64_t>{15});
  });

  Tensor p = zeros({2}).requires_grad_();
  optim::SGD a_opt({p}, {.lr = 0.1}), b_opt({p}, {.lr = 0.1});
  ReduceLROnPlateau a(a_opt, {.patience = 1}), b(b_opt, {.patience = 1});
  for (int i = 0; i < 4; ++i) a.step(1.0 / (i + 1));
  b.load_state_dict(a.state_dict());
  for (int i = 0; i < 3; ++i) {
    a.step(1.0);
    b.step(1.0);
  }
  EXPECT_EQ(b_opt.param_group(0).lr, a_opt.param_group(0).lr);
  EXPECT_DOUBLE_EQ(a_opt.param_group(0).lr, 0.01);  // one reduction: two epochs without improvement
}

// ------------------------------------------------------------------ errors

TEST(SchedulerErrors, ArgumentsAreChecked) {
  using namespace optim;
  Tensor p = zeros({2}).requires_grad_();
  SGD opt({p}, {.lr = 0.1});
  Adagrad adagrad({p});
  test::expect_error<ValueError>([&] { OneCycleLR s(adagrad, {.max_lr = {0.1}, .total_steps = 10}); },
                                 {"OneCycleLR", "Adagrad has no momentum", "cycle_momentum"});
  test::expect_error<ValueError>([&] { OneCycleLR s(opt, {.max_lr = {0.1}}); }, {"OneCycleLR", "total_steps"});
  test::expect_error<ValueError>([&] { OneCycleLR s(opt, {.max_lr = {0.1, 0.2}, .total_steps = 10}); },
                                 {"OneCycleLR", "expected 1 values for max_lr, got 2"});
  test::expect_error<ValueError>([&] { OneCycleLR s(opt, {.max_lr = {0.1}, .total_steps = 10, .anneal_strategy = "exp"}); },
                                 {"anneal_strategy", "exp"});
  OneCycleLR cycle(opt, {.max_lr = {0.1}, .total_steps = 3});
  for (int i = 0; i < 3; ++i) cycle.step();
  test::expect_error<ValueError>([&] { cycle.step(); }, {"OneCycleLR", "tried to step 5 times", "total steps is 3"});

  test::expect_error<ValueError>([&] { StepLR s(opt, 0); }, {"StepLR", "step_size"});
  test::expect_error<ValueError>([&] { LinearLR s(opt, 1.5); }, {"LinearLR", "start_factor", "1.5"});
  test::expect_error<ValueError>([&] { CosineAnnealingWarmRestarts s(opt, 5, 0); }, {"T_mult >= 1", "0"});
  test::expect_error<ValueError>([&] { ReduceLROnPlateau s(opt, {.factor = 1.0}); }, {"ReduceLROnPlateau", "factor"});
  test::expect_error<ValueError>([&] { ReduceLROnPlateau s(opt, {.mode = "lowest"}); }, {"mode", "lowest"});
  auto step = std::make_shared<StepLR>(opt, 3);
  test::expect_error<ValueError>([&] { SequentialLR s(opt, {step}, {4}); }, {"SequentialLR", "1 schedulers and 1 milestones"});
  SGD other({zeros({1}).requires_grad_()}, {.lr = 0.1});
  auto foreign = std::make_shared<StepLR>(other, 3);
  test::expect_error<ValueError>([&] { ChainedScheduler s({step, foreign}); }, {"ChainedScheduler", "scheduler 1"});

  StepLR s(opt, 3);
  test::expect_error<ValueError>([&] { s.load_state_dict({}); }, {"load_state_dict", "last_epoch", "missing"});
}

}  // namespace
}  // namespace cajal
