#pragma once
// Multi-head attention, as torch.nn.MultiheadAttention: the same options, parameter names
// (in_proj_weight, in_proj_bias, out_proj.weight, out_proj.bias; q_proj_weight, k_proj_weight,
// v_proj_weight when kdim or vdim differ from embed_dim), initialization and results.
//   nn::MultiheadAttention mha(256, 4, {.batch_first = true});
//   auto [out, weights] = mha->forward(x, x, x);   // self-attention
//
// Shapes (batch_first swaps the first two dims of query, key and value):
//   query [L, N, E], key [S, N, kdim], value [S, N, vdim] -> output [L, N, E];
//   unbatched query [L, E], key [S, kdim], value [S, vdim] -> output [L, E].
// Mask conventions are those of torch's module (sdpa's bool masks are the opposite):
//   key_padding_mask [N, S] (unbatched [S]): bool true = that key is padding, not attended;
//     float values are added to the scores.
//   attn_mask [L, S] or [N * num_heads, L, S]: bool true = NOT allowed to attend; float added.
//   is_causal: with no attn_mask, key j is masked for query i when j > i; with an attn_mask,
//     it is only a hint that the mask is causal, and the mask is used (as torch 2's).
// A query with every key masked gets NaN outputs (and weights), as in PyTorch.
// Weights (need_weights): the softmax probabilities after dropout, averaged over the heads
// [N, L, S] or per head [N, num_heads, L, S] (unbatched: without N).
//
// Speed: self-attention (query, key and value the same tensor) projects q, k and v with one
// GEMM; heads are strided views that the batched GEMMs read in place; the scale and masks are
// fused into the softmax (ops/attention.h).
#include "cajal/nn/linear.h"
#include "cajal/nn/module.h"

namespace cajal::nn {

struct MultiheadAttentionOptions {
  double dropout = 0;       // on the attention weights, in training mode
  bool bias = true;         // in_proj_bias and out_proj.bias
  bool batch_first = false;
  int64_t kdim = 0, vdim = 0;  // key and value features; 0 means embed_dim
};

// What MultiheadAttention returns (torch's (attn_output, attn_output_weights)); weights is
// undefined unless need_weights.
struct AttentionOutput {
  Tensor output;
  Tensor weights;
};

// The projections of multi_head_attention_forward: in_proj_weight [3E, E] (packed), or
// q_proj_weight [E, E], k_proj_weight [E, kdim] and v_proj_weight [E, vdim] when it is
// undefined; in_proj_bias [3E] (optional); out_proj_weight [E, E], out_proj_bias [E] (optional).
struct MultiheadAttentionWeights {
  Tensor in_proj_weight{}, q_proj_weight{}, k_proj_weight{}, v_proj_weight{}, in_proj_bias{};
  Tensor out_proj_weight{}, out_proj_bias{};
};

// The module's math without state (torch's F.multi_head_attention_forward), for weights of
// any floating dtype (float64 gradient checks). dropout_p applies to the weights when > 0.
AttentionOutput multi_head_attention_forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                             int64_t num_heads, const MultiheadAttentionWeights& weights,
                                             const Tensor& key_padding_mask = {}, bool need_weights = true,
                                             const Tensor& attn_mask = {}, bool average_attn_weights = true,
                                             bool is_causal = false, double dropout_p = 0, bool batch_first = false);

class MultiheadAttentionImpl : public Module {
 public:
  using Options = MultiheadAttentionOptions;
  MultiheadAttentionImpl(int64_t embed_dim, int64_t num_heads, MultiheadAttentionOptions options = {});
  std::string name() const override { return "MultiheadAttention"; }
  using Module::forward;
  AttentionOutput forward(const Tensor& query, const Tensor& key, const Tensor& value,
                          const Tensor& key_padding_mask = {}, bool need_weights = true, const Tensor& attn_mask = {},
                          bool average_attn_weights = true, bool is_causal = false);
  // Draws new initial values as torch: xavier_uniform_ projections, zero biases (out_proj's
  // weight keeps Linear's initialization).
  void reset_parameters(Generator* gen = nullptr);
  MultiheadAttentionWeights weights() const;
  // While on, every forward appends its attention weights per head, [N, H, L, S] (detached,
  // after dropout), to recorded_weights, whatever its caller asked for: the attention maps
  // of interpretability (explain/attention.h), read from layers that ask for no weights.
  void record_weights(bool on) { record_weights_ = on; }
  std::vector<Tensor> recorded_weights;

  const int64_t embed_dim, num_heads, head_dim, kdim, vdim;
  const MultiheadAttentionOptions options;
  Tensor in_proj_weight{}, q_proj_weight{}, k_proj_weight{}, v_proj_weight{}, in_proj_bias{};
  Linear out_proj{std::shared_ptr<LinearImpl>()};  // set in the constructor, after the projections (torch's order)

 private:
  bool record_weights_ = false;
};
CAJAL_MODULE(MultiheadAttention);

}  // namespace cajal::nn
