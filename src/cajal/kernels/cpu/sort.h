#pragma once
// Sorting kernel behind sort, argsort and topk. No autograd.
#include "cajal/core/tensor.h"

namespace cajal::kernels {

// For each row of x (contiguous, at least 1-D, rows along its last dim), writes the
// positions of the row's first k elements in sorted order into the matching row of
// `indices` (contiguous int64, last dim k). Ascending or descending; NaN counts as larger
// than every number, as in PyTorch; equal elements keep their original order (stable).
void sort_rows(const Tensor& x, int64_t k, bool descending, const Tensor& indices);

}  // namespace cajal::kernels
