// Pruning and distillation against PyTorch (tests/reference/pruning_reference.py): the
// weights torch.nn.utils.prune removes (global and per layer), the channels it ranks
// weakest and the outputs of the physically shrunk network, Hinton's distillation loss and
// its gradient; then the polynomial schedule and masks that survive training.
#include <cmath>

#include "cajal/autograd/engine.h"
#include "cajal/compress/channel_pruning.h"
#include "cajal/compress/distillation.h"
#include "cajal/compress/pruning.h"
#include "cajal/nn/nn.h"
#include "cajal/nn/serialize.h"
#include "support/reference_npy.h"
#include "support/test_support.h"
#include "train/train_fixtures.h"

namespace cajal {
namespace {

// The reference's network: conv 8, BN, ReLU, pool, conv 6, BN, ReLU, pool, flatten, linear
// 24 -> 10, ReLU, linear 10 -> 3, with its weights and statistics.
nn::Sequential reference_model(const test::ReferenceNpy& files) {
  nn::Sequential model(nn::Conv2d(1, 8, 3, {.padding = 1}), nn::BatchNorm2d(8), nn::ReLU(), nn::MaxPool2d(2),
                       nn::Conv2d(8, 6, 3, {.padding = 1}), nn::BatchNorm2d(6), nn::ReLU(), nn::MaxPool2d(2),
                       nn::Flatten(), nn::Linear(24, 10), nn::ReLU(), nn::Linear(10, 3));
  NamedTensors state;
  for (const auto& [name, value] : model->state_dict()) state.emplace_back(name, files.load("state." + name));
  nn::load_state_dict(*model, state);
  model->eval();
  return model;
}

class PruningReference : public ::testing::Test {
 protected:
  static const test::ReferenceNpy& reference() {
    static const test::ReferenceNpy files("pruning_reference.py");
    return files;
  }
  static Tensor load(const std::string& name) { return reference().load(name); }
};

std::vector<Tensor> weights_only(const std::vector<std::pair<std::string, Tensor>>& named) {
  std::vector<Tensor> weights;
  for (const auto& [name, w] : named) weights.push_back(w);
  return weights;
}

TEST_F(PruningReference, MagnitudeMasksAreTorchs) {
  nn::Sequential model = reference_model(reference());
  const auto named = compress::prunable_weights(*model);
  ASSERT_EQ(named.size(), 4u);
  EXPECT_EQ(named[2].first, "9.weight");
  const std::vector<Tensor> weights = weights_only(named);
  const std::vector<Tensor> global = compress::magnitude_masks(weights, 0.7);
  const std::vector<Tensor> layer = compress::magnitude_masks(weights, 0.7, compress::PruningScope::layer);
  const char* layers[] = {"0", "4", "9", "11"};
  for (size_t k = 0; k < 4; ++k) {
    EXPECT_TRUE(test::all_close(global[k], load(std::string("global_mask.") + layers[k]), 0, 0)) << layers[k];
    EXPECT_TRUE(test::all_close(layer[k], load(std::string("layer_mask.") + layers[k]), 0, 0)) << layers[k];
  }
  compress::apply_masks(weights, global);
  EXPECT_NEAR(compress::sparsity_of(weights), 542.0 / 774.0, 1e-12);  // round(0.7 * 774) of 774 weights
}

TEST_F(PruningReference, ShrunkNetworkComputesTheZeroedOne) {
  nn::Sequential model = reference_model(reference());
  const Tensor x = load("x");
  EXPECT_TRUE(test::all_close(model->forward(x), load("full_out"), 1e-5, 1e-6));
  const compress::LayerWidths widths = compress::prune_channels(*model, 0.5);
  EXPECT_EQ(widths, (compress::LayerWidths{{"0", 4}, {"4", 3}, {"9", 5}}));
  // The channels kept are torch's, in order: the kept weights are the original rows (and,
  // after a pruned layer, columns).
  const nn::Sequential original = reference_model(reference());
  auto conv_weight = [](const nn::Sequential& m, const char* name) {
    return std::dynamic_pointer_cast<nn::Conv2dImpl>(m->get_submodule(name))->weight();
  };
  const Tensor kept0 = load("kept.0"), kept4 = load("kept.4");
  EXPECT_TRUE(test::all_close(conv_weight(model, "0"), index_select(conv_weight(original, "0"), 0, kept0), 0, 0));
  EXPECT_TRUE(test::all_close(conv_weight(model, "4"),
                              index_select(index_select(conv_weight(original, "4"), 0, kept4), 1, kept0), 0, 0));
  EXPECT_TRUE(test::all_close(model->forward(x), load("structured_out"), 1e-5, 1e-6));
  EXPECT_EQ(model->num_parameters(), 4 * 9 + 4 + 2 * 4 + 3 * 4 * 9 + 3 + 2 * 3 + 5 * 12 + 5 + 3 * 5 + 3);
}

TEST_F(PruningReference, DistillationLossAndGradientAreHintons) {
  const Tensor student = load("student").requires_grad_(true);
  const Tensor loss = compress::distillation_loss(student, load("teacher"), load("target"), {.temperature = 4, .alpha = 0.9});
  EXPECT_NEAR(loss.item<double>(), load("distill_loss").item<double>(), 1e-12);
  const TensorList grad = autograd::grad({loss}, {student});
  EXPECT_TRUE(test::all_close(grad[0], load("distill_grad"), 1e-10, 1e-12));
}

TEST(Pruning, ResizeChannelsGivesTheShapeOfAPrunedModel) {
  nn::Sequential model(nn::Conv2d(1, 8, 3, {.padding = 1}), nn::BatchNorm2d(8), nn::ReLU(), nn::MaxPool2d(2),
                       nn::Flatten(), nn::Linear(8 * 4 * 4, 10), nn::ReLU(), nn::Linear(10, 3));
  compress::resize_channels(*model, {{"0", 3}, {"5", 7}});
  EXPECT_EQ(model->state_dict().at(0).second.sizes(), (Dims{3, 1, 3, 3}));
  EXPECT_EQ(model[5]->named_parameters().at(0).second.sizes(), (Dims{7, 3 * 4 * 4}));
  EXPECT_EQ(model[7]->named_parameters().at(0).second.sizes(), (Dims{3, 7}));
  EXPECT_EQ(model->forward(zeros({2, 1, 8, 8})).sizes(), (Dims{2, 3}));
  EXPECT_NE(test::error_message<ValueError>([&] { compress::resize_channels(*model, {{"7", 2}}); })
                .find("layer '7' is not a prunable layer"),
            std::string::npos);
  EXPECT_NE(test::error_message<ValueError>([&] { compress::resize_channels(*model, {{"0", 9}}); }).find("cannot keep 9"),
            std::string::npos);
}

TEST(Pruning, BadRequestsNameTheProblem) {
  nn::Sequential model(nn::Linear(4, 8), nn::ReLU(), nn::Linear(8, 2));
  const std::vector<Tensor> weights = weights_only(compress::prunable_weights(*model));
  for (double bad : {-0.1, 1.0, 1.5, std::nan("")}) {
    EXPECT_NE(test::error_message<ValueError>([&] { compress::magnitude_masks(weights, bad); }).find("sparsity must be in [0, 1)"),
              std::string::npos);
    EXPECT_NE(test::error_message<ValueError>([&] { compress::prune_channels(*model, bad); }).find("sparsity must be in [0, 1)"),
              std::string::npos);
  }
  nn::Linear single(4, 2);
  EXPECT_NE(test::error_message<ValueError>([&] { compress::prune_channels(*single, 0.5); }).find("a chain of layers"),
            std::string::npos);
  nn::Sequential head_only(nn::Flatten(), nn::Linear(4, 2));
  EXPECT_NE(test::error_message<ValueError>([&] { compress::prune_channels(*head_only, 0.5); }).find("no layer to prune"),
            std::string::npos);
}

TEST(Pruning, PolynomialScheduleOfZhuAndGupta) {
  EXPECT_DOUBLE_EQ(compress::polynomial_sparsity(0, 0.8, 0, 0, 100), 0);
  EXPECT_DOUBLE_EQ(compress::polynomial_sparsity(0, 0.8, 50, 0, 100), 0.8 * (1 - 0.125));  // 1 - (1/2)^3
  EXPECT_DOUBLE_EQ(compress::polynomial_sparsity(0, 0.8, 75, 0, 100), 0.8 * (1 - 1.0 / 64));
  EXPECT_DOUBLE_EQ(compress::polynomial_sparsity(0, 0.8, 100, 0, 100), 0.8);
  EXPECT_DOUBLE_EQ(compress::polynomial_sparsity(0.2, 0.8, 500, 0, 100), 0.8);
}

// Trains the blob MLP for 2 epochs, then 4 more with pruning (as `cajal prune` fine-tunes a
// trained run); returns the prunable weights' sparsity after training.
double train_pruned(compress::PruningOptions options) {
  manual_seed(3);
  nn::ModulePtr model = test::blob_mlp(32, 0.0);
  data::DataLoader loader(test::blobs(512, 5), {.batch_size = 32, .shuffle = true, .seed = 1});
  optim::Adam adam(model->parameters(), {.lr = 0.01});
  train::Trainer(model, test::cross_entropy_loss, adam, {.progress = false}).fit(loader, nullptr, 2);
  train::Trainer trainer(model, test::cross_entropy_loss, adam, {.progress = false});
  auto pruning = std::make_shared<compress::PruningCallback>(*model, options);
  trainer.add_callback(pruning);
  const auto& history = trainer.fit(loader, nullptr, 4);
  EXPECT_GT(history.back().get("accuracy", "test"), 0.9);
  EXPECT_DOUBLE_EQ(pruning->target_sparsity(), options.sparsity);
  return compress::sparsity_of(weights_only(compress::prunable_weights(*model)));
}

TEST(Pruning, MasksHoldThroughTrainingOneShotAndGradual) {
  // 2*32 + 32*3 = 160 weights: 0.75 of them is 120 exactly. Without the masks re-applied
  // after every step, Adam's updates would revive the pruned weights.
  EXPECT_DOUBLE_EQ(train_pruned({.sparsity = 0.75}), 0.75);
  EXPECT_DOUBLE_EQ(train_pruned({.sparsity = 0.75, .gradual = true, .ramp = 0.5, .every = 4}), 0.75);
  EXPECT_DOUBLE_EQ(train_pruned({.sparsity = 0.75, .scope = compress::PruningScope::layer}), 0.75);
}

}  // namespace
}  // namespace cajal
