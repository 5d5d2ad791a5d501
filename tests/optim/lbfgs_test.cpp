// L-BFGS against torch.optim.LBFGS (with and without the strong Wolfe line search): parameter
// trajectories over several steps of several iterations each, state_dict resume, errors.
#include "optim/trajectory.h"
#include "cajal/optim/lbfgs.h"

namespace cajal {
namespace {

using test::TrajectoryCase;

test::MakeOptimizer lbfgs(optim::LBFGSOptions options) {
  return [options](const TensorList& p) { return std::make_unique<optim::LBFGS>(p, options); };
}

// Each step runs several iterations, and L-BFGS amplifies rounding differences as it
// converges (about 10x per step here), so the cases stop after a few steps.
// float64 only: PyTorch keeps L-BFGS's scalars (step, curvature) in 0-d tensors of the
// parameters' dtype, so in float32 they are rounded where cajal keeps float64.
std::vector<TrajectoryCase> lbfgs_cases() {
  return {
      {"lbfgs_f64", DType::f64, "LBFGS(params, lr=0.5, max_iter=5)", lbfgs({.lr = 0.5, .max_iter = 5}), "", nullptr, 8, 8},
      {"lbfgs_history_f64", DType::f64, "LBFGS(params, lr=0.8, max_iter=6, history_size=3)",
       lbfgs({.lr = 0.8, .max_iter = 6, .history_size = 3}), "", nullptr, 8, 5},
      {"lbfgs_wolfe_f64", DType::f64, "LBFGS(params, max_iter=8, line_search_fn='strong_wolfe', history_size=5)",
       lbfgs({.max_iter = 8, .history_size = 5, .line_search_fn = "strong_wolfe"}), "", nullptr, 8, 4},
      {"lbfgs_wolfe_wide_f64", DType::f64, "LBFGS(params, max_iter=4, line_search_fn='strong_wolfe')",
       lbfgs({.max_iter = 4, .line_search_fn = "strong_wolfe"}), "", nullptr, 8200, 2},
  };
}

class LBFGSTrajectory : public ::testing::TestWithParam<TrajectoryCase> {
 protected:
  static const std::string& torch_dir() {
    static const std::string dir = test::run_torch(lbfgs_cases());
    return dir;
  }
};

TEST_P(LBFGSTrajectory, MatchesTorch) { test::expect_trajectory(GetParam(), torch_dir()); }

INSTANTIATE_TEST_SUITE_P(Torch, LBFGSTrajectory, ::testing::ValuesIn(lbfgs_cases()), [](const auto& info) { return info.param.id; });

std::function<Tensor()> closure_for(optim::Optimizer& opt, const TensorList& params) {
  const test::ModelData& data = test::model_data(8);
  return [&opt, params, x = data.x, t = data.t] {
    opt.zero_grad();
    Tensor loss = test::mlp_loss(params, x, t);
    loss.backward();
    return loss;
  };
}

TEST(LBFGS, StateDictResumes) {
  optim::LBFGSOptions options{.max_iter = 4, .history_size = 3, .line_search_fn = "strong_wolfe"};
  TensorList pa = test::initial_params(8, DType::f64);
  optim::LBFGS a(pa, options);
  for (int i = 0; i < 2; ++i) a.step(closure_for(a, pa));
  optim::NamedTensors saved;
  for (const auto& [name, t] : a.state_dict()) saved.emplace_back(name, t.clone());

  TensorList pb;
  for (const Tensor& p : pa) pb.push_back(p.detach().clone().requires_grad_());
  optim::LBFGS b(pb, {});
  b.load_state_dict(saved);
  EXPECT_EQ(b.options().line_search_fn, "strong_wolfe");
  EXPECT_EQ(b.options().history_size, 3);
  for (int i = 0; i < 2; ++i) {
    a.step(closure_for(a, pa));
    b.step(closure_for(b, pb));
  }
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(test::all_close(pb[i], pa[i], 0, 0)) << "parameter " << i;
}

TEST(LBFGS, Errors) {
  Tensor p = zeros({2}).requires_grad_();
  optim::LBFGS opt({p});
  test::expect_error<ValueError>([&] { opt.step(); }, {"LBFGS", "closure"});
  test::expect_error<ValueError>([&] { optim::LBFGS bad({p}, {.line_search_fn = "armijo"}); }, {"strong_wolfe", "armijo"});
  test::expect_error<ValueError>([&] { optim::LBFGS bad(TensorList{}); }, {"LBFGS", "empty"});
}

}  // namespace
}  // namespace cajal
