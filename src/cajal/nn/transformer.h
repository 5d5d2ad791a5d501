#pragma once
// Transformer layers and stacks, as torch.nn's TransformerEncoderLayer, TransformerDecoderLayer,
// TransformerEncoder and TransformerDecoder: the same options, child names (self_attn,
// multihead_attn, linear1, dropout, linear2, norm1..3, dropout1..3, layers.0..., norm) and
// results; and positional encodings.
//   nn::TransformerEncoderLayer layer(256, 4, {.dim_feedforward = 1024, .batch_first = true});
//   nn::TransformerEncoder encoder(layer, 6, nn::LayerNorm(256));   // 6 copies of layer, final norm
//   nn::TransformerEncoder fresh(6, [] { return nn::TransformerEncoderLayer(256, 4); });  // 6 new layers
//   Tensor y = encoder->forward(x, {}, padding, /*is_causal=*/true);
//
// Masks follow MultiheadAttention's conventions (bool true = NOT allowed / padding; float
// added); see nn/attention.h. square_subsequent_mask(n) gives the causal float mask.
// norm_first (pre-norm): x + block(norm(x)); otherwise (post-norm): norm(x + block(x)).
// Inputs are [S, N, E] ([N, S, E] with batch_first) or unbatched [S, E].
// (torch 1.13's nested-tensor fast path for padded batches in inference returns zeros at
// padded positions; cajal, like torch's regular path, returns the computed values there.)
#include <functional>
#include <string>

#include "cajal/nn/attention.h"
#include "cajal/nn/container.h"
#include "cajal/nn/dropout.h"
#include "cajal/nn/linear.h"
#include "cajal/nn/norm.h"

namespace cajal::nn {

struct TransformerLayerOptions {
  int64_t dim_feedforward = 2048;
  double dropout = 0.1;
  std::string activation = "relu";  // "relu" or "gelu"
  double layer_norm_eps = 1e-5;
  bool batch_first = false;
  bool norm_first = false;
};

// Float [size, size]: 0 on and below the diagonal, -inf above (torch's
// Transformer.generate_square_subsequent_mask); an attn_mask for causal attention.
Tensor square_subsequent_mask(int64_t size);

class TransformerEncoderLayerImpl : public Module {
 public:
  using Options = TransformerLayerOptions;
  TransformerEncoderLayerImpl(int64_t d_model, int64_t nhead, TransformerLayerOptions options = {});
  std::string name() const override { return "TransformerEncoderLayer"; }
  Tensor forward(const Tensor& src, const Tensor& src_mask, const Tensor& src_key_padding_mask = {},
                 bool is_causal = false);
  Tensor forward(const Tensor& src) override { return forward(src, {}); }

  const int64_t d_model, nhead;
  const TransformerLayerOptions options;
  MultiheadAttention self_attn;
  Linear linear1;
  Dropout dropout;
  Linear linear2;
  LayerNorm norm1, norm2;
  Dropout dropout1, dropout2;
};
CAJAL_MODULE(TransformerEncoderLayer);

class TransformerDecoderLayerImpl : public Module {
 public:
  using Options = TransformerLayerOptions;
  TransformerDecoderLayerImpl(int64_t d_model, int64_t nhead, TransformerLayerOptions options = {});
  std::string name() const override { return "TransformerDecoderLayer"; }
  using Module::forward;
  // tgt attends to itself (tgt_mask, tgt_key_padding_mask, tgt_is_causal), then to memory
  // (memory_mask [T, S], memory_key_padding_mask [N, S]).
  Tensor forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask = {}, const Tensor& memory_mask = {},
                 const Tensor& tgt_key_padding_mask = {}, const Tensor& memory_key_padding_mask = {},
                 bool tgt_is_causal = false);

  const int64_t d_model, nhead;
  const TransformerLayerOptions options;
  MultiheadAttention self_attn, multihead_attn;
  Linear linear1;
  Dropout dropout;
  Linear linear2;
  LayerNorm norm1, norm2, norm3;
  Dropout dropout1, dropout2, dropout3;
};
CAJAL_MODULE(TransformerDecoderLayer);

// A stack of encoder layers ("layers.0", ...) and an optional final norm ("norm").
class TransformerEncoderImpl : public Module {
 public:
  // num_layers copies of `layer` (its options and its current parameter values, as torch's
  // deep copies); norm may be null.
  TransformerEncoderImpl(const TransformerEncoderLayer& layer, int64_t num_layers, ModulePtr norm = nullptr);
  // num_layers layers, each made by make_layer (so each draws its own initial values). The
  // count comes first here, so that a layer is never mistaken for a factory.
  TransformerEncoderImpl(int64_t num_layers, const std::function<TransformerEncoderLayer()>& make_layer,
                         ModulePtr norm = nullptr);
  std::string name() const override { return "TransformerEncoder"; }
  Tensor forward(const Tensor& src, const Tensor& mask, const Tensor& src_key_padding_mask = {}, bool is_causal = false);
  Tensor forward(const Tensor& src) override { return forward(src, {}); }

  ModuleList layers;
  ModulePtr norm;
};
CAJAL_MODULE(TransformerEncoder);

class TransformerDecoderImpl : public Module {
 public:
  TransformerDecoderImpl(const TransformerDecoderLayer& layer, int64_t num_layers, ModulePtr norm = nullptr);
  TransformerDecoderImpl(int64_t num_layers, const std::function<TransformerDecoderLayer()>& make_layer,
                         ModulePtr norm = nullptr);
  std::string name() const override { return "TransformerDecoder"; }
  using Module::forward;
  Tensor forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask = {}, const Tensor& memory_mask = {},
                 const Tensor& tgt_key_padding_mask = {}, const Tensor& memory_key_padding_mask = {},
                 bool tgt_is_causal = false);

  ModuleList layers;
  ModulePtr norm;
};
CAJAL_MODULE(TransformerDecoder);

struct PositionalEncodingOptions {
  int64_t max_len = 5000;
  double dropout = 0.1;
  bool batch_first = false;
};

// Adds the sinusoidal encoding of "Attention Is All You Need" (the PyTorch tutorial's
// PositionalEncoding), then dropout:
//   pe[pos, 2i] = sin(pos / 10000^(2i / d_model)),  pe[pos, 2i + 1] = cos(pos / 10000^(2i / d_model)).
// The table is computed in float64 and kept as the float32 buffer "pe" [max_len, d_model].
// Input [S, N, E] ([N, S, E] with batch_first) or [S, E], with S <= max_len.
class PositionalEncodingImpl : public Module {
 public:
  using Options = PositionalEncodingOptions;
  PositionalEncodingImpl(int64_t d_model, PositionalEncodingOptions options = {});
  std::string name() const override { return "PositionalEncoding"; }
  Tensor forward(const Tensor& x) override;

  const int64_t d_model;
  const PositionalEncodingOptions options;
  Tensor pe;
};
CAJAL_MODULE(PositionalEncoding);

struct LearnedPositionalEncodingOptions {
  bool batch_first = false;
};

// Adds a learned vector per position: the parameter "weight" [max_len, d_model], drawn from
// N(0, 1) like nn.Embedding's. Input shapes as PositionalEncoding's.
class LearnedPositionalEncodingImpl : public Module {
 public:
  using Options = LearnedPositionalEncodingOptions;
  LearnedPositionalEncodingImpl(int64_t max_len, int64_t d_model, LearnedPositionalEncodingOptions options = {});
  std::string name() const override { return "LearnedPositionalEncoding"; }
  Tensor forward(const Tensor& x) override;

  const int64_t max_len, d_model;
  const LearnedPositionalEncodingOptions options;
  Tensor weight;
};
CAJAL_MODULE(LearnedPositionalEncoding);

}  // namespace cajal::nn
