#pragma once
// Normalization: batch, layer, group and instance norm, as torch.nn.functional.
//
// Each subtracts a mean and divides by sqrt(variance + eps) (the biased variance), then
// scales by weight and shifts by bias. weight and bias are optional (an undefined Tensor
// leaves the values unscaled or unshifted). Inputs are [N, C, ...] with channels at dim 1,
// except for layer_norm. Float32 and float64 inputs of any layout run fused kernels; the
// first-order backward is fused too, and when backward is recorded (create_graph) it is
// built from differentiable ops, so second derivatives work.
#include <optional>

#include "cajal/core/tensor.h"

namespace cajal {

// x: [N, C], [N, C, L], [N, C, H, W] (any rank >= 2). Per-channel tensors have C values.
// training: normalizes with the batch's statistics per channel (over N and the spatial
//   dims). When running_mean and running_var are given they are updated in place, without
//   recording: running = (1 - momentum) * running + momentum * batch statistic, with the
//   unbiased batch variance. num_batches_tracked (int64, one element), when given, is
//   incremented; momentum = nullopt then weighs every batch equally (momentum
//   1 / num_batches_tracked), as nn.BatchNorm's momentum=None.
// eval (training = false): normalizes with running_mean and running_var.
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight = {},
                  const Tensor& bias = {}, bool training = false, std::optional<double> momentum = 0.1,
                  double eps = 1e-5, const Tensor& num_batches_tracked = {});

// Normalizes over the last normalized_shape.size() dims, which must equal normalized_shape;
// weight and bias have normalized_shape (one value per normalized element).
Tensor layer_norm(const Tensor& x, const Dims& normalized_shape, const Tensor& weight = {}, const Tensor& bias = {},
                  double eps = 1e-5);

// Splits the C channels into num_groups groups of consecutive channels and normalizes each
// sample's group; weight and bias have C values.
Tensor group_norm(const Tensor& x, int64_t num_groups, const Tensor& weight = {}, const Tensor& bias = {},
                  double eps = 1e-5);

// Normalizes each sample's channel over its spatial dims (x: [N, C, L] or [N, C, H, W]).
// With use_input_stats and running_mean/running_var given, the running statistics move
// toward the samples' average statistics (unbiased variance), like batch_norm's; without
// use_input_stats the running statistics normalize instead.
Tensor instance_norm(const Tensor& x, const Tensor& running_mean = {}, const Tensor& running_var = {},
                     const Tensor& weight = {}, const Tensor& bias = {}, bool use_input_stats = true,
                     double momentum = 0.1, double eps = 1e-5);

}  // namespace cajal
