// Sum-like reductions (sum, mean, full max/min, all, any) and sum_to.
#include <algorithm>
#include <cmath>

#include "cajal/autograd/node.h"
#include "cajal/kernels/cpu/reduce.h"
#include "cajal/ops/convert.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/reduce.h"
#include "cajal/ops/reduce_util.h"

namespace cajal {

Dims reduction_dims(const Tensor& x, const Dims& dims, const char* op) {
  check_defined(op, x);
  Dims out;
  if (dims.empty()) {
    for (int64_t d = 0; d < x.dim(); ++d) out.push_back(d);
    return out;
  }
  for (int64_t d : dims) {
    int64_t w = wrap_dim(d, x.dim(), op);
    if (std::find(out.begin(), out.end(), w) != out.end()) fail<ValueError>(op, ": dim ", d, " appears more than once");
    if (x.dim() > 0) out.push_back(w);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Dims keepdim_shape(const Tensor& x, const Dims& reduced) {
  Dims s = x.sizes();
  for (int64_t d : reduced) s[d] = 1;
  return s;
}

Dims drop_dims(const Dims& keep_shape, const Dims& reduced) {
  Dims s;
  for (size_t d = 0; d < keep_shape.size(); ++d)
    if (std::find(reduced.begin(), reduced.end(), static_cast<int64_t>(d)) == reduced.end()) s.push_back(keep_shape[d]);
  return s;
}

Tensor expand_reduced_grad(const Tensor& g, const Dims& input_shape, const Dims& reduced, bool keepdim) {
  Dims keep = input_shape;
  for (int64_t d : reduced) keep[d] = 1;
  Tensor gk = keepdim ? g : g.reshape(keep);
  return gk.expand(input_shape);
}

Tensor reduce_raw(kernels::ReduceOp op, const Tensor& x, const Dims& reduced, bool keepdim, DType dtype) {
  DType compute = dtype == DType::bf16 ? DType::f32 : dtype;
  Tensor in = x.dtype() == compute ? x : convert(x, compute);
  Dims keep = keepdim_shape(x, reduced);
  Tensor out = make_tensor(keep, compute);
  kernels::reduce(op, in, out);
  if (compute != dtype) out = convert(out, dtype);
  return keepdim ? out : out.view(drop_dims(keep, reduced));
}

Tensor sum(const Tensor& x, const Dims& dims, bool keepdim) {
  Dims reduced = reduction_dims(x, dims, "sum");
  DType dt = is_floating(x.dtype()) ? x.dtype() : DType::i64;  // integers and bools sum to int64
  Tensor out = reduce_raw(kernels::ReduceOp::Sum, x, reduced, keepdim, dt);
  autograd::record("sum", out, {&x}, [shape = x.sizes(), reduced, keepdim](const Tensor& g) -> TensorList {
    return {expand_reduced_grad(g, shape, reduced, keepdim)};
  });
  return out;
}

Tensor mean(const Tensor& x, const Dims& dims, bool keepdim) {
  check_defined("mean", x);
  if (!is_floating(x.dtype()))
    fail<DTypeError>("mean: input must be floating point, got ", dtype_name(x.dtype()), "; convert it with to()");
  Dims reduced = reduction_dims(x, dims, "mean");
  int64_t count = 1;
  for (int64_t d : reduced) count *= x.size(d);
  return div(sum(x, dims, keepdim), static_cast<double>(count));
}

namespace {
// Full max/min: the gradient is shared evenly among the elements equal to the result.
Tensor extreme_all(kernels::ReduceOp op, const Tensor& x, const char* name) {
  check_defined(name, x);
  if (x.numel() == 0) fail<ValueError>(name, ": the tensor is empty; specify a dim or give a non-empty tensor");
  Tensor out = reduce_raw(op, x, reduction_dims(x, {}, name), false, x.dtype());
  if (autograd::needs_grad({&x})) {
    autograd::record(name, out, {&x}, autograd::save(x, out.detach()), [](const Tensor& g, const Tensor& x, const Tensor& out) -> TensorList {
      // A NaN result came from the NaNs: they share the gradient, as in PyTorch.
      Tensor mask = (std::isnan(out.item()) ? isnan(x) : eq(x, out)).to(g.dtype());
      return {mask * (g / sum(mask))};
    });
  }
  return out;
}
}  // namespace

Tensor max(const Tensor& x) { return extreme_all(kernels::ReduceOp::Max, x, "max"); }
Tensor min(const Tensor& x) { return extreme_all(kernels::ReduceOp::Min, x, "min"); }

Tensor all(const Tensor& x, const Dims& dims, bool keepdim) {
  check_defined("all", x);
  Tensor b = x.dtype() == DType::boolean ? x : ne(x, 0);
  return reduce_raw(kernels::ReduceOp::All, b, reduction_dims(x, dims, "all"), keepdim, DType::boolean);
}
Tensor any(const Tensor& x, const Dims& dims, bool keepdim) {
  check_defined("any", x);
  Tensor b = x.dtype() == DType::boolean ? x : ne(x, 0);
  return reduce_raw(kernels::ReduceOp::Any, b, reduction_dims(x, dims, "any"), keepdim, DType::boolean);
}

Tensor sum_to(const Tensor& g, const Dims& shape) {
  check_defined("sum_to", g);
  if (g.sizes() == shape) return g;
  size_t lead = g.sizes().size() - shape.size();
  if (g.sizes().size() < shape.size()) fail<ShapeError>("sum_to: cannot sum shape ", g.sizes(), " to ", shape);
  Dims dims;
  for (size_t d = 0; d < g.sizes().size(); ++d)
    if (d < lead || (shape[d - lead] == 1 && g.sizes()[d] != 1)) dims.push_back(static_cast<int64_t>(d));
  Tensor r = dims.empty() ? g : sum(g, dims, true);
  return r.view(shape);
}

Tensor Tensor::sum() const { return cajal::sum(*this); }
Tensor Tensor::sum(const Dims& dims, bool keepdim) const { return cajal::sum(*this, dims, keepdim); }
Tensor Tensor::mean() const { return cajal::mean(*this); }
Tensor Tensor::mean(const Dims& dims, bool keepdim) const { return cajal::mean(*this, dims, keepdim); }
Tensor Tensor::max() const { return cajal::max(*this); }
Tensor Tensor::min() const { return cajal::min(*this); }

}  // namespace cajal
