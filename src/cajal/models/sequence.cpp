#include "cajal/models/sequence.h"

#include "cajal/core/error.h"
#include "cajal/models/layers.h"
#include "cajal/nn/dropout.h"
#include "cajal/nn/embedding.h"
#include "cajal/nn/linear.h"
#include "cajal/nn/norm.h"
#include "cajal/nn/transformer.h"

namespace cajal::models {

// ------------------------------------------------------------------ modules

std::string ReshapeImpl::extra_repr() const { return nn::repr_tuple(shape_); }

Tensor ReshapeImpl::forward(const Tensor& input) {
  Dims shape{input.size(0)};
  for (int64_t size : shape_) shape.push_back(size);
  return input.reshape(shape);
}

Tensor LastStepImpl::forward(const Tensor& input) {
  if (input.dim() != 3) fail<ShapeError>("LastStep: expects [N, T, F], got ", input.shape());
  return input.select(1, input.size(1) - 1);
}

namespace {

using LSTMFinalState = FinalStateImpl<nn::LSTMImpl>;
using GRUFinalState = FinalStateImpl<nn::GRUImpl>;
using RNNFinalState = FinalStateImpl<nn::RNNImpl>;

// Either recurrent module (output sequence or final state) of kind R (nn::LSTMImpl, ...).
template <typename R>
nn::ModulePtr recurrent(bool final_state, int64_t input_size, int64_t hidden, typename R::Options options) {
  options.batch_first = true;
  if (final_state) return std::make_shared<FinalStateImpl<R>>(input_size, hidden, options);
  return std::make_shared<R>(input_size, hidden, options);
}

int64_t at_least(Options& args, const std::string& name, std::optional<int64_t> fallback, int64_t minimum) {
  int64_t value = args.get_int(name, fallback);
  if (value < minimum) args.fail(name, "must be at least " + std::to_string(minimum) + ", got " + std::to_string(value));
  return value;
}

double probability(Options& args, const std::string& name, double fallback) {
  double p = args.get_float(name, fallback);
  if (p < 0 || p >= 1) args.fail(name, "must be in [0, 1), got " + nn::repr_float(p));
  return p;
}

[[noreturn]] void shape_error(const Options& args, const std::string& expects, const Dims& in) {
  fail<ShapeError>(args.owner(), ": expects ", expects, ", got input of shape ", batch_shape(in));
}

void require_sequence(const Options& args, const Dims& in) {
  if (in.size() != 2) shape_error(args, "sequences [N, T, features]", in);
}

// --- the layer kinds ---

nn::ModulePtr embedding(Options& args, const Dims& in, Dims& out, int64_t num_classes) {
  if (in.size() != 1) shape_error(args, "token ids [N, T]", in);
  int64_t dim = at_least(args, "dim", std::nullopt, 1);
  int64_t num = at_least(args, "num", num_classes > 0 ? std::optional<int64_t>(num_classes) : std::nullopt, 1);
  out = Dims{in[0], dim};
  return nn::Embedding(num, dim).ptr();
}

nn::ModulePtr recurrent_layer(const std::string& type, Options& args, const Dims& in, Dims& out) {
  require_sequence(args, in);
  int64_t hidden = at_least(args, "hidden", std::nullopt, 1);
  int64_t layers = at_least(args, "layers", 1, 1);
  double dropout = probability(args, "dropout", 0.0);
  bool bidirectional = args.get_bool("bidirectional", false);
  bool last = args.get_string("output", "sequence", {"sequence", "last"}) == "last";
  int64_t directions = bidirectional ? 2 : 1;
  int64_t size = hidden;  // of each direction's output
  nn::ModulePtr layer;
  if (type == "lstm") {
    int64_t proj = at_least(args, "proj", 0, 0);
    if (proj >= hidden) args.fail("proj", "must be below hidden (" + std::to_string(hidden) + ")");
    if (proj > 0) size = proj;
    layer = recurrent<nn::LSTMImpl>(last, in[1], hidden,
                                    {.num_layers = layers, .dropout = dropout, .bidirectional = bidirectional,
                                     .proj_size = proj});
  } else if (type == "gru") {
    layer = recurrent<nn::GRUImpl>(last, in[1], hidden,
                                   {.num_layers = layers, .dropout = dropout, .bidirectional = bidirectional});
  } else {
    std::string nonlinearity = args.get_string("nonlinearity", "tanh", {"tanh", "relu"});
    layer = recurrent<nn::RNNImpl>(last, in[1], hidden,
                                   {.num_layers = layers, .nonlinearity = nonlinearity, .dropout = dropout,
                                    .bidirectional = bidirectional});
  }
  out = last ? Dims{directions * size} : Dims{in[0], directions * size};
  return layer;
}

nn::ModulePtr transformer_encoder(Options& args, const Dims& in, Dims& out) {
  require_sequence(args, in);
  int64_t d_model = in[1];
  int64_t heads = at_least(args, "heads", std::nullopt, 1);
  if (d_model % heads != 0)
    args.fail("heads", "must divide the model width " + std::to_string(d_model) + ", got " + std::to_string(heads));
  nn::TransformerLayerOptions options{.dim_feedforward = at_least(args, "ff", 4 * d_model, 1),
                                     .dropout = probability(args, "dropout", 0.1),
                                     .activation = args.get_string("activation", "relu", {"relu", "gelu"}),
                                     .batch_first = true,
                                     .norm_first = args.get_bool("norm_first", false)};
  bool causal = args.get_bool("causal", false);
  out = in;
  if (causal) return std::make_shared<CausalEncoderLayerImpl>(d_model, heads, options);
  return nn::TransformerEncoderLayer(d_model, heads, options).ptr();
}

nn::ModulePtr positional_encoding(Options& args, const Dims& in, Dims& out) {
  require_sequence(args, in);
  bool learned = args.get_string("type", "sinusoidal", {"sinusoidal", "learned"}) == "learned";
  // Positions up to the examples' length (what generation feeds at most).
  int64_t max_len = at_least(args, "max_len", in[0], in[0]);
  double dropout = probability(args, "dropout", 0.0);
  out = in;
  if (learned) return nn::LearnedPositionalEncoding(max_len, in[1], {.batch_first = true}).ptr();
  return nn::PositionalEncoding(in[1], {.max_len = max_len, .dropout = dropout, .batch_first = true}).ptr();
}

nn::ModulePtr last_step(Options& args, const Dims& in, Dims& out) {
  require_sequence(args, in);
  out = Dims{in[1]};
  return LastStep().ptr();
}

nn::ModulePtr reshape(Options& args, const Dims& in, Dims& out) {
  std::vector<int64_t> shape = args.get_ints("shape");
  Dims target(shape.begin(), shape.end());
  for (int64_t size : shape) {
    if (size < 1) args.fail("shape", "sizes must be at least 1");
  }
  if (numel_of(target) != numel_of(in)) {
    shape_error(args, "an example of " + std::to_string(numel_of(target)) + " values (to take shape " +
                          batch_shape(target) + ")", in);
  }
  out = target;
  return Reshape(target).ptr();
}

const char* const kSequenceKinds[] = {"embedding",           "lstm",      "gru",    "rnn", "transformer_encoder",
                                      "positional_encoding", "last_step", "reshape"};

}  // namespace

std::vector<std::string> sequence_layer_types() {
  return std::vector<std::string>(std::begin(kSequenceKinds), std::end(kSequenceKinds));
}

nn::ModulePtr build_sequence_layer(const std::string& type, Options& args, const Dims& in, Dims& out,
                                   int64_t num_classes) {
  if (type == "embedding") return embedding(args, in, out, num_classes);
  if (type == "lstm" || type == "gru" || type == "rnn") return recurrent_layer(type, args, in, out);
  if (type == "transformer_encoder") return transformer_encoder(args, in, out);
  if (type == "positional_encoding") return positional_encoding(args, in, out);
  if (type == "last_step") return last_step(args, in, out);
  if (type == "reshape") return reshape(args, in, out);
  return nullptr;
}

bool has_recurrent_layers(const nn::Module& model) {
  for (const auto& [name, module] : model.named_modules()) {
    const nn::Module* m = module.get();
    if (dynamic_cast<const nn::LSTMImpl*>(m) || dynamic_cast<const nn::GRUImpl*>(m) ||
        dynamic_cast<const nn::RNNImpl*>(m))
      return true;
  }
  return false;
}

// ------------------------------------------------------------------ presets

nn::Sequential char_lstm(int64_t vocabulary, const CharLSTMOptions& o) {
  if (vocabulary < 1 || o.embedding < 1 || o.hidden < 1 || o.layers < 1)
    fail<ValueError>("char_lstm: vocabulary, embedding, hidden and layers must be at least 1");
  nn::Sequential model;
  model->push_back(nn::Embedding(vocabulary, o.embedding));
  // Dropout between LSTM layers (none with one layer, where PyTorch would warn).
  model->push_back(nn::LSTM(o.embedding, o.hidden,
                            {.num_layers = o.layers, .batch_first = true, .dropout = o.layers > 1 ? o.dropout : 0}));
  if (o.dropout > 0) model->push_back(nn::Dropout(o.dropout));
  model->push_back(nn::Linear(o.hidden, vocabulary));
  return model;
}

nn::Sequential rnn_classifier(const Dims& example, int64_t num_classes, const RNNClassifierOptions& o) {
  bool image = example.size() == 3 && example[0] == 1;
  if (!image && example.size() != 2)
    fail<ShapeError>("rnn_classifier: needs single-channel images [1, H, W] or sequences [T, F], got examples of shape ",
                     example);
  if (o.cell != "gru" && o.cell != "lstm") fail<ValueError>("rnn_classifier: cell must be gru or lstm, got '", o.cell, "'");
  int64_t features = example.back();
  nn::Sequential model;
  if (image) model->push_back(Reshape(Dims{example[1], example[2]}));  // row r is step r
  const double between = o.layers > 1 ? o.dropout : 0;  // dropout between recurrent layers
  if (o.cell == "gru") {
    model->push_back(recurrent<nn::GRUImpl>(
        true, features, o.hidden, {.num_layers = o.layers, .dropout = between, .bidirectional = o.bidirectional}));
  } else {
    model->push_back(recurrent<nn::LSTMImpl>(
        true, features, o.hidden, {.num_layers = o.layers, .dropout = between, .bidirectional = o.bidirectional}));
  }
  if (o.dropout > 0) model->push_back(nn::Dropout(o.dropout));
  model->push_back(nn::Linear((o.bidirectional ? 2 : 1) * o.hidden, num_classes));
  return model;
}

nn::Sequential lstm_forecaster(const Dims& example, int64_t horizon, const ForecasterOptions& o) {
  if (example.size() != 2) fail<ShapeError>("lstm_forecaster: needs windows [T, F], got examples of shape ", example);
  nn::Sequential model;
  model->push_back(recurrent<nn::LSTMImpl>(true, example[1], o.hidden,
                                           {.num_layers = o.layers, .dropout = o.layers > 1 ? o.dropout : 0}));
  model->push_back(nn::Linear(o.hidden, horizon));
  return model;
}

namespace {

// A language model's data: token ids [T], scores per step.
void require_tokens(const Options& options, const ModelInput& input) {
  if (input.shape.size() != 1 || input.dtype != DType::i64)
    fail<ShapeError>(options.owner(), ": needs token ids [T] (data.reader: text), but the examples have shape ",
                     input.shape);
}

}  // namespace

nn::ModulePtr make_char_lstm(Options& options, const ModelInput& input) {
  require_tokens(options, input);
  CharLSTMOptions o;
  o.embedding = at_least(options, "embedding", o.embedding, 1);
  o.hidden = at_least(options, "hidden", o.hidden, 1);
  o.layers = at_least(options, "layers", o.layers, 1);
  o.dropout = probability(options, "dropout", o.dropout);
  return char_lstm(num_classes_option(options, input), o).ptr();
}

nn::ModulePtr make_char_transformer(Options& options, const ModelInput& input) {
  require_tokens(options, input);
  int64_t vocabulary = num_classes_option(options, input);
  int64_t d_model = at_least(options, "d_model", 128, 1);
  int64_t heads = at_least(options, "heads", 4, 1);
  int64_t layers = at_least(options, "layers", 2, 1);
  if (d_model % heads != 0) options.fail("heads", "must divide d_model (" + std::to_string(d_model) + ")");
  nn::TransformerLayerOptions layer{.dim_feedforward = at_least(options, "ff", 4 * d_model, 1),
                                    .dropout = probability(options, "dropout", 0.1),
                                    .activation = options.get_string("activation", "gelu", {"relu", "gelu"}),
                                    .batch_first = true,
                                    .norm_first = true};
  // Pre-norm layers train without warm-up; a final norm closes the stack (as GPT-2).
  nn::Sequential model;
  model->push_back(nn::Embedding(vocabulary, d_model));
  model->push_back(nn::PositionalEncoding(d_model, {.max_len = input.shape[0], .dropout = layer.dropout,
                                                    .batch_first = true}));
  for (int64_t l = 0; l < layers; ++l) model->push_back(std::make_shared<CausalEncoderLayerImpl>(d_model, heads, layer));
  model->push_back(nn::LayerNorm(d_model));
  model->push_back(nn::Linear(d_model, vocabulary));
  return model.ptr();
}

nn::ModulePtr make_rnn_classifier(Options& options, const ModelInput& input) {
  RNNClassifierOptions o;
  o.cell = options.get_string("cell", o.cell, {"gru", "lstm"});
  o.hidden = at_least(options, "hidden", o.hidden, 1);
  o.layers = at_least(options, "layers", o.layers, 1);
  o.bidirectional = options.get_bool("bidirectional", o.bidirectional);
  o.dropout = probability(options, "dropout", o.dropout);
  return rnn_classifier(input.shape, num_classes_option(options, input), o).ptr();
}

nn::ModulePtr make_lstm_forecaster(Options& options, const ModelInput& input) {
  ForecasterOptions o;
  o.hidden = at_least(options, "hidden", o.hidden, 1);
  o.layers = at_least(options, "layers", o.layers, 1);
  o.dropout = probability(options, "dropout", o.dropout);
  return lstm_forecaster(input.shape, num_classes_option(options, input), o).ptr();
}

}  // namespace cajal::models
