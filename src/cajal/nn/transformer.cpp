// Transformer encoder and decoder layers and stacks (torch.nn's regular, non-fused path), and
// positional encodings.
#include "cajal/nn/transformer.h"

#include <cmath>
#include <limits>

#include "cajal/nn/init.h"
#include "cajal/nn/serialize.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/dropout.h"
#include "cajal/ops/elementwise.h"

namespace cajal::nn {

namespace {

void check_layer_options(const char* layer, int64_t d_model, int64_t nhead, const TransformerLayerOptions& o) {
  if (d_model <= 0 || o.dim_feedforward <= 0)
    fail<ValueError>(layer, ": d_model and dim_feedforward must be positive, got ", d_model, " and ", o.dim_feedforward);
  if (o.activation != "relu" && o.activation != "gelu")
    fail<ValueError>(layer, ": activation must be \"relu\" or \"gelu\", got \"", o.activation, "\"");
  if (o.dropout < 0 || o.dropout > 1) fail<ValueError>(layer, ": dropout must be in [0, 1], got ", o.dropout);
  if (nhead <= 0 || d_model % nhead != 0)
    fail<ValueError>(layer, ": d_model ", d_model, " is not divisible by nhead ", nhead);
}

Tensor activate(const Tensor& x, const std::string& activation) { return activation == "gelu" ? gelu(x) : relu(x); }

// The feed-forward block shared by both layers: linear2(dropout(activation(linear1(x)))).
Tensor feed_forward(const Tensor& x, const Linear& linear1, const Dropout& dropout, const Linear& linear2,
                    const std::string& activation) {
  return linear2(dropout(activate(linear1(x), activation)));
}

// Self-attention output (no weights), for the layers' attention blocks.
Tensor attend(const MultiheadAttention& attention, const Tensor& query, const Tensor& memory, const Tensor& mask,
              const Tensor& padding, bool is_causal) {
  return attention->forward(query, memory, memory, padding, false, mask, true, is_causal).output;
}

// The n layers of a stack, each made by make_layer, registered as "layers".
template <typename Layer>
ModuleList make_layers(const std::function<Layer()>& make_layer, int64_t num_layers, const char* stack) {
  if (num_layers <= 0) fail<ValueError>(stack, ": num_layers must be positive, got ", num_layers);
  ModuleList layers;
  for (int64_t i = 0; i < num_layers; ++i) layers->push_back(ModulePtr(make_layer()));
  return layers;
}

// A factory of copies of `layer`: same options, its parameter values.
template <typename Layer>
std::function<Layer()> copies_of(const Layer& layer) {
  return [layer] {
    Layer copy(layer->d_model, layer->nhead, layer->options);
    load_state_dict(*copy, layer->state_dict());
    copy->train(layer->is_training());
    return copy;
  };
}

LayerNormOptions norm_options(const TransformerLayerOptions& o) { return {.eps = o.layer_norm_eps}; }

}  // namespace

Tensor square_subsequent_mask(int64_t size) {
  if (size < 0) fail<ValueError>("square_subsequent_mask: size must be non-negative, got ", size);
  Tensor positions = arange(size);
  return where(positions.unsqueeze(1) < positions.unsqueeze(0), -std::numeric_limits<double>::infinity(),
               zeros({size, size}));
}

// --- encoder layer ---

TransformerEncoderLayerImpl::TransformerEncoderLayerImpl(int64_t d_model, int64_t nhead, TransformerLayerOptions o)
    : d_model(d_model),
      nhead(nhead),
      options((check_layer_options("TransformerEncoderLayer", d_model, nhead, o), o)),
      self_attn(register_module("self_attn", std::make_shared<MultiheadAttentionImpl>(
                                                 d_model, nhead, MultiheadAttentionOptions{.dropout = o.dropout, .batch_first = o.batch_first}))),
      linear1(register_module("linear1", std::make_shared<LinearImpl>(d_model, o.dim_feedforward))),
      dropout(register_module("dropout", std::make_shared<DropoutImpl>(o.dropout))),
      linear2(register_module("linear2", std::make_shared<LinearImpl>(o.dim_feedforward, d_model))),
      norm1(register_module("norm1", std::make_shared<LayerNormImpl>(d_model, norm_options(o)))),
      norm2(register_module("norm2", std::make_shared<LayerNormImpl>(d_model, norm_options(o)))),
      dropout1(register_module("dropout1", std::make_shared<DropoutImpl>(o.dropout))),
      dropout2(register_module("dropout2", std::make_shared<DropoutImpl>(o.dropout))) {}

Tensor TransformerEncoderLayerImpl::forward(const Tensor& src, const Tensor& src_mask,
                                            const Tensor& src_key_padding_mask, bool is_causal) {
  auto self_attention = [&](const Tensor& x) {
    return dropout1(attend(self_attn, x, x, src_mask, src_key_padding_mask, is_causal));
  };
  auto ff = [&](const Tensor& x) { return dropout2(feed_forward(x, linear1, dropout, linear2, options.activation)); };
  Tensor x = src;
  if (options.norm_first) {
    x = x + self_attention(norm1(x));
    return x + ff(norm2(x));
  }
  x = norm1(x + self_attention(x));
  return norm2(x + ff(x));
}

// --- decoder layer ---

TransformerDecoderLayerImpl::TransformerDecoderLayerImpl(int64_t d_model, int64_t nhead, TransformerLayerOptions o)
    : d_model(d_model),
      nhead(nhead),
      options((check_layer_options("TransformerDecoderLayer", d_model, nhead, o), o)),
      self_attn(register_module("self_attn", std::make_shared<MultiheadAttentionImpl>(
                                                 d_model, nhead, MultiheadAttentionOptions{.dropout = o.dropout, .batch_first = o.batch_first}))),
      multihead_attn(register_module("multihead_attn", std::make_shared<MultiheadAttentionImpl>(
                                                           d_model, nhead, MultiheadAttentionOptions{.dropout = o.dropout, .batch_first = o.batch_first}))),
      linear1(register_module("linear1", std::make_shared<LinearImpl>(d_model, o.dim_feedforward))),
      dropout(register_module("dropout", std::make_shared<DropoutImpl>(o.dropout))),
      linear2(register_module("linear2", std::make_shared<LinearImpl>(o.dim_feedforward, d_model))),
      norm1(register_module("norm1", std::make_shared<LayerNormImpl>(d_model, norm_options(o)))),
      norm2(register_module("norm2", std::make_shared<LayerNormImpl>(d_model, norm_options(o)))),
      norm3(register_module("norm3", std::make_shared<LayerNormImpl>(d_model, norm_options(o)))),
      dropout1(register_module("dropout1", std::make_shared<DropoutImpl>(o.dropout))),
      dropout2(register_module("dropout2", std::make_shared<DropoutImpl>(o.dropout))),
      dropout3(register_module("dropout3", std::make_shared<DropoutImpl>(o.dropout))) {}

Tensor TransformerDecoderLayerImpl::forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask,
                                            const Tensor& memory_mask, const Tensor& tgt_key_padding_mask,
                                            const Tensor& memory_key_padding_mask, bool tgt_is_causal) {
  auto self_attention = [&](const Tensor& x) {
    return dropout1(attend(self_attn, x, x, tgt_mask, tgt_key_padding_mask, tgt_is_causal));
  };
  auto cross_attention = [&](const Tensor& x) {
    return dropout2(attend(multihead_attn, x, memory, memory_mask, memory_key_padding_mask, false));
  };
  auto ff = [&](const Tensor& x) { return dropout3(feed_forward(x, linear1, dropout, linear2, options.activation)); };
  Tensor x = tgt;
  if (options.norm_first) {
    x = x + self_attention(norm1(x));
    x = x + cross_attention(norm2(x));
    return x + ff(norm3(x));
  }
  x = norm1(x + self_attention(x));
  x = norm2(x + cross_attention(x));
  return norm3(x + ff(x));
}

// --- stacks ---

TransformerEncoderImpl::TransformerEncoderImpl(const TransformerEncoderLayer& layer, int64_t num_layers, ModulePtr norm)
    : TransformerEncoderImpl(num_layers, copies_of(layer), std::move(norm)) {}

TransformerEncoderImpl::TransformerEncoderImpl(int64_t num_layers,
                                               const std::function<TransformerEncoderLayer()>& make_layer, ModulePtr norm)
    : layers(register_module("layers", make_layers(make_layer, num_layers, "TransformerEncoder").ptr())), norm(norm) {
  if (norm) register_module("norm", norm);
}

Tensor TransformerEncoderImpl::forward(const Tensor& src, const Tensor& mask, const Tensor& src_key_padding_mask,
                                       bool is_causal) {
  Tensor x = src;
  for (const ModulePtr& layer : *layers)
    x = std::static_pointer_cast<TransformerEncoderLayerImpl>(layer)->forward(x, mask, src_key_padding_mask, is_causal);
  return norm ? norm->forward(x) : x;
}

TransformerDecoderImpl::TransformerDecoderImpl(const TransformerDecoderLayer& layer, int64_t num_layers, ModulePtr norm)
    : TransformerDecoderImpl(num_layers, copies_of(layer), std::move(norm)) {}

TransformerDecoderImpl::TransformerDecoderImpl(int64_t num_layers,
                                               const std::function<TransformerDecoderLayer()>& make_layer, ModulePtr norm)
    : layers(register_module("layers", make_layers(make_layer, num_layers, "TransformerDecoder").ptr())), norm(norm) {
  if (norm) register_module("norm", norm);
}

Tensor TransformerDecoderImpl::forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask,
                                       const Tensor& memory_mask, const Tensor& tgt_key_padding_mask,
                                       const Tensor& memory_key_padding_mask, bool tgt_is_causal) {
  Tensor x = tgt;
  for (const ModulePtr& layer : *layers)
    x = std::static_pointer_cast<TransformerDecoderLayerImpl>(layer)->forward(
        x, memory, tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask, tgt_is_causal);
  return norm ? norm->forward(x) : x;
}

// --- positional encodings ---

namespace {

// The sequence dim of x for a positional encoding, after checking x's rank and width.
int64_t sequence_dim(const Tensor& x, bool batch_first, int64_t d_model, int64_t max_len, const char* layer) {
  if (x.dim() != 2 && x.dim() != 3)
    fail<ShapeError>(layer, ": expected input [S, N, E], [N, S, E] (batch_first) or [S, E], got shape ", x.sizes());
  if (x.size(-1) != d_model)
    fail<ShapeError>(layer, ": input of shape ", x.sizes(), " does not end in d_model ", d_model);
  int64_t dim = batch_first && x.dim() == 3 ? 1 : 0;
  if (x.size(dim) > max_len)
    fail<ShapeError>(layer, ": sequence length ", x.size(dim), " exceeds max_len ", max_len);
  return dim;
}

// The first `length` rows of a [max_len, E] table, shaped to add to x.
Tensor table_rows(const Tensor& table, const Tensor& x, int64_t seq_dim) {
  Tensor rows = table.narrow(0, 0, x.size(seq_dim));
  return x.dim() == 3 && seq_dim == 0 ? rows.unsqueeze(1) : rows;
}

}  // namespace

PositionalEncodingImpl::PositionalEncodingImpl(int64_t d_model, PositionalEncodingOptions o)
    : d_model(d_model), options(o) {
  if (d_model <= 0 || o.max_len <= 0)
    fail<ValueError>("PositionalEncoding: d_model and max_len must be positive, got ", d_model, " and ", o.max_len);
  if (o.dropout < 0 || o.dropout > 1) fail<ValueError>("PositionalEncoding: dropout must be in [0, 1], got ", o.dropout);
  Tensor table = empty({o.max_len, d_model}, {.dtype = DType::f64});
  double* values = table.data_ptr<double>();
  for (int64_t pos = 0; pos < o.max_len; ++pos)
    for (int64_t i = 0; i < d_model; ++i) {
      // Columns 2k and 2k + 1 share the frequency 10000^(-2k / d_model).
      double angle = pos * std::exp(-std::log(10000.0) * static_cast<double>(i - i % 2) / static_cast<double>(d_model));
      values[pos * d_model + i] = i % 2 == 0 ? std::sin(angle) : std::cos(angle);
    }
  register_buffer("pe", pe, table.to(DType::f32));
}

Tensor PositionalEncodingImpl::forward(const Tensor& x) {
  int64_t seq = sequence_dim(x, options.batch_first, d_model, options.max_len, "PositionalEncoding");
  return cajal::dropout(x + table_rows(pe, x, seq), options.dropout, is_training());
}

LearnedPositionalEncodingImpl::LearnedPositionalEncodingImpl(int64_t max_len, int64_t d_model,
                                                             LearnedPositionalEncodingOptions o)
    : max_len(max_len), d_model(d_model), options(o) {
  if (d_model <= 0 || max_len <= 0)
    fail<ValueError>("LearnedPositionalEncoding: max_len and d_model must be positive, got ", max_len, " and ", d_model);
  register_parameter("weight", weight, empty({max_len, d_model}));
  init::normal_(weight);
}

Tensor LearnedPositionalEncodingImpl::forward(const Tensor& x) {
  int64_t seq = sequence_dim(x, options.batch_first, d_model, max_len, "LearnedPositionalEncoding");
  return x + table_rows(weight, x, seq);
}

}  // namespace cajal::nn
