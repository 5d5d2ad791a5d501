#pragma once
// The bilinear form of torch.nn.functional.bilinear.
#include "cajal/core/tensor.h"

namespace cajal {

// y[..., o] = sum_ij x1[..., i] weight[o, i, j] x2[..., j] + bias[o], with x1 [..., in1],
// x2 [..., in2] (the same leading dims), weight [out, in1, in2], bias [out] (optional).
Tensor bilinear(const Tensor& x1, const Tensor& x2, const Tensor& weight, const Tensor& bias = Tensor());

}  // namespace cajal
