#pragma once
// Normalization kernels (batch, layer, group and instance norm): statistics, the
// normalizing pass and the fused first-order backward.
//
// Every tensor is contiguous, float32 or float64, and x is seen as [n, c, s]: n samples,
// c channels, s elements per channel (the spatial size; 1 for [N, C] inputs and for layer
// norm, whose "channels" are the normalized elements). Channel k is scaled by weight[k]
// and shifted by bias[k] (both always given: ones and zeros when the layer has none).
// Statistics are the mean and the biased variance, accumulated in float64; normalizing
// divides by sqrt(var + eps).
#include "cajal/core/tensor.h"

namespace cajal::kernels {

struct NormShape {
  int64_t n = 1, c = 1, s = 1;
};

// --- statistics per channel, over the samples and the spatial dims (batch norm) ---

// mean[k] and var[k] over the n * s values of channel k, and
// y = (x - mean) / sqrt(var + eps) * weight + bias. One parallel pass over the channels:
// each channel (or block of channels, when they hold few values per sample) is read for
// the mean, for the variance and for y while its values are in cache.
void batch_norm(const Tensor& x, NormShape shape, const Tensor& weight, const Tensor& bias, double eps,
                const Tensor& y, const Tensor& mean, const Tensor& var);

// The first-order backward of batch_norm, from its input x, the output gradient dy and
// the statistics it computed (M = n * s values per channel, x^ = (x - mean) * rstd):
//   dx = weight * rstd * (dy - sum(dy) / M - x^ * sum(dy * x^) / M)
//   dweight = sum(dy * x^),  dbias = sum(dy)
// One parallel pass over the channels, each channel's sums then its dx.
void batch_norm_backward(const Tensor& x, const Tensor& dy, NormShape shape, const Tensor& mean, const Tensor& var,
                         const Tensor& weight, double eps, const Tensor& dx, const Tensor& dweight,
                         const Tensor& dbias);

// y = x * scale[k] + shift[k] for the channels k (batch norm with running statistics).
void channel_affine(const Tensor& x, NormShape shape, const Tensor& scale, const Tensor& shift, const Tensor& y);

// --- statistics per sample and group of channels (group, instance and layer norm) ---

// The c channels form `groups` groups of c / groups consecutive channels, so each
// (sample, group) is one contiguous row of (c / groups) * s values. mean and var get
// n * groups values (row order) and y = (x - mean) / sqrt(var + eps) * weight + bias.
void group_norm(const Tensor& x, NormShape shape, int64_t groups, const Tensor& weight, const Tensor& bias,
                double eps, const Tensor& y, const Tensor& mean, const Tensor& var);

// The first-order backward of group_norm: batch_norm_backward's formulas with the sums
// taken over each row (K values) for dx, and over the samples for dweight and dbias.
void group_norm_backward(const Tensor& x, const Tensor& dy, NormShape shape, int64_t groups, const Tensor& mean,
                         const Tensor& var, const Tensor& weight, double eps, const Tensor& dx,
                         const Tensor& dweight, const Tensor& dbias);

}  // namespace cajal::kernels
