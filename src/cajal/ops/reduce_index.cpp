// Index reductions: max and min along a dim (values and indices), argmax, argmin.
#include "cajal/autograd/node.h"
#include "cajal/kernels/cpu/reduce_index.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/reduce.h"
#include "cajal/ops/reduce_util.h"

namespace cajal {

using kernels::IndexReduceOp;

namespace {

// The gradient of values picked along `dim` at `indices` (both with size 1 at dim): g at
// the picked positions of an input of `input_shape`, 0 elsewhere.
Tensor picked_grad(const Tensor& g_keep, const Tensor& indices_keep, const Dims& input_shape, int64_t dim) {
  Dims along(input_shape.size(), 1);
  along[dim] = input_shape[dim];
  Tensor positions = arange(input_shape[dim]).view(along);
  return where(eq(positions, indices_keep), g_keep, 0);
}

ValuesIndices index_reduce(IndexReduceOp op, const Tensor& x, int64_t dim, bool keepdim, const char* name) {
  check_defined(name, x);
  int64_t d = wrap_dim(dim, x.dim(), name);
  if (x.dim() > 0 && x.size(d) == 0)
    fail<ValueError>(name, ": cannot reduce dim ", dim, " of size 0 (input shape ", x.sizes(), ")");
  DType compute = x.dtype() == DType::bf16 ? DType::f32 : x.dtype();
  Tensor in = kernel_input(x, compute);
  Dims keep = x.sizes();
  if (x.dim() > 0) keep[d] = 1;
  Tensor values = make_tensor(keep, compute);
  Tensor indices = make_tensor(keep, DType::i64);
  kernels::reduce_index(op, in, d, values, indices);
  if (compute != x.dtype()) values = convert(values, x.dtype());
  if (!keepdim && x.dim() > 0) {
    Dims dropped = drop_dims(keep, {d});
    values = values.view(dropped);
    indices = indices.view(dropped);
  }
  autograd::record(name, values, {&x}, autograd::save(indices),
                   [shape = x.sizes(), d, keepdim](const Tensor& g, const Tensor& indices) -> TensorList {
    if (shape.empty()) return {g};
    Tensor g_keep = keepdim ? g : g.unsqueeze(d);
    Tensor i_keep = keepdim ? indices : indices.unsqueeze(d);
    return {picked_grad(g_keep, i_keep, shape, d)};
  });
  return {values, indices};
}

// argmax / argmin; without a dim, of the flattened tensor.
Tensor arg_reduce(IndexReduceOp op, const Tensor& x, std::optional<int64_t> dim, bool keepdim, const char* name) {
  check_defined(name, x);
  if (dim) return index_reduce(op, x.detach(), *dim, keepdim, name).indices;
  if (x.numel() == 0) fail<ValueError>(name, ": the tensor is empty; specify a dim or give a non-empty tensor");
  Tensor index = index_reduce(op, x.detach().reshape({-1}), 0, false, name).indices;
  return keepdim ? index.view(Dims(x.sizes().size(), 1)) : index;
}

}  // namespace

ValuesIndices max(const Tensor& x, int64_t dim, bool keepdim) { return index_reduce(IndexReduceOp::Max, x, dim, keepdim, "max"); }
ValuesIndices min(const Tensor& x, int64_t dim, bool keepdim) { return index_reduce(IndexReduceOp::Min, x, dim, keepdim, "min"); }

Tensor argmax(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  return arg_reduce(IndexReduceOp::Max, x, dim, keepdim, "argmax");
}
Tensor argmin(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  return arg_reduce(IndexReduceOp::Min, x, dim, keepdim, "argmin");
}

Tensor Tensor::argmax(std::optional<int64_t> dim, bool keepdim) const { return cajal::argmax(*this, dim, keepdim); }

}  // namespace cajal
