// Sorting along a dim: sort, argsort, topk. The kernel finds the order (the indices); the
// values are gather(x, dim, indices), so their gradient is gather's: the output gradient
// scattered back to where each value came from.
#include "cajal/kernels/cpu/sort.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/shape.h"

namespace cajal {

namespace {

// The positions of the first k elements along dim d of x (at least 1-D) in sorted order.
Tensor sorted_positions(const Tensor& x, int64_t d, int64_t k, bool descending) {
  // The kernel sorts contiguous rows: move d last, sort, move it back.
  Tensor rows = x.detach().transpose(d, -1).contiguous();
  Dims shape = rows.sizes();
  shape[shape.size() - 1] = k;
  Tensor positions = make_tensor(shape, DType::i64);
  kernels::sort_rows(rows, k, descending, positions);
  return positions.transpose(d, -1).contiguous();
}

// A 0-d tensor is one element, already in order.
ValuesIndices single_element(const Tensor& x) { return {x.clone(), zeros({}, {.dtype = DType::i64})}; }

}  // namespace

ValuesIndices sort(const Tensor& x, int64_t dim, bool descending) {
  check_defined("sort", x);
  int64_t d = wrap_dim(dim, x.dim(), "sort");
  if (x.dim() == 0) return single_element(x);
  Tensor indices = sorted_positions(x, d, x.sizes()[d], descending);
  return {gather(x, d, indices), indices};
}

Tensor argsort(const Tensor& x, int64_t dim, bool descending) {
  check_defined("argsort", x);
  int64_t d = wrap_dim(dim, x.dim(), "argsort");
  if (x.dim() == 0) return single_element(x).indices;
  return sorted_positions(x, d, x.sizes()[d], descending);
}

ValuesIndices topk(const Tensor& x, int64_t k, int64_t dim, bool largest, bool sorted) {
  check_defined("topk", x);
  int64_t d = wrap_dim(dim, x.dim(), "topk");
  int64_t n = x.dim() == 0 ? 1 : x.sizes()[d];
  int64_t smallest_k = x.dim() == 0 ? 1 : 0;  // a 0-d result always holds one element
  if (k < smallest_k || k > n) fail<ValueError>("topk: k ", k, " is out of range for dim ", dim, " of size ", n);
  if (x.dim() == 0) return single_element(x);
  Tensor indices = sorted_positions(x, d, k, largest);
  return {gather(x, d, indices), indices};
}

}  // namespace cajal
