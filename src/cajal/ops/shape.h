#pragma once
// Shape and indexing ops that copy: joining, splitting, flipping, repeating, padding,
// gathering and scattering, sorting. (Views are Tensor members: view, transpose, ...)
#include <optional>
#include <string>

#include "cajal/core/tensor.h"

namespace cajal {

// The gradient of x.slice(dim, start, ..., step) placed into zeros of input_shape;
// differentiable (its own backward slices again).
Tensor slice_backward(const Tensor& g, const Dims& input_shape, int64_t dim, int64_t start, int64_t step);

}  // namespace cajal
