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

}  // namespace cajal
