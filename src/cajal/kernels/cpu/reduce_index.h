#pragma once
// Index reductions along one dim: the largest or smallest value and where it first occurs.
#include "cajal/core/tensor.h"

namespace cajal::kernels {

enum class IndexReduceOp { Max, Min };

// For contiguous `in` whose size along `dim` is not 0, writes the extreme value of each
// slice along dim into `values` (in's dtype) and its position into `indices` (int64); both
// are contiguous with in's shape and size 1 at dim. As in PyTorch, NaN beats every number
// (the first NaN wins) and ties keep the first index.
void reduce_index(IndexReduceOp op, const Tensor& in, int64_t dim, const Tensor& values, const Tensor& indices);

}  // namespace cajal::kernels
