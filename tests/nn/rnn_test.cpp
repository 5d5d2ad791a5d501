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

// 1, 2, ..., steps, 1, 2, ... for n sequences.
Tensor cycling_lengths(int64_t n, int64_t steps) {
  std::vector<int64_t> values;
  for (int64_t i = 0; i < n; ++i) values.push_back(i % steps + 1);
  return from_vector(values, {n});
}

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
      // Batches large enough that the time loop is shared out between threads by rows.
      layer_case("nn.LSTM(8, 32, bidirectional=True, proj_size=16)",
                 nn::LSTM(8, 32, {.bidirectional = true, .proj_size = 16}), normal({4, 40, 8}), normal({2, 40, 16}),
                 normal({2, 40, 32}), cycling_lengths(40, 4)),
      layer_case("nn.GRU(8, 32, num_layers=2)", nn::GRU(8, 32, {.num_layers = 2}), normal({4, 40, 8})),
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
    if (r.out.defined()) {
      EXPECT_TRUE(close_f32(r.out, load(id, "out"))) << "output";
    }
    EXPECT_TRUE(close_f32(r.h_n, load(id, "hn"))) << "h_n";
    if (r.c_n.defined()) {
      EXPECT_TRUE(close_f32(r.c_n, load(id, "cn"))) << "c_n";
    }
    EXPECT_TRUE(close_f32(r.gx, load(id, "gx"))) << "gradient of the input";
    if (r.gh0.defined()) {
      EXPECT_TRUE(close_f32(r.gh0, load(id, "gh0"))) << "gradient of h0";
    }
    if (r.gc0.defined()) {
      EXPECT_TRUE(close_f32(r.gc0, load(id, "gc0"))) << "gradient of c0";
    }
    for (const auto& [name, grad] : r.param_grads) {
      Tensor expected = load(id, "grad_" + name);
      EXPECT_TRUE(close_f32(grad.defined() ? grad : zeros_like(expected), expected)) << "gradient of " << name;
    }
  }
}

// ------------------------------------------------------------------ float64 gradient checks

TEST(RecurrentCells, GradcheckEveryCell) {
  const int64_t N = 2, F = 3, H = 4;
  auto leaf = [](const Dims& shape, double phase) { return test::gradcheck_leaf(shape, phase); };
  using CellFn = Tensor (*)(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&);
  for (CellFn fn : {&rnn_tanh_cell, &rnn_relu_cell}) {
    test::expect_gradcheck([fn](const TensorList& in) { return fn(in[0], in[1], in[2], in[3], in[4], in[5]); },
                           {leaf({N, F}, 0.1), leaf({N, H}, 0.2), leaf({H, F}, 0.3), leaf({H, H}, 0.4), leaf({H}, 0.5),
                            leaf({H}, 0.6)});
  }
  test::expect_gradcheck([](const TensorList& in) { return gru_cell(in[0], in[1], in[2], in[3], in[4], in[5]); },
                         {leaf({N, F}, 0.1), leaf({N, H}, 0.2), leaf({3 * H, F}, 0.3), leaf({3 * H, H}, 0.4),
                          leaf({3 * H}, 0.5), leaf({3 * H}, 0.6)});
  test::expect_gradcheck(
      [](const TensorList& in) {
        auto [h, c] = lstm_cell(in[0], in[1], in[2], in[3], in[4], in[5], in[6]);
        return cat({h.flatten(), c.flatten()});
      },
      {leaf({N, F}, 0.1), leaf({N, H}, 0.2), leaf({N, H}, 0.7), leaf({4 * H, F}, 0.3), leaf({4 * H, H}, 0.4),
       leaf({4 * H}, 0.5), leaf({4 * H}, 0.6)});
  // Unbatched and without biases.
  test::expect_gradcheck([](const TensorList& in) { return gru_cell(in[0], in[1], in[2], in[3]); },
                         {leaf({F}, 0.1), leaf({H}, 0.2), leaf({3 * H, F}, 0.3), leaf({3 * H, H}, 0.4)});
}

// Two layers and two directions of recurrent_layer, stacked as the modules stack them. `in`:
// x [T, N, F], h0 [4, N, P], c0 [4, N, H] (LSTM), then each layer-direction's w_ih, w_hh,
// b_ih, b_hh (and w_hr with a projection). Returns the output and every final state, flat.
Tensor two_layer_bidirectional(RecurrentCell cell, bool projected, const Tensor& lengths, const TensorList& in) {
  const bool lstm = cell == RecurrentCell::Lstm;
  const size_t first_weight = lstm ? 3 : 2, per = projected ? 5 : 4;
  Tensor x = in[0];
  TensorList finals;
  for (int64_t layer = 0; layer < 2; ++layer) {
    TensorList outputs;
    for (int64_t d = 0; d < 2; ++d) {
      const int64_t index = layer * 2 + d;
      const size_t w = first_weight + per * static_cast<size_t>(index);
      RecurrentWeights weights{in[w], in[w + 1], in[w + 2], in[w + 3], projected ? in[w + 4] : Tensor()};
      RecurrentResult r = recurrent_layer(cell, x, in[1][index], lstm ? in[2][index] : Tensor(), weights, lengths, d == 1);
      outputs.push_back(r.output);
      finals.push_back(r.h_n.flatten());
      if (lstm) finals.push_back(r.c_n.flatten());
    }
    x = cat(outputs, 2);
  }
  finals.insert(finals.begin(), x.flatten());
  return cat(finals);
}

// Gradient check of two_layer_bidirectional: T = 3, N = 2, F = 3, H = 3 (P = 2 projected).
void expect_stack_gradcheck(RecurrentCell cell, bool projected, const Tensor& lengths) {
  const int64_t T = 3, N = 2, F = 3, H = 3, P = projected ? 2 : H, G = kernels::gate_count(cell);
  double phase = 0.1;
  auto leaf = [&](const Dims& shape) { return test::gradcheck_leaf(shape, phase += 0.37); };
  TensorList in = {leaf({T, N, F}), leaf({4, N, P})};
  if (cell == RecurrentCell::Lstm) in.push_back(leaf({4, N, H}));
  for (int64_t layer = 0; layer < 2; ++layer)
    for (int64_t d = 0; d < 2; ++d) {
      for (const Dims& shape : {Dims{G * H, layer == 0 ? F : 2 * P}, Dims{G * H, P}, Dims{G * H}, Dims{G * H}})
        in.push_back(leaf(shape));
      if (projected) in.push_back(leaf({P, H}));
    }
  test::expect_gradcheck(
      [=](const TensorList& inputs) { return two_layer_bidirectional(cell, projected, lengths, inputs); }, in);
}

TEST(RecurrentLayers, GradcheckTwoLayerBidirectionalStacks) {
  expect_stack_gradcheck(RecurrentCell::Lstm, false, {});
  expect_stack_gradcheck(RecurrentCell::Lstm, true, {});
  expect_stack_gradcheck(RecurrentCell::Gru, false, {});
  expect_stack_gradcheck(RecurrentCell::RnnTanh, false, {});
  // Variable lengths: the padded step of the second sequence must not matter either.
  expect_stack_gradcheck(RecurrentCell::Lstm, true, lengths_of({3, 1}));
  expect_stack_gradcheck(RecurrentCell::Gru, false, lengths_of({2, 3}));
}

// ------------------------------------------------------------------ variable lengths

// Runs `m` on a padded batch of three sequences and on each sequence alone, with the same
// upstream gradients; outputs, final states and every gradient must agree.
template <typename Holder>
void expect_padded_equals_alone(Holder m, int64_t state_layers, int64_t h_size, int64_t c_size, bool batch_first) {
  const bool lstm = c_size > 0;
  const int64_t T = 6, N = 3, F = m->input_size();
  const std::vector<int64_t> lengths = {6, 2, 4};
  const int64_t time_dim = batch_first ? 1 : 0, batch_dim = batch_first ? 0 : 1;
  Tensor x = normal(batch_first ? Dims{N, T, F} : Dims{T, N, F});
  Tensor h0 = normal({state_layers, N, h_size}), c0 = lstm ? normal({state_layers, N, c_size}) : Tensor();
  auto run = [&](const Tensor& xs, const Tensor& h, const Tensor& c, const Tensor& lens) {
    if constexpr (std::is_same_v<Holder, nn::LSTM>) return m->forward(xs, h, c, lens);
    else return m->forward(xs, h, lens);
  };

  // The padded batch.
  Tensor xp = x.clone().requires_grad_(), h0p = h0.clone().requires_grad_();
  Tensor c0p = lstm ? c0.clone().requires_grad_() : Tensor();
  m->zero_grad();
  nn::RecurrentOutput padded = run(xp, h0p, c0p, lengths_of({6, 2, 4}));
  Tensor gout = normal(padded.output.sizes()), gh = normal(padded.h_n.sizes());
  Tensor gc = lstm ? normal(padded.c_n.sizes()) : Tensor();
  Tensor loss = sum_product(padded.output, gout) + sum_product(padded.h_n, gh);
  if (lstm) loss = loss + sum_product(padded.c_n, gc);
  loss.backward();
  nn::Named<Tensor> padded_grads;
  for (const auto& [name, p] : m->named_parameters()) padded_grads.emplace_back(name, p.grad().clone());

  // Each sequence alone; the parameters' gradients accumulate over the three.
  m->zero_grad();
  for (int64_t n = 0; n < N; ++n) {
    SCOPED_TRACE("sequence " + std::to_string(n));
    const int64_t len = lengths[n];
    auto own = [&](const Tensor& t) { return t.narrow(batch_dim, n, 1).narrow(time_dim, 0, len); };
    Tensor xn = own(x).clone().requires_grad_();
    Tensor h0n = h0.narrow(1, n, 1).clone().requires_grad_();
    Tensor c0n = lstm ? c0.narrow(1, n, 1).clone().requires_grad_() : Tensor();
    nn::RecurrentOutput alone = run(xn, h0n, c0n, {});
    Tensor loss_n = sum_product(alone.output, own(gout)) + sum_product(alone.h_n, gh.narrow(1, n, 1));
    if (lstm) loss_n = loss_n + sum_product(alone.c_n, gc.narrow(1, n, 1));
    loss_n.backward();
    EXPECT_TRUE(close_f32(own(padded.output), alone.output)) << "output";
    EXPECT_TRUE(close_f32(padded.h_n.narrow(1, n, 1), alone.h_n)) << "h_n";
    if (lstm) {
      EXPECT_TRUE(close_f32(padded.c_n.narrow(1, n, 1), alone.c_n)) << "c_n";
    }
    EXPECT_TRUE(close_f32(own(xp.grad()), xn.grad())) << "gradient of the input";
    EXPECT_TRUE(close_f32(h0p.grad().narrow(1, n, 1), h0n.grad())) << "gradient of h0";
    if (lstm) {
      EXPECT_TRUE(close_f32(c0p.grad().narrow(1, n, 1), c0n.grad())) << "gradient of c0";
    }
    if (len < T) {
      Tensor pad_out = padded.output.narrow(batch_dim, n, 1).narrow(time_dim, len, T - len);
      Tensor pad_grad = xp.grad().narrow(batch_dim, n, 1).narrow(time_dim, len, T - len);
      EXPECT_EQ(max(abs(pad_out)).item(), 0.0) << "output at padded steps";
      EXPECT_EQ(max(abs(pad_grad)).item(), 0.0) << "gradient of padded inputs";
    }
  }
  for (const auto& [name, grad] : padded_grads) {
    Tensor summed;
    for (const auto& [other, p] : m->named_parameters())
      if (other == name) summed = p.grad();
    EXPECT_TRUE(close_f32(grad, summed)) << "gradient of " << name;
  }
}

TEST(RecurrentLayers, PaddedBatchEqualsEachSequenceAlone) {
  {
    SCOPED_TRACE("LSTM, 2 layers, bidirectional, projected");
    expect_padded_equals_alone(nn::LSTM(4, 5, {.num_layers = 2, .bidirectional = true, .proj_size = 3}), 4, 3, 5,
                               false);
  }
  {
    SCOPED_TRACE("GRU, 2 layers, bidirectional, batch_first");
    expect_padded_equals_alone(nn::GRU(4, 5, {.num_layers = 2, .batch_first = true, .bidirectional = true}), 4, 5, 0,
                               true);
  }
  {
    SCOPED_TRACE("RNN relu, bidirectional");
    expect_padded_equals_alone(nn::RNN(4, 5, {.nonlinearity = "relu", .bidirectional = true}), 2, 5, 0, false);
  }
}

// ------------------------------------------------------------------ dropout between layers

// A two-layer ReLU RNN whose second layer passes its input through (w_ih identity, w_hh
// and biases zero) and whose first layer's outputs are positive: in training, each output
// is the first layer's, dropped (0) or scaled by 1 / (1 - p).
TEST(RecurrentLayers, DropoutBetweenLayersDropsAndScales) {
  const int64_t H = 64, F = 8;
  const double p = 0.5;
  nn::RNN m(F, H, {.num_layers = 2, .nonlinearity = "relu", .dropout = p});
  {
    NoGradGuard no_grad;
    for (auto [name, t] : m->named_parameters()) {
      if (name == "weight_ih_l0") t.copy_(abs(normal(t.sizes())) * 0.1);
      else if (name == "weight_ih_l1") t.copy_(eye(H));
      else if (name == "bias_ih_l0") t.fill_(0.1);
      else t.zero_();
    }
  }
  Tensor x = abs(normal({10, 8, F}));
  m->eval();
  Tensor kept = m->forward(x);
  m->train();
  Tensor dropped = m->forward(x), again = m->forward(x);
  std::vector<float> e = kept.to_vector<float>(), d = dropped.to_vector<float>();
  int64_t zeros = 0;
  for (size_t i = 0; i < e.size(); ++i) {
    ASSERT_GT(e[i], 0.0f);
    if (d[i] == 0) ++zeros;
    else ASSERT_NEAR(d[i], e[i] / (1 - p), 1e-5 * e[i]) << "element " << i << " is neither dropped nor scaled";
  }
  double fraction = static_cast<double>(zeros) / static_cast<double>(e.size());
  EXPECT_NEAR(fraction, p, 0.05) << "fraction dropped of " << e.size();
  EXPECT_FALSE(test::all_close(dropped, again)) << "each call draws a new mask";
}

// ------------------------------------------------------------------ second derivatives

TEST(RecurrentLayers, CreateGraphGivesFirstOrderAndRefusesSecond) {
  nn::LSTM m(3, 4);
  Tensor x = normal({5, 2, 3}).requires_grad_();
  Tensor loss = m->forward(x).pow(2).sum();
  TensorList g = autograd::grad({loss}, {x}, {}, true, /*create_graph=*/true);
  Tensor expected = autograd::grad({loss}, {x}, {}, true)[0];
  EXPECT_TRUE(test::all_close(g[0], expected));
  test::expect_error<AutogradError>([&] { g[0].sum().backward(); }, {"LSTM", "second derivatives"});
}

// The loop writes the states into the output's storage and backward reads them there, so an
// in-place change of the output must stop backward.
TEST(RecurrentLayers, OutputChangedInPlaceStopsBackward) {
  nn::GRU m(3, 4);
  Tensor x = normal({5, 2, 3}).requires_grad_();
  Tensor out = m->forward(x);
  {
    NoGradGuard no_grad;
    out.mul_(2.0);
  }
  test::expect_error<AutogradError>([&] { out.sum().backward(); }, {"gru", "modified by an in-place operation"});
}

// ------------------------------------------------------------------ errors and printing

TEST(RecurrentLayers, ErrorsNameTheProblem) {
  nn::LSTM lstm(4, 6, {.num_layers = 2});
  nn::GRU gru(4, 6, {.num_layers = 2, .bidirectional = true});
  test::expect_error<ShapeError>([&] { lstm->forward(normal({5, 3, 7})); }, {"LSTM", "7 features", "input_size 4"});
  test::expect_error<ShapeError>([&] { gru->forward(normal({5, 3, 4}), normal({2, 3, 6})); },
                                 {"GRU", "h0 has shape [2, 3, 6]", "expected [4, 3, 6]"});
  test::expect_error<ShapeError>([&] { lstm->forward(normal({5, 3, 4}), normal({2, 3, 6}), normal({2, 3, 5})); },
                                 {"LSTM", "c0 has shape [2, 3, 5]", "expected [2, 3, 6]"});
  test::expect_error<ValueError>([&] { lstm->forward(normal({5, 3, 4}), normal({2, 3, 6})); }, {"LSTM", "h0 and c0"});
  test::expect_error<IndexError>([&] { gru->forward(normal({5, 3, 4}), Tensor(), lengths_of({5, 0, 2})); },
                                 {"GRU", "lengths[1] = 0", "1 to 5"});
  test::expect_error<IndexError>([&] { gru->forward(normal({5, 3, 4}), Tensor(), lengths_of({6, 1, 2})); },
                                 {"GRU", "lengths[0] = 6", "1 to 5"});
  test::expect_error<ShapeError>([&] { gru->forward(normal({5, 3, 4}), Tensor(), lengths_of({5, 1})); },
                                 {"GRU", "lengths", "[3]"});
  test::expect_error<ShapeError>([&] { gru->forward(normal({2, 5, 3, 4})); }, {"GRU", "[T, N, F]", "[2, 5, 3, 4]"});
  test::expect_error<DTypeError>([&] { gru->forward(normal({5, 3, 4}, {.dtype = DType::f64})); },
                                 {"GRU", "float32", "float64"});
  test::expect_error<ValueError>([] { nn::RNN(4, 6, {.nonlinearity = "sigmoid"}); }, {"RNN", "sigmoid"});
  test::expect_error<ValueError>([] { nn::LSTM(4, 6, {.proj_size = 6}); }, {"LSTM", "proj_size", "6"});
  test::expect_error<ValueError>([] { nn::GRU(4, 6, {.dropout = 1.5}); }, {"GRU", "dropout", "1.5"});
  nn::LSTMCell cell(4, 6);
  test::expect_error<ShapeError>([&] { cell->forward(normal({3, 5})); }, {"lstm_cell", "5 features", "input_size 4"});
  test::expect_error<ShapeError>([&] { cell->forward(normal({3, 4}), normal({2, 6}), normal({3, 6})); },
                                 {"lstm_cell", "h0 has shape [2, 6]", "expected [3, 6]"});
}

TEST(RecurrentLayers, PrintLikePyTorch) {
  EXPECT_EQ(nn::LSTM(10, 20, {.num_layers = 2, .batch_first = true, .dropout = 0.25, .bidirectional = true,
                              .proj_size = 5})->to_string(),
            "LSTM(10, 20, proj_size=5, num_layers=2, batch_first=True, dropout=0.25, bidirectional=True)");
  EXPECT_EQ(nn::GRU(3, 4, {.bias = false})->to_string(), "GRU(3, 4, bias=False)");
  EXPECT_EQ(nn::RNNCell(3, 4, {.nonlinearity = "relu"})->to_string(), "RNNCell(3, 4, nonlinearity=relu)");
  EXPECT_EQ(nn::LSTMCell(3, 4)->num_parameters(), 4 * 4 * 3 + 4 * 4 * 4 + 2 * 16);
}

}  // namespace
