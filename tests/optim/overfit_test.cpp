// Every optimizer trains a small CNN (convolution, batch norm, pooling, linear) to
// memorize one fixed batch of random images with random labels: the cross-entropy must
// fall from about log(4) to near zero within 200 steps (L-BFGS: 10 steps of up to 20
// iterations) and every label must be predicted. This is the
// end-to-end check that layers, autograd and the update rules work together; the exact
// numbers of each update rule are checked against torch.optim in optimizer_test.cpp.
#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace cajal {
namespace {

constexpr int64_t kBatch = 16, kClasses = 4, kSize = 12;

using MakeOptimizer = std::function<std::unique_ptr<optim::Optimizer>(const TensorList&)>;

struct OverfitCase {
  std::string name;
  MakeOptimizer make;
  int steps;
};

// Options is named only for LBFGS, which has no Options member (it is not an OptimizerBase).
template <typename Opt, typename Options = typename Opt::Options>
OverfitCase with(std::string name, Options options, int steps = 200) {
  return {std::move(name), [options](const TensorList& params) { return std::make_unique<Opt>(params, options); },
          steps};
}

// [16, 1, 12, 12] -> conv 8 -> 12x12 -> pool -> 6x6 -> conv 16 -> flatten 576 -> 4 classes.
nn::Sequential small_cnn() {
  return nn::Sequential(nn::Conv2d(1, 8, 3, {.padding = 1}), nn::BatchNorm2d(8), nn::ReLU(), nn::MaxPool2d(2),
                        nn::Conv2d(8, 16, 3, {.padding = 1}), nn::ReLU(), nn::Flatten(),
                        nn::Linear(16 * (kSize / 2) * (kSize / 2), kClasses));
}

class Overfit : public ::testing::TestWithParam<OverfitCase> {};

TEST_P(Overfit, DrivesTheLossOfOneBatchToZero) {
  Generator gen(2024);
  Tensor x = randn({kBatch, 1, kSize, kSize}, {}, &gen);
  Tensor y = randint(0, kClasses, {kBatch}, {.dtype = DType::i64}, &gen);
  manual_seed(7);  // the same initial weights for every optimizer
  nn::Sequential model = small_cnn();
  std::unique_ptr<optim::Optimizer> opt = GetParam().make(model->parameters());

  // Every optimizer steps through a closure, which L-BFGS calls several times per step.
  std::vector<double> losses;
  auto closure = [&] {
    opt->zero_grad();
    Tensor loss = cross_entropy(model(x), y);
    losses.push_back(loss.item());
    loss.backward();
    return loss;
  };
  for (int step = 0; step < GetParam().steps; ++step) opt->step(closure);
  ASSERT_FALSE(losses.empty());
  for (size_t i = 0; i < losses.size(); ++i) ASSERT_TRUE(std::isfinite(losses[i])) << "evaluation " << i;
  double initial_loss = losses.front();

  NoGradGuard no_grad;
  Tensor logits = model(x);  // still in training mode: batch statistics, as optimized
  double final_loss = cross_entropy(logits, y).item();
  RecordProperty("initial_loss", ::testing::PrintToString(initial_loss));  // in --gtest_output=xml reports
  RecordProperty("final_loss", ::testing::PrintToString(final_loss));
  RecordProperty("evaluations", static_cast<int>(losses.size()));
  EXPECT_GT(initial_loss, 1.0);  // about log(4) = 1.39 for an untrained model
  EXPECT_LT(final_loss, 0.05) << "initial loss " << initial_loss;
  EXPECT_LT(final_loss, initial_loss / 20);
  EXPECT_EQ(logits.argmax(1).to_vector<int64_t>(), y.to_vector<int64_t>());
}

using namespace optim;
INSTANTIATE_TEST_SUITE_P(
    EveryOptimizer, Overfit,
    ::testing::Values(with<SGD>("SGD_momentum", {.lr = 0.05, .momentum = 0.9}),
                      with<SGD>("SGD_nesterov", {.lr = 0.05, .momentum = 0.9, .nesterov = true}),
                      with<Adam>("Adam", {.lr = 1e-2}),
                      with<AdamW>("AdamW", {.lr = 1e-2}),
                      with<Adamax>("Adamax", {.lr = 2e-2}),
                      with<NAdam>("NAdam", {.lr = 1e-2}),
                      with<RMSprop>("RMSprop", {.lr = 1e-3}),
                      with<RMSprop>("RMSprop_centered", {.lr = 1e-3, .centered = true}),
                      with<Adagrad>("Adagrad", {.lr = 0.05}),
                      with<Adadelta>("Adadelta", {.lr = 1.0}),
                      with<LBFGS, LBFGSOptions>("LBFGS", {.line_search_fn = "strong_wolfe"}, 10)),
    [](const ::testing::TestParamInfo<OverfitCase>& info) { return info.param.name; });

}  // namespace
}  // namespace cajal
