#pragma once
// Walking the elements of a strided view in row-major order: the slow, general loop used
// by printing, conversion and other code off the hot path. Kernels use kernels/cpu/loops.h.
#include "cajal/core/dims.h"

namespace cajal {

// Calls fn(offset) with the element offset of each element of a view, in row-major order.
template <typename F>
void for_each_offset(const Dims& sizes, const Dims& strides, F&& fn) {
  int64_t n = numel_of(sizes);
  if (n == 0) return;
  size_t nd = sizes.size();
  if (nd == 0) {
    fn(int64_t{0});
    return;
  }
  Dims index(nd, 0);
  int64_t off = 0;
  int64_t inner = sizes[nd - 1], inner_stride = strides[nd - 1];
  for (int64_t done = 0; done < n; done += inner) {
    for (int64_t i = 0; i < inner; ++i) fn(off + i * inner_stride);
    for (size_t d = nd - 1; d-- > 0;) {
      if (++index[d] < sizes[d]) {
        off += strides[d];
        break;
      }
      off -= (sizes[d] - 1) * strides[d];
      index[d] = 0;
    }
  }
}

}  // namespace cajal
