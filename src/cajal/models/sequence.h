#pragma once
// Sequence models: the layer kinds configs use for text and time series, and presets.
//
// Layer kinds (model.layers; one example's shape without the batch dim, T steps):
//   embedding            [T] token ids -> [T, dim]             num (default: the data's classes,
//                                                               the vocabulary), dim
//   lstm, gru, rnn       [T, F] -> [T, D*H] (output: sequence)  hidden, layers 1, dropout 0,
//                        or [D*H] (output: last: the last      bidirectional false, output sequence;
//                        layer's final state, both directions)  rnn: nonlinearity tanh|relu; lstm: proj 0
//   transformer_encoder  [T, d] -> [T, d] (one layer)          heads, ff (4 d), dropout 0.1,
//                                                               activation relu|gelu, norm_first, causal
//   positional_encoding  [T, d] -> [T, d] (added)              type sinusoidal|learned, max_len, dropout 0
//   last_step            [T, F] -> [F]
//   reshape              any -> shape                          shape (e.g. [28, 28]: image rows as steps)
// Recurrent layers run batch first ([N, T, F]), as every layer here sees batches.
//
// Presets (model.preset):
//   char_lstm         embedding, LSTM, linear to the vocabulary, per step: [N, T] -> [N, T, V]
//                     options: embedding 64, hidden 256, layers 2, dropout 0.1
//   char_transformer  embedding, sinusoidal positions, causal encoder layers, linear: [N, T] -> [N, T, V]
//                     options: d_model 128, heads 4, layers 2, ff 512, dropout 0.1, activation gelu
//   rnn_classifier    images [1, H, W] read as H steps of W features (or sequences [T, F]), a GRU
//                     or LSTM, its final state, linear to the classes
//                     options: cell gru|lstm, hidden 128, layers 1, bidirectional false, dropout 0
//   lstm_forecaster   windows [T, F] -> the next values [N, horizon] (the data's target size)
//                     options: hidden 64, layers 1, dropout 0
#include <string>
#include <vector>

#include "cajal/models/options.h"
#include "cajal/models/registry.h"
#include "cajal/nn/container.h"
#include "cajal/nn/rnn.h"
#include "cajal/nn/transformer.h"

namespace cajal::models {

// Each example reshaped to `shape` (the batch dim kept): [N, ...] -> [N, shape...].
class ReshapeImpl : public nn::Module {
 public:
  explicit ReshapeImpl(Dims shape) : shape_(std::move(shape)) {}
  std::string name() const override { return "Reshape"; }
  std::string extra_repr() const override;
  Tensor forward(const Tensor& input) override;

 private:
  Dims shape_;
};
CAJAL_MODULE(Reshape);

// The last step of each sequence: [N, T, F] -> [N, F].
class LastStepImpl : public nn::Module {
 public:
  std::string name() const override { return "LastStep"; }
  Tensor forward(const Tensor& input) override;
};
CAJAL_MODULE(LastStep);

// A recurrent layer (nn::LSTMImpl, nn::GRUImpl, nn::RNNImpl) whose forward returns the last
// layer's final state [N, D*H] instead of the output sequence: for one direction the output
// at the last step; for two, the forward direction's at the last step beside the reverse
// direction's at the first. Its parameters keep the layer's names.
template <typename Recurrent>
class FinalStateImpl : public Recurrent {
 public:
  using Recurrent::Recurrent;
  std::string extra_repr() const override { return Recurrent::extra_repr() + ", output=last"; }
  Tensor forward(const Tensor& input) override {
    Tensor h_n = Recurrent::forward(input, Tensor()).h_n;  // [L*D, N, H]
    const int64_t directions = this->num_directions(), layers = this->num_layers();
    Tensor last = h_n.slice(0, (layers - 1) * directions, layers * directions);  // [D, N, H]
    return last.transpose(0, 1).reshape({last.size(1), directions * last.size(2)});
  }
};

// The encoder layer of a causal model (char_transformer, transformer_encoder with causal:
// true): step t attends to steps 0..t only.
class CausalEncoderLayerImpl : public nn::TransformerEncoderLayerImpl {
 public:
  using nn::TransformerEncoderLayerImpl::TransformerEncoderLayerImpl;
  std::string extra_repr() const override { return "causal=True"; }
  Tensor forward(const Tensor& input) override { return TransformerEncoderLayerImpl::forward(input, {}, {}, true); }
};

// The sequence layer kinds above: the module for `type`, with `out` set to its output shape
// for input `in`, or null when `type` is none of them. `num_classes`: the data's (0: unknown).
nn::ModulePtr build_sequence_layer(const std::string& type, Options& args, const Dims& in, Dims& out,
                                   int64_t num_classes);
std::vector<std::string> sequence_layer_types();

// Whether `model` holds an RNN, LSTM or GRU (configs clip their gradients by default).
bool has_recurrent_layers(const nn::Module& model);

// --- presets ---

struct CharLSTMOptions {
  int64_t embedding = 64, hidden = 256, layers = 2;
  double dropout = 0.1;  // between LSTM layers and before the output layer
};
nn::Sequential char_lstm(int64_t vocabulary, const CharLSTMOptions& options = {});

struct RNNClassifierOptions {
  std::string cell = "gru";  // gru | lstm
  int64_t hidden = 128, layers = 1;
  bool bidirectional = false;
  double dropout = 0;  // between layers and before the output layer
};
// example: [1, H, W] images (read row by row) or [T, F] sequences.
nn::Sequential rnn_classifier(const Dims& example, int64_t num_classes, const RNNClassifierOptions& options = {});

struct ForecasterOptions {
  int64_t hidden = 64, layers = 1;
  double dropout = 0;
};
// example: [T, F] windows; horizon: values predicted.
nn::Sequential lstm_forecaster(const Dims& example, int64_t horizon, const ForecasterOptions& options = {});

// The registry's entries for the presets (read their options from `options`).
nn::ModulePtr make_char_lstm(Options& options, const ModelInput& input);
nn::ModulePtr make_char_transformer(Options& options, const ModelInput& input);
nn::ModulePtr make_rnn_classifier(Options& options, const ModelInput& input);
nn::ModulePtr make_lstm_forecaster(Options& options, const ModelInput& input);

}  // namespace cajal::models
