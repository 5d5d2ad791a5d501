#pragma once
// Helpers shared by the reduction ops (not part of the public API).
#include "cajal/core/tensor.h"
#include "cajal/kernels/cpu/reduce.h"
#include "cajal/ops/convert.h"

namespace cajal {

// Wrapped, sorted, de-duplicated dims to reduce; empty `dims` means all.
Dims reduction_dims(const Tensor& x, const Dims& dims, const char* op);
// x's shape with the reduced dims set to 1.
Dims keepdim_shape(const Tensor& x, const Dims& reduced);
// keep_shape without the reduced dims.
Dims drop_dims(const Dims& keep_shape, const Dims& reduced);
// The gradient of a reduction's output broadcast back over the input's shape.
Tensor expand_reduced_grad(const Tensor& g, const Dims& input_shape, const Dims& reduced, bool keepdim);
// Runs a reduction kernel (no autograd), computing bfloat16 in float32.
Tensor reduce_raw(kernels::ReduceOp op, const Tensor& x, const Dims& reduced, bool keepdim, DType dtype);

// x's values, without history, as a contiguous tensor of `dtype` for a kernel (copies
// only when x is strided or of another dtype).
inline Tensor kernel_input(const Tensor& x, DType dtype) {
  Tensor in = x.detach();
  return in.dtype() == dtype ? in.contiguous() : convert(in, dtype);
}

}  // namespace cajal
