#pragma once
// What every attribution method checks first (internal to explain/): a batch of floating
// inputs and one int64 target per example. The targets' range is checked by target_scores,
// which knows the number of classes.
#include "cajal/core/error.h"
#include "cajal/core/tensor.h"

namespace cajal::explain::detail {

inline void check_batch(const char* method, const Tensor& inputs, const Tensor& targets) {
  CAJAL_CHECK(inputs.defined() && targets.defined(), ValueError, method, ": inputs and targets must be defined");
  CAJAL_CHECK(inputs.is_floating_point(), DTypeError, method, ": inputs must be floating (the gradient is taken in them); got ",
              inputs.dtype());
  CAJAL_CHECK(inputs.dim() >= 1 && inputs.size(0) >= 1, ShapeError, method, ": inputs must be a batch [B, ...] with B >= 1; got ",
              inputs.sizes());
  CAJAL_CHECK(targets.dtype() == DType::i64 && targets.dim() == 1 && targets.size(0) == inputs.size(0), ShapeError, method,
              ": targets must be int64 [B] with one class per example (B = ", inputs.size(0), "); got ", targets.dtype(), " ",
              targets.sizes());
}

// [B, 1, ..., 1]: the shape that broadcasts one value per example over a batch like `inputs`.
inline Dims per_example_shape(const Tensor& inputs) {
  Dims shape(static_cast<size_t>(inputs.dim()), 1);
  shape[0] = inputs.size(0);
  return shape;
}

}  // namespace cajal::explain::detail
