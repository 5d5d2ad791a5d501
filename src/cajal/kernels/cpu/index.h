#pragma once
// Index kernels: gather and scatter (behind gather, scatter, index_select, index_add,
// embedding and one_hot), index range checks and nonzero. No autograd: ops/index.cpp checks
// shapes, dtypes and index values before calling these. Index tensors are int64.
#include <optional>

#include "cajal/core/tensor.h"

namespace cajal::kernels {

// For every position p of out: out[p] = x[p with its coordinate along `dim` replaced by
// index[p]]. index has out's shape (it may be an expanded view, as index_select uses);
// x's dims other than `dim` are at least as large as out's. x and out share a dtype.
void gather(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& out);

enum class ScatterReduce { Replace, Add };

// For every position p of index: out[p with its coordinate along `dim` replaced by
// index[p]] = src[p] (Replace) or += src[p] (Add). src is at least as large as index in
// every dim; out's dims other than `dim` are at least as large as index's. Runs on one
// thread, so repeated indices are applied in row-major order (the last write wins).
void scatter(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src, ScatterReduce reduce);

// The first value of `index` (row-major order) outside [0, size), if there is one.
std::optional<int64_t> first_out_of_range(const Tensor& index, int64_t size);

// The number of nonzero (true) elements of x.
int64_t count_nonzero(const Tensor& x);
// Writes the coordinates of x's nonzero elements, in row-major order, into out
// (contiguous int64 of shape [count_nonzero(x), x.dim()]).
void nonzero(const Tensor& x, const Tensor& out);

}  // namespace cajal::kernels
