// MultiheadAttention: input projections, heads as strided views, scaled dot-product attention
// with the module's masks turned into sdpa's, and the output projection.
#include "cajal/nn/attention.h"

#include <limits>

#include "cajal/nn/init.h"
#include "cajal/ops/attention.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/linalg.h"
#include "cajal/ops/reduce.h"

namespace cajal::nn {

namespace {

constexpr const char* kOp = "MultiheadAttention";

// The rows [start, start + E) of a packed projection weight or bias (undefined stays undefined).
Tensor rows(const Tensor& t, int64_t start, int64_t count) { return t.defined() ? t.narrow(0, start, count) : t; }

// q, k and v projected. With the packed weight, self-attention takes one GEMM for all three
// and key == value one GEMM for k and v; q, k and v are then column blocks of one product.
ProjectedQKV project(const Tensor& query, const Tensor& key, const Tensor& value, const MultiheadAttentionWeights& w,
                     int64_t E, bool self_attention, bool shared_kv) {
  const Tensor& b = w.in_proj_bias;
  if (!w.in_proj_weight.defined())
    return {{linear(query, w.q_proj_weight, rows(b, 0, E)), linear(key, w.k_proj_weight, rows(b, E, E)),
             linear(value, w.v_proj_weight, rows(b, 2 * E, E))},
            {0, 0}, {1, 0}, {2, 0}};
  const Tensor& W = w.in_proj_weight;
  if (self_attention) return {{linear(query, W, b)}, {0, 0}, {0, E}, {0, 2 * E}};
  Tensor q = linear(query, rows(W, 0, E), rows(b, 0, E));
  if (shared_kv) return {{q, linear(key, rows(W, E, 2 * E), rows(b, E, 2 * E))}, {0, 0}, {1, 0}, {1, E}};
  return {{q, linear(key, rows(W, E, E), rows(b, E, E)), linear(value, rows(W, 2 * E, E), rows(b, 2 * E, E))},
          {0, 0}, {1, 0}, {2, 0}};
}

// A module mask as an additive float one: bool true (masked) becomes -inf, false 0; float
// masks are added as they are. (Like torch's module, which converts bool masks this way, so
// a query with no key left gets NaN gradients, not the zeros of sdpa's bool masks.)
Tensor additive_mask(const Tensor& mask, DType dtype) {
  if (mask.dtype() == DType::boolean) return where(mask, scalar_tensor(-std::numeric_limits<double>::infinity(), dtype), 0.0);
  if (!is_floating(mask.dtype()))
    fail<DTypeError>(kOp, ": masks must be bool or floating, got ", dtype_name(mask.dtype()));
  return mask.dtype() == dtype ? mask : mask.to(dtype);
}

// The attention mask and the key padding mask merged into one additive mask that
// broadcasts to [N, H, L, S] (undefined when neither is given).
Tensor merge_masks(const Tensor& attn_mask, const Tensor& key_padding_mask, int64_t N, int64_t H, int64_t L, int64_t S,
                   DType dtype) {
  Tensor merged;
  if (attn_mask.defined()) {
    if (attn_mask.dim() == 2) {
      if (attn_mask.size(0) != L || attn_mask.size(1) != S)
        fail<ShapeError>(kOp, ": the 2-D attn_mask has shape ", attn_mask.sizes(), ", expected [L, S] = [", L, ", ", S, "]");
      merged = additive_mask(attn_mask, dtype);
    } else if (attn_mask.dim() == 3) {
      if (attn_mask.size(0) != N * H || attn_mask.size(1) != L || attn_mask.size(2) != S)
        fail<ShapeError>(kOp, ": the 3-D attn_mask has shape ", attn_mask.sizes(), ", expected [N * num_heads, L, S] = [",
                         N * H, ", ", L, ", ", S, "]");
      merged = additive_mask(attn_mask, dtype).view({N, H, L, S});
    } else {
      fail<ShapeError>(kOp, ": attn_mask must be 2-D [L, S] or 3-D [N * num_heads, L, S], got shape ", attn_mask.sizes());
    }
  }
  if (key_padding_mask.defined()) {
    if (key_padding_mask.dim() != 2 || key_padding_mask.size(0) != N || key_padding_mask.size(1) != S)
      fail<ShapeError>(kOp, ": key_padding_mask has shape ", key_padding_mask.sizes(), ", expected [N, S] = [", N, ", ",
                       S, "]");
    Tensor padding = additive_mask(key_padding_mask, dtype).view({N, 1, 1, S});
    merged = merged.defined() ? merged + padding : padding;
  }
  return merged;
}

void check_same_dims(const Tensor& query, const Tensor& key, const Tensor& value) {
  check_defined(kOp, query, key, value);
  if ((query.dim() != 2 && query.dim() != 3) || key.dim() != query.dim() || value.dim() != query.dim())
    fail<ShapeError>(kOp, ": query, key and value must all be 3-D (batched) or all 2-D (unbatched), got shapes ",
                     query.sizes(), ", ", key.sizes(), " and ", value.sizes());
}

}  // namespace

AttentionOutput multi_head_attention_forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                             int64_t num_heads, const MultiheadAttentionWeights& w,
                                             const Tensor& key_padding_mask, bool need_weights, const Tensor& attn_mask,
                                             bool average_attn_weights, bool is_causal, double dropout_p,
                                             bool batch_first) {
  check_same_dims(query, key, value);
  const bool self_attention = query.is_same(key) && key.is_same(value);
  const bool shared_kv = key.is_same(value);
  // Unbatched inputs get a batch dim of 1 (and lose it again at the end).
  const bool batched = query.dim() == 3;
  const int64_t batch_dim = batch_first ? 0 : 1, seq_dim = batch_first ? 1 : 0;
  auto batch = [&](const Tensor& t) { return batched ? t : t.unsqueeze(batch_dim); };
  Tensor q_in = batch(query), k_in = self_attention ? q_in : batch(key), v_in = shared_kv ? k_in : batch(value);
  Tensor padding = key_padding_mask.defined() && !batched ? key_padding_mask.unsqueeze(0) : key_padding_mask;

  const int64_t N = q_in.size(batch_dim), L = q_in.size(seq_dim), S = k_in.size(seq_dim), E = q_in.size(2);
  if (!w.out_proj_weight.defined() || w.out_proj_weight.dim() != 2 || w.out_proj_weight.size(0) != E)
    fail<ShapeError>(kOp, ": query has embed_dim ", E, " but out_proj_weight has shape ",
                     w.out_proj_weight.defined() ? w.out_proj_weight.sizes() : Dims{}, " (expected [", E, ", ", E, "])");
  if (num_heads <= 0 || E % num_heads != 0)
    fail<ValueError>(kOp, ": embed_dim ", E, " is not divisible by num_heads ", num_heads);
  if (k_in.size(batch_dim) != N || v_in.size(batch_dim) != N || v_in.size(seq_dim) != S)
    fail<ShapeError>(kOp, ": query, key and value of shapes ", query.sizes(), ", ", key.sizes(), " and ", value.sizes(),
                     " disagree in batch size or key/value length");

  ProjectedQKV p = project(q_in, k_in, v_in, w, E, self_attention, shared_kv);
  Tensor mask = merge_masks(attn_mask, padding, N, num_heads, L, S, p.inputs[0].dtype());
  // is_causal only stands for a mask when none is given (otherwise it is torch's hint).
  bool causal = is_causal && !attn_mask.defined();
  Tensor heads_out, weights;
  if (need_weights) {
    // The weights are an output with a gradient of their own: attention from differentiable
    // pieces, on heads viewed in the projections.
    auto view = [&](const HeadBlock& b) { return heads_view(p.inputs[b.input], b.offset, E, num_heads, batch_first); };
    AttentionWithWeights a = attention_with_weights(view(p.q), view(p.k), view(p.v), mask, causal, dropout_p, nullptr, kOp);
    heads_out = merge_heads(a.output, batch_first);
    weights = average_attn_weights ? a.weights.mean({1}) : a.weights;
    if (!batched) weights = weights.squeeze(0);
  } else {
    heads_out = multi_head_attention(p, num_heads, E, batch_first, mask, causal, dropout_p);
  }
  Tensor out = linear(heads_out, w.out_proj_weight, w.out_proj_bias);
  return {batched ? out : out.squeeze(batch_dim), weights};
}

MultiheadAttentionImpl::MultiheadAttentionImpl(int64_t embed_dim, int64_t num_heads, MultiheadAttentionOptions o)
    : embed_dim(embed_dim),
      num_heads(num_heads),
      head_dim(num_heads > 0 ? embed_dim / num_heads : 0),
      kdim(o.kdim > 0 ? o.kdim : embed_dim),
      vdim(o.vdim > 0 ? o.vdim : embed_dim),
      options(o) {
  if (embed_dim <= 0) fail<ValueError>(kOp, ": embed_dim must be positive, got ", embed_dim);
  if (num_heads <= 0 || embed_dim % num_heads != 0)
    fail<ValueError>(kOp, ": embed_dim ", embed_dim, " is not divisible by num_heads ", num_heads);
  if (o.kdim < 0 || o.vdim < 0) fail<ValueError>(kOp, ": kdim and vdim must be non-negative, got ", o.kdim, " and ", o.vdim);
  if (o.dropout < 0 || o.dropout > 1) fail<ValueError>(kOp, ": dropout must be in [0, 1], got ", o.dropout);
  if (kdim == embed_dim && vdim == embed_dim) {
    register_parameter("in_proj_weight", in_proj_weight, empty({3 * embed_dim, embed_dim}));
  } else {
    register_parameter("q_proj_weight", q_proj_weight, empty({embed_dim, embed_dim}));
    register_parameter("k_proj_weight", k_proj_weight, empty({embed_dim, kdim}));
    register_parameter("v_proj_weight", v_proj_weight, empty({embed_dim, vdim}));
  }
  if (o.bias) register_parameter("in_proj_bias", in_proj_bias, empty({3 * embed_dim}));
  out_proj = register_module("out_proj", std::make_shared<LinearImpl>(embed_dim, embed_dim, LinearOptions{o.bias}));
  reset_parameters();
}

void MultiheadAttentionImpl::reset_parameters(Generator* gen) {
  for (const Tensor& weight : {in_proj_weight, q_proj_weight, k_proj_weight, v_proj_weight})
    if (weight.defined()) init::xavier_uniform_(weight, 1, gen);
  if (in_proj_bias.defined()) init::zeros_(in_proj_bias);
  if (out_proj->bias().defined()) init::zeros_(out_proj->bias());
}

MultiheadAttentionWeights MultiheadAttentionImpl::weights() const {
  return {in_proj_weight, q_proj_weight, k_proj_weight, v_proj_weight, in_proj_bias, out_proj->weight(), out_proj->bias()};
}

AttentionOutput MultiheadAttentionImpl::forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                                const Tensor& key_padding_mask, bool need_weights,
                                                const Tensor& attn_mask, bool average_attn_weights, bool is_causal) {
  check_same_dims(query, key, value);
  const int64_t key_features = key.size(-1), value_features = value.size(-1);
  if (query.size(-1) != embed_dim || key_features != kdim || value_features != vdim)
    fail<ShapeError>(kOp, ": expected query, key and value features ", embed_dim, ", ", kdim, " and ", vdim,
                     ", got shapes ", query.sizes(), ", ", key.sizes(), " and ", value.sizes());
  const double dropout_p = is_training() ? options.dropout : 0;
  if (!record_weights_) {
    return multi_head_attention_forward(query, key, value, num_heads, weights(), key_padding_mask, need_weights,
                                        attn_mask, average_attn_weights, is_causal, dropout_p, options.batch_first);
  }
  AttentionOutput result = multi_head_attention_forward(query, key, value, num_heads, weights(), key_padding_mask, true,
                                                        attn_mask, false, is_causal, dropout_p, options.batch_first);
  recorded_weights.push_back(result.weights.detach());
  if (!need_weights) result.weights = Tensor();
  else if (average_attn_weights) result.weights = result.weights.mean({result.weights.dim() - 3});
  return result;
}

}  // namespace cajal::nn
