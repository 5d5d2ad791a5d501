// Linear, Bilinear, Identity, Flatten, Unflatten: forward and every gradient against the
// torch.nn module holding the same weights (train and eval), printing as torch prints,
// default initialization against torch's formulas, float64 gradchecks of bilinear, errors.
#include <cmath>

#include "cajal/nn/activation.h"
#include "cajal/nn/container.h"
#include "cajal/nn/dropout.h"
#include "cajal/nn/embedding.h"
#include "cajal/nn/linear.h"
#include "cajal/ops/bilinear.h"
#include "nn/layer_parity.h"

namespace cajal {
namespace {

using namespace cajal::nn;

test::NormalSampler normal(31);

Tensor bilinear_call(Module& m, const TensorList& x) { return static_cast<BilinearImpl&>(m).forward(x[0], x[1]); }

TEST(Layers, MatchPyTorch) {
  std::vector<test::LayerCase> cases;
  for (bool train : {true, false}) {
    cases.push_back({"nn.Linear(5, 3)", Linear(5, 3), {normal({4, 5})}, train});
    cases.push_back({"nn.Linear(5, 3, bias=False)", Linear(5, 3, {.bias = false}), {normal({2, 3, 5})}, train});
    cases.push_back({"nn.Linear(6, 2)", Linear(6, 2), {normal({6})}, train});
    cases.push_back({"nn.Linear(300, 40)", Linear(300, 40), {normal({16, 300})}, train});
    cases.push_back({"nn.Bilinear(4, 3, 2)", Bilinear(4, 3, 2), {normal({5, 4}), normal({5, 3})}, train, bilinear_call});
    cases.push_back({"nn.Bilinear(2, 3, 4, bias=False)", Bilinear(2, 3, 4, {.bias = false}),
                     {normal({2, 3, 2}), normal({2, 3, 3})}, train, bilinear_call});
    cases.push_back({"nn.Identity()", Identity(), {normal({3, 2})}, train});
    cases.push_back({"nn.Flatten()", Flatten(), {normal({2, 3, 4, 5})}, train});
    cases.push_back({"nn.Flatten(0, 2)", Flatten(0, 2), {normal({2, 3, 4, 5})}, train});
    cases.push_back({"nn.Unflatten(1, (2, 3))", Unflatten(1, Dims{2, 3}), {normal({4, 6, 2})}, train});
    cases.push_back({"nn.Sequential(nn.Flatten(), nn.Linear(12, 7), nn.ReLU(), nn.Linear(7, 3))",
                     Sequential(Flatten(), Linear(12, 7), ReLU(), Linear(7, 3)), {normal({5, 3, 4})}, train});
  }
  test::expect_layers_match_torch(cases);
}

TEST(Layers, PrintLikePyTorch) {
  Sequential model(Flatten(), Linear(784, 256), ReLU(), Linear(256, 10, {.bias = false}), LogSoftmax(1));
  // str(nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10, bias=False),
  //                   nn.LogSoftmax(dim=1))) in torch 1.13:
  EXPECT_EQ(model->to_string(),
            "Sequential(\n  (0): Flatten(start_dim=1, end_dim=-1)\n  (1): Linear(in_features=784, out_features=256, "
            "bias=True)\n  (2): ReLU()\n  (3): Linear(in_features=256, out_features=10, bias=False)\n  (4): "
            "LogSoftmax(dim=1)\n)");
  EXPECT_EQ(model->to_string(true), model->to_string() + "\nTotal params: 203,520 (trainable: 203,520)");
  std::vector<std::string> names;
  for (const auto& entry : model->named_parameters()) names.push_back(entry.first);
  EXPECT_EQ(names, (std::vector<std::string>{"1.weight", "1.bias", "3.weight"}));
  EXPECT_EQ(Bilinear(2, 3, 4)->to_string(), "Bilinear(in1_features=2, in2_features=3, out_features=4, bias=True)");
  EXPECT_EQ(Identity()->to_string(), "Identity()");
  EXPECT_EQ(Unflatten(1, Dims{2, 5})->to_string(), "Unflatten(dim=1, unflattened_size=(2, 5))");
  EXPECT_EQ(Unflatten(1, Dims{2})->to_string(), "Unflatten(dim=1, unflattened_size=(2,))");
}

// Checks a tensor drawn from U(-bound, bound): inside, near both ends, std bound / sqrt(3).
void expect_uniform(const Tensor& t, double bound) {
  std::vector<double> v = t.to_vector<double>();
  double lo = v[0], hi = v[0], sum = 0, sq = 0;
  for (double x : v) {
    lo = std::min(lo, x);
    hi = std::max(hi, x);
    sum += x;
    sq += x * x;
  }
  const double n = static_cast<double>(v.size()), mean = sum / n;
  EXPECT_GE(lo, -bound);
  EXPECT_LE(hi, bound);
  EXPECT_LT(lo, -0.98 * bound);
  EXPECT_GT(hi, 0.98 * bound);
  EXPECT_NEAR(mean, 0, 5 * bound / std::sqrt(3 * n));
  EXPECT_NEAR(std::sqrt(sq / n - mean * mean), bound / std::sqrt(3.0), 0.02 * bound);
}

TEST(Layers, DefaultInitMatchesPyTorchFormulas) {
  // torch.nn.Linear: kaiming_uniform_(a=sqrt(5)) = U(+-1/sqrt(in)); bias U(+-1/sqrt(in)).
  Linear fc(400, 500);
  expect_uniform(fc->weight(), 1 / std::sqrt(400.0));
  expect_uniform(fc->bias(), 1 / std::sqrt(400.0));
  // torch.nn.Bilinear: weight and bias U(+-1/sqrt(in1)).
  Bilinear bi(50, 30, 200);
  expect_uniform(bi->weight(), 1 / std::sqrt(50.0));
  expect_uniform(bi->bias(), 1 / std::sqrt(50.0));
  // Seeded: the same generator state gives the same layer.
  manual_seed(5);
  Linear a(20, 10);
  manual_seed(5);
  Linear b(20, 10);
  EXPECT_EQ(a->weight().to_vector<float>(), b->weight().to_vector<float>());
  EXPECT_EQ(a->bias().to_vector<float>(), b->bias().to_vector<float>());
  Generator g1(3), g2(3);
  a->reset_parameters(&g1);
  b->reset_parameters(&g2);
  EXPECT_EQ(a->weight().to_vector<float>(), b->weight().to_vector<float>());
  // Empty layers initialize without dividing by zero.
  Linear empty_in(0, 3);
  EXPECT_EQ(empty_in->bias().to_vector<float>(), (std::vector<float>{0, 0, 0}));
}

TEST(Layers, BilinearGradcheck) {
  Tensor x1 = test::gradcheck_leaf({2, 3, 4}, 0.1), x2 = test::gradcheck_leaf({2, 3, 2}, 0.7);
  Tensor w = test::gradcheck_leaf({5, 4, 2}, 1.3), b = test::gradcheck_leaf({5}, 2.1);
  auto f = [](const TensorList& x) { return bilinear(x[0], x[1], x[2], x[3]); };
  test::expect_gradcheck(f, {x1, x2, w, b});
  test::expect_gradcheck(f, {x1, x2, w, b}, /*second_order=*/true);
  // Non-contiguous inputs.
  Tensor x1t = test::gradcheck_leaf_transposed(3, 4), x2t = test::gradcheck_leaf_transposed(3, 2, 0.9);
  test::expect_gradcheck([](const TensorList& x) { return bilinear(x[0], x[1], x[2]); }, {x1t, x2t, w});
}

TEST(Layers, Errors) {
  Linear fc(4, 3);
  test::expect_error<ShapeError>([&] { fc(zeros({2, 5})); }, {"5", "4"});
  test::expect_error<ValueError>([] { Linear(-1, 3); }, {"Linear", "-1"});
  Bilinear bi(4, 3, 2);
  test::expect_error<ShapeError>([&] { bi(zeros({2, 4}), zeros({2, 4})); }, {"bilinear", "[2, 4]", "in2 = 3"});
  test::expect_error<ShapeError>([&] { bi(zeros({2, 4}), zeros({3, 3})); }, {"bilinear", "leading dims"});
  test::expect_error<ShapeError>([] { bilinear(zeros({2, 4}), zeros({2, 3}), zeros({4, 3})); }, {"bilinear", "[4, 3]"});
  test::expect_error<ValueError>([&] { bi(zeros({2, 4})); }, {"Bilinear", "forward"});
}


TEST(Embedding, MatchesPyTorch) {
  Tensor idx = tensor({1, 2, 4, 4, 3, 9, 0, 1}, {2, 4});
  std::vector<test::LayerCase> cases;
  for (bool train : {true, false}) {
    cases.push_back({"nn.Embedding(10, 3)", Embedding(10, 3), {idx}, train});
    cases.push_back({"nn.Embedding(10, 3, padding_idx=0)", Embedding(10, 3, {.padding_idx = 0}), {idx}, train});
    cases.push_back({"nn.Embedding(10, 3, padding_idx=-6)", Embedding(10, 3, {.padding_idx = -6}), {idx}, train});
    // N(0, 1) rows of 4 values have norms near 2: most looked-up rows are rescaled in place.
    cases.push_back({"nn.Embedding(10, 4, max_norm=1.0)", Embedding(10, 4, {.max_norm = 1.0}), {idx}, train});
    cases.push_back({"nn.Embedding(10, 4, max_norm=1.5, norm_type=1.0)",
                     Embedding(10, 4, {.max_norm = 1.5, .norm_type = 1.0}), {idx}, train});
    cases.push_back({"nn.Embedding(10, 4, max_norm=0.8, norm_type=float('inf'))",
                     Embedding(10, 4, {.max_norm = 0.8, .norm_type = INFINITY}), {idx}, train});
  }
  test::expect_layers_match_torch(cases);
}

TEST(Embedding, InitPrintingAndErrors) {
  Embedding e(1000, 100, {.padding_idx = -1});
  EXPECT_EQ(e->padding_idx(), 999);
  EXPECT_EQ(e->weight()[999].abs().sum().item(), 0.0);
  Tensor rest = e->weight().slice(0, 0, 999);
  EXPECT_NEAR(rest.mean().item(), 0, 0.005);      // N(0, 1): 99900 draws
  EXPECT_NEAR(std(rest).item(), 1, 0.005);
  EXPECT_EQ(Embedding(10, 3)->to_string(), "Embedding(10, 3)");
  EXPECT_EQ(Embedding(10, 3, {.padding_idx = 0, .max_norm = 1.0})->to_string(),
            "Embedding(10, 3, padding_idx=0, max_norm=1.0)");
  EXPECT_EQ(Embedding(10, 3, {.max_norm = 2.0, .norm_type = 1.5})->to_string(),
            "Embedding(10, 3, max_norm=2.0, norm_type=1.5)");
  test::expect_error<ValueError>([] { Embedding(5, 2, {.padding_idx = 5}); }, {"Embedding", "padding_idx 5", "5"});
  test::expect_error<ValueError>([] { Embedding(5, 2, {.padding_idx = -6}); }, {"Embedding", "-6"});
  Embedding renormed(5, 2, {.max_norm = 1.0});
  Tensor before = renormed->weight().clone();
  test::expect_error<IndexError>([&] { renormed(tensor({0, 7})); }, {"7", "5 rows"});
  EXPECT_TRUE(test::all_close(renormed->weight(), before, 0, 0));  // nothing written before the check
  test::expect_error<IndexError>([] { Embedding(5, 2)(tensor({5})); }, {"5"});
}


TEST(Functional, NamesComposeIntoTheSameModelAsTheLayers) {
  namespace F = cajal::nn::functional;
  Sequential model(Linear(6, 5), ReLU(), Dropout(0.5), Linear(5, 4), LogSoftmax(1));
  model->eval();
  auto fc1 = model->at<LinearImpl>(0), fc2 = model->at<LinearImpl>(3);
  Tensor x = normal({3, 6});
  Tensor h = F::dropout(F::relu(F::linear(x, fc1->weight(), fc1->bias())), 0.5, /*training=*/false);
  Tensor y = F::log_softmax(F::linear(h, fc2->weight(), fc2->bias()), 1);
  EXPECT_TRUE(test::all_close(y, model(x), 0, 0));
  // The log-probabilities of each row sum to one.
  EXPECT_TRUE(test::all_close(y.exp().sum({1}), ones({3}), 1e-6));
}

}  // namespace
}  // namespace cajal
