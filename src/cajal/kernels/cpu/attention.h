#pragma once
// The softmax of attention scores with the scale and the masks applied in the same pass
// (one read of the scores, one write of the probabilities), and its first-order backward.
// No autograd: ops/attention.cpp checks shapes and dtypes and records gradients.
#include "cajal/core/tensor.h"

namespace cajal::kernels {

// out = softmax(scale * scores + mask) along the last dim, where
//   scores, out: contiguous [..., L, S] of one floating dtype;
//   mask: undefined, or a view with scores' shape (broadcast strides allowed), either bool
//     (false: the position may not be attended, it scores -inf) or of scores' dtype (added);
//   causal: in row i of each [L, S] matrix, the positions j > i score -inf too.
// A row whose every position is masked has no finite maximum and comes out NaN, as in PyTorch.
void attention_softmax(const Tensor& scores, const Tensor& mask, bool causal, double scale, const Tensor& out);

// grad_scores = scale * y * (g - sum(g * y)) along the last dim, with y the softmax output
// (g, y and grad_scores contiguous, one shape), and 0 at the positions a bool mask or the
// causal limit removed (mask and causal as in the forward; a float mask is ignored here).
// Those positions were constants, so they get no gradient even in a row left with no
// position at all, whose probabilities are NaN (as in PyTorch's sdpa, which masks with
// masked_fill).
void attention_softmax_backward(const Tensor& g, const Tensor& y, const Tensor& mask, bool causal, double scale,
                                const Tensor& grad_scores);

}  // namespace cajal::kernels
