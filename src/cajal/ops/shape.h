#pragma once
// Shape and indexing ops that copy: joining, splitting, flipping, repeating, padding,
// gathering and scattering, sorting. (Views are Tensor members: view, transpose, ...)
// All follow PyTorch's semantics and are differentiable with respect to floating inputs;
// index tensors are int64, and an index out of range throws IndexError.
#include <optional>

#include "cajal/core/tensor.h"
#include "cajal/ops/reduce.h"

namespace cajal {

// --- joining and splitting (ops/join.cpp) ---

// Joins tensors along an existing dim; other dims must match. Dtypes promote; 1-D empty
// tensors are skipped, as in PyTorch.
Tensor cat(const TensorList& tensors, int64_t dim = 0);
// Joins tensors of one shape along a new dim.
Tensor stack(const TensorList& tensors, int64_t dim = 0);
// Views of consecutive pieces of split_size along dim (the last may be smaller).
TensorList split(const Tensor& x, int64_t split_size, int64_t dim = 0);
// Views of consecutive pieces with the given sizes, which must sum to x.size(dim).
TensorList split(const Tensor& x, const Dims& sizes, int64_t dim = 0);
// `chunks` views (fewer if dim is too small) of ceil(size / chunks) along dim.
TensorList chunk(const Tensor& x, int64_t chunks, int64_t dim = 0);
// The elements in reverse order along each of `dims`.
Tensor flip(const Tensor& x, const Dims& dims);
// Tiles x repeats[i] times along dim i (torch.Tensor.repeat); repeats may add leading dims.
Tensor repeat(const Tensor& x, const Dims& repeats);
// Like repeat, but fewer reps than dims are padded with 1s in front (torch.tile).
Tensor tile(const Tensor& x, const Dims& reps);

enum class PadMode { Constant, Reflect, Replicate };
// Pads the last pads.size() / 2 dims, the last dim first, as torch.nn.functional.pad:
// {left, right} pads the last dim, {left, right, top, bottom} the last two. Constant mode
// fills with `value` and accepts negative pads (cropping); reflect mirrors without
// repeating the edge (pads below the dim's size); replicate repeats the edge.
Tensor pad(const Tensor& x, const Dims& pads, PadMode mode = PadMode::Constant, double value = 0);

// --- indexing (ops/index.cpp) ---

// The slices of x at `index` (1-D) along dim.
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
// out[i][j] = x[index[i][j]][j] for dim 0 (and so on): index has x's rank, out its shape.
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
// A copy of x with x[index[i][j]][j] = src[i][j] for dim 0 (and so on); the inverse of gather.
Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, Scalar value);
// Like scatter, but adds: repeated indices accumulate.
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
// A copy of x with alpha * src's slices added at the positions in `index` (1-D) along dim.
Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src, Scalar alpha = 1);
// x with `value` where mask (bool, broadcast to x's shape) is true; out of place.
Tensor masked_fill(const Tensor& x, const Tensor& mask, Scalar value);
// The elements of x where mask is true, as 1-D (x and mask broadcast together).
Tensor masked_select(const Tensor& x, const Tensor& mask);
// The coordinates of the nonzero elements, [count, x.dim()] int64, in row-major order.
Tensor nonzero(const Tensor& x);
// int64 [..., num_classes] with a 1 at each index; num_classes -1 means max(indices) + 1.
Tensor one_hot(const Tensor& indices, int64_t num_classes = -1);
// Rows of weight [num_embeddings, dim] at indices (any shape): out has indices' shape + [dim].
// The row at padding_idx (negative counts from the end) receives no gradient.
Tensor embedding(const Tensor& weight, const Tensor& indices, std::optional<int64_t> padding_idx = std::nullopt);

// --- sorting (ops/sort.cpp); NaN sorts as the largest value ---

// Values in order along dim and their original positions (int64). Stable: equal values
// keep their order. The values are differentiable.
ValuesIndices sort(const Tensor& x, int64_t dim = -1, bool descending = false);
Tensor argsort(const Tensor& x, int64_t dim = -1, bool descending = false);
// The k largest (or smallest) values along dim and their positions. The result is always
// sorted (sorted = false allows any order in PyTorch; sorted is one such order).
ValuesIndices topk(const Tensor& x, int64_t k, int64_t dim = -1, bool largest = true, bool sorted = true);

// The gradient of x.slice(dim, start, ..., step) placed into zeros of input_shape;
// differentiable (its own backward slices again).
Tensor slice_backward(const Tensor& g, const Dims& input_shape, int64_t dim, int64_t start, int64_t step);

}  // namespace cajal
