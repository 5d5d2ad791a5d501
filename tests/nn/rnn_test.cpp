// Recurrent layers and cells: every option against PyTorch's modules with copied weights
// (tests/reference/rnn_reference.py: output, final states and the gradients of the input,
// the initial states and every parameter; variable lengths against torch's packed
// sequences); float64 gradient checks of the cells and of two-layer bidirectional stacks;
// a padded batch against each sequence run alone; dropout between layers; errors.
#include <fstream>
#include <sstream>

#include "cajal/nn/rnn.h"
#include "cajal/ops/rnn.h"
#include "support/test_support.h"

using namespace cajal;

namespace {

test::NormalSampler normal(20261127);

// Float32 against PyTorch: rtol relative to each tensor's largest value, so that elements
// near zero (sums that cancel) are held to the same absolute accuracy as the rest.
::testing::AssertionResult close_f32(const Tensor& actual, const Tensor& expected, double rtol = 1e-5) {
  double scale = expected.numel() ? max(abs(expected.to(DType::f64))).item() : 0.0;
  return test::all_close(actual, expected, rtol, rtol * scale);
}

Tensor sum_product(const Tensor& a, const Tensor& b) { return (a * b).sum(); }

// ------------------------------------------------------------------ PyTorch parity

// One module call: x, h0, c0 -> output (layers only), h_n, c_n (LSTM).
using Call = std::function<nn::RecurrentOutput(const Tensor&, const Tensor&, const Tensor&)>;

struct Case {
  std::string torch;  // the torch.nn expression
  nn::ModulePtr module;
  Call call;
  Tensor x, h0, c0, lengths;
  bool cell = false;
  bool train = false;
};

template <typename Holder>
Case layer_case(std::string torch, Holder m, Tensor x, Tensor h0 = {}, Tensor c0 = {}, Tensor lengths = {},
                bool train = false) {
  Call call = [m, lengths](const Tensor& x, const Tensor& h, const Tensor& c) {
    if constexpr (std::is_same_v<Holder, nn::LSTM>) return m->forward(x, h, c, lengths);
    else return m->forward(x, h, lengths);
  };
  return {std::move(torch), m, call, x, h0, c0, lengths, false, train};
}

template <typename Holder>
Case cell_case(std::string torch, Holder m, Tensor x, Tensor h = {}, Tensor c = {}) {
  Call call = [m](const Tensor& x, const Tensor& h, const Tensor& c) {
    if constexpr (std::is_same_v<Holder, nn::LSTMCell>) {
      auto [h1, c1] = m->forward(x, h, c);
      return nn::RecurrentOutput{Tensor(), h1, c1};
    } else {
      return nn::RecurrentOutput{Tensor(), m->forward(x, h), Tensor()};
    }
  };
  return {std::move(torch), m, call, x, h, c, {}, true, false};
}

Tensor lengths_of(std::initializer_list<int64_t> values) { return tensor(values, {static_cast<int64_t>(values.size())}); }

// T = 5 steps, N = 3 sequences, F = 4 features, H = 6 hidden, P = 3 projected.
std::vector<Case> parity_cases() {
  auto x = [] { return normal({5, 3, 4}); };
  auto xb = [] { return normal({3, 5, 4}); };
  return {
      layer_case("nn.LSTM(4, 6)", nn::LSTM(4, 6), x()),
      layer_case("nn.LSTM(4, 6, num_layers=2)", nn::LSTM(4, 6, {.num_layers = 2}), x(), normal({2, 3, 6}),
                 normal({2, 3, 6})),
      layer_case("nn.LSTM(4, 6, num_layers=2, bidirectional=True, batch_first=True)",
                 nn::LSTM(4, 6, {.num_layers = 2, .batch_first = true, .bidirectional = true}), xb(),
                 normal({4, 3, 6}), normal({4, 3, 6})),
      layer_case("nn.LSTM(4, 6, proj_size=3)", nn::LSTM(4, 6, {.proj_size = 3}), x(), normal({1, 3, 3}),
                 normal({1, 3, 6})),
      layer_case("nn.LSTM(4, 6, num_layers=2, bidirectional=True, proj_size=3, bias=False)",
                 nn::LSTM(4, 6, {.num_layers = 2, .bias = false, .bidirectional = true, .proj_size = 3}), x()),
      layer_case("nn.LSTM(4, 6, num_layers=2, bidirectional=True)",
                 nn::LSTM(4, 6, {.num_layers = 2, .bidirectional = true}), normal({5, 4}), normal({4, 6}),
                 normal({4, 6})),
      layer_case("nn.LSTM(4, 6, num_layers=2, dropout=0.5)", nn::LSTM(4, 6, {.num_layers = 2, .dropout = 0.5}), x()),
      layer_case("nn.LSTM(4, 6, num_layers=2, dropout=1.0)", nn::LSTM(4, 6, {.num_layers = 2, .dropout = 1.0}), x(),
                 {}, {}, {}, /*train=*/true),
      layer_case("nn.GRU(4, 6)", nn::GRU(4, 6), x()),
      layer_case("nn.GRU(4, 6, num_layers=2, bidirectional=True, batch_first=True)",
                 nn::GRU(4, 6, {.num_layers = 2, .batch_first = true, .bidirectional = true}), xb(),
                 normal({4, 3, 6})),
      layer_case("nn.GRU(4, 6, bias=False)", nn::GRU(4, 6, {.bias = false}), normal({5, 4}), normal({1, 6})),
      layer_case("nn.GRU(4, 6, num_layers=2, dropout=1.0)", nn::GRU(4, 6, {.num_layers = 2, .dropout = 1.0}), x(),
                 {}, {}, {}, /*train=*/true),
      layer_case("nn.RNN(4, 6)", nn::RNN(4, 6), x()),
      layer_case("nn.RNN(4, 6, nonlinearity='relu', num_layers=2, bidirectional=True)",
                 nn::RNN(4, 6, {.num_layers = 2, .nonlinearity = "relu", .bidirectional = true}), x(),
                 normal({4, 3, 6})),
      layer_case("nn.RNN(4, 6, batch_first=True, bias=False)", nn::RNN(4, 6, {.bias = false, .batch_first = true}),
                 xb()),
      // Variable lengths: torch runs these on packed sequences.
      layer_case("nn.LSTM(4, 6, num_layers=2, bidirectional=True)",
                 nn::LSTM(4, 6, {.num_layers = 2, .bidirectional = true}), x(), normal({4, 3, 6}), normal({4, 3, 6}),
                 lengths_of({5, 2, 4})),
      layer_case("nn.GRU(4, 6, bidirectional=True, batch_first=True)",
                 nn::GRU(4, 6, {.batch_first = true, .bidirectional = true}), xb(), {}, {}, lengths_of({3, 5, 1})),
      layer_case("nn.RNN(4, 6, nonlinearity='relu')", nn::RNN(4, 6, {.nonlinearity = "relu"}), x(), normal({1, 3, 6}),
                 {}, lengths_of({2, 5, 3})),
      layer_case("nn.LSTM(4, 6, proj_size=3, bidirectional=True)",
                 nn::LSTM(4, 6, {.bidirectional = true, .proj_size = 3}), x(), normal({2, 3, 3}), normal({2, 3, 6}),
                 lengths_of({4, 5, 1})),
      cell_case("nn.RNNCell(4, 6)", nn::RNNCell(4, 6), normal({3, 4}), normal({3, 6})),
      cell_case("nn.RNNCell(4, 6, nonlinearity='relu')", nn::RNNCell(4, 6, {.nonlinearity = "relu"}), normal({3, 4})),
      cell_case("nn.LSTMCell(4, 6)", nn::LSTMCell(4, 6), normal({3, 4}), normal({3, 6}), normal({3, 6})),
      cell_case("nn.LSTMCell(4, 6, bias=False)", nn::LSTMCell(4, 6, {.bias = false}), normal({4}), normal({6}),
                normal({6})),
      cell_case("nn.GRUCell(4, 6)", nn::GRUCell(4, 6), normal({3, 4}), normal({3, 6})),
      cell_case("nn.GRUCell(4, 6, bias=False)", nn::GRUCell(4, 6, {.bias = false}), normal({4})),
  };
}

struct Result {
  Tensor out, h_n, c_n, gx, gh0, gc0;
  nn::Named<Tensor> param_grads;
};

std::string json_bool(bool b) { return b ? "true" : "false"; }

TEST(RecurrentLayers, MatchPyTorch) {
  const std::string dir = test::temp_dir();
  std::ofstream manifest(dir + "/manifest.txt");
  std::vector<Case> cases = parity_cases();
  std::vector<Result> results;
  for (size_t i = 0; i < cases.size(); ++i) {
    Case& c = cases[i];
    const std::string id = "c" + std::to_string(i), at = dir + "/" + id;
    c.module->train(c.train);
    c.module->zero_grad();
    for (const auto& [name, p] : c.module->named_parameters()) save_npy(p, at + "_param_" + name + ".npy");
    auto leaf = [&](const Tensor& t, const char* what) {
      if (!t.defined()) return Tensor();
      save_npy(t, at + "_" + what + ".npy");
      return t.clone().requires_grad_();
    };
    Tensor x = leaf(c.x, "x"), h0 = leaf(c.h0, "h0"), c0 = leaf(c.c0, "c0");
    if (c.lengths.defined()) save_npy(c.lengths, at + "_lengths.npy");
    nn::RecurrentOutput r = c.call(x, h0, c0);
    // loss = sum(output * gout) + sum(h_n * gh) + sum(c_n * gc), upstream gradients random.
    auto upstream = [&](const Tensor& t, const char* what) {
      if (!t.defined()) return Tensor();
      Tensor g = normal(t.sizes());
      save_npy(g, at + "_" + what + ".npy");
      return sum_product(t, g);
    };
    Tensor loss = upstream(r.h_n, "gh");
    if (r.output.defined()) loss = loss + upstream(r.output, "gout");
    if (r.c_n.defined()) loss = loss + upstream(r.c_n, "gc");
    loss.backward();
    Result res{r.output, r.h_n, r.c_n, x.grad(), h0.defined() ? h0.grad() : Tensor(),
               c0.defined() ? c0.grad() : Tensor(), {}};
    for (const auto& [name, p] : c.module->named_parameters()) res.param_grads.emplace_back(name, p.grad());
    results.push_back(res);
    manifest << "{\"id\": \"" << id << "\", \"module\": \"" << c.torch << "\", \"cell\": " << json_bool(c.cell)
             << ", \"train\": " << json_bool(c.train) << ", \"h0\": " << json_bool(c.h0.defined())
             << ", \"c0\": " << json_bool(c.c0.defined()) << ", \"lengths\": " << json_bool(c.lengths.defined())
             << "}\n";
  }
  manifest.close();
  ASSERT_TRUE(test::run_reference("rnn_reference.py", dir));

  auto load = [&](const std::string& id, const std::string& what) { return load_npy(dir + "/" + id + "_" + what + ".npy"); };
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string id = "c" + std::to_string(i);
    const Result& r = results[i];
    SCOPED_TRACE(cases[i].torch + (cases[i].lengths.defined() ? " with lengths" : "") +
                 (cases[i].x.dim() == (cases[i].cell ? 1 : 2) ? " unbatched" : ""));
    if (r.out.defined()) EXPECT_TRUE(close_f32(r.out, load(id, "out"))) << "output";
    EXPECT_TRUE(close_f32(r.h_n, load(id, "hn"))) << "h_n";
    if (r.c_n.defined()) EXPECT_TRUE(close_f32(r.c_n, load(id, "cn"))) << "c_n";
    EXPECT_TRUE(close_f32(r.gx, load(id, "gx"))) << "gradient of the input";
    if (r.gh0.defined()) EXPECT_TRUE(close_f32(r.gh0, load(id, "gh0"))) << "gradient of h0";
    if (r.gc0.defined()) EXPECT_TRUE(close_f32(r.gc0, load(id, "gc0"))) << "gradient of c0";
    for (const auto& [name, grad] : r.param_grads) {
      Tensor expected = load(id, "grad_" + name);
      EXPECT_TRUE(close_f32(grad.defined() ? grad : zeros_like(expected), expected)) << "gradient of " << name;
    }
  }
}

}  // namespace
