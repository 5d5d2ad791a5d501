#pragma once
// Recurrent layers as torch.nn's: RNN (tanh or ReLU), LSTM (with an optional projection)
// and GRU, multi-layer and bidirectional, with dropout between layers, batch_first,
// given or zero initial states, unbatched inputs and variable-length batches; and the
// cells RNNCell, LSTMCell, GRUCell for hand-written loops.
//
// Each layer and direction runs as one fused op (ops/rnn.h): the input projections of all
// steps in one GEMM, one GEMM and one gate pass per step, and one autograd node whose
// backward runs the whole backward through time. That backward is first order only, as
// PyTorch's fused RNNs: differentiating the gradients again raises an AutogradError.
//
// Parameters are named and shaped as PyTorch's (weight_ih_l0 [G*H, F], weight_hh_l0
// [G*H, P], bias_ih_l0, bias_hh_l0 [G*H], weight_hr_l0 [P, H] with proj_size, the second
// direction's with the suffix _reverse) and initialized as PyTorch does: every one from
// U(-1/sqrt(H), 1/sqrt(H)). G is 1 (RNN), 4 (LSTM: i, f, g, o) or 3 (GRU: r, z, n).
#include <string>
#include <utility>
#include <vector>

#include "cajal/core/generator.h"
#include "cajal/nn/module.h"
#include "cajal/ops/rnn.h"

namespace cajal::nn {

struct RNNOptions {
  int64_t num_layers = 1;
  std::string nonlinearity = "tanh";  // or "relu"
  bool bias = true;
  bool batch_first = false;
  double dropout = 0;  // on the outputs of every layer but the last, in training mode
  bool bidirectional = false;
};

struct LSTMOptions {
  int64_t num_layers = 1;
  bool bias = true;
  bool batch_first = false;
  double dropout = 0;
  bool bidirectional = false;
  int64_t proj_size = 0;  // > 0: h is projected to this size (weight_hr), 0 < proj_size < hidden_size
};

struct GRUOptions {
  int64_t num_layers = 1;
  bool bias = true;
  bool batch_first = false;
  double dropout = 0;
  bool bidirectional = false;
};

// What a recurrent layer returns (PyTorch's (output, h_n) or (output, (h_n, c_n))):
// output [T, N, D*P] ([N, T, D*P] with batch_first, [T, D*P] unbatched), h_n [L*D, N, P],
// c_n [L*D, N, H] (LSTM only), with D directions and L layers.
struct RecurrentOutput {
  Tensor output;
  Tensor h_n;
  Tensor c_n;
};

// The shared body of RNN, LSTM and GRU: parameters, checks and the stack of layers.
class RecurrentLayer : public Module {
 public:
  std::string name() const override { return name_; }
  std::string extra_repr() const override;
  // The output sequence only, from zero initial states (for Sequential).
  Tensor forward(const Tensor& input) override;
  // Draws new initial values (from gen, or the default generator).
  void reset_parameters(Generator* gen = nullptr);

  int64_t input_size() const { return input_size_; }
  int64_t hidden_size() const { return hidden_size_; }
  int64_t num_layers() const { return num_layers_; }
  int64_t num_directions() const { return bidirectional_ ? 2 : 1; }
  RecurrentCell cell() const { return cell_; }
  bool batch_first() const { return batch_first_; }
  int64_t proj_size() const { return proj_size_; }
  // The weights of one layer and direction (0 forward, 1 reverse).
  const RecurrentWeights& weights(int64_t layer, int64_t direction) const;

 protected:
  struct Config {
    int64_t num_layers;
    bool bias, batch_first;
    double dropout;
    bool bidirectional;
    int64_t proj_size;
  };
  RecurrentLayer(const char* name, RecurrentCell cell, int64_t input_size, int64_t hidden_size, Config config);
  // input [T, N, F] ([N, T, F] with batch_first) or [T, F]; h0, c0 undefined (zeros) or
  // [L*D, N, .] ([L*D, .] unbatched); lengths undefined or int64 [N].
  RecurrentOutput run(const Tensor& input, const Tensor& h0, const Tensor& c0, const Tensor& lengths);

 private:
  // An initial state given by the user, checked and batched, or zeros.
  Tensor initial_state(const Tensor& given, const char* what, int64_t batch, int64_t size, bool unbatched,
                       DType dtype) const;

  const char* name_;
  RecurrentCell cell_;
  int64_t input_size_, hidden_size_, num_layers_;
  bool bias_, batch_first_;
  double dropout_;
  bool bidirectional_;
  int64_t proj_size_;
  std::vector<RecurrentWeights> weights_;  // layer-major: index layer * D + direction
};

class RNNImpl : public RecurrentLayer {
 public:
  using Options = RNNOptions;
  RNNImpl(int64_t input_size, int64_t hidden_size, RNNOptions options = {});
  using RecurrentLayer::forward;
  RecurrentOutput forward(const Tensor& input, const Tensor& h0, const Tensor& lengths = {});
};
CAJAL_MODULE(RNN);

class LSTMImpl : public RecurrentLayer {
 public:
  using Options = LSTMOptions;
  LSTMImpl(int64_t input_size, int64_t hidden_size, LSTMOptions options = {});
  using RecurrentLayer::forward;
  // h0 and c0 are given together, or both undefined (zeros).
  RecurrentOutput forward(const Tensor& input, const Tensor& h0, const Tensor& c0 = {}, const Tensor& lengths = {});
};
CAJAL_MODULE(LSTM);

class GRUImpl : public RecurrentLayer {
 public:
  using Options = GRUOptions;
  GRUImpl(int64_t input_size, int64_t hidden_size, GRUOptions options = {});
  using RecurrentLayer::forward;
  RecurrentOutput forward(const Tensor& input, const Tensor& h0, const Tensor& lengths = {});
};
CAJAL_MODULE(GRU);

// --- cells: one step, x [N, F] or unbatched [F]; states default to zeros ---

struct RNNCellOptions {
  bool bias = true;
  std::string nonlinearity = "tanh";  // or "relu"
};
struct LSTMCellOptions {
  bool bias = true;
};
struct GRUCellOptions {
  bool bias = true;
};

// The shared body of the cells: weight_ih, weight_hh, bias_ih, bias_hh as PyTorch's.
class RecurrentCellLayer : public Module {
 public:
  std::string name() const override { return name_; }
  std::string extra_repr() const override;
  void reset_parameters(Generator* gen = nullptr);
  int64_t input_size() const { return input_size_; }
  int64_t hidden_size() const { return hidden_size_; }

 protected:
  RecurrentCellLayer(const char* name, int64_t gates, int64_t input_size, int64_t hidden_size, bool bias);
  // `state`, or zeros shaped for x ([N, H], or [H] for an unbatched x).
  Tensor state_or_zeros(const Tensor& state, const Tensor& x) const;
  const char* name_;
  int64_t input_size_, hidden_size_;
  Tensor weight_ih_, weight_hh_, bias_ih_, bias_hh_;
};

class RNNCellImpl : public RecurrentCellLayer {
 public:
  using Options = RNNCellOptions;
  RNNCellImpl(int64_t input_size, int64_t hidden_size, RNNCellOptions options = {});
  std::string extra_repr() const override;
  Tensor forward(const Tensor& x) override { return forward(x, Tensor()); }
  Tensor forward(const Tensor& x, const Tensor& h);

 private:
  bool relu_;
};
CAJAL_MODULE(RNNCell);

class LSTMCellImpl : public RecurrentCellLayer {
 public:
  using Options = LSTMCellOptions;
  LSTMCellImpl(int64_t input_size, int64_t hidden_size, LSTMCellOptions options = {});
  // Returns (h', c').
  std::pair<Tensor, Tensor> forward(const Tensor& x, const Tensor& h = {}, const Tensor& c = {});
};
CAJAL_MODULE(LSTMCell);

class GRUCellImpl : public RecurrentCellLayer {
 public:
  using Options = GRUCellOptions;
  GRUCellImpl(int64_t input_size, int64_t hidden_size, GRUCellOptions options = {});
  Tensor forward(const Tensor& x) override { return forward(x, Tensor()); }
  Tensor forward(const Tensor& x, const Tensor& h);
};
CAJAL_MODULE(GRUCell);

}  // namespace cajal::nn
