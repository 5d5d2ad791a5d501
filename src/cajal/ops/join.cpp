// Joining, splitting, flipping, repeating and padding. Forward copies go through
// kernels::copy into views, so no op here loops over elements itself. The backward
// formulas are differentiable ops again (cat's gradient is narrow, flip's is flip, pad's is
// pad with the pads negated), so gradients of any order work.
#include <algorithm>
#include <vector>

#include "cajal/autograd/node.h"
#include "cajal/kernels/cpu/elementwise.h"
#include "cajal/ops/convert.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/shape.h"

namespace cajal {

namespace {

// PyTorch's legacy rule: cat skips 1-D empty tensors whatever the other shapes are.
bool skipped_by_cat(const Tensor& t) { return t.dim() == 1 && t.numel() == 0; }

// Where one input of cat lies in the output, and what its gradient must look like.
struct CatPiece {
  int64_t start;
  int64_t length;
  DType dtype;
  bool skipped;
};

}  // namespace

Tensor cat(const TensorList& tensors, int64_t dim) {
  if (tensors.empty()) fail<ValueError>("cat: expects a non-empty list of tensors");
  for (const Tensor& t : tensors) check_defined("cat", t);
  size_t ref = 0;  // the tensor whose shape the others must match
  while (ref + 1 < tensors.size() && skipped_by_cat(tensors[ref])) ++ref;
  const Tensor& first = tensors[ref];
  DType dtype = first.dtype();
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i].dim() == 0) fail<ShapeError>("cat: tensor ", i, " is zero-dimensional and cannot be concatenated");
    dtype = promote_types(dtype, tensors[i].dtype());
  }
  int64_t d = wrap_dim(dim, first.dim(), "cat");
  Dims shape = first.sizes();
  shape[d] = 0;
  std::vector<CatPiece> pieces;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    if (i != ref && skipped_by_cat(t)) {
      pieces.push_back({0, 0, t.dtype(), true});
      continue;
    }
    if (t.dim() != first.dim())
      fail<ShapeError>("cat: tensor ", ref, " has ", first.dim(), " dims but tensor ", i, " has ", t.dim(), " (shapes ",
                       first.sizes(), " and ", t.sizes(), ")");
    for (int64_t k = 0; k < t.dim(); ++k)
      if (k != d && t.sizes()[k] != first.sizes()[k])
        fail<ShapeError>("cat: sizes must match except in dim ", d, ", but tensor ", ref, " has shape ", first.sizes(),
                         " and tensor ", i, " has shape ", t.sizes(), " (dim ", k, ": ", first.sizes()[k], " vs ",
                         t.sizes()[k], ")");
    pieces.push_back({shape[d], t.sizes()[d], t.dtype(), false});
    shape[d] += t.sizes()[d];
  }
  Tensor out = make_tensor(shape, dtype);
  for (size_t i = 0; i < tensors.size(); ++i)
    if (!pieces[i].skipped) kernels::copy(tensors[i], out.narrow(d, pieces[i].start, pieces[i].length));
  autograd::record_list("cat", out, tensors, [d, pieces](const Tensor& g) -> TensorList {
    TensorList grads;
    for (const CatPiece& p : pieces) {
      if (!is_floating(p.dtype)) {  // integer inputs carry no gradient
        grads.emplace_back();
        continue;
      }
      if (p.skipped) {
        grads.push_back(zeros({0}, {.dtype = p.dtype}));
        continue;
      }
      Tensor part = g.narrow(d, p.start, p.length);
      grads.push_back(part.dtype() == p.dtype ? part : part.to(p.dtype));
    }
    return grads;
  });
  return out;
}

Tensor stack(const TensorList& tensors, int64_t dim) {
  if (tensors.empty()) fail<ValueError>("stack: expects a non-empty list of tensors");
  for (const Tensor& t : tensors) check_defined("stack", t);
  for (size_t i = 1; i < tensors.size(); ++i)
    if (tensors[i].sizes() != tensors[0].sizes())
      fail<ShapeError>("stack: expects tensors of one shape, but tensor 0 has shape ", tensors[0].sizes(),
                       " and tensor ", i, " has shape ", tensors[i].sizes());
  int64_t d = wrap_dim(dim, tensors[0].dim() + 1, "stack");
  TensorList parts;
  for (const Tensor& t : tensors) parts.push_back(t.unsqueeze(d));
  return cat(parts, d);
}

namespace {
int64_t split_dim(const Tensor& x, int64_t dim, const char* op) {
  check_defined(op, x);
  if (x.dim() == 0) fail<ShapeError>(op, ": expects a tensor with at least one dimension, got a 0-d tensor");
  return wrap_dim(dim, x.dim(), op);
}
}  // namespace

TensorList split(const Tensor& x, int64_t split_size, int64_t dim) {
  int64_t d = split_dim(x, dim, "split");
  int64_t n = x.sizes()[d];
  if (split_size < 0 || (split_size == 0 && n > 0))
    fail<ValueError>("split: split_size must be positive, got ", split_size, " for dim ", dim, " of size ", n);
  Dims sizes;
  for (int64_t start = 0; start < n; start += split_size) sizes.push_back(std::min(split_size, n - start));
  if (sizes.empty()) sizes.push_back(0);  // an empty dim gives one empty piece
  return split(x, sizes, d);
}

TensorList split(const Tensor& x, const Dims& sizes, int64_t dim) {
  int64_t d = split_dim(x, dim, "split");
  int64_t total = 0;
  for (int64_t s : sizes) {
    if (s < 0) fail<ValueError>("split: sizes ", sizes, " contain the negative size ", s);
    total += s;
  }
  if (total != x.sizes()[d])
    fail<ShapeError>("split: sizes ", sizes, " sum to ", total, " but dim ", dim, " has size ", x.sizes()[d]);
  TensorList pieces;
  int64_t start = 0;
  for (int64_t s : sizes) {
    pieces.push_back(x.narrow(d, start, s));
    start += s;
  }
  return pieces;
}

TensorList chunk(const Tensor& x, int64_t chunks, int64_t dim) {
  int64_t d = split_dim(x, dim, "chunk");
  if (chunks <= 0) fail<ValueError>("chunk: the number of chunks must be positive, got ", chunks);
  int64_t n = x.sizes()[d];
  return split(x, (n + chunks - 1) / chunks, d);
}

Tensor flip(const Tensor& x, const Dims& dims) {
  check_defined("flip", x);
  Dims strides = x.strides();
  int64_t offset = x.offset();
  std::vector<bool> seen(static_cast<size_t>(std::max<int64_t>(x.dim(), 1)), false);
  for (int64_t dim : dims) {
    int64_t d = wrap_dim(dim, x.dim(), "flip");
    if (seen[d]) fail<ValueError>("flip: dim ", dim, " appears more than once in ", dims);
    seen[d] = true;
    if (x.dim() == 0) continue;  // a 0-d tensor has nothing to reverse
    if (x.sizes()[d] > 0) offset += (x.sizes()[d] - 1) * strides[d];
    strides[d] = -strides[d];
  }
  // A view with negated strides reads the elements backwards; copying it gives the result.
  Tensor out = convert(x.detach().as_strided(x.sizes(), strides, offset), x.dtype());
  autograd::record("flip", out, {&x}, [dims](const Tensor& g) -> TensorList { return {flip(g, dims)}; });
  return out;
}

namespace {
Tensor repeat_as(const Tensor& x, const Dims& repeats, const char* op) {
  check_defined(op, x);
  if (static_cast<int64_t>(repeats.size()) < x.dim())
    fail<ShapeError>(op, ": ", repeats.size(), " repeats ", repeats, " are fewer than the tensor's ", x.dim(),
                     " dims (shape ", x.sizes(), ")");
  size_t lead = repeats.size() - static_cast<size_t>(x.dim());
  Dims with_ones, expanded, result;
  for (size_t i = 0; i < repeats.size(); ++i) {
    if (repeats[i] < 0) fail<ValueError>(op, ": repeats must be non-negative, got ", repeats);
    int64_t s = i < lead ? 1 : x.sizes()[i - lead];
    with_ones.push_back(1);
    with_ones.push_back(s);
    expanded.push_back(repeats[i]);
    expanded.push_back(s);
    result.push_back(repeats[i] * s);
  }
  // Each dim of size s becomes [1, s], expanded (no copy) to [r, s]; the clone lays the r
  // copies out one after another. expand's backward sums the r gradients.
  return x.reshape(with_ones).expand(expanded).clone().view(result);
}
}  // namespace

Tensor repeat(const Tensor& x, const Dims& repeats) { return repeat_as(x, repeats, "repeat"); }

Tensor tile(const Tensor& x, const Dims& reps) {
  check_defined("tile", x);
  Dims padded = reps;
  while (static_cast<int64_t>(padded.size()) < x.dim()) padded.insert(0, 1);
  return repeat_as(x, padded, "tile");
}

namespace {

// One padded dim and its pads before and after.
struct DimPad {
  int64_t dim;
  int64_t before;
  int64_t after;
};

// The dims `pads` refers to: pairs from the last dim backwards.
std::vector<DimPad> padded_dims(const Tensor& x, const Dims& pads) {
  if (pads.size() % 2 != 0) fail<ShapeError>("pad: padding ", pads, " must have an even length, got ", pads.size());
  int64_t count = static_cast<int64_t>(pads.size() / 2);
  if (count > x.dim())
    fail<ShapeError>("pad: padding ", pads, " pads ", count, " dims but the input has ", x.dim(), " (shape ", x.sizes(),
                     ")");
  std::vector<DimPad> dims;
  for (int64_t k = 0; k < count; ++k) dims.push_back({x.dim() - 1 - k, pads[2 * k], pads[2 * k + 1]});
  return dims;
}

Tensor pad_constant(const Tensor& x, const std::vector<DimPad>& dims, double value) {
  Dims shape = x.sizes();
  for (const DimPad& p : dims) {
    shape[p.dim] += p.before + p.after;
    if (shape[p.dim] < 0)
      fail<ShapeError>("pad: dim ", p.dim, " of size ", x.sizes()[p.dim], " padded by (", p.before, ", ", p.after,
                       ") would have the negative size ", shape[p.dim]);
  }
  Tensor out = full(shape, value, {.dtype = x.dtype()});
  // Copy what survives negative pads (cropping) into its place in out.
  Tensor src = x.detach(), dst = out;
  for (const DimPad& p : dims) {
    int64_t crop_before = std::max<int64_t>(0, -p.before);
    int64_t length = x.sizes()[p.dim] - crop_before - std::max<int64_t>(0, -p.after);
    if (length <= 0) return out;  // everything cropped away
    src = src.narrow(p.dim, crop_before, length);
    dst = dst.narrow(p.dim, std::max<int64_t>(0, p.before), length);
  }
  kernels::copy(src, dst);
  return out;
}

// For reflect and replicate padding: the input position along a dim of `size` that each
// output position copies.
Tensor edge_source(int64_t size, const DimPad& p, PadMode mode) {
  std::vector<int64_t> source;
  for (int64_t j = -p.before; j < size + p.after; ++j) {
    if (mode == PadMode::Replicate) {
      source.push_back(std::clamp<int64_t>(j, 0, size - 1));
    } else {
      int64_t i = j < 0 ? -j : j;  // mirror at the first element, then at the last
      source.push_back(i < size ? i : 2 * (size - 1) - i);
    }
  }
  return from_vector(source);
}

}  // namespace

Tensor pad(const Tensor& x, const Dims& pads, PadMode mode, double value) {
  check_defined("pad", x);
  std::vector<DimPad> dims = padded_dims(x, pads);
  if (mode == PadMode::Constant) {
    Tensor out = pad_constant(x, dims, value);
    autograd::record("pad", out, {&x}, [pads](const Tensor& g) -> TensorList {
      Dims unpad = pads;
      for (int64_t& p : unpad) p = -p;
      return {pad(g, unpad)};
    });
    return out;
  }
  // Reflect and replicate pick input positions along each padded dim: index_select, whose
  // backward (index_add) sums the gradients of the copies of each edge element.
  const char* name = mode == PadMode::Reflect ? "reflect" : "replicate";
  Tensor out = x;
  for (const DimPad& p : dims) {
    int64_t size = x.sizes()[p.dim];
    if (p.before < 0 || p.after < 0)
      fail<ValueError>("pad: ", name, " padding must be non-negative, got (", p.before, ", ", p.after, ") for dim ",
                       p.dim);
    if (mode == PadMode::Reflect && (p.before >= size || p.after >= size))
      fail<ValueError>("pad: reflect padding (", p.before, ", ", p.after, ") of dim ", p.dim,
                       " must be smaller than its size ", size);
    if (mode == PadMode::Replicate && size == 0 && p.before + p.after > 0)
      fail<ValueError>("pad: replicate padding needs a non-empty dim, but dim ", p.dim, " has size 0");
    out = index_select(out, p.dim, edge_source(size, p, mode));
  }
  return out;
}

}  // namespace cajal
