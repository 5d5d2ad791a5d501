// Shape and indexing operators: Reshape, Flatten, Transpose, Squeeze/Unsqueeze, Concat,
// Split, Slice, Gather(Elements), Expand, Tile, Pad, Shape, Size, ConstantOfShape, Range,
// Constant, EyeLike, Trilu, DepthToSpace/SpaceToDepth, NonZero, Compress, TopK,
// ScatterElements, OneHot, GatherND, ScatterND, ReverseSequence, Unique. Shape tensors are int64, as ONNX defines them; views are used
// wherever cajal has one, so the graph copies only what ONNX's semantics need.
#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "cajal/onnx/import_ops.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/shape.h"

namespace cajal::onnx {

namespace {

Tensor shape_tensor(const Dims& dims) {
  std::vector<int64_t> values(dims.begin(), dims.end());
  return from_vector(values, {static_cast<int64_t>(values.size())});
}

// Reshape: 0 copies the input's dim (unless allowzero), -1 is inferred.
TensorList run_reshape(const Node& node, const TensorList& in) {
  const Tensor& x = in.at(0);
  std::vector<int64_t> shape = int_values(in.at(1));
  bool allowzero = node.get_int("allowzero", 0) != 0;
  for (size_t k = 0; k < shape.size(); ++k) {
    if (shape[k] == 0 && !allowzero) {
      if (static_cast<int64_t>(k) >= x.dim()) fail<ShapeError>(node.where(), ": shape entry ", k, " is 0 but the input has rank ", x.dim());
      shape[k] = x.size(static_cast<int64_t>(k));
    }
  }
  return {x.reshape(Dims(shape))};
}

// Flatten: [d0 ... d(axis-1)] and [d(axis) ...] become the two dims of a matrix.
TensorList run_flatten(const Node& node, const TensorList& in) {
  const Tensor& x = in.at(0);
  int64_t axis = node.get_int("axis", 1);
  axis = axis < 0 ? axis + x.dim() : axis;
  if (axis < 0 || axis > x.dim()) fail<IndexError>(node.where(), ": axis ", node.get_int("axis", 1), " is out of range for rank ", x.dim());
  int64_t rows = 1, cols = 1;  // products, not numel / rows, so that empty tensors flatten too
  for (int64_t d = 0; d < x.dim(); ++d) (d < axis ? rows : cols) *= x.size(d);
  return {x.reshape({rows, cols})};
}

TensorList run_transpose(const Node& node, const TensorList& in) {
  const Tensor& x = in.at(0);
  std::vector<int64_t> perm = node.get_ints("perm");
  if (perm.empty()) {
    for (int64_t d = x.dim() - 1; d >= 0; --d) perm.push_back(d);
  }
  return {x.permute(Dims(perm))};
}

// The axes of Squeeze/Unsqueeze: an attribute before version 13, an input since.
std::vector<int64_t> axes_of(const Node& node, const TensorList& in) {
  return node.version >= 13 ? (optional_input(in, 1).defined() ? int_values(in[1]) : std::vector<int64_t>{}) : node.get_ints("axes");
}

TensorList run_squeeze(const Node& node, const TensorList& in) {
  const Tensor& x = in.at(0);
  std::vector<int64_t> axes = axes_of(node, in);
  if (axes.empty()) return {x.squeeze()};
  Dims dims;
  for (int64_t a : axes) dims.push_back(onnx_axis(node, a, x.dim()));
  std::sort(dims.begin(), dims.end());
  Tensor y = x;
  for (size_t k = dims.size(); k-- > 0;) {  // the last first: earlier dims keep their index
    if (x.size(dims[k]) != 1) fail<ShapeError>(node.where(), ": cannot squeeze dim ", dims[k], " of size ", x.size(dims[k]));
    y = y.squeeze(dims[k]);
  }
  return {y};
}

// Unsqueeze: axes index the output, whose rank is the input's plus the number of axes.
TensorList run_unsqueeze(const Node& node, const TensorList& in) {
  const Tensor& x = in.at(0);
  std::vector<int64_t> axes = axes_of(node, in);
  int64_t rank = x.dim() + static_cast<int64_t>(axes.size());
  Dims dims;
  for (int64_t a : axes) dims.push_back(onnx_axis(node, a, rank));
  std::sort(dims.begin(), dims.end());
  Tensor y = x;
  for (int64_t d : dims) y = y.unsqueeze(d);
  return {y};
}

TensorList run_concat(const Node& node, const TensorList& in) {
  if (in.empty()) fail<IOError>(node.where(), ": needs at least one input");
  int64_t dim = onnx_axis(node, node.get_int("axis", 0), in[0].dim());
  return {cat(in, dim)};
}

// Split into the given sizes (the attribute before version 13, the input since) or, by
// default, into as many equal parts as the node has outputs.
TensorList run_split(const Node& node, const TensorList& in) {
  const Tensor& x = in.at(0);
  int64_t dim = onnx_axis(node, node.get_int("axis", 0), x.dim());
  std::vector<int64_t> sizes = node.get_ints("split");
  if (optional_input(in, 1).defined()) sizes = int_values(in[1]);
  if (sizes.empty()) {
    int64_t parts = static_cast<int64_t>(node.outputs.size());
    if (x.size(dim) % parts != 0) fail<ShapeError>(node.where(), ": dim of size ", x.size(dim), " does not split into ", parts, " equal parts");
    sizes.assign(static_cast<size_t>(parts), x.size(dim) / parts);
  }
  return split(x, Dims(sizes), dim);
}

// Slice with ONNX's clamping: starts and ends beyond the dim are clamped, negative ones
// count from the end; a negative step walks backwards (a flip, then a forward slice).
Tensor slice_axis(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step, const Node& node) {
  const int64_t size = x.size(dim);
  if (step == 0) fail<ValueError>(node.where(), ": step must not be 0");
  auto clamp_index = [](int64_t i, int64_t size, int64_t lo, int64_t hi) {
    if (i < 0) i += size;
    return std::clamp(i, lo, hi);
  };
  if (step > 0) {
    start = clamp_index(start, size, 0, size);
    end = clamp_index(end, size, 0, size);
    return x.slice(dim, start, std::max(start, end), step);
  }
  start = clamp_index(start, size, -1, size - 1);
  end = clamp_index(end, size, -1, size - 1);
  int64_t count = start > end ? (start - end + (-step) - 1) / (-step) : 0;
  // Element start of x is element size - 1 - start of the flipped tensor.
  int64_t first = size - 1 - start;
  return flip(x, {dim}).slice(dim, first, count > 0 ? first + (count - 1) * (-step) + 1 : first, -step);
}

TensorList run_slice(const Node& node, const TensorList& in) {
  const Tensor& x = in.at(0);
  std::vector<int64_t> starts, ends, axes, steps;
  if (node.version < 10) {
    starts = node.get_ints("starts");
    ends = node.get_ints("ends");
    axes = node.get_ints("axes");
  } else {
    starts = int_values(in.at(1));
    ends = int_values(in.at(2));
    if (optional_input(in, 3).defined()) axes = int_values(in[3]);
    if (optional_input(in, 4).defined()) steps = int_values(in[4]);
  }
  if (axes.empty()) {
    axes.resize(starts.size());
    std::iota(axes.begin(), axes.end(), 0);
  }
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    fail<ShapeError>(node.where(), ": starts, ends, axes and steps must have the same length");
  Tensor y = x;
  for (size_t k = 0; k < starts.size(); ++k)
    y = slice_axis(y, onnx_axis(node, axes[k], x.dim()), starts[k], ends[k], steps[k], node);
  return {y};
}

// Indices may be negative (from the end), as ONNX allows for Gather and GatherElements.
Tensor wrap_indices(const Tensor& index, int64_t size) {
  Tensor i = index.to(DType::i64);
  return where(lt(i, int64_t{0}), i + size, i);
}

// Gather: x's slices along axis at each index; the index's shape replaces the axis.
TensorList run_gather(const Node& node, const TensorList& in) {
  const Tensor& x = in.at(0);
  int64_t dim = onnx_axis(node, node.get_int("axis", 0), x.dim());
  Tensor index = wrap_indices(in.at(1), x.size(dim));
  Tensor picked = index_select(x, dim, index.reshape({-1}));
  Dims shape;
  for (int64_t d = 0; d < dim; ++d) shape.push_back(x.size(d));
  for (int64_t s : index.sizes()) shape.push_back(s);
  for (int64_t d = dim + 1; d < x.dim(); ++d) shape.push_back(x.size(d));
  return {picked.reshape(shape)};
}

TensorList run_gather_elements(const Node& node, const TensorList& in) {
  const Tensor& x = in.at(0);
  int64_t dim = onnx_axis(node, node.get_int("axis", 0), x.dim());
  return {gather(x, dim, wrap_indices(in.at(1), x.size(dim)))};
}

TensorList run_scatter_elements(const Node& node, const TensorList& in) {
  const Tensor& x = in.at(0);
  int64_t dim = onnx_axis(node, node.get_int("axis", 0), x.dim());
  std::string reduction = node.get_string("reduction", "none");
  Tensor index = wrap_indices(in.at(1), x.size(dim));
  if (reduction == "none") return {scatter(x, dim, index, in.at(2))};
  if (reduction == "add") return {scatter_add(x, dim, index, in.at(2))};
  node.unsupported("reduction '" + reduction + "'");
}

// Expand broadcasts both ways: the output has the broadcast of x's shape and `shape`.
TensorList run_expand(const Node& node, const TensorList& in) {
  const Tensor& x = in.at(0);
  std::vector<int64_t> shape = int_values(in.at(1));
  Dims target = broadcast_shapes(x.sizes(), Dims(shape), "Expand");
  return {x.expand(target)};
}

TensorList run_tile(const Node& node, const TensorList& in) { return {tile(in.at(0), Dims(int_values(in.at(1))))}; }

// Pad: ONNX lists all begins then all ends ([x1_begin, x2_begin, ..., x1_end, x2_end]);
// cajal's pad takes (begin, end) pairs from the last dim backwards, as torch's.
TensorList run_pad(const Node& node, const TensorList& in) {
  const Tensor& x = in.at(0);
  std::vector<int64_t> pads = int_values(in.at(1));
  int64_t rank = x.dim();
  std::vector<int64_t> axes(static_cast<size_t>(rank));
  std::iota(axes.begin(), axes.end(), 0);
  if (optional_input(in, 3).defined()) {
    axes.clear();
    for (int64_t a : int_values(in[3])) axes.push_back(onnx_axis(node, a, rank));
  }
  if (pads.size() != 2 * axes.size()) fail<ShapeError>(node.where(), ": expected ", 2 * axes.size(), " pads, got ", pads.size());
  std::vector<int64_t> begin(static_cast<size_t>(rank), 0), end(static_cast<size_t>(rank), 0);
  for (size_t k = 0; k < axes.size(); ++k) {
    begin[static_cast<size_t>(axes[k])] = pads[k];
    end[static_cast<size_t>(axes[k])] = pads[k + axes.size()];
  }
  // Only the dims from the first padded one on are passed (cajal pads a suffix of dims).
  int64_t first = 0;
  while (first < rank && begin[static_cast<size_t>(first)] == 0 && end[static_cast<size_t>(first)] == 0) ++first;
  Dims torch_pads;
  for (int64_t d = rank - 1; d >= first; --d) {
    torch_pads.push_back(begin[static_cast<size_t>(d)]);
    torch_pads.push_back(end[static_cast<size_t>(d)]);
  }
  if (torch_pads.empty()) return {x};
  std::string mode = node.get_string("mode", "constant");
  double value = optional_input(in, 2).defined() && in[2].numel() > 0 ? scalar_value(in[2]) : 0.0;
  if (mode == "constant") return {pad(x, torch_pads, PadMode::Constant, value)};
  if (mode == "reflect") return {pad(x, torch_pads, PadMode::Reflect)};
  if (mode == "edge") return {pad(x, torch_pads, PadMode::Replicate)};
  node.unsupported("mode '" + mode + "'");
}

// Shape, optionally of the dims start..end (version 15).
TensorList run_shape(const Node& node, const TensorList& in) {
  const Tensor& x = in.at(0);
  int64_t rank = x.dim();
  auto clamp_dim = [rank](int64_t d) { return std::clamp(d < 0 ? d + rank : d, int64_t{0}, rank); };
  int64_t start = clamp_dim(node.get_int("start", 0)), end = clamp_dim(node.get_int("end", rank));
  Dims dims;
  for (int64_t d = start; d < end; ++d) dims.push_back(x.size(d));
  return {shape_tensor(dims)};
}

TensorList run_size(const Node&, const TensorList& in) { return {scalar_tensor(in.at(0).numel(), DType::i64)}; }

// ConstantOfShape: the `value` attribute (a one-element tensor, float32 0 by default) everywhere.
TensorList run_constant_of_shape(const Node& node, const TensorList& in) {
  Dims shape(int_values(in.at(0)));
  const NodeAttribute* value = node.find("value", NodeAttribute::Kind::Tensor);
  if (!value) return {zeros(shape)};
  if (value->t.numel() != 1) fail<ShapeError>(node.where(), ": value must hold one element");
  return {value->t.reshape({1}).expand(shape).contiguous().reshape(shape)};
}

// Range: start, start + delta, ... up to limit (excluded), in the inputs' type.
TensorList run_range(const Node& node, const TensorList& in) {
  const Tensor& start = in.at(0);
  double a = scalar_value(start), b = scalar_value(in.at(1)), step = scalar_value(in.at(2));
  if (step == 0) fail<ValueError>(node.where(), ": delta must not be 0");
  double count = std::ceil((b - a) / step);
  if (!(count > 0)) return {empty({0}, {.dtype = start.dtype()})};
  return {arange(a, a + count * step - step / 2, step, start.dtype())};
}

// Constant: the tensor in whichever value attribute the node has.
TensorList run_constant(const Node& node, const TensorList&) {
  if (const NodeAttribute* a = node.find("value", NodeAttribute::Kind::Tensor)) return {a->t};
  if (const NodeAttribute* a = node.find("value_float", NodeAttribute::Kind::Float)) return {scalar_tensor(a->f)};
  if (const NodeAttribute* a = node.find("value_int", NodeAttribute::Kind::Int)) return {scalar_tensor(a->i, DType::i64)};
  if (const NodeAttribute* a = node.find("value_floats", NodeAttribute::Kind::Floats)) {
    std::vector<float> v(a->floats.begin(), a->floats.end());
    return {from_vector(v, {static_cast<int64_t>(v.size())})};
  }
  if (const NodeAttribute* a = node.find("value_ints", NodeAttribute::Kind::Ints)) return {from_vector(a->ints, {static_cast<int64_t>(a->ints.size())})};
  node.unsupported("this kind of constant (strings, sparse tensors)");
}

// EyeLike: ones on the diagonal shifted by k, in the input's shape and the dtype attribute's type.
TensorList run_eye_like(const Node& node, const TensorList& in) {
  const Tensor& x = in.at(0);
  if (x.dim() != 2) fail<ShapeError>(node.where(), ": input must be 2-D");
  DType dtype = node.has("dtype") ? dtype_from_onnx(static_cast<int32_t>(node.get_int("dtype", 1)), node.where()) : x.dtype();
  int64_t k = node.get_int("k", 0);
  Tensor rows = arange(x.size(0)).unsqueeze(1), cols = arange(x.size(1)).unsqueeze(0);
  return {eq(cols - rows, k).to(dtype)};
}

// Trilu: keeps the upper (j - i >= k) or lower (j - i <= k) triangle of the last two dims.
TensorList run_trilu(const Node& node, const TensorList& in) {
  const Tensor& x = in.at(0);
  if (x.dim() < 2) fail<ShapeError>(node.where(), ": input must have at least 2 dims");
  int64_t k = optional_input(in, 1).defined() ? static_cast<int64_t>(scalar_value(in[1])) : 0;
  Tensor rows = arange(x.size(-2)).unsqueeze(1), cols = arange(x.size(-1)).unsqueeze(0);
  Tensor offset = cols - rows;
  Tensor keep = node.get_int("upper", 1) ? ge(offset, k) : le(offset, k);
  return {where(keep, x, zeros_like(x))};
}

// DepthToSpace / SpaceToDepth: moving blocks of channels into space (or back) is a reshape,
// a permutation and a reshape.
TensorList run_depth_to_space(const Node& node, const TensorList& in) {
  const Tensor& x = in.at(0);
  if (x.dim() != 4) fail<ShapeError>(node.where(), ": input must be [N, C, H, W]");
  int64_t b = node.get_int("blocksize", 0), n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  if (b <= 0 || c % (b * b) != 0) fail<ShapeError>(node.where(), ": channels ", c, " are not a multiple of blocksize^2");
  bool crd = node.get_string("mode", "DCR") == "CRD";
  Tensor y = crd ? x.reshape({n, c / (b * b), b, b, h, w}).permute({0, 1, 4, 2, 5, 3})
                 : x.reshape({n, b, b, c / (b * b), h, w}).permute({0, 3, 4, 1, 5, 2});
  return {y.reshape({n, c / (b * b), h * b, w * b})};
}

TensorList run_space_to_depth(const Node& node, const TensorList& in) {
  const Tensor& x = in.at(0);
  if (x.dim() != 4) fail<ShapeError>(node.where(), ": input must be [N, C, H, W]");
  int64_t b = node.get_int("blocksize", 0), n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  if (b <= 0 || h % b != 0 || w % b != 0) fail<ShapeError>(node.where(), ": spatial size is not a multiple of blocksize");
  Tensor y = x.reshape({n, c, h / b, b, w / b, b}).permute({0, 3, 5, 1, 2, 4});
  return {y.reshape({n, c * b * b, h / b, w / b})};
}

// NonZero: the coordinates of the nonzero elements, one row per dim ([rank, count]).
TensorList run_nonzero(const Node&, const TensorList& in) {
  const Tensor& x = in.at(0);
  if (x.dim() == 0) return {nonzero(x.reshape({1})).t().contiguous().slice(0, 0, 0)};
  return {nonzero(x).t().contiguous()};
}

// Compress: the slices along axis (or elements of the flattened input) where condition is true.
TensorList run_compress(const Node& node, const TensorList& in) {
  const Tensor& x = in.at(0);
  Tensor condition = in.at(1).to(DType::boolean);
  bool flat = !node.has("axis");
  Tensor source = flat ? x.reshape({-1}) : x;
  int64_t dim = flat ? 0 : onnx_axis(node, node.get_int("axis", 0), x.dim());
  int64_t n = std::min(condition.numel(), source.size(dim));
  Tensor picked = nonzero(condition.slice(0, 0, n)).reshape({-1});
  return {index_select(source, dim, picked)};
}

TensorList run_topk(const Node& node, const TensorList& in) {
  const Tensor& x = in.at(0);
  int64_t dim = onnx_axis(node, node.get_int("axis", -1), x.dim());
  std::vector<int64_t> k_values = int_values(in.at(1));
  if (k_values.size() != 1) fail<ShapeError>(node.where(), ": K must hold one value");
  int64_t k = k_values[0];
  ValuesIndices top = topk(x, k, dim, node.get_int("largest", 1) != 0, true);
  return {top.values, top.indices};
}

// OneHot: indices (negative from the end) to on_value at the index, off_value elsewhere,
// along a new axis of size depth.
TensorList run_one_hot(const Node& node, const TensorList& in) {
  const Tensor& indices = in.at(0);
  int64_t depth = static_cast<int64_t>(scalar_value(in.at(1)));
  const Tensor& values = in.at(2);  // [off_value, on_value]
  int64_t rank = indices.dim() + 1;
  int64_t axis = onnx_axis(node, node.get_int("axis", -1), rank);
  Tensor index = indices.to(DType::i64);  // float indices truncate toward zero, as ONNX says
  index = where(lt(index, int64_t{0}), index + depth, index).unsqueeze(axis);
  Dims shape(rank, 1);
  shape[static_cast<size_t>(axis)] = depth;
  Tensor classes = arange(depth).reshape(shape);
  return {where(eq(index, classes), values[1], values[0])};
}

// The offsets of GatherND's and ScatterND's index tuples (the last dim of `indices`, k long)
// into the first k dims of `x` after its batch_dims, as rows of x viewed as [rows, rest...].
Tensor nd_offsets(const Node& node, const Tensor& x, const Tensor& indices, int64_t batch_dims) {
  if (batch_dims < 0 || indices.dim() <= batch_dims || x.dim() < batch_dims)
    fail<ShapeError>(node.where(), ": indices ", indices.sizes(), " and data ", x.sizes(), " do not fit batch_dims ", batch_dims);
  for (int64_t b = 0; b < batch_dims; ++b)
    if (indices.size(b) != x.size(b)) fail<ShapeError>(node.where(), ": batch dim ", b, " differs between data and indices");
  const int64_t k = indices.size(-1);
  if (batch_dims + k > x.dim()) fail<ShapeError>(node.where(), ": index tuples of ", k, " are longer than the data's dims");
  Tensor offsets = zeros(Dims(indices.sizes().begin(), indices.sizes().end() - 1), {.dtype = DType::i64});
  for (int64_t j = 0; j < k; ++j) {
    int64_t size = x.size(batch_dims + j);
    offsets = offsets * size + wrap_indices(indices.select(-1, j), size);
  }
  // Batch dims: each batch's tuples index its own block of rows.
  int64_t rows = 1;
  for (int64_t j = 0; j < k; ++j) rows *= x.size(batch_dims + j);
  for (int64_t b = batch_dims - 1, stride = rows; b >= 0; stride *= x.size(b), --b) {
    Dims shape(static_cast<size_t>(offsets.dim()), 1);
    shape[static_cast<size_t>(b)] = x.size(b);
    offsets = offsets + arange(x.size(b)).reshape(shape) * stride;
  }
  return offsets;
}

// x viewed as [rows, rest...]: its first `dims` dims flattened into one.
Tensor rows_of(const Tensor& x, int64_t dims) {
  Dims shape{-1};
  for (int64_t d = dims; d < x.dim(); ++d) shape.push_back(x.size(d));
  return x.reshape(shape);
}

TensorList run_gather_nd(const Node& node, const TensorList& in) {
  const Tensor& x = in.at(0);
  const Tensor& indices = in.at(1);
  int64_t batch_dims = node.get_int("batch_dims", 0);
  Tensor offsets = nd_offsets(node, x, indices, batch_dims);
  const int64_t k = indices.size(-1);
  Tensor picked = index_select(rows_of(x, batch_dims + k), 0, offsets.reshape({-1}));
  Dims shape(offsets.sizes());
  for (int64_t d = batch_dims + k; d < x.dim(); ++d) shape.push_back(x.size(d));
  return {picked.reshape(shape)};
}

// ScatterND: the data with the slices at each index tuple replaced by (or added to) updates.
TensorList run_scatter_nd(const Node& node, const TensorList& in) {
  const Tensor& x = in.at(0);
  const Tensor& indices = in.at(1);
  std::string reduction = node.get_string("reduction", "none");
  if (reduction != "none" && reduction != "add") node.unsupported("reduction '" + reduction + "'");
  Tensor offsets = nd_offsets(node, x, indices, 0).reshape({-1});
  Tensor rows = rows_of(x, indices.size(-1));
  Dims update_shape{offsets.size(0)}, index_shape{offsets.size(0)};  // one row of updates per tuple
  for (int64_t d = 1; d < rows.dim(); ++d) {
    update_shape.push_back(rows.size(d));
    index_shape.push_back(1);
  }
  Tensor updates = in.at(2).reshape(update_shape);
  Tensor index = offsets.reshape(index_shape).expand(update_shape);
  Tensor y = reduction == "add" ? scatter_add(rows, 0, index, updates) : scatter(rows, 0, index, updates);
  return {y.reshape(x.sizes())};
}

// ReverseSequence: along time_axis, the first lengths[b] steps of batch b in reverse order.
TensorList run_reverse_sequence(const Node& node, const TensorList& in) {
  const Tensor& x = in.at(0);
  int64_t time = onnx_axis(node, node.get_int("time_axis", 0), x.dim());
  int64_t batch = onnx_axis(node, node.get_int("batch_axis", 1), x.dim());
  Tensor lengths = in.at(1).to(DType::i64);
  Dims t_shape(static_cast<size_t>(x.dim()), 1), b_shape(static_cast<size_t>(x.dim()), 1);
  t_shape[static_cast<size_t>(time)] = x.size(time);
  b_shape[static_cast<size_t>(batch)] = x.size(batch);
  Tensor t = arange(x.size(time)).reshape(t_shape), n = lengths.reshape(b_shape);
  Tensor source = where(lt(t, n), n - 1 - t, t);
  return {gather(x, time, source.expand(x.sizes()).contiguous())};
}

// Unique: the distinct elements (or, with `axis`, distinct slices along it), sorted or in
// the order they first appear, with the index of each one's first appearance, each input
// position's unique id, and the counts. The values are picked from x with index_select.
TensorList run_unique(const Node& node, const TensorList& in) {
  const Tensor& x = in.at(0);
  const bool flat = !node.has("axis");
  const int64_t dim = flat ? 0 : onnx_axis(node, node.get_int("axis", 0), x.dim());
  Tensor source = flat ? x.reshape({-1}) : x;
  const int64_t count = source.size(dim);
  // Slice k of `source` along dim, as a row of numbers to compare.
  std::vector<double> values = source.transpose(0, dim).contiguous().to_vector<double>();
  const size_t width = count == 0 ? 0 : values.size() / static_cast<size_t>(count);
  auto row = [&](int64_t k) { return std::vector<double>(values.begin() + k * width, values.begin() + (k + 1) * width); };
  std::vector<int64_t> first;  // first appearance of each distinct row, in order of appearance
  std::vector<int64_t> inverse(static_cast<size_t>(count));
  std::map<std::vector<double>, int64_t> seen;  // row -> its index in `first`
  for (int64_t k = 0; k < count; ++k) {
    auto [it, inserted] = seen.emplace(row(k), static_cast<int64_t>(first.size()));
    if (inserted) first.push_back(k);
    inverse[static_cast<size_t>(k)] = it->second;
  }
  // Sorted: renumber the distinct rows in the map's (lexicographic) order.
  std::vector<int64_t> rank(first.size());
  std::iota(rank.begin(), rank.end(), 0);
  if (node.get_int("sorted", 1) != 0) {
    int64_t next = 0;
    std::vector<int64_t> sorted_first(first.size());
    for (const auto& [key, id] : seen) {
      rank[static_cast<size_t>(id)] = next;
      sorted_first[static_cast<size_t>(next++)] = first[static_cast<size_t>(id)];
    }
    first = sorted_first;
  }
  std::vector<int64_t> counts(first.size(), 0);
  for (int64_t& id : inverse) {
    id = rank[static_cast<size_t>(id)];
    ++counts[static_cast<size_t>(id)];
  }
  auto vec = [](const std::vector<int64_t>& v) { return from_vector(v, {static_cast<int64_t>(v.size())}); };
  return {index_select(source, dim, vec(first)), vec(first), vec(inverse), vec(counts)};
}

}  // namespace

void register_shape_ops(OpTable& table) {
  table["Reshape"] = {run_reshape, 5};
  table["Flatten"] = {run_flatten, 1};
  table["Transpose"] = {run_transpose, 1};
  table["Squeeze"] = {run_squeeze, 1};
  table["Unsqueeze"] = {run_unsqueeze, 1};
  table["Concat"] = {run_concat, 4};
  table["Split"] = {run_split, 2};
  table["Slice"] = {run_slice, 1};
  table["Gather"] = {run_gather, 1};
  table["GatherElements"] = {run_gather_elements, 11};
  table["ScatterElements"] = {run_scatter_elements, 11};
  table["Expand"] = {run_expand, 8};
  table["Tile"] = {run_tile, 6};
  table["Pad"] = {run_pad, 11};
  table["Shape"] = {run_shape, 1};
  table["Size"] = {run_size, 1};
  table["ConstantOfShape"] = {run_constant_of_shape, 9};
  table["Range"] = {run_range, 11};
  table["Constant"] = {run_constant, 1};
  table["EyeLike"] = {run_eye_like, 9};
  table["Trilu"] = {run_trilu, 14};
  table["DepthToSpace"] = {run_depth_to_space, 1};
  table["SpaceToDepth"] = {run_space_to_depth, 1};
  table["NonZero"] = {run_nonzero, 9};
  table["Compress"] = {run_compress, 9};
  table["TopK"] = {run_topk, 10};
  table["OneHot"] = {run_one_hot, 9};
  table["GatherND"] = {run_gather_nd, 11};
  table["ScatterND"] = {run_scatter_nd, 11};
  table["Scatter"] = {run_scatter_elements, 9};  // ScatterElements' former name
  table["ReverseSequence"] = {run_reverse_sequence, 10};
  table["Unique"] = {run_unique, 11};
}

}  // namespace cajal::onnx
