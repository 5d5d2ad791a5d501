// Quantization-aware training: the QAT model in eval mode computes what its int8 conversion
// computes (both round at the same points with the same ranges), gradients reach every
// weight through the straight-through rounding, training keeps the converted model
// accurate, and converting before any training batch is refused.
#include <cstdio>

#include "cajal/autograd/engine.h"
#include "cajal/compress/qat.h"
#include "cajal/models/presets.h"
#include "cajal/nn/nn.h"
#include "cajal/ops/random.h"
#include "support/test_support.h"
#include "train/train_fixtures.h"

namespace cajal {
namespace {

TEST(Qat, EvalForwardMatchesTheConvertedInt8Model) {
  manual_seed(5);
  nn::Sequential model = models::cnn({.in_channels = 1, .image_size = {8, 8}, .num_classes = 4}, {.channels = {4, 8}, .hidden = 16});
  auto qat = std::make_shared<compress::QatSequentialImpl>(model.ptr(), Dims{1, 8, 8});
  Generator gen(6);
  qat->train();
  for (int batch = 0; batch < 5; ++batch) {
    NoGradGuard no_grad;
    qat->forward(randn({16, 1, 8, 8}, {}, &gen));
  }
  qat->eval();
  const Tensor x = randn({32, 1, 8, 8}, {}, &gen);
  Tensor simulated;
  {
    NoGradGuard no_grad;
    simulated = qat->forward(x);
  }
  const Tensor int8 = qat->convert()->forward(x);
  Tensor unrounded;
  {
    NoGradGuard no_grad;
    unrounded = model->forward(x);
  }
  // The same codes up to a rare rounding tie taken the other way (float against integer
  // sums, folded against unfolded batch norm): on average far closer to the int8 model than
  // the float model without rounding is, which differs from it everywhere.
  const double to_simulated = (int8 - simulated).abs().mean().item(), to_float = (int8 - unrounded).abs().mean().item();
  std::printf("mean |int8 - simulated| %g, mean |int8 - float| %g\n", to_simulated, to_float);
  EXPECT_LT(to_simulated, 0.25 * to_float);
  const double spread = (simulated.max() - simulated.min()).item();
  EXPECT_LT((int8 - simulated).abs().max().item(), 0.02 * spread);
  EXPECT_TRUE(test::all_close(int8.argmax(1), simulated.argmax(1), 0, 0));
}

TEST(Qat, GradientsReachEveryWeightAndTrainingKeepsAccuracy) {
  manual_seed(3);
  nn::Sequential mlp(nn::Linear(2, 32), nn::ReLU(), nn::Linear(32, 3));
  auto qat = std::make_shared<compress::QatSequentialImpl>(mlp.ptr(), Dims{2});
  data::DataLoader loader(test::blobs(512, 5), {.batch_size = 32, .shuffle = true, .seed = 1});
  data::Batch first = *loader.begin();
  qat->train();
  const Tensor loss = cross_entropy(qat->forward(first.input), first.target);
  const TensorList params = qat->parameters();
  const TensorList grads = autograd::grad({loss}, params);
  for (size_t i = 0; i < grads.size(); ++i) EXPECT_GT(grads[i].abs().sum().item(), 0.0) << i;
  optim::Adam adam(qat->parameters(), {.lr = 0.01});
  train::Trainer trainer(qat, test::cross_entropy_loss, adam, {.progress = false});
  trainer.fit(loader, nullptr, 4);
  const auto int8 = qat->convert();
  data::DataLoader test_loader(test::blobs(256, 9), {.batch_size = 256});
  const data::Batch all = *test_loader.begin();
  const double accuracy = (int8->forward(all.input).argmax(1) == all.target).to(DType::f64).mean().item();
  EXPECT_GT(accuracy, 0.9);
}

TEST(Qat, ConvertNeedsATrainingBatch) {
  nn::Sequential mlp(nn::Linear(2, 4), nn::ReLU(), nn::Linear(4, 3));
  compress::QatSequentialImpl qat(mlp.ptr(), {2});
  EXPECT_NE(test::error_message<ValueError>([&] { qat.convert(); }).find("before any training batch"), std::string::npos);
  nn::Sequential gelu(nn::Linear(2, 4), nn::GELU(), nn::Linear(4, 3));
  EXPECT_NE(test::error_message<ValueError>([&] { compress::QatSequentialImpl(gelu.ptr(), {2}); }).find("(GELU) has no int8 step"),
            std::string::npos);
}

}  // namespace
}  // namespace cajal
