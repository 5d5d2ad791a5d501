// Optimizers against torch.optim: 50-step parameter trajectories of every optimizer and
// option variant, parameter groups, state_dict round trips that resume the identical
// trajectory, in-place updates that allocate nothing, and errors.
#include <atomic>
#include <cstdlib>
#include <new>

#include "optim/trajectory.h"

// Counts every C++ heap allocation, so a test can check that a step makes none. (noinline:
// GCC otherwise pairs the inlined free() with gtest's `new` and warns of a mismatch.)
namespace {
std::atomic<int64_t> allocations{0};
}
[[gnu::noinline]] void* operator new(std::size_t n) {
  ++allocations;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace cajal {
namespace {

using test::TrajectoryCase;

template <typename Opt>
test::MakeOptimizer make(typename Opt::Options options) {
  return [options](const TensorList& params) { return std::make_unique<Opt>(params, options); };
}

// Two groups: the first layer (w1, b1) and the second (w2, b2), as g0 and g1 in Python.
template <typename Opt>
test::MakeOptimizer make_groups(typename Opt::Options first, typename Opt::Options second) {
  return [first, second](const TensorList& p) {
    return std::make_unique<Opt>(std::vector<optim::ParamGroupSpec<typename Opt::Options>>{{{p[0], p[1]}, first}, {{p[2], p[3]}, second}});
  };
}

std::vector<TrajectoryCase> optimizer_cases() {
  using namespace optim;
  std::vector<TrajectoryCase> base = {
      {"sgd", {}, "SGD(params, lr=0.1)", make<SGD>({.lr = 0.1})},
      {"sgd_momentum", {}, "SGD(params, lr=0.05, momentum=0.9)", make<SGD>({.lr = 0.05, .momentum = 0.9})},
      {"sgd_dampening_decay", {}, "SGD(params, lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01)",
       make<SGD>({.lr = 0.05, .momentum = 0.9, .dampening = 0.3, .weight_decay = 0.01})},
      {"sgd_nesterov", {}, "SGD(params, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.001)",
       make<SGD>({.lr = 0.05, .momentum = 0.9, .weight_decay = 0.001, .nesterov = true})},
      {"sgd_maximize", {}, "SGD(params, lr=0.01, momentum=0.5, maximize=True)",
       make<SGD>({.lr = 0.01, .momentum = 0.5, .maximize = true})},
      {"adam", {}, "Adam(params, lr=0.01)", make<Adam>({.lr = 0.01})},
      {"adam_decay_amsgrad", {}, "Adam(params, lr=0.01, betas=(0.8, 0.99), weight_decay=0.01, amsgrad=True)",
       make<Adam>({.lr = 0.01, .betas = {0.8, 0.99}, .weight_decay = 0.01, .amsgrad = true})},
      {"adam_maximize", {}, "Adam(params, lr=0.005, eps=1e-6, maximize=True)",
       make<Adam>({.lr = 0.005, .eps = 1e-6, .maximize = true})},
      {"adamw", {}, "AdamW(params, lr=0.01)", make<AdamW>({.lr = 0.01})},
      {"adamw_amsgrad", {}, "AdamW(params, lr=0.01, weight_decay=0.1, amsgrad=True, eps=1e-6)",
       make<AdamW>({.lr = 0.01, .eps = 1e-6, .weight_decay = 0.1, .amsgrad = true})},
      {"adamw_maximize", {}, "AdamW(params, lr=0.005, maximize=True)", make<AdamW>({.lr = 0.005, .maximize = true})},
      {"adamax", {}, "Adamax(params, lr=0.01)", make<Adamax>({.lr = 0.01})},
      {"adamax_decay", {}, "Adamax(params, lr=0.01, betas=(0.85, 0.995), weight_decay=0.05)",
       make<Adamax>({.lr = 0.01, .betas = {0.85, 0.995}, .weight_decay = 0.05})},
      {"adamax_maximize", {}, "Adamax(params, lr=0.005, maximize=True)", make<Adamax>({.lr = 0.005, .maximize = true})},
      {"nadam", {}, "NAdam(params, lr=0.01)", make<NAdam>({.lr = 0.01})},
      {"nadam_decay", {}, "NAdam(params, lr=0.01, weight_decay=0.01, momentum_decay=0.01)",
       make<NAdam>({.lr = 0.01, .weight_decay = 0.01, .momentum_decay = 0.01})},
      {"rmsprop", {}, "RMSprop(params, lr=0.003)", make<RMSprop>({.lr = 0.003})},
      {"rmsprop_centered_momentum", {}, "RMSprop(params, lr=0.005, alpha=0.9, weight_decay=0.01, momentum=0.8, centered=True)",
       make<RMSprop>({.lr = 0.005, .alpha = 0.9, .weight_decay = 0.01, .momentum = 0.8, .centered = true})},
      {"rmsprop_maximize", {}, "RMSprop(params, lr=0.001, momentum=0.5, maximize=True)",
       make<RMSprop>({.lr = 0.001, .momentum = 0.5, .maximize = true})},
      {"adagrad", {}, "Adagrad(params, lr=0.1)", make<Adagrad>({.lr = 0.1})},
      {"adagrad_options", {}, "Adagrad(params, lr=0.1, lr_decay=0.01, weight_decay=0.01, initial_accumulator_value=0.1, eps=1e-8)",
       make<Adagrad>({.lr = 0.1, .lr_decay = 0.01, .weight_decay = 0.01, .initial_accumulator_value = 0.1, .eps = 1e-8})},
      {"adagrad_maximize", {}, "Adagrad(params, lr=0.01, maximize=True)", make<Adagrad>({.lr = 0.01, .maximize = true})},
      {"adadelta", {}, "Adadelta(params)", make<Adadelta>({})},
      {"adadelta_options", {}, "Adadelta(params, lr=0.5, rho=0.95, eps=1e-5, weight_decay=0.01)",
       make<Adadelta>({.lr = 0.5, .rho = 0.95, .eps = 1e-5, .weight_decay = 0.01})},
      {"adadelta_maximize", {}, "Adadelta(params, lr=0.1, maximize=True)", make<Adadelta>({.lr = 0.1, .maximize = true})},
      {"sgd_groups", {}, "SGD([{'params': g0, 'lr': 0.01}, {'params': g1, 'lr': 0.1, 'momentum': 0.9}], lr=0.1)",
       make_groups<SGD>({.lr = 0.01}, {.lr = 0.1, .momentum = 0.9})},
      {"adam_groups", {}, "Adam([{'params': g0, 'lr': 0.001}, {'params': g1, 'lr': 0.02, 'betas': (0.8, 0.9)}])",
       make_groups<Adam>({.lr = 0.001}, {.lr = 0.02, .betas = {0.8, 0.9}})},
      // w1 has 4 x 8200 elements, above the parallel grain: the threaded update path.
      {"sgd_wide", {}, "SGD(params, lr=0.002, momentum=0.9, nesterov=True, weight_decay=0.01)",
       make<SGD>({.lr = 0.002, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true}), "", nullptr, 8200, 5},
  };
  // Adam and RMSprop divide by the gradient's own size in their first steps, so an element
  // whose gradient is tiny (among thousands, some are) turns the last bit of float32
  // rounding in the backward pass into a visible difference: their wide cases run in float64.
  std::vector<TrajectoryCase> f64_only = {
      {"adam_wide", {}, "Adam(params, lr=0.01, amsgrad=True)", make<Adam>({.lr = 0.01, .amsgrad = true}), "", nullptr, 8200, 5},
      {"rmsprop_wide", {}, "RMSprop(params, lr=0.01, momentum=0.9, centered=True)",
       make<RMSprop>({.lr = 0.01, .momentum = 0.9, .centered = true}), "", nullptr, 8200, 5},
  };
  std::vector<TrajectoryCase> cases;
  auto add = [&](TrajectoryCase c, DType dtype) {
    c.dtype = dtype;
    c.id += dtype == DType::f32 ? "_f32" : "_f64";
    cases.push_back(c);
  };
  for (DType dtype : {DType::f64, DType::f32})
    for (const TrajectoryCase& c : base) add(c, dtype);
  for (const TrajectoryCase& c : f64_only) add(c, DType::f64);
  return cases;
}

class OptimizerTrajectory : public ::testing::TestWithParam<TrajectoryCase> {
 protected:
  static const std::string& torch_dir() {
    static const std::string dir = test::run_torch(optimizer_cases());
    return dir;
  }
};

TEST_P(OptimizerTrajectory, MatchesTorch) { test::expect_trajectory(GetParam(), torch_dir()); }

INSTANTIATE_TEST_SUITE_P(Torch, OptimizerTrajectory, ::testing::ValuesIn(optimizer_cases()),
                         [](const auto& info) { return info.param.id; });

// ------------------------------------------------------------------ helpers

void train(optim::Optimizer& opt, const TensorList& params, int steps) {
  const test::ModelData& data = test::model_data(8);
  Tensor x = data.x.to(params[0].dtype()), t = data.t.to(params[0].dtype());
  for (int i = 0; i < steps; ++i) {
    opt.zero_grad();
    test::mlp_loss(params, x, t).backward();
    opt.step();
  }
}

TensorList copy_params(const TensorList& params) {
  TensorList out;
  for (const Tensor& p : params) out.push_back(p.detach().clone().requires_grad_());
  return out;
}

// ------------------------------------------------------------------ state_dict

// Trains 20 steps, saves, restores into a fresh optimizer built with other options on copied
// parameters, and expects both to continue bit for bit identically.
template <typename Opt>
void expect_resume(const test::MakeOptimizer& make_a, const test::MakeOptimizer& make_b) {
  TensorList pa = test::initial_params(8, DType::f64);
  auto a = make_a(pa);
  train(*a, pa, 20);
  optim::NamedTensors saved;
  for (const auto& [name, t] : a->state_dict()) saved.emplace_back(name, t.clone());

  TensorList pb = copy_params(pa);
  auto b = make_b(pb);
  b->load_state_dict(saved);
  for (size_t g = 0; g < a->num_param_groups(); ++g) EXPECT_EQ(b->param_group(g).lr, a->param_group(g).lr);
  train(*a, pa, 30);
  train(*b, pb, 30);
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(test::all_close(pb[i], pa[i], 0, 0)) << Opt::kName << " parameter " << i;
}

TEST(OptimizerState, RoundTripResumesTheSameTrajectory) {
  using namespace optim;
  expect_resume<SGD>(make<SGD>({.lr = 0.05, .momentum = 0.9, .nesterov = true}), make<SGD>({.lr = 1}));
  expect_resume<Adam>(make<Adam>({.lr = 0.01, .amsgrad = true}), make<Adam>({}));
  expect_resume<AdamW>(make<AdamW>({.lr = 0.01, .betas = {0.8, 0.9}}), make<AdamW>({}));
  expect_resume<Adamax>(make<Adamax>({.lr = 0.01}), make<Adamax>({}));
  expect_resume<NAdam>(make<NAdam>({.lr = 0.01}), make<NAdam>({}));
  expect_resume<RMSprop>(make<RMSprop>({.lr = 0.01, .momentum = 0.5, .centered = true}), make<RMSprop>({}));
  expect_resume<Adagrad>(make<Adagrad>({.lr = 0.1, .lr_decay = 0.01}), make<Adagrad>({}));
  expect_resume<Adadelta>(make<Adadelta>({.rho = 0.8}), make<Adadelta>({}));
  expect_resume<SGD>(make_groups<SGD>({.lr = 0.01}, {.lr = 0.1, .momentum = 0.9}), make_groups<SGD>({.lr = 1}, {.lr = 1}));
}

TEST(OptimizerState, NamesFollowTorch) {
  TensorList params = test::initial_params(8, DType::f64);
  optim::Adam opt(params, {.lr = 0.01, .betas = {0.8, 0.9}, .amsgrad = true});
  train(opt, params, 3);
  std::map<std::string, Tensor> entries;
  for (const auto& [name, t] : opt.state_dict()) entries[name] = t;
  EXPECT_EQ(entries.at("state.0.step").item<int64_t>(), 3);
  EXPECT_EQ(entries.at("state.0.step").dtype(), DType::i64);
  EXPECT_EQ(entries.at("state.3.exp_avg").sizes(), params[3].sizes());
  EXPECT_TRUE(entries.at("state.2.max_exp_avg_sq").is_same(opt.state(0, 2).max_exp_avg_sq));  // no copy
  EXPECT_EQ(entries.at("param_groups.0.lr").item<double>(), 0.01);
  EXPECT_EQ(entries.at("param_groups.0.betas.0").item<double>(), 0.8);
  EXPECT_EQ(entries.at("param_groups.0.betas.1").item<double>(), 0.9);
  EXPECT_EQ(entries.at("param_groups.0.amsgrad").item<double>(), 1);
  EXPECT_EQ(entries.at("param_groups.0.params").to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(entries.size(), 4 * 4 + 1 + 7);  // 4 entries per parameter, params, 7 hyperparameters
}

TEST(OptimizerState, LoadRejectsMismatches) {
  TensorList params = test::initial_params(8, DType::f64);
  optim::Adam adam(params, {});
  train(adam, params, 1);
  optim::NamedTensors state = adam.state_dict();

  optim::SGD sgd(params, {.lr = 0.1});
  test::expect_error<ValueError>([&] { sgd.load_state_dict(state); }, {"SGD.load_state_dict", "param_groups.0.momentum", "missing"});
  optim::NamedTensors only_buffers;
  for (const auto& entry : state)
    if (entry.first.starts_with("state.")) only_buffers.push_back(entry);
  for (const auto& entry : sgd.state_dict()) only_buffers.push_back(entry);
  test::expect_error<ValueError>([&] { sgd.load_state_dict(only_buffers); }, {"SGD.load_state_dict", "state.0.", "not part of"});

  optim::Adam two_groups(std::vector<optim::ParamGroupSpec<optim::AdamOptions>>{{{params[0], params[1]}}, {{params[2], params[3]}}});
  test::expect_error<ValueError>([&] { two_groups.load_state_dict(state); }, {"param_groups.0.params", "lists 4 parameters, the group has 2"});

  optim::NamedTensors wrong_shape = state;
  for (auto& [name, t] : wrong_shape)
    if (name == "state.1.exp_avg") t = zeros({5});
  optim::Adam fresh(params, {});
  test::expect_error<ValueError>([&] { fresh.load_state_dict(wrong_shape); }, {"state.1.exp_avg", "has shape [5]", "[8]"});

  optim::NamedTensors missing;
  for (const auto& entry : state)
    if (entry.first != "param_groups.0.eps") missing.push_back(entry);
  test::expect_error<ValueError>([&] { fresh.load_state_dict(missing); }, {"param_groups.0.eps", "missing"});
  EXPECT_EQ(fresh.state(0, 0).step, 0);  // a failed load changes nothing
}

// ------------------------------------------------------------------ behaviour

TEST(Optimizer, ParamGroupsHaveTheirOwnHyperparameters) {
  // One SGD step: p - lr * g, with each group's lr.
  Tensor a = tensor({1.0, 2.0}).requires_grad_(), b = tensor({3.0}).requires_grad_();
  optim::SGD opt({{{a}, {.lr = 0.1}}, {{b}, {.lr = 0.5}}});
  (a.sum() * 2 + b.sum() * 4).backward();
  opt.step();
  EXPECT_TRUE(test::all_close(a, tensor({0.8, 1.8}), 1e-15));
  EXPECT_TRUE(test::all_close(b, tensor({1.0}), 1e-15));
  opt.param_groups()[1].lr = 0.25;
  EXPECT_EQ(opt.param_group(1).lr, 0.25);
  *opt.param_group(0).momentum = 0.5;
  EXPECT_EQ(opt.param_groups()[0].momentum, 0.5);

  Tensor c = tensor({1.0}).requires_grad_();
  opt.add_param_group({c}, {.lr = 1.0});
  opt.zero_grad();
  (a.sum() + b.sum() + c.sum() * 3).backward();
  opt.step();
  EXPECT_TRUE(test::all_close(c, tensor({-2.0}), 1e-15));
  EXPECT_TRUE(test::all_close(b, tensor({0.75}), 1e-15));
  EXPECT_EQ(opt.parameters().size(), 3u);
}

TEST(Optimizer, SkipsParametersWithoutGradient) {
  Tensor used = tensor({1.0}).requires_grad_(), unused = tensor({5.0}).requires_grad_();
  optim::Adam opt({used, unused}, {.lr = 0.1});
  (used * 2).sum().backward();
  opt.step();
  EXPECT_EQ(unused.item<double>(), 5.0);
  EXPECT_FALSE(opt.state(0, 1).exp_avg.defined());
  EXPECT_NEAR(used.item<double>(), 0.9, 1e-8);  // Adam's first step moves by lr (g / (|g| + eps))
}

TEST(Optimizer, ZeroGradZeroesInPlaceOrDrops) {
  Tensor p = tensor({1.0, 2.0}).requires_grad_();
  optim::SGD opt({p}, {.lr = 0.1});
  (p * p).sum().backward();
  Tensor grad = p.grad();
  opt.zero_grad();  // PyTorch 1.13's default: the same buffer, zeroed
  EXPECT_TRUE(p.grad().is_same(grad));
  EXPECT_TRUE(test::all_close(p.grad(), tensor({0.0, 0.0}), 0, 0));
  opt.zero_grad(/*set_to_none=*/true);
  EXPECT_FALSE(p.grad().defined());
}

TEST(Optimizer, StepBumpsTheVersionCounter) {
  Tensor p = tensor({1.0}).requires_grad_();
  optim::SGD opt({p}, {.lr = 0.1});
  (p * 3).sum().backward();
  uint32_t before = p.version();
  opt.step();
  EXPECT_GT(p.version(), before);
}

TEST(Optimizer, ClosureIsEvaluatedWithGradModeOn) {
  Tensor p = tensor({2.0}).requires_grad_();
  optim::SGD opt({p}, {.lr = 0.25});
  NoGradGuard no_grad;  // step(closure) turns grad mode on for the closure, as PyTorch does
  Tensor loss = opt.step([&] {
    opt.zero_grad();
    Tensor l = (p * p).sum();
    l.backward();
    return l;
  });
  EXPECT_EQ(loss.item<double>(), 4.0);
  EXPECT_EQ(p.item<double>(), 1.0);  // 2 - 0.25 * 4
}

// After the first step made the buffers, a step allocates nothing: no tensor, no buffer,
// and the parameters and buffers keep their memory.
template <typename Opt>
void expect_allocation_free(typename Opt::Options options) {
  TensorList params = {test::NormalSampler(7)({40000}).requires_grad_(), test::NormalSampler(8)({3, 5}, {.dtype = DType::f64}).requires_grad_()};
  for (Tensor& p : params) p.set_grad(ones_like(p));
  Opt opt(params, options);
  opt.step();
  std::vector<const void*> addresses;
  for (const auto& [name, t] : opt.state_dict())
    if (name.find(".params") == std::string::npos && t.numel() > 1) addresses.push_back(t.raw_data());
  for (const Tensor& p : params) addresses.push_back(p.raw_data());

  int64_t before = allocations.load();
  for (int i = 0; i < 3; ++i) opt.step();
  opt.zero_grad();
  EXPECT_EQ(allocations.load() - before, 0) << Opt::kName << ": heap allocations during step()";

  std::vector<const void*> after;
  for (const auto& [name, t] : opt.state_dict())
    if (name.find(".params") == std::string::npos && t.numel() > 1) after.push_back(t.raw_data());
  for (const Tensor& p : params) after.push_back(p.raw_data());
  EXPECT_EQ(after, addresses) << Opt::kName;
}

TEST(Optimizer, StepAllocatesNothing) {
  int64_t before = allocations.load();
  Tensor probe = empty({1});
  ASSERT_GT(allocations.load() - before, 0) << "the counter sees a tensor being made";
  using namespace optim;
  expect_allocation_free<SGD>({.lr = 0.1, .momentum = 0.9, .weight_decay = 0.1, .nesterov = true});
  expect_allocation_free<Adam>({.weight_decay = 0.1, .amsgrad = true});
  expect_allocation_free<AdamW>({.amsgrad = true});
  expect_allocation_free<Adamax>({.weight_decay = 0.1});
  expect_allocation_free<NAdam>({.weight_decay = 0.1});
  expect_allocation_free<RMSprop>({.weight_decay = 0.1, .momentum = 0.9, .centered = true});
  expect_allocation_free<Adagrad>({.lr_decay = 0.1});
  expect_allocation_free<Adadelta>({.weight_decay = 0.1});
}

// ------------------------------------------------------------------ errors

TEST(OptimizerErrors, OptionsAreChecked) {
  Tensor p = zeros({2}).requires_grad_();
  using namespace optim;
  test::expect_error<ValueError>([&] { SGD opt({p}); }, {"SGD", "lr is required"});
  test::expect_error<ValueError>([&] { SGD opt({p}, {.lr = -1}); }, {"SGD", "invalid learning rate -1"});
  test::expect_error<ValueError>([&] { SGD opt({p}, {.lr = 0.1, .nesterov = true}); }, {"Nesterov", "momentum 0"});
  test::expect_error<ValueError>([&] { Adam opt({p}, {.betas = {0.9, 1.0}}); }, {"Adam", "beta parameter at index 1: 1"});
  test::expect_error<ValueError>([&] { AdamW opt({p}, {.eps = -1e-8}); }, {"AdamW", "epsilon"});
  test::expect_error<ValueError>([&] { NAdam opt({p}, {.momentum_decay = -1}); }, {"NAdam", "momentum_decay"});
  test::expect_error<ValueError>([&] { RMSprop opt({p}, {.alpha = -0.5}); }, {"RMSprop", "alpha"});
  test::expect_error<ValueError>([&] { Adagrad opt({p}, {.lr_decay = -1}); }, {"Adagrad", "lr_decay"});
  test::expect_error<ValueError>([&] { Adadelta opt({p}, {.rho = 1.5}); }, {"Adadelta", "rho"});
}

TEST(OptimizerErrors, ParametersAreChecked) {
  using optim::Adam;
  Tensor p = zeros({2, 3}).requires_grad_();
  test::expect_error<ValueError>([&] { Adam opt(TensorList{}); }, {"Adam", "empty parameter list"});
  test::expect_error<ValueError>([&] { Adam opt({p, p}); }, {"more than one parameter group"});
  test::expect_error<ValueError>([&] { Adam opt({p * 2}); }, {"non-leaf"});
  Tensor transposed = zeros({3, 2}).t();
  test::expect_error<ValueError>([&] { Adam opt({transposed}); }, {"parameter 0", "not contiguous"});
  test::expect_error<DTypeError>([&] { Adam opt({zeros({2}, {.dtype = DType::i64})}); }, {"Adam", "int64"});

  Adam opt({p});
  test::expect_error<ValueError>([&] { opt.add_param_group({p}, {}); }, {"more than one parameter group"});
  p.set_grad(zeros({3, 2}));
  test::expect_error<ShapeError>([&] { opt.step(); }, {"Adam", "gradient of shape [3, 2]", "[2, 3]"});
  p.set_grad(zeros({2, 3}, {.dtype = DType::f64}));
  test::expect_error<DTypeError>([&] { opt.step(); }, {"Adam", "float64"});

  // Groups edited through param_groups() must still fit the state.
  p.set_grad(zeros({2, 3}));
  opt.step();
  Tensor bigger = zeros({4, 3}).requires_grad_();
  bigger.set_grad(zeros({4, 3}));
  opt.param_groups()[0].params[0] = bigger;
  test::expect_error<ValueError>([&] { opt.step(); }, {"Adam", "exp_avg buffer", "[2, 3]", "[4, 3]", "replaced"});
  opt.param_groups()[0].params.push_back(p);
  test::expect_error<ValueError>([&] { opt.step(); }, {"Adam", "now has 2 parameters", "add_param_group"});
}

}  // namespace
}  // namespace cajal
