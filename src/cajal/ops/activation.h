#pragma once
// Activations beyond the elementwise set of ops/elementwise.h (relu, gelu, silu, ...):
// hardtanh, mish and prelu, as torch.nn.functional defines them. Differentiable, second
// derivatives included.
#include "cajal/core/tensor.h"

namespace cajal {

// x clipped to [min_val, max_val]. Unlike clamp, the gradient is 0 at the two bounds
// (PyTorch's convention), g strictly between them.
Tensor hardtanh(const Tensor& x, double min_val = -1.0, double max_val = 1.0);
// x * tanh(softplus(x)).
Tensor mish(const Tensor& x);
// x where x > 0, weight * x elsewhere. weight holds one slope for all elements or one per
// channel (dim 1 of x, which then needs at least 2 dims).
Tensor prelu(const Tensor& x, const Tensor& weight);

}  // namespace cajal
