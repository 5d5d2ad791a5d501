// Emitters of the sequence layers: embeddings, positional encodings, recurrent layers as
// ONNX's own RNN, GRU and LSTM operators, Transformer encoder layers with attention written
// out from MatMul and Softmax, and the small modules of models/sequence.h.
//
// These layers run batch first here ([N, T, F]), as the models of models/ build them; the
// exporter refuses the time-first layout, because the ONNX model's dim 0 is its batch.
#include <cmath>

#include "cajal/core/error.h"
#include "cajal/models/sequence.h"
#include "cajal/nn/embedding.h"
#include "cajal/nn/rnn.h"
#include "cajal/nn/transformer.h"
#include "cajal/onnx/export_layers.h"
#include "cajal/ops/creation.h"

namespace cajal::onnx {

namespace {

void require_batch_first(bool batch_first, const std::string& layer) {
  if (!batch_first) {
    fail<ValueError>("export_model: ", layer, " runs time first (batch_first=false); the ONNX exporter needs the batch as dim 0");
  }
}

std::string emit_embedding(Exporter& g, nn::Module& m, const Value& x) {
  auto& embedding = static_cast<nn::EmbeddingImpl&>(m);
  if (embedding.max_norm()) {
    fail<ValueError>("export_model: Embedding with max_norm rewrites its weight at every forward, which ONNX cannot express");
  }
  return g.node("Gather", {g.parameter(embedding.weight()), x.name});  // the rows of the token ids
}

// x + table[:T], the first T rows of a [max_len, E] table of positions.
std::string add_positions(Exporter& g, const Value& x, const Tensor& table, bool batch_first, const std::string& layer) {
  if (x.example.dim() == 3) require_batch_first(batch_first, layer);
  const int64_t steps = x.example.size(-2);
  std::string rows = g.node("Slice", {g.parameter(table), g.ints({0}), g.ints({steps}), g.ints({0})});
  return g.node("Add", {x.name, rows});
}

std::string emit_positional_encoding(Exporter& g, nn::Module& m, const Value& x) {
  auto& encoding = static_cast<nn::PositionalEncodingImpl&>(m);
  return add_positions(g, x, encoding.pe, encoding.options.batch_first, "PositionalEncoding");
}

std::string emit_learned_positional_encoding(Exporter& g, nn::Module& m, const Value& x) {
  auto& encoding = static_cast<nn::LearnedPositionalEncodingImpl&>(m);
  return add_positions(g, x, encoding.weight, encoding.options.batch_first, "LearnedPositionalEncoding");
}

// --- recurrent layers ---

// A weight or bias of G gate blocks stacked along dim 0, its blocks put in ONNX's order:
// block i of the result is block order[i] of cajal's (and PyTorch's).
std::string gate_blocks(Exporter& g, const Tensor& tensor, const std::vector<int64_t>& order) {
  const int64_t gates = static_cast<int64_t>(order.size());
  if (gates == 1) return g.parameter(tensor);
  std::vector<std::string> blocks = g.node("Split", {g.parameter(tensor)}, gates, {{"axis", 0}});
  std::vector<std::string> reordered;
  for (int64_t i : order) reordered.push_back(blocks[static_cast<size_t>(i)]);
  return g.node("Concat", reordered, {{"axis", 0}});
}

// One tensor per direction, stacked along a new dim 0 (ONNX's [num_directions, ...]).
std::string stack_directions(Exporter& g, const std::vector<std::string>& per_direction) {
  std::vector<std::string> stacked;
  for (const std::string& t : per_direction) stacked.push_back(g.node("Unsqueeze", {t, g.ints({0})}));
  return stacked.size() == 1 ? stacked[0] : g.node("Concat", stacked, {{"axis", 0}});
}

// The layers of an RNN, LSTM or GRU, one ONNX operator per layer (ONNX's recurrent operators
// are single-layer). Returns the last layer's output sequence [N, T, D*H], or with
// `final_state` its final hidden state [N, D*H] (FinalStateImpl's forward).
std::string recurrent(Exporter& g, nn::RecurrentLayer& layer, const std::string& x, bool final_state) {
  require_batch_first(layer.batch_first(), layer.name());
  if (layer.proj_size() > 0) fail<ValueError>("export_model: ONNX's LSTM has no projection (proj_size)");
  const int64_t directions = layer.num_directions();
  std::string op;
  std::vector<int64_t> order;  // cajal's gate blocks in ONNX's order
  std::vector<Attribute> attributes{{"hidden_size", layer.hidden_size()},
                                    {"direction", directions == 2 ? "bidirectional" : "forward"}};
  switch (layer.cell()) {
    case RecurrentCell::Lstm:
      op = "LSTM";
      order = {0, 3, 1, 2};  // cajal: input, forget, cell, output; ONNX: input, output, forget, cell
      break;
    case RecurrentCell::Gru:
      op = "GRU";
      order = {1, 0, 2};  // cajal: reset, update, new; ONNX: update, reset, hidden
      // PyTorch's GRU applies the reset gate after the recurrent product (ONNX's default is before).
      attributes.emplace_back("linear_before_reset", 1);
      break;
    case RecurrentCell::RnnTanh:
    case RecurrentCell::RnnRelu:
      op = "RNN";
      order = {0};
      attributes.emplace_back("activations", std::vector<std::string>(static_cast<size_t>(directions),
                                                                      layer.cell() == RecurrentCell::RnnTanh ? "Tanh" : "Relu"));
      break;
  }
  // ONNX's recurrent operators take time first ([T, N, F]; their layout attribute needs opset 14).
  std::string steps = g.node("Transpose", {x}, {{"perm", std::vector<int64_t>{1, 0, 2}}});
  std::string last_state;
  for (int64_t l = 0; l < layer.num_layers(); ++l) {
    std::vector<std::string> input_weights, recurrent_weights, biases;
    for (int64_t d = 0; d < directions; ++d) {
      const RecurrentWeights& w = layer.weights(l, d);
      input_weights.push_back(gate_blocks(g, w.w_ih, order));
      recurrent_weights.push_back(gate_blocks(g, w.w_hh, order));
      // ONNX's B is the input bias and the recurrent bias side by side.
      if (w.b_ih.defined())
        biases.push_back(g.node("Concat", {gate_blocks(g, w.b_ih, order), gate_blocks(g, w.b_hh, order)}, {{"axis", 0}}));
    }
    std::vector<std::string> inputs{steps, stack_directions(g, input_weights), stack_directions(g, recurrent_weights)};
    if (!biases.empty()) inputs.push_back(stack_directions(g, biases));
    // Outputs: Y [T, D, N, H], every step's hidden state, and Y_h [D, N, H], the last one.
    std::vector<std::string> outputs = g.node(op, inputs, 2, attributes);
    last_state = outputs[1];
    if (final_state && l + 1 == layer.num_layers()) break;
    // [T, D, N, H] -> [T, N, D*H]: both directions side by side, the next layer's input.
    std::string time_major = g.node("Transpose", {outputs[0]}, {{"perm", std::vector<int64_t>{0, 2, 1, 3}}});
    steps = g.node("Reshape", {time_major, g.ints({0, 0, -1})});
  }
  if (final_state) {
    // [D, N, H] -> [N, D*H]: the forward direction's state beside the reverse one's.
    std::string batch_major = g.node("Transpose", {last_state}, {{"perm", std::vector<int64_t>{1, 0, 2}}});
    return g.node("Reshape", {batch_major, g.ints({0, -1})});
  }
  return g.node("Transpose", {steps}, {{"perm", std::vector<int64_t>{1, 0, 2}}});
}

std::string emit_recurrent_sequence(Exporter& g, nn::Module& m, const Value& x) {
  return recurrent(g, static_cast<nn::RecurrentLayer&>(m), x.name, false);
}

std::string emit_recurrent_final_state(Exporter& g, nn::Module& m, const Value& x) {
  return recurrent(g, static_cast<nn::RecurrentLayer&>(m), x.name, true);
}

// --- attention and Transformer layers ---

// Multi-head self-attention of x [N, S, E], as multi_head_attention_forward computes it:
// q, k, v from the packed projection, per head softmax(q k^T / sqrt(d) + mask) v, the heads
// side by side, the output projection. `causal`: key j is masked for query i when j > i.
std::string self_attention(Exporter& g, const nn::MultiheadAttentionImpl& attention, const std::string& x,
                           int64_t steps, bool causal) {
  if (!attention.in_proj_weight.defined()) {
    fail<ValueError>("export_model: MultiheadAttention with kdim or vdim other than embed_dim is not supported by the ONNX exporter");
  }
  const int64_t heads = attention.num_heads, head_dim = attention.head_dim;
  std::string qkv = linear(g, x, 3, attention.in_proj_weight, attention.in_proj_bias);  // [N, S, 3E]
  std::vector<std::string> parts = g.node("Split", {qkv}, 3, {{"axis", 2}});
  // [N, S, E] -> [N, S, heads, head_dim], then the heads moved before the steps by `perm`.
  auto split_heads = [&](const std::string& t, std::vector<int64_t> perm) {
    return g.node("Transpose", {g.node("Reshape", {t, g.ints({0, 0, heads, head_dim})})}, {{"perm", std::move(perm)}});
  };
  std::string q = split_heads(parts[0], {0, 2, 1, 3});    // [N, heads, S, d]
  std::string k_t = split_heads(parts[1], {0, 2, 3, 1});  // [N, heads, d, S]
  std::string v = split_heads(parts[2], {0, 2, 1, 3});    // [N, heads, S, d]
  std::string scores = g.node("Mul", {g.node("MatMul", {q, k_t}), g.scalar(1 / std::sqrt(static_cast<double>(head_dim)))});
  if (causal) scores = g.node("Add", {scores, g.constant(nn::square_subsequent_mask(steps))});  // -inf above the diagonal
  std::string weights = g.node("Softmax", {scores}, {{"axis", -1}});
  std::string merged = g.node("Transpose", {g.node("MatMul", {weights, v})}, {{"perm", std::vector<int64_t>{0, 2, 1, 3}}});
  merged = g.node("Reshape", {merged, g.ints({0, 0, attention.embed_dim})});  // [N, S, E]
  return linear(g, merged, 3, attention.out_proj->weight(), attention.out_proj->bias());
}

// As TransformerEncoderLayerImpl::forward (dropout is the identity in eval mode).
std::string encoder_layer(Exporter& g, nn::TransformerEncoderLayerImpl& layer, const Value& x, bool causal) {
  const nn::TransformerLayerOptions& o = layer.options;
  require_batch_first(o.batch_first, "TransformerEncoderLayer");
  if (x.example.dim() != 3) fail<ValueError>("export_model: TransformerEncoderLayer needs batched input [N, S, E], got ", x.example.shape());
  auto attention = [&](const std::string& h) { return self_attention(g, *layer.self_attn, h, x.example.size(1), causal); };
  auto feed_forward = [&](const std::string& h) {
    std::string hidden = linear(g, h, 3, layer.linear1->weight(), layer.linear1->bias());
    hidden = o.activation == "gelu" ? gelu(g, hidden, GeluApprox::None) : g.node("Relu", {hidden});
    return linear(g, hidden, 3, layer.linear2->weight(), layer.linear2->bias());
  };
  auto norm = [&](const nn::LayerNorm& n, const std::string& h) { return layer_norm(g, h, *n); };
  std::string h = x.name;
  if (o.norm_first) {  // x + block(norm(x))
    h = g.node("Add", {h, attention(norm(layer.norm1, h))});
    return g.node("Add", {h, feed_forward(norm(layer.norm2, h))});
  }
  h = norm(layer.norm1, g.node("Add", {h, attention(h)}));  // norm(x + block(x))
  return norm(layer.norm2, g.node("Add", {h, feed_forward(h)}));
}

std::string emit_encoder_layer(Exporter& g, nn::Module& m, const Value& x) {
  return encoder_layer(g, static_cast<nn::TransformerEncoderLayerImpl&>(m), x, false);
}

std::string emit_causal_encoder_layer(Exporter& g, nn::Module& m, const Value& x) {
  return encoder_layer(g, static_cast<nn::TransformerEncoderLayerImpl&>(m), x, true);
}

// As TransformerEncoderImpl::forward(src): every layer without a mask (the stack calls the
// layers' forward with none, whatever their type), then the final norm when there is one.
std::string emit_encoder(Exporter& g, nn::Module& m, const Value& x) {
  auto& encoder = static_cast<nn::TransformerEncoderImpl&>(m);
  Value h = x;
  for (const nn::ModulePtr& child : *encoder.layers) {
    auto& layer = static_cast<nn::TransformerEncoderLayerImpl&>(*child);
    h = {encoder_layer(g, layer, h, false), layer.forward(h.example, {})};
  }
  return encoder.norm ? g.emit(*encoder.norm, h).name : h.name;
}

// --- models/sequence.h ---

std::string emit_last_step(Exporter& g, nn::Module&, const Value& x) {
  // A 0-d index takes one step and drops the time dim: [N, T, F] -> [N, F].
  Tensor last = scalar_tensor(x.example.size(1) - 1, DType::i64);
  return g.node("Gather", {x.name, g.constant(last)}, {{"axis", 1}});
}

}  // namespace

void add_sequence_emitters(EmitterTable& table) {
  add_emitter<nn::EmbeddingImpl>(table, emit_embedding);
  add_emitter<nn::PositionalEncodingImpl>(table, emit_positional_encoding);
  add_emitter<nn::LearnedPositionalEncodingImpl>(table, emit_learned_positional_encoding);
  add_emitter<nn::RNNImpl>(table, emit_recurrent_sequence);
  add_emitter<nn::LSTMImpl>(table, emit_recurrent_sequence);
  add_emitter<nn::GRUImpl>(table, emit_recurrent_sequence);
  add_emitter<models::FinalStateImpl<nn::RNNImpl>>(table, emit_recurrent_final_state);
  add_emitter<models::FinalStateImpl<nn::LSTMImpl>>(table, emit_recurrent_final_state);
  add_emitter<models::FinalStateImpl<nn::GRUImpl>>(table, emit_recurrent_final_state);
  add_emitter<nn::TransformerEncoderLayerImpl>(table, emit_encoder_layer);
  add_emitter<models::CausalEncoderLayerImpl>(table, emit_causal_encoder_layer);
  add_emitter<nn::TransformerEncoderImpl>(table, emit_encoder);
  add_emitter<models::LastStepImpl>(table, emit_last_step);
}

}  // namespace cajal::onnx
