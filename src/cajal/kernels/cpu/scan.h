#pragma once
// Scans along one dim: running sums.
#include "cajal/core/tensor.h"

namespace cajal::kernels {

// out[.., i, ..] = sum of in[.., k, ..] over k <= i along `dim` (k >= i when `reverse`).
// in and out are contiguous with one shape and dtype (float32, float64 or int64); float32
// accumulates in float64, as PyTorch's CPU cumsum does.
void cumsum(const Tensor& in, const Tensor& out, int64_t dim, bool reverse);

}  // namespace cajal::kernels
