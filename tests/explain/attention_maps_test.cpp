// Attention maps and rollout against PyTorch (tests/reference/attention_maps_reference.py):
// the per-head weights of each encoder layer (also with a padding mask), the model's output
// unchanged by recording, and Abnar and Zuidema's rollout; then what is refused.
#include "cajal/explain/attention.h"
#include "cajal/nn/nn.h"
#include "cajal/nn/serialize.h"
#include "support/reference_npy.h"
#include "support/test_support.h"

namespace cajal {
namespace {

const test::ReferenceNpy& reference() {
  static test::ReferenceNpy r("attention_maps_reference.py");
  return r;
}

double max_diff(const Tensor& a, const Tensor& b) { return (a.to(DType::f64) - b.to(DType::f64)).abs().max().item(); }

nn::TransformerEncoder twin() {
  nn::TransformerEncoder encoder(
      nn::TransformerEncoderLayer(8, 2, {.dim_feedforward = 16, .dropout = 0.0, .batch_first = true}), 2);
  NamedTensors state;
  for (const auto& [name, value] : encoder->state_dict()) state.emplace_back(name, reference().load("state." + name));
  nn::load_state_dict(*encoder, state);
  encoder->eval();
  return encoder;
}

TEST(AttentionMaps, PerLayerAndHeadEqualTorch) {
  nn::TransformerEncoder encoder = twin();
  Tensor x = reference().load("x");
  Tensor padding = reference().load("padding").to(DType::boolean);
  for (const std::string tag : {"plain", "padded"}) {
    SCOPED_TRACE(tag);
    Tensor mask = tag == "padded" ? padding : Tensor();
    Tensor output;
    auto maps = explain::attention_maps(*encoder, [&] { output = encoder->forward(x, {}, mask); });
    ASSERT_EQ(maps.size(), 2u);
    EXPECT_EQ(maps[0].layer, "layers.0.self_attn");
    EXPECT_EQ(maps[1].layer, "layers.1.self_attn");
    for (size_t i = 0; i < 2; ++i) {
      EXPECT_EQ(maps[i].weights.sizes(), (Dims{2, 2, 5, 5}));
      EXPECT_LT(max_diff(maps[i].weights, reference().load(tag + ".weights" + std::to_string(i))), 1e-6);
    }
    EXPECT_LT(max_diff(output, reference().load(tag + ".output")), 1e-5);  // recording changes nothing
    EXPECT_LT(max_diff(explain::attention_rollout(maps), reference().load(tag + ".rollout")), 1e-6);
  }
  // Recording ends with the call: the layers keep nothing.
  auto first = std::dynamic_pointer_cast<nn::TransformerEncoderLayerImpl>(encoder->layers[0]);
  EXPECT_TRUE(first->self_attn->recorded_weights.empty());
}

TEST(AttentionMaps, RolloutRowsSumToOne) {
  Tensor w = softmax(randn({1, 3, 4, 4}), -1);
  Tensor r = explain::attention_rollout({{"a", w}, {"b", w}, {"c", w}});
  EXPECT_LT(max_diff(r.sum({2}), ones({1, 4})), 1e-12);
  // residual 1 keeps only the identity.
  EXPECT_LT(max_diff(explain::attention_rollout({{"a", w}}, 1.0), eye(4).unsqueeze(0)), 1e-12);
}

TEST(AttentionMaps, RefusesModelsAndMapsThatDoNotFit) {
  nn::Sequential mlp(nn::Linear(3, 3));
  test::expect_error<ValueError>([&] { explain::attention_maps(*mlp, [&] { mlp->forward(randn({1, 3})); }); },
                                 {"Sequential", "has no attention layers"});
  test::expect_error<ShapeError>([&] { explain::attention_rollout({{"cross", rand({1, 2, 3, 5})}}); },
                                 {"cross", "[1, 2, 3, 5]", "self-attention"});
  test::expect_error<ValueError>([&] { explain::attention_rollout({}); }, {"no attention maps"});
}

}  // namespace
}  // namespace cajal
