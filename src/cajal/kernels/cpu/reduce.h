#pragma once
// Reduction kernels: sum, product, max, min, all, any over any set of dims.
#include "cajal/core/tensor.h"

namespace cajal::kernels {

enum class ReduceOp { Sum, Prod, Max, Min, All, Any };

// Reduces `in` over the dims where out's size is 1 and in's is not (out has in's rank,
// "keepdim" layout, and is contiguous). Sum and Prod accumulate float32 in float64 blocks;
// Max and Min propagate NaN; All and Any take and give bool. out's dtype is in's.
void reduce(ReduceOp op, const Tensor& in, const Tensor& out);

}  // namespace cajal::kernels
