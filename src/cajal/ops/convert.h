#pragma once
// Raw conversions used inside ops: no autograd recording.
#include "cajal/core/tensor.h"

namespace cajal {

// A new contiguous tensor with t's values in `dtype` (always a copy).
Tensor convert(const Tensor& t, DType dtype);

}  // namespace cajal
