#pragma once
// Reduction kernels: sum, product, max, min, all, any over any set of dims; and the
// [outer, n, inner] layout shared by every kernel that works along one dim (index
// reductions, scans, softmax).
#include <algorithm>

#include "cajal/core/parallel.h"
#include "cajal/core/tensor.h"

namespace cajal::kernels {

enum class ReduceOp { Sum, Prod, Max, Min, All, Any };

// Reduces `in` over the dims where out's size is 1 and in's is not (out has in's rank,
// "keepdim" layout, and is contiguous). Sum and Prod accumulate float32 in float64 blocks;
// Max and Min propagate NaN; All and Any take and give bool. out's dtype is in's.
void reduce(ReduceOp op, const Tensor& in, const Tensor& out);

// A contiguous tensor seen as [outer, n, inner] around the dims [first, last]: element
// (o, i, j) sits at (o * n + i) * inner + j.
struct DimLayout {
  int64_t outer = 1, n = 1, inner = 1;
};
DimLayout dim_layout(const Dims& sizes, int64_t first, int64_t last);
inline DimLayout dim_layout(const Dims& sizes, int64_t dim) { return dim_layout(sizes, dim, dim); }

// Work along n when inner == 1: fn(o_begin, o_end) over rows of n contiguous values, in
// parallel when there is enough work.
template <typename F>
void parallel_rows(const DimLayout& l, const F& fn) {
  parallel_for(0, l.outer, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(l.n, 1)), fn);
}

// Work along n when inner > 1: fn(o, j_begin, j_end) for every outer index and block of
// columns, in parallel. Each call walks down the n rows over its contiguous columns, so
// loops over columns vectorize and none strides along n. Blocks are as wide as the work
// split between the threads allows (up to kColumnBlock): reading long runs of each row
// keeps the hardware prefetcher streaming.
constexpr int64_t kColumnBlock = 4096;
template <typename F>
void parallel_column_blocks(const DimLayout& l, const F& fn) {
  // Blocks per outer index, so that every thread gets one.
  int64_t per_outer = std::max<int64_t>(1, (num_threads() + l.outer - 1) / std::max<int64_t>(l.outer, 1));
  int64_t width = std::clamp<int64_t>((l.inner + per_outer - 1) / per_outer, 1, kColumnBlock);
  width = std::min(kColumnBlock, (width + 15) / 16 * 16);  // whole vectors
  int64_t blocks = (l.inner + width - 1) / width;
  int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(l.n * std::min(l.inner, width), 1));
  parallel_for(0, l.outer * blocks, grain, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      int64_t o = t / blocks, j = (t % blocks) * width;
      fn(o, j, std::min(l.inner, j + width));
    }
  });
}

}  // namespace cajal::kernels
