#pragma once
// The elementwise loop engine shared by every elementwise kernel.
//
// Operands (output first) are described by a data pointer and byte strides broadcast to
// the output shape (stride 0 along broadcast dims). Adjacent dims that are contiguous for
// every operand are merged, so a contiguous tensor of any rank is one flat loop. The
// innermost loop is handed to a kernel as (pointers, byte strides, count): kernels check
// for unit and zero strides there, which is what lets the compiler vectorize them.
// Large loops are split across OpenMP threads by element ranges.
#include <array>
#include <cstdint>

#include "cajal/core/parallel.h"
#include "cajal/core/tensor.h"

namespace cajal::kernels {

template <int N>
struct StridedLoop {
  Dims sizes;                      // merged loop shape (at least one dim)
  std::array<char*, N> data{};
  std::array<Dims, N> strides;     // byte strides per operand per dim
};

// Builds the loop for operands already broadcastable to `shape` (operand 0 has exactly it).
template <int N>
StridedLoop<N> make_loop(const Dims& shape, const std::array<const Tensor*, N>& ops) {
  StridedLoop<N> loop;
  size_t nd = shape.size();
  for (int k = 0; k < N; ++k) {
    const Tensor& t = *ops[k];
    loop.data[k] = static_cast<char*>(t.raw_data());
    loop.strides[k] = Dims(nd, 0);
    size_t lead = nd - t.sizes().size();
    int64_t es = static_cast<int64_t>(t.element_size());
    for (size_t d = 0; d < t.sizes().size(); ++d)
      loop.strides[k][lead + d] = t.sizes()[d] == 1 ? 0 : t.strides()[d] * es;
  }
  // Merge dims from the inside out; drop size-1 dims.
  Dims sizes;
  std::array<Dims, N> strides;
  for (size_t d = 0; d < nd; ++d) {
    if (shape[d] == 1) continue;
    bool merge = !sizes.empty();
    for (int k = 0; k < N && merge; ++k)
      merge = strides[k].back() == loop.strides[k][d] * shape[d];
    if (merge) {
      sizes[sizes.size() - 1] *= shape[d];
      for (int k = 0; k < N; ++k) strides[k][strides[k].size() - 1] = loop.strides[k][d];
    } else {
      sizes.push_back(shape[d]);
      for (int k = 0; k < N; ++k) strides[k].push_back(loop.strides[k][d]);
    }
  }
  if (sizes.empty()) {
    sizes.push_back(1);
    for (int k = 0; k < N; ++k) strides[k].push_back(0);
  }
  loop.sizes = std::move(sizes);
  loop.strides = std::move(strides);
  return loop;
}

// Runs inner(ptrs, inner_strides, count) over elements [begin, end) of the loop.
template <int N, typename Inner>
void run_range(const StridedLoop<N>& loop, int64_t begin, int64_t end, Inner& inner) {
  size_t nd = loop.sizes.size();
  int64_t inner_size = loop.sizes[nd - 1];
  std::array<int64_t, N> inner_strides;
  for (int k = 0; k < N; ++k) inner_strides[k] = loop.strides[k][nd - 1];
  // Multi-index of `begin`.
  Dims index(nd, 0);
  int64_t rest = begin;
  for (size_t d = nd; d-- > 0;) {
    index[d] = rest % loop.sizes[d];
    rest /= loop.sizes[d];
  }
  std::array<char*, N> ptrs;
  for (int k = 0; k < N; ++k) {
    ptrs[k] = loop.data[k];
    for (size_t d = 0; d < nd; ++d) ptrs[k] += index[d] * loop.strides[k][d];
  }
  int64_t pos = begin;
  while (pos < end) {
    int64_t count = std::min(inner_size - index[nd - 1], end - pos);
    inner(ptrs.data(), inner_strides.data(), count);
    pos += count;
    if (pos >= end) break;
    // Advance to the start of the next row.
    for (int k = 0; k < N; ++k) ptrs[k] += (inner_size - index[nd - 1]) * inner_strides[k] - inner_size * inner_strides[k];
    index[nd - 1] = 0;
    for (size_t d = nd - 1; d-- > 0;) {
      if (++index[d] < loop.sizes[d]) {
        for (int k = 0; k < N; ++k) ptrs[k] += loop.strides[k][d];
        break;
      }
      for (int k = 0; k < N; ++k) ptrs[k] -= (loop.sizes[d] - 1) * loop.strides[k][d];
      index[d] = 0;
    }
  }
}

// Runs the whole loop, in parallel when it is large.
template <int N, typename Inner>
void run_loop(const StridedLoop<N>& loop, Inner inner) {
  int64_t n = numel_of(loop.sizes);
  if (n == 0) return;
  parallel_for(0, n, kElementwiseGrain, [&](int64_t b, int64_t e) { run_range(loop, b, e, inner); });
}

}  // namespace cajal::kernels
