#pragma once
// Cross entropy from logits against class indices, fused: log-sum-exp, the target's pick
// and label smoothing in one pass over the logits, and the first-order gradient
// (softmax - one_hot, weighted and smoothed) in one more. No autograd: ops/loss.cpp checks
// shapes, dtypes and targets first.
#include <optional>

#include "cajal/core/tensor.h"

namespace cajal::kernels {

// The logits are a contiguous float32/float64 tensor seen as [outer, C, inner] (C the
// class dim), so there are P = outer * inner positions p = o * inner + j, each with the C
// logits x[o, :, j]. Per position:
//   lse_p    = log sum_c exp(x_c)
//   loss_p   = (1 - s) w_t (lse_p - x_t) + (s / C) sum_c w_c (lse_p - x_c)
//   weight_p = w_t
// t = target[p], w the class weights (all ones when class_weight is undefined), s the
// label smoothing. Positions whose target is ignore_index get loss 0 and weight 0.
struct CrossEntropyTargets {
  Tensor target;        // contiguous int64, P values, each in [0, C) or ignore_index
  Tensor class_weight;  // contiguous, C values of the logits' dtype, or undefined
  int64_t ignore_index = -100;
  double label_smoothing = 0;
};

// Writes loss, lse and weight (contiguous, P values of the logits' dtype).
void cross_entropy(const Tensor& logits, int64_t class_dim, const CrossEntropyTargets& targets, const Tensor& loss,
                   const Tensor& lse, const Tensor& weight);

// The gradient of sum_p g_p * scale * loss_p with respect to the logits:
//   grad_x[c] = g_p * scale * (((1 - s) w_t + (s / C) W) softmax_c - (s / C) w_c - [c == t] (1 - s) w_t)
// with W = sum_c w_c and softmax_c = exp(x_c - lse_p); 0 at ignored positions. g holds one value (used for every
// position) or P values; lse is cross_entropy's. grad_x is contiguous, shaped as logits.
void cross_entropy_backward(const Tensor& logits, int64_t class_dim, const CrossEntropyTargets& targets,
                            const Tensor& lse, const Tensor& g, double scale, const Tensor& grad_x);

// The first target (row-major order) that is neither in [0, classes) nor ignore_index;
// target is contiguous int64.
std::optional<int64_t> first_invalid_class(const Tensor& target, int64_t classes, int64_t ignore_index);

}  // namespace cajal::kernels
