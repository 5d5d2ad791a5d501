#pragma once
// Scaled dot-product attention, as PyTorch 2's torch.nn.functional.scaled_dot_product_attention:
//   softmax(q k^T / sqrt(E) + mask) v
// for q [..., L, E], k [..., S, E], v [..., S, Ev] (batch dims broadcast), giving [..., L, Ev].
// The scores come from one batched GEMM, the scale and the masks are applied inside one fused
// softmax pass, and the weights meet v in a second batched GEMM. Differentiable in q, k, v
// and a float mask, second derivatives included.
//
// Mask conventions (those of torch's sdpa; MultiheadAttention's differ, see nn/attention.h):
//   bool attn_mask:  true = the query MAY attend to that key; false positions score -inf.
//   float attn_mask: added to the scaled scores.
// The mask broadcasts to [..., L, S]. is_causal masks key j for query i when j > i (the
// top-left aligned lower triangle, torch's convention for L != S); it cannot be combined
// with attn_mask (as in torch). A query that may attend to no key at all gets NaN weights and
// a NaN output row, as PyTorch gives.
// Dropout with probability dropout_p is applied to the weights whenever dropout_p > 0 (as in
// torch, sdpa has no training flag), drawing from gen (the default generator when null).
#include "cajal/core/generator.h"
#include "cajal/core/tensor.h"

namespace cajal {

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const Tensor& attn_mask = {}, double dropout_p = 0, bool is_causal = false,
                                    Generator* gen = nullptr);

// bool [size, size], true on and below the diagonal: the keys each query MAY attend to
// (sdpa's convention; for MultiheadAttention, whose bool masks mark what is NOT allowed, pass
// logical_not(causal_mask(n)), or is_causal = true).
Tensor causal_mask(int64_t size);

// The output and the attention weights (after dropout), [..., L, S]: what MultiheadAttention
// needs when it returns the weights. Unlike the public op, mask and causal may be combined.
struct AttentionWithWeights {
  Tensor output, weights;
};
AttentionWithWeights attention_with_weights(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                                            bool causal, double dropout_p, Generator* gen,
                                            const char* op = "scaled_dot_product_attention");

// Where q, k or v lies among the inputs of multi_head_attention: which input holds it, and
// the first of its embed_dim columns there.
struct HeadBlock {
  size_t input = 0;
  int64_t offset = 0;
};
// Projected queries, keys and values: inputs [L or S, N, columns] ([N, L or S, columns] with
// batch_first), and the block of each.
struct ProjectedQKV {
  TensorList inputs;
  HeadBlock q, k, v;
};

// The [N, heads, L, embed_dim / heads] view of one block of a projection: what the batched
// GEMMs read in place (no copy).
Tensor heads_view(const Tensor& projection, int64_t offset, int64_t embed_dim, int64_t heads, bool batch_first);
// The inverse: [N, heads, L, D] -> [L, N, heads * D] ([N, L, heads * D] with batch_first), one copy.
Tensor merge_heads(const Tensor& heads, bool batch_first);

// Multi-head attention between MultiheadAttention's input and output projections, when the
// weights are not returned: each head attends with its own embed_dim / heads columns of q,
// k and v, and the result [L, N, embed_dim] ([N, L, embed_dim] with batch_first) has the
// heads side by side. mask is in sdpa's convention and broadcasts to [N, heads, L, S].
// One fused op: the last GEMM writes the output in the layout the output projection reads,
// and backward writes each input's gradient block by block with the GEMMs themselves, so a
// [L, N, 3E] self-attention projection that holds q, k and v gets its gradient without
// zero-filled buffers, copies or sums.
Tensor multi_head_attention(const ProjectedQKV& qkv, int64_t heads, int64_t embed_dim, bool batch_first,
                            const Tensor& mask, bool causal, double dropout_p, Generator* gen = nullptr);

}  // namespace cajal
