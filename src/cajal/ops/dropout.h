#pragma once
// Dropout ops, as torch.nn.functional's. In training they draw a keep-mask from `gen` (the
// default generator when null); with training = false, or p = 0, they return x itself.
// p = 1 drops everything (zeros). The gradient is the upstream gradient times the mask's
// scale, so dropped elements get none.
#include "cajal/core/generator.h"
#include "cajal/core/tensor.h"

namespace cajal {

// Zeroes each element with probability p and scales the kept ones by 1 / (1 - p), so the
// expected value is unchanged.
Tensor dropout(const Tensor& x, double p = 0.5, bool training = true, Generator* gen = nullptr);
// Zeroes whole channels: one draw per (sample, channel) of x [N, C, ...], the remaining
// dims sharing it (torch's feature dropout; for [N, C, H, W] maps and, as torch 1.13 does,
// [N, C, L] sequences).
Tensor dropout2d(const Tensor& x, double p = 0.5, bool training = true, Generator* gen = nullptr);
// Dropout for self-normalizing (SELU) networks: dropped elements take SELU's negative
// saturation value and an affine map a x + b restores zero mean and unit variance.
Tensor alpha_dropout(const Tensor& x, double p = 0.5, bool training = true, Generator* gen = nullptr);

}  // namespace cajal
