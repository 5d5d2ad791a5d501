// SimCLR's NT-Xent loss: values and gradients against a PyTorch loop written from the paper
// (tests/reference/nt_xent_reference.py), at two temperatures; its errors.
#include "cajal/autograd/engine.h"
#include "cajal/io/npy.h"
#include "cajal/train/self_supervised.h"
#include "support/test_support.h"

namespace cajal {
namespace {

TEST(SelfSupervised, NtXentMatchesPyTorch) {
  const std::string dir = test::temp_dir();
  ASSERT_TRUE(test::run_reference("nt_xent_reference.py", dir));
  for (const auto& run : {std::pair{0.5, std::string("")}, std::pair{0.1, std::string("_t01")}}) {
    const double temperature = run.first;
    const std::string suffix = run.second;  // (a named copy: clang 14 lambdas cannot capture structured bindings)
    auto load = [&](const std::string& name) { return load_npy(dir + "/" + name + suffix + ".npy"); };
    const Tensor z1 = load("z1").requires_grad_(true), z2 = load("z2").requires_grad_(true);
    const Tensor loss = train::nt_xent_loss(z1, z2, temperature);
    EXPECT_NEAR(loss.item<double>(), load("loss").item<double>(), 1e-12) << temperature;
    const TensorList grads = autograd::grad({loss}, {z1, z2});
    EXPECT_TRUE(test::all_close(grads[0], load("grad_z1"), 1e-9, 1e-12)) << temperature;
    EXPECT_TRUE(test::all_close(grads[1], load("grad_z2"), 1e-9, 1e-12)) << temperature;
  }
}

TEST(SelfSupervised, NtXentRewardsMatchingViewsAndRefusesBadInput) {
  // Two views that agree give a lower loss than two that do not.
  const Tensor a = randn({8, 4});
  EXPECT_LT(train::nt_xent_loss(a, a * 2, 0.5).item<double>(), train::nt_xent_loss(a, randn({8, 4}), 0.5).item<double>());
  test::expect_error<ShapeError>([&] { train::nt_xent_loss(a, randn({8, 3})); }, {"two [N, D] projections"});
  test::expect_error<ShapeError>([&] { train::nt_xent_loss(randn({1, 4}), randn({1, 4})); }, {"N >= 2"});
  test::expect_error<ValueError>([&] { train::nt_xent_loss(a, a, 0); }, {"temperature must be positive"});
}

}  // namespace
}  // namespace cajal
