// int8 post-training quantization of the cnn preset against torch.ao.quantization (onednn
// engine; tests/reference/quantized_model_reference.py): the same int8 weights and
// per-channel scales, the same activation parameters from the same calibration batches,
// and outputs within one quantization step of torch's (nearly all); then a file round trip and the
// layers that have no int8 form.
#include <cmath>

#include "cajal/compress/quantized_model.h"
#include "cajal/models/presets.h"
#include "cajal/nn/nn.h"
#include "cajal/nn/serialize.h"
#include "support/reference_npy.h"
#include "support/test_support.h"

namespace cajal {
namespace {

class QuantizedModelReference : public ::testing::Test {
 protected:
  static const test::ReferenceNpy& reference() {
    static const test::ReferenceNpy files("quantized_model_reference.py");
    return files;
  }
  static Tensor load(const std::string& name) { return reference().load(name); }

  // The reference's float network, weights and statistics loaded, in eval mode.
  static nn::Sequential float_model() {
    nn::Sequential model = models::cnn({.in_channels = 1, .image_size = {8, 8}, .num_classes = 4},
                                       {.channels = {4, 8}, .hidden = 16});
    NamedTensors state;
    for (const auto& [name, value] : model->state_dict()) state.emplace_back(name, load("state." + name));
    nn::load_state_dict(*model, state);
    model->eval();
    return model;
  }
  static std::shared_ptr<compress::QuantizedSequentialImpl> quantized(nn::Sequential& model) {
    return compress::quantize_model(*model, {1, 8, 8}, {load("calibration0"), load("calibration1"), load("calibration2")});
  }
};

Tensor state_of(const nn::Module& m, const std::string& name) {
  for (const auto& [n, t] : m.state_dict())
    if (n == name) return t;
  ADD_FAILURE() << "no " << name;
  return {};
}

TEST_F(QuantizedModelReference, WeightsScalesAndRangesAreTorchs) {
  nn::Sequential model = float_model();
  EXPECT_TRUE(test::all_close(model->forward(load("x")), load("float_out"), 1e-5, 1e-6));
  auto q = quantized(model);
  EXPECT_TRUE(test::all_close(state_of(*q, "input_qparams"), load("input_qparams"), 0, 0));
  for (const std::string layer : {"0", "4", "9", "12"}) {
    // Batch norm folded before the weights are observed, as torch's fusion does: same codes
    // and scales (float32 rounding of the fold may move a code by one).
    const Tensor codes = state_of(*q, layer + ".weight").to(DType::i32), expected = load(layer + ".weight_codes").to(DType::i32);
    EXPECT_TRUE(test::all_close(codes, expected, 0, 1)) << layer;
    EXPECT_TRUE(test::all_close(state_of(*q, layer + ".weight_scale"), load(layer + ".weight_scale"), 1e-6, 0)) << layer;
    if (layer != "12") {  // the last layer's outputs stay float32 here
      const Tensor mine = state_of(*q, layer + ".output_qparams"), torchs = load(layer + ".output_qparams");
      EXPECT_NEAR(mine.to_vector<float>()[0], torchs.to_vector<float>()[0], 1e-5 * torchs.to_vector<float>()[0]) << layer;
      EXPECT_EQ(mine.to_vector<float>()[1], torchs.to_vector<float>()[1]) << layer;
    }
  }
}

TEST_F(QuantizedModelReference, OutputsWithinOneQuantizationStepOfTorchs) {
  nn::Sequential model = float_model();
  auto q = quantized(model);
  const Tensor mine = q->forward(load("x")), torchs = load("quantized_out");
  ASSERT_EQ(mine.sizes(), torchs.sizes());
  const float step = load("12.output_qparams").to_vector<float>()[0];
  const std::vector<float> a = mine.to_vector<float>(), b = torchs.to_vector<float>();
  // Where a hidden code rounds the other way (torch requantizes in its own order), the
  // outputs that read it move by that unit's weight: a few steps at most, rarely.
  int within = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    within += std::fabs(a[i] - b[i]) <= step;
    EXPECT_LE(std::fabs(a[i] - b[i]), 4 * step) << i;
  }
  EXPECT_GE(within, static_cast<int>(0.95 * static_cast<double>(a.size())));  // 63 of 64 on this machine
  EXPECT_TRUE(test::all_close(mine.argmax(1), torchs.argmax(1), 0, 0));
}

TEST_F(QuantizedModelReference, FileRoundTripHoldsInt8) {
  nn::Sequential model = float_model();
  auto q = quantized(model);
  const std::string path = test::temp_dir() + "/q.safetensors";
  nn::save(*q, path);
  EXPECT_EQ(state_of(*q, "0.weight").dtype(), DType::i8);
  compress::QuantizedSequentialImpl loaded(*float_model(), {1, 8, 8});
  nn::load(loaded, path);
  EXPECT_TRUE(test::all_close(loaded.forward(load("x")), q->forward(load("x")), 0, 0));
}

TEST(QuantizedModel, LayersWithoutAnInt8FormAreNamed) {
  nn::Sequential gelu(nn::Linear(4, 8), nn::GELU(), nn::Linear(8, 2));
  EXPECT_NE(test::error_message<ValueError>([&] { compress::QuantizedSequentialImpl(*gelu, {4}); })
                .find("layer '1' (GELU) has no int8 step"),
            std::string::npos);
  nn::Linear single(4, 2);
  EXPECT_NE(test::error_message<ValueError>([&] { compress::QuantizedSequentialImpl(*single, {4}); }).find("a chain of layers"),
            std::string::npos);
  nn::Sequential mlp(nn::Linear(4, 8), nn::ReLU(), nn::Linear(8, 2));
  EXPECT_NE(test::error_message<ValueError>([&] { compress::quantize_model(*mlp, {4}, {}); }).find("no calibration data"),
            std::string::npos);
}

TEST(QuantizedModel, MlpOnFeatureRowsTracksTheFloatModel) {
  // An input zero point away from 0 (features in [-3, 1]): the offset's compensation is exact.
  manual_seed(1);
  nn::Sequential mlp(nn::Linear(6, 32), nn::ReLU(), nn::Linear(32, 3));
  mlp->eval();
  Generator gen(2);
  const Tensor x = rand({200, 6}, {}, &gen) * 4.0 - 3.0;
  auto q = compress::quantize_model(*mlp, {6}, {x});
  const Tensor expected = mlp->forward(x), got = q->forward(x);
  const double range = (expected.max() - expected.min()).item();
  EXPECT_LT((got - expected).abs().max().item(), 0.02 * range);
}

}  // namespace
}  // namespace cajal
