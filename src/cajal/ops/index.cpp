// Indexing ops: index_select, gather, scatter, scatter_add, index_add, masked_fill,
// masked_select, nonzero, one_hot, embedding. The forward loops are kernels/cpu/index; each
// backward is another op of this file (gather <-> scatter_add, index_select <-> index_add),
// so gradients of any order work. Indices are checked before a kernel runs: a bad one
// throws IndexError naming the op, the value and the size.
#include "cajal/autograd/node.h"
#include "cajal/kernels/cpu/index.h"
#include "cajal/ops/convert.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/shape.h"

namespace cajal {

using kernels::ScatterReduce;

namespace {

void check_int64(const Tensor& index, const char* op) {
  check_defined(op, index);
  if (index.dtype() != DType::i64)
    fail<DTypeError>(op, ": indices must be an int64 tensor, got ", dtype_name(index.dtype()));
}

// Every value of `index` must be in [0, size); `what` names the size in the message.
template <typename... What>
void check_in_range(const Tensor& index, int64_t size, const char* op, const What&... what) {
  if (auto bad = kernels::first_out_of_range(index, size))
    fail<IndexError>(op, ": index ", *bad, " is out of range for ", what...);
}

// The checks index_select, gather, scatter and index_add share; returns the wrapped dim.
int64_t checked_dim(const Tensor& x, int64_t dim, const Tensor& index, const char* op) {
  check_defined(op, x, index);
  check_int64(index, op);
  if (x.dim() == 0) fail<ShapeError>(op, ": expects a tensor with at least one dimension, got a 0-d tensor");
  int64_t d = wrap_dim(dim, x.dim(), op);
  check_in_range(index, x.sizes()[d], op, "dim ", d, " of size ", x.sizes()[d]);
  return d;
}

void check_same_dtype(const Tensor& x, const Tensor& src, const char* op) {
  if (x.dtype() != src.dtype())
    fail<DTypeError>(op, ": src must have the input's dtype ", dtype_name(x.dtype()), ", got ",
                     dtype_name(src.dtype()));
}

// A 1-D index seen with `shape`, varying only along `dim` (stride 0 elsewhere), so that
// index_select and index_add run as gather and scatter.
Tensor spread_index(const Tensor& index, const Dims& shape, int64_t dim) {
  Dims strides(shape.size(), 0);
  strides[dim] = index.dim() == 0 ? 0 : index.strides()[0];
  return index.as_strided(shape, strides, index.offset());
}

// index_select without autograd (also embedding's forward).
Tensor index_select_values(const Tensor& x, int64_t d, const Tensor& index) {
  Dims shape = x.sizes();
  shape[d] = index.numel();
  Tensor out = make_tensor(shape, x.dtype());
  kernels::gather(x, d, spread_index(index, shape, d), out);
  return out;
}

// PyTorch's rules for gather and scatter: index has x's rank and is no larger than x in
// the other dims (than src, if given, in every dim).
void check_gather_shapes(const Tensor& x, int64_t d, const Tensor& index, const Tensor* src, const char* op) {
  if (index.dim() != x.dim())
    fail<ShapeError>(op, ": index must have as many dims as the input, got index shape ", index.sizes(),
                     " and input shape ", x.sizes());
  if (src && src->dim() != x.dim())
    fail<ShapeError>(op, ": src must have as many dims as the input, got src shape ", src->sizes(),
                     " and input shape ", x.sizes());
  for (int64_t k = 0; k < x.dim(); ++k) {
    if (k != d && index.sizes()[k] > x.sizes()[k])
      fail<ShapeError>(op, ": index shape ", index.sizes(), " is larger than the input shape ", x.sizes(), " in dim ",
                       k, " (only dim ", d, " may differ)");
    if (src && index.sizes()[k] > src->sizes()[k])
      fail<ShapeError>(op, ": index shape ", index.sizes(), " is larger than the src shape ", src->sizes(), " in dim ",
                       k);
  }
}

// The gradient of scatter's src: gather's result is index-shaped; the elements of a larger
// src that were not scattered get zeros.
Tensor src_gradient(const Tensor& g, int64_t d, const Tensor& index, const Dims& src_shape) {
  Tensor picked = gather(g, d, index);
  if (picked.sizes() == src_shape) return picked;
  Dims pads;  // nothing before, the missing size after, last dim first (pad's order)
  for (size_t k = src_shape.size(); k-- > 0;) {
    pads.push_back(0);
    pads.push_back(src_shape[k] - picked.sizes()[k]);
  }
  return pad(picked, pads);
}

// A copy of x with src scattered in (no autograd).
Tensor scatter_values(const Tensor& x, int64_t d, const Tensor& index, const Tensor& src, ScatterReduce reduce) {
  Tensor out = convert(x, x.dtype());
  kernels::scatter(out, d, index, src, reduce);
  return out;
}

// scatter and scatter_add: src written into (Replace) or added to (Add) a copy of x. src
// gets the gradient where it landed; x keeps its gradient except where Replace overwrote it.
Tensor scatter_src(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src, ScatterReduce reduce,
                      const char* op) {
  int64_t d = checked_dim(x, dim, index, op);
  check_gather_shapes(x, d, index, &src, op);
  check_same_dtype(x, src, op);
  Tensor out = scatter_values(x, d, index, src, reduce);
  autograd::record(op, out, {&x, &src}, autograd::save(index),
                   [d, reduce, shape = src.sizes()](const Tensor& g, const Tensor& index) -> TensorList {
    Tensor x_grad = reduce == ScatterReduce::Replace ? scatter(g, d, index, 0) : g;
    return {x_grad, src_gradient(g, d, index, shape)};
  });
  return out;
}

}  // namespace

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  check_defined("index_select", x, index);
  if (index.dim() > 1) fail<ShapeError>("index_select: index must be 1-D, got shape ", index.sizes());
  int64_t d = checked_dim(x, dim, index, "index_select");
  Tensor out = index_select_values(x, d, index);
  autograd::record("index_select", out, {&x}, autograd::save(index),
                   [shape = x.sizes(), d](const Tensor& g, const Tensor& index) -> TensorList {
    return {index_add(zeros(shape, {.dtype = g.dtype()}), d, index, g)};
  });
  return out;
}

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  int64_t d = checked_dim(x, dim, index, "gather");
  check_gather_shapes(x, d, index, nullptr, "gather");
  Tensor out = make_tensor(index.sizes(), x.dtype());
  kernels::gather(x, d, index, out);
  autograd::record("gather", out, {&x}, autograd::save(index),
                   [shape = x.sizes(), d](const Tensor& g, const Tensor& index) -> TensorList {
    return {scatter_add(zeros(shape, {.dtype = g.dtype()}), d, index, g)};
  });
  return out;
}

Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  return scatter_src(x, dim, index, src, ScatterReduce::Replace, "scatter");
}

Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, Scalar value) {
  int64_t d = checked_dim(x, dim, index, "scatter");
  check_gather_shapes(x, d, index, nullptr, "scatter");
  Tensor src = scalar_tensor(value, x.dtype()).expand(index.sizes());
  Tensor out = scatter_values(x, d, index, src, ScatterReduce::Replace);
  autograd::record("scatter", out, {&x}, autograd::save(index), [d](const Tensor& g, const Tensor& index) -> TensorList {
    return {scatter(g, d, index, 0)};
  });
  return out;
}

Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  return scatter_src(x, dim, index, src, ScatterReduce::Add, "scatter_add");
}

Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src, Scalar alpha) {
  check_defined("index_add", x, index, src);
  if (index.dim() > 1) fail<ShapeError>("index_add: index must be 1-D, got shape ", index.sizes());
  int64_t d = checked_dim(x, dim, index, "index_add");
  check_same_dtype(x, src, "index_add");
  Dims expected = x.sizes();
  expected[d] = index.numel();
  if (src.sizes() != expected)
    fail<ShapeError>("index_add: src must have shape ", expected, " (the input's ", x.sizes(), " with dim ", d,
                     " of the index's length ", index.numel(), "), got ", src.sizes());
  if (!alpha.integral && !is_floating(x.dtype()))
    fail<DTypeError>("index_add: a float alpha needs a floating tensor, got ", dtype_name(x.dtype()));
  Tensor scaled;
  {
    NoGradGuard no_grad;
    scaled = alpha.value == 1 ? src : mul(src, scalar_tensor(alpha, src.dtype()));
  }
  Tensor out = scatter_values(x, d, spread_index(index, src.sizes(), d), scaled, ScatterReduce::Add);
  double a = alpha.value;
  autograd::record("index_add", out, {&x, &src}, autograd::save(index), [d, a](const Tensor& g, const Tensor& index) -> TensorList {
    Tensor picked = index_select(g, d, index);
    return {g, a == 1 ? picked : picked * a};
  });
  return out;
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, Scalar value) {
  check_defined("masked_fill", x, mask);
  if (mask.dtype() != DType::boolean)
    fail<DTypeError>("masked_fill: mask must be a bool tensor, got ", dtype_name(mask.dtype()));
  if (broadcast_shapes(x.sizes(), mask.sizes(), "masked_fill") != x.sizes())
    fail<ShapeError>("masked_fill: mask of shape ", mask.sizes(), " does not broadcast to the input's shape ",
                     x.sizes());
  return where(mask, scalar_tensor(value, x.dtype()), x);  // where's gradient: x's where the mask is false
}

Tensor masked_select(const Tensor& x, const Tensor& mask) {
  check_defined("masked_select", x, mask);
  if (mask.dtype() != DType::boolean)
    fail<DTypeError>("masked_select: mask must be a bool tensor, got ", dtype_name(mask.dtype()));
  Dims shape = broadcast_shapes(x.sizes(), mask.sizes(), "masked_select");
  // The row-major positions of the true elements, then index_select (differentiable).
  Tensor positions = nonzero(mask.expand(shape).reshape({-1})).view({-1});
  return index_select(x.expand(shape).reshape({-1}), 0, positions);
}

Tensor nonzero(const Tensor& x) {
  check_defined("nonzero", x);
  Tensor out = make_tensor({kernels::count_nonzero(x), x.dim()}, DType::i64);
  kernels::nonzero(x, out);
  return out;
}

Tensor one_hot(const Tensor& indices, int64_t num_classes) {
  check_int64(indices, "one_hot");
  if (num_classes < -1) fail<ValueError>("one_hot: num_classes must be -1 or non-negative, got ", num_classes);
  if (num_classes == -1) {
    if (indices.numel() == 0) fail<ValueError>("one_hot: cannot infer num_classes from an empty tensor; pass it");
    num_classes = max(indices).item<int64_t>() + 1;
  }
  check_in_range(indices, num_classes, "one_hot", "num_classes ", num_classes);
  Dims shape = indices.sizes();
  shape.push_back(num_classes);
  return scatter(zeros(shape, {.dtype = DType::i64}), -1, indices.unsqueeze(-1), 1);
}

Tensor embedding(const Tensor& weight, const Tensor& indices, std::optional<int64_t> padding_idx) {
  check_defined("embedding", weight, indices);
  check_int64(indices, "embedding");
  if (weight.dim() != 2)
    fail<ShapeError>("embedding: weight must be 2-D [num_embeddings, embedding_dim], got shape ", weight.sizes());
  int64_t rows = weight.sizes()[0], width = weight.sizes()[1];
  check_in_range(indices, rows, "embedding", "num_embeddings ", rows, " (weight shape ", weight.sizes(), ")");
  if (padding_idx) {
    if (*padding_idx < -rows || *padding_idx >= rows)
      fail<IndexError>("embedding: padding_idx ", *padding_idx, " is out of range for num_embeddings ", rows);
    if (*padding_idx < 0) *padding_idx += rows;
  }
  Tensor flat = indices.reshape({-1});
  Dims shape = indices.sizes();
  shape.push_back(width);
  Tensor out = index_select_values(weight, 0, flat).view(shape);
  // flat is indices itself when it could be viewed, or a copy only this node reaches.
  autograd::record("embedding", out, {&weight}, autograd::save(flat),
                   [rows, width, padding_idx](const Tensor& g, const Tensor& flat) -> TensorList {
    Tensor grad_rows = g.reshape({-1, width});
    if (padding_idx) grad_rows = where(eq(flat, *padding_idx).unsqueeze(1), 0, grad_rows);
    return {index_add(zeros({rows, width}, {.dtype = g.dtype()}), 0, flat, grad_rows)};
  });
  return out;
}

}  // namespace cajal
