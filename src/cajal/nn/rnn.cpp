// RNN, LSTM, GRU and their cells: parameters as PyTorch's, the stack of layers and
// directions over the fused recurrent op (ops/rnn.h), dropout between layers.
#include "cajal/nn/rnn.h"

#include <cmath>

#include "cajal/nn/init.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/dropout.h"
#include "cajal/ops/shape.h"

namespace cajal::nn {

namespace {

bool relu_nonlinearity(const char* layer, const std::string& nonlinearity) {
  if (nonlinearity != "tanh" && nonlinearity != "relu")
    fail<ValueError>(layer, ": nonlinearity must be \"tanh\" or \"relu\", got \"", nonlinearity, "\"");
  return nonlinearity == "relu";
}

void check_sizes(const char* layer, int64_t input_size, int64_t hidden_size) {
  if (input_size <= 0 || hidden_size <= 0)
    fail<ValueError>(layer, ": input_size and hidden_size must be positive, got ", input_size, " and ", hidden_size);
}

// PyTorch's init of every recurrent parameter: U(-1/sqrt(H), 1/sqrt(H)).
void init_uniform(const TensorList& params, int64_t hidden_size, Generator* gen) {
  const double bound = 1 / std::sqrt(static_cast<double>(hidden_size));
  for (const Tensor& p : params) init::uniform_(p, -bound, bound, gen);
}

}  // namespace

// --- RecurrentLayer ---

RecurrentLayer::RecurrentLayer(const char* name, RecurrentCell cell, int64_t input_size, int64_t hidden_size,
                               Config config)
    : name_(name),
      cell_(cell),
      input_size_(input_size),
      hidden_size_(hidden_size),
      num_layers_(config.num_layers),
      bias_(config.bias),
      batch_first_(config.batch_first),
      dropout_(config.dropout),
      bidirectional_(config.bidirectional),
      proj_size_(config.proj_size) {
  check_sizes(name, input_size, hidden_size);
  if (num_layers_ < 1) fail<ValueError>(name, ": num_layers must be at least 1, got ", num_layers_);
  if (!(dropout_ >= 0 && dropout_ <= 1))
    fail<ValueError>(name, ": dropout must be a probability in [0, 1], got ", dropout_);
  if (proj_size_ < 0 || (proj_size_ > 0 && proj_size_ >= hidden_size))
    fail<ValueError>(name, ": proj_size must be 0 (none) or in [1, hidden_size), got ", proj_size_,
                     " with hidden_size ", hidden_size);
  const int64_t gates = kernels::gate_count(cell), D = num_directions();
  const int64_t P = proj_size_ > 0 ? proj_size_ : hidden_size;
  // The slots registered below live in weights_: reserved up front so they never move.
  weights_.reserve(static_cast<size_t>(num_layers_ * D));
  for (int64_t layer = 0; layer < num_layers_; ++layer) {
    const int64_t in = layer == 0 ? input_size : P * D;
    for (int64_t d = 0; d < D; ++d) {
      const std::string suffix = "_l" + std::to_string(layer) + (d == 1 ? "_reverse" : "");
      RecurrentWeights& w = weights_.emplace_back();
      register_parameter("weight_ih" + suffix, w.w_ih, empty({gates * hidden_size, in}));
      register_parameter("weight_hh" + suffix, w.w_hh, empty({gates * hidden_size, P}));
      if (bias_) {
        register_parameter("bias_ih" + suffix, w.b_ih, empty({gates * hidden_size}));
        register_parameter("bias_hh" + suffix, w.b_hh, empty({gates * hidden_size}));
      }
      if (proj_size_ > 0) register_parameter("weight_hr" + suffix, w.w_hr, empty({P, hidden_size}));
    }
  }
  reset_parameters();
}

void RecurrentLayer::reset_parameters(Generator* gen) { init_uniform(parameters(false), hidden_size_, gen); }

const RecurrentWeights& RecurrentLayer::weights(int64_t layer, int64_t direction) const {
  if (layer < 0 || layer >= num_layers_ || direction < 0 || direction >= num_directions())
    fail<IndexError>(name_, ": no layer ", layer, " direction ", direction, " (", num_layers_, " layers, ",
                     num_directions(), " directions)");
  return weights_[layer * num_directions() + direction];
}

std::string RecurrentLayer::extra_repr() const {
  std::string s = std::to_string(input_size_) + ", " + std::to_string(hidden_size_);
  if (proj_size_ != 0) s += ", proj_size=" + std::to_string(proj_size_);
  if (num_layers_ != 1) s += ", num_layers=" + std::to_string(num_layers_);
  if (!bias_) s += ", bias=False";
  if (batch_first_) s += ", batch_first=True";
  if (dropout_ != 0) s += ", dropout=" + repr_float(dropout_);
  if (bidirectional_) s += ", bidirectional=True";
  return s;
}

Tensor RecurrentLayer::forward(const Tensor& input) { return run(input, {}, {}, {}).output; }

Tensor RecurrentLayer::initial_state(const Tensor& given, const char* what, int64_t batch, int64_t size,
                                     bool unbatched, DType dtype) const {
  const int64_t LD = num_layers_ * num_directions();
  if (!given.defined()) return zeros({LD, batch, size}, {.dtype = dtype});
  const Dims expected = unbatched ? Dims{LD, size} : Dims{LD, batch, size};
  if (given.sizes() != expected)
    fail<ShapeError>(name_, ": ", what, " has shape ", given.sizes(), ", expected ", expected,
                     unbatched ? " (num_layers * num_directions, " : " (num_layers * num_directions, batch, ",
                     what[0] == 'c' ? "hidden_size)" : (proj_size_ > 0 ? "proj_size)" : "hidden_size)"));
  return unbatched ? given.unsqueeze(1) : given;
}

RecurrentOutput RecurrentLayer::run(const Tensor& input, const Tensor& h0, const Tensor& c0,
                                    const Tensor& lengths) {
  if (input.dim() != 2 && input.dim() != 3)
    fail<ShapeError>(name_, ": expected an input of shape ", batch_first_ ? "[N, T, F]" : "[T, N, F]",
                     " or unbatched [T, F], got ", input.sizes());
  const bool unbatched = input.dim() == 2;
  if (unbatched && lengths.defined())
    fail<ValueError>(name_, ": lengths need a batched input (one length per sequence), got an unbatched input of shape ",
                     input.sizes());
  // The layers run on [T, N, F].
  Tensor x = unbatched ? input.unsqueeze(1) : batch_first_ ? input.transpose(0, 1) : input;
  if (x.size(2) != input_size_)
    fail<ShapeError>(name_, ": input has ", x.size(2), " features (shape ", input.sizes(), "), expected input_size ",
                     input_size_);
  const int64_t N = x.size(1), D = num_directions();
  const int64_t P = proj_size_ > 0 ? proj_size_ : hidden_size_;
  const bool lstm = cell_ == RecurrentCell::Lstm;
  Tensor h = initial_state(h0, "h0", N, P, unbatched, x.dtype());
  Tensor c = lstm ? initial_state(c0, "c0", N, hidden_size_, unbatched, x.dtype()) : Tensor();

  TensorList h_n, c_n;
  for (int64_t layer = 0; layer < num_layers_; ++layer) {
    TensorList outputs;
    for (int64_t d = 0; d < D; ++d) {
      const int64_t index = layer * D + d;
      RecurrentResult r = recurrent_layer(cell_, x, h[index], lstm ? c[index] : Tensor(), weights_[index], lengths,
                                          d == 1, name_);
      outputs.push_back(r.output);
      h_n.push_back(r.h_n);
      if (lstm) c_n.push_back(r.c_n);
    }
    x = D == 2 ? cat(outputs, 2) : outputs[0];
    if (layer + 1 < num_layers_ && dropout_ > 0 && is_training()) x = cajal::dropout(x, dropout_, true);
  }

  RecurrentOutput out{x, stack(h_n, 0), lstm ? stack(c_n, 0) : Tensor()};
  if (unbatched) {
    out.output = out.output.squeeze(1);
    out.h_n = out.h_n.squeeze(1);
    if (lstm) out.c_n = out.c_n.squeeze(1);
  } else if (batch_first_) {
    out.output = out.output.transpose(0, 1);
  }
  return out;
}

// --- RNN, LSTM, GRU ---

RNNImpl::RNNImpl(int64_t input_size, int64_t hidden_size, RNNOptions o)
    : RecurrentLayer("RNN", relu_nonlinearity("RNN", o.nonlinearity) ? RecurrentCell::RnnRelu : RecurrentCell::RnnTanh,
                     input_size, hidden_size, {o.num_layers, o.bias, o.batch_first, o.dropout, o.bidirectional, 0}) {}

RecurrentOutput RNNImpl::forward(const Tensor& input, const Tensor& h0, const Tensor& lengths) {
  return run(input, h0, {}, lengths);
}

LSTMImpl::LSTMImpl(int64_t input_size, int64_t hidden_size, LSTMOptions o)
    : RecurrentLayer("LSTM", RecurrentCell::Lstm, input_size, hidden_size,
                     {o.num_layers, o.bias, o.batch_first, o.dropout, o.bidirectional, o.proj_size}) {}

RecurrentOutput LSTMImpl::forward(const Tensor& input, const Tensor& h0, const Tensor& c0, const Tensor& lengths) {
  if (h0.defined() != c0.defined())
    fail<ValueError>("LSTM: give h0 and c0 together, or neither (zero initial states)");
  return run(input, h0, c0, lengths);
}

GRUImpl::GRUImpl(int64_t input_size, int64_t hidden_size, GRUOptions o)
    : RecurrentLayer("GRU", RecurrentCell::Gru, input_size, hidden_size,
                     {o.num_layers, o.bias, o.batch_first, o.dropout, o.bidirectional, 0}) {}

RecurrentOutput GRUImpl::forward(const Tensor& input, const Tensor& h0, const Tensor& lengths) {
  return run(input, h0, {}, lengths);
}

// --- cells ---

RecurrentCellLayer::RecurrentCellLayer(const char* name, int64_t gates, int64_t input_size, int64_t hidden_size,
                                       bool bias)
    : name_(name), input_size_(input_size), hidden_size_(hidden_size) {
  check_sizes(name, input_size, hidden_size);
  register_parameter("weight_ih", weight_ih_, empty({gates * hidden_size, input_size}));
  register_parameter("weight_hh", weight_hh_, empty({gates * hidden_size, hidden_size}));
  register_parameter("bias_ih", bias_ih_, bias ? empty({gates * hidden_size}) : Tensor());
  register_parameter("bias_hh", bias_hh_, bias ? empty({gates * hidden_size}) : Tensor());
  reset_parameters();
}

void RecurrentCellLayer::reset_parameters(Generator* gen) { init_uniform(parameters(false), hidden_size_, gen); }

std::string RecurrentCellLayer::extra_repr() const {
  return std::to_string(input_size_) + ", " + std::to_string(hidden_size_) + (bias_ih_.defined() ? "" : ", bias=False");
}

Tensor RecurrentCellLayer::state_or_zeros(const Tensor& state, const Tensor& x) const {
  if (state.defined()) return state;
  // The cell op checks x's shape; an unexpected one gets an unbatched state here.
  if (x.dim() == 2) return zeros({x.size(0), hidden_size_}, {.dtype = x.dtype()});
  return zeros({hidden_size_}, {.dtype = x.dtype()});
}

RNNCellImpl::RNNCellImpl(int64_t input_size, int64_t hidden_size, RNNCellOptions o)
    : RecurrentCellLayer("RNNCell", 1, input_size, hidden_size, o.bias),
      relu_(relu_nonlinearity("RNNCell", o.nonlinearity)) {}

std::string RNNCellImpl::extra_repr() const {
  return RecurrentCellLayer::extra_repr() + (relu_ ? ", nonlinearity=relu" : "");
}

Tensor RNNCellImpl::forward(const Tensor& x, const Tensor& h) {
  auto cell = relu_ ? rnn_relu_cell : rnn_tanh_cell;
  return cell(x, state_or_zeros(h, x), weight_ih_, weight_hh_, bias_ih_, bias_hh_);
}

LSTMCellImpl::LSTMCellImpl(int64_t input_size, int64_t hidden_size, LSTMCellOptions o)
    : RecurrentCellLayer("LSTMCell", 4, input_size, hidden_size, o.bias) {}

std::pair<Tensor, Tensor> LSTMCellImpl::forward(const Tensor& x, const Tensor& h, const Tensor& c) {
  return lstm_cell(x, state_or_zeros(h, x), state_or_zeros(c, x), weight_ih_, weight_hh_, bias_ih_, bias_hh_);
}

GRUCellImpl::GRUCellImpl(int64_t input_size, int64_t hidden_size, GRUCellOptions o)
    : RecurrentCellLayer("GRUCell", 3, input_size, hidden_size, o.bias) {}

Tensor GRUCellImpl::forward(const Tensor& x, const Tensor& h) {
  return gru_cell(x, state_or_zeros(h, x), weight_ih_, weight_hh_, bias_ih_, bias_hh_);
}

}  // namespace cajal::nn
