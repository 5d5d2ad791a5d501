// Meta-learning: MAML's meta-gradient (second order) against central finite differences of
// the adapted query loss, first-order MAML and Reptile against their definitions, the
// sinusoid tasks, and the inner loop leaving the model untouched.
#include "cajal/data/episodes.h"
#include "cajal/nn/nn.h"
#include "cajal/train/meta_learning.h"
#include "support/test_support.h"

namespace cajal {
namespace {

// 1 -> 6 -> 1 with tanh, in float64 so finite differences are exact to ~1e-9; parameters
// registered with member slots as a user's own module would.
struct TinyNetImpl : nn::Module {
  TinyNetImpl() {
    Generator gen(7);
    register_parameter("w1", w1, randn({6, 1}, {.dtype = DType::f64}, &gen));
    register_parameter("b1", b1, randn({6}, {.dtype = DType::f64}, &gen) * 0.1);
    register_parameter("w2", w2, randn({1, 6}, {.dtype = DType::f64}, &gen) * 0.5);
    register_parameter("b2", b2, zeros({1}, {.dtype = DType::f64}));
  }
  std::string name() const override { return "TinyNet"; }
  Tensor forward(const Tensor& x) override { return linear(tanh(linear(x, w1, b1)), w2, b2); }
  Tensor w1, b1, w2, b2;
};

Tensor mse(const Tensor& output, const Tensor& target) { return mse_loss(output, target); }

data::Episode sine_episode(uint64_t seed, int64_t k) {
  Generator gen(seed);
  data::Episode e = data::SinusoidTasks().draw_episode(k, k, gen);
  for (Tensor* t : {&e.support_input, &e.support_target, &e.query_input, &e.query_target}) *t = t->to(DType::f64);
  return e;
}

// d f / d p for every entry of every parameter, f = mean adapted query loss over the tasks.
TensorList finite_differences(TinyNetImpl& net, const std::vector<data::Episode>& tasks, int64_t steps, double lr) {
  auto f = [&] {
    double total = 0;
    for (const auto& t : tasks) total += train::adapted_query_loss(net, mse, t, steps, lr);
    return total / static_cast<double>(tasks.size());
  };
  TensorList out;
  const double h = 1e-5;
  for (Tensor& p : net.parameters()) {
    Tensor g = zeros(p.sizes(), {.dtype = DType::f64});
    Tensor flat = p.detach().reshape({-1});
    for (int64_t i = 0; i < flat.numel(); ++i) {
      const double x = flat[i].item<double>();
      flat[i].fill_(x + h);
      const double up = f();
      flat[i].fill_(x - h);
      const double down = f();
      flat[i].fill_(x);
      g.reshape({-1})[i].fill_((up - down) / (2 * h));
    }
    out.push_back(g);
  }
  return out;
}

TEST(MetaLearning, MamlMetaGradientMatchesFiniteDifferences) {
  TinyNetImpl net;
  const std::vector<data::Episode> tasks = {sine_episode(1, 5), sine_episode(2, 5)};
  for (int64_t steps : {1, 2}) {
    const double lr = 0.3;  // large enough that the second-order term matters
    train::meta_gradient(net, mse, tasks, {.method = train::MetaMethod::Maml, .inner_steps = steps, .inner_lr = lr});
    const TensorList numeric = finite_differences(net, tasks, steps, lr);
    const TensorList params = net.parameters();
    for (size_t i = 0; i < params.size(); ++i)
      EXPECT_TRUE(test::all_close(params[i].grad(), numeric[i], 1e-6, 1e-8)) << "steps " << steps << " parameter " << i;
    // First-order MAML drops that term: at this step size its gradient differs.
    train::meta_gradient(net, mse, tasks, {.method = train::MetaMethod::FirstOrderMaml, .inner_steps = steps, .inner_lr = lr});
    double gap = 0;
    for (size_t i = 0; i < params.size(); ++i) gap += sum(abs(params[i].grad() - numeric[i])).item<double>();
    EXPECT_GT(gap, 1e-3);
  }
}

TEST(MetaLearning, FirstOrderMamlIsTheQueryGradientAtTheAdaptedWeights) {
  TinyNetImpl net;
  const data::Episode task = sine_episode(3, 10);
  train::meta_gradient(net, mse, {task}, {.method = train::MetaMethod::FirstOrderMaml, .inner_steps = 3, .inner_lr = 0.05});
  // Apply the three SGD steps by hand to a second copy, then differentiate the query loss there.
  TinyNetImpl twin;
  for (int step = 0; step < 3; ++step) {
    twin.zero_grad();
    mse(twin.forward(task.support_input), task.support_target).backward();
    NoGradGuard no_grad;
    for (Tensor& p : twin.parameters()) p.sub_(p.grad() * 0.05);
  }
  twin.zero_grad();
  mse(twin.forward(task.query_input), task.query_target).backward();
  for (size_t i = 0; i < 4; ++i)
    EXPECT_TRUE(test::all_close(net.parameters()[i].grad(), twin.parameters()[i].grad(), 1e-10, 1e-12)) << i;
}

TEST(MetaLearning, ReptileMovesTowardsTheAdaptedWeights) {
  TinyNetImpl net;
  const data::Episode a = sine_episode(4, 10), b = sine_episode(5, 10);
  train::meta_gradient(net, mse, {a, b}, {.method = train::MetaMethod::Reptile, .inner_steps = 4, .inner_lr = 0.02});
  const nn::Named<Tensor> adapted_a = train::adapt(net, mse, a.support_input, a.support_target, 4, 0.02);
  const nn::Named<Tensor> adapted_b = train::adapt(net, mse, b.support_input, b.support_target, 4, 0.02);
  const TensorList params = net.parameters();
  for (size_t i = 0; i < params.size(); ++i) {
    Tensor expected = params[i].detach() - (adapted_a[i].second.detach() + adapted_b[i].second.detach()) / 2;
    EXPECT_TRUE(test::all_close(params[i].grad(), expected, 1e-12, 1e-14)) << i;
  }
}

TEST(MetaLearning, AdaptLeavesTheModelAndZeroStepsIsThePlainLoss) {
  TinyNetImpl net;
  const Tensor before = net.w1.detach().clone();
  const data::Episode task = sine_episode(6, 5);
  const nn::Named<Tensor> adapted = train::adapt(net, mse, task.support_input, task.support_target, 5, 0.1);
  EXPECT_TRUE(test::all_close(net.w1, before, 0, 0));
  EXPECT_FALSE(test::all_close(adapted[0].second, before, 1e-6, 0));
  EXPECT_DOUBLE_EQ(train::adapted_query_loss(net, mse, task, 0, 0.1),
                   mse(net.forward(task.query_input), task.query_target).item<double>());
  // Adapting lowers the support loss it trains on.
  const data::Episode on_support{task.support_input, task.support_target, task.support_input, task.support_target};
  EXPECT_LT(train::adapted_query_loss(net, mse, on_support, 5, 0.1), train::adapted_query_loss(net, mse, on_support, 0, 0.1));
}

TEST(MetaLearning, SinusoidTasksFollowFinnEtAl) {
  data::SinusoidTasks tasks;
  Generator gen(11);
  for (int i = 0; i < 200; ++i) {
    const data::Sinusoid task = tasks.draw_task(gen);
    EXPECT_GE(task.amplitude, 0.1);
    EXPECT_LE(task.amplitude, 5.0);
    EXPECT_GE(task.phase, 0.0);
    EXPECT_LE(task.phase, 3.141592653589793);
    auto [x, y] = tasks.draw_points(task, 10, gen);
    ASSERT_EQ(x.sizes(), (Dims{10, 1}));
    EXPECT_GE(min(x).item<double>(), -5.0);
    EXPECT_LE(max(x).item<double>(), 5.0);
    EXPECT_TRUE(test::all_close(y, task(x), 1e-5, 1e-5));
  }
  test::expect_error<ValueError>([] { data::SinusoidTasks({.amplitude_min = 5, .amplitude_max = 1}); }, {"amplitude range"});
  test::expect_error<ValueError>([&] { tasks.draw_points({}, 0, gen); }, {"at least one point"});
  test::expect_error<ValueError>([] { train::parse_meta_method("mamal"); }, {"\"mamal\"", "maml, fomaml or reptile"});
  TinyNetImpl net;
  test::expect_error<ValueError>([&] { train::meta_gradient(net, mse, {}, {}); }, {"no tasks"});
}

}  // namespace
}  // namespace cajal
