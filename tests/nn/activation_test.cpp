// Activation layers and the ops behind them: forward and gradients against the torch.nn
// modules (train and eval, on random inputs and on inputs at the kinks, where PyTorch's
// gradient conventions decide), printing as torch prints, float64 gradchecks of hardtanh,
// mish and prelu (first and second order), errors.
#include "cajal/nn/activation.h"
#include "cajal/ops/activation.h"
#include "nn/layer_parity.h"

namespace cajal {
namespace {

using namespace cajal::nn;

test::NormalSampler normal(41, /*stddev=*/2.0);

// Every activation layer, with the torch expression that builds its twin.
std::vector<std::pair<std::string, ModulePtr>> activations() {
  return {
      {"nn.ReLU()", ReLU()},
      {"nn.LeakyReLU()", LeakyReLU()},
      {"nn.LeakyReLU(0.2)", LeakyReLU(0.2)},
      {"nn.PReLU()", PReLU()},
      {"nn.PReLU(4, 0.1)", PReLU(4, 0.1)},
      {"nn.ELU()", ELU()},
      {"nn.ELU(0.5)", ELU(0.5)},
      {"nn.SELU()", SELU()},
      {"nn.GELU()", GELU()},
      {"nn.GELU(approximate='tanh')", GELU(GeluApprox::Tanh)},
      {"nn.SiLU()", SiLU()},
      {"nn.Mish()", Mish()},
      {"nn.Sigmoid()", Sigmoid()},
      {"nn.Tanh()", Tanh()},
      {"nn.Softmax(dim=1)", Softmax(1)},
      {"nn.LogSoftmax(dim=-1)", LogSoftmax(-1)},
      {"nn.Hardtanh()", Hardtanh()},
      {"nn.Hardtanh(-2.0, 1.5)", Hardtanh(-2.0, 1.5)},
      {"nn.Softplus()", Softplus()},
      {"nn.Softplus(2.0, 1.0)", Softplus(2.0, 1.0)},
  };
}

TEST(Activations, MatchPyTorch) {
  // Channels (dim 1) = 4 in both inputs, for the per-channel PReLU. The second input sits on
  // the kinks: 0 (relu, leaky_relu, prelu, elu) and +-1, -2, 1.5 (the hardtanh bounds).
  const Tensor inputs[] = {normal({3, 4, 5}), tensor({-1.f, 1.f, 0.f, 0.5f, -2.f, 1.5f, -1.5f, 0.f}, {2, 4})};
  std::vector<test::LayerCase> cases;
  for (bool train : {true, false})
    for (const Tensor& x : inputs)
      for (const auto& [torch, module] : activations()) cases.push_back({torch, module, {x}, train});
  test::expect_layers_match_torch(cases);
}

TEST(Activations, PrintLikePyTorch) {
  // print() of each torch module (torch 1.13).
  const char* expected[] = {
      "ReLU()",       "LeakyReLU(negative_slope=0.01)", "LeakyReLU(negative_slope=0.2)",
      "PReLU(num_parameters=1)", "PReLU(num_parameters=4)", "ELU(alpha=1.0)", "ELU(alpha=0.5)", "SELU()",
      "GELU(approximate='none')", "GELU(approximate='tanh')", "SiLU()", "Mish()", "Sigmoid()", "Tanh()",
      "Softmax(dim=1)", "LogSoftmax(dim=-1)", "Hardtanh(min_val=-1.0, max_val=1.0)",
      "Hardtanh(min_val=-2.0, max_val=1.5)", "Softplus(beta=1, threshold=20)", "Softplus(beta=2, threshold=1)"};
  auto layers = activations();
  ASSERT_EQ(layers.size(), std::size(expected));
  for (size_t i = 0; i < layers.size(); ++i) EXPECT_EQ(layers[i].second->to_string(), expected[i]);
  EXPECT_EQ(Softplus(0.5, 20)->to_string(), "Softplus(beta=0.5, threshold=20)");
}

TEST(Activations, PReLUHasOneWeightPerChannel) {
  PReLU p(3, 0.1);
  auto params = p->named_parameters();
  ASSERT_EQ(params.size(), 1u);
  EXPECT_EQ(params[0].first, "weight");
  EXPECT_EQ(params[0].second.to_vector<float>(), (std::vector<float>{0.1f, 0.1f, 0.1f}));
}

Tensor leaf(const Dims& shape, double phase) { return test::gradcheck_leaf(shape, phase); }
// A float64 leaf holding scale * sin(1.7 i + 0.3).
Tensor scaled_leaf(const Dims& shape, double scale) { return (test::gradcheck_leaf(shape).detach() * scale).requires_grad_(); }

TEST(ActivationOps, Gradchecks) {
  auto mish_op = [](const Tensor& x) { return mish(x); };
  test::expect_gradcheck_layouts(mish_op, [](const Dims& s) { return scaled_leaf(s, 3.0); }, true);
  // 1.6 sin(1.7 i + 0.3) stays over 0.03 away from the bounds -1.2 and 0.9 (finite differences see no kink).
  auto hardtanh_op = [](const Tensor& x) { return hardtanh(x, -1.2, 0.9); };
  test::expect_gradcheck_layouts(hardtanh_op, [](const Dims& s) { return scaled_leaf(s, 1.6); }, true);
  // prelu with respect to the input and the slopes: one shared slope and one per channel,
  // on 2-D and 4-D inputs, and on a transposed input.
  auto prelu_op = [](const TensorList& x) { return prelu(x[0], x[1]); };
  for (bool second : {false, true}) {
    test::expect_gradcheck(prelu_op, {leaf({3, 4}, 0.2), leaf({1}, 0.9)}, second);
    test::expect_gradcheck(prelu_op, {leaf({3, 4}, 0.2), leaf({4}, 0.9)}, second);
    test::expect_gradcheck(prelu_op, {leaf({2, 3, 2, 2}, 0.4), leaf({3}, 1.1)}, second);
    test::expect_gradcheck(prelu_op, {test::gradcheck_leaf_transposed(4, 3), leaf({3}, 1.1)}, second);
  }
}

TEST(ActivationOps, MishIsStableForLargeInputs) {
  Tensor x = tensor({-100.0, -30.0, 30.0, 100.0, 1000.0}).requires_grad_();
  Tensor y = mish(x);
  // torch.nn.functional.mish of the same float64 values.
  EXPECT_TRUE(test::all_close(y, tensor({-3.7200759760208363e-42, -2.807286890651921e-12, 30.0, 100.0, 1000.0}),
                              1e-10, 1e-300));
  y.sum().backward();
  std::vector<double> g = x.grad().to_vector<double>();
  for (double v : g) EXPECT_FALSE(std::isnan(v));
  EXPECT_DOUBLE_EQ(g[4], 1.0);
}

TEST(ActivationOps, Errors) {
  test::expect_error<ValueError>([] { hardtanh(zeros({2}), 1, -1); }, {"hardtanh", "min_val 1", "max_val -1"});
  test::expect_error<ValueError>([] { Hardtanh(1.0, 1.0); }, {"Hardtanh", "max_val"});
  test::expect_error<ShapeError>([] { prelu(zeros({2, 3}), zeros({4})); }, {"prelu", "4 slopes", "[2, 3]", "3 channels"});
  test::expect_error<ShapeError>([] { prelu(zeros({5}), zeros({5})); }, {"prelu", "5 slopes", "1 channels"});
  test::expect_error<ShapeError>([] { prelu(zeros({2, 3}), zeros({3, 1})); }, {"prelu", "1-D", "[3, 1]"});
  test::expect_error<ValueError>([] { PReLU(0); }, {"PReLU", "0"});
}

}  // namespace
}  // namespace cajal
