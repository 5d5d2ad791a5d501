// Softmax and log-softmax along a dim: a fused kernel forward, and a backward that is a
// fused kernel for first-order gradients or differentiable ops when backward is recorded.
#include "cajal/autograd/node.h"
#include "cajal/kernels/cpu/softmax.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/reduce.h"
#include "cajal/ops/reduce_util.h"

namespace cajal {

namespace {

// Runs a softmax kernel on the floating dtype it computes in (bfloat16 in float32) and
// gives the result in `dtype`.
template <typename Kernel>
Tensor run_softmax_kernel(const Tensor& like, DType dtype, const Kernel& kernel) {
  DType compute = dtype == DType::bf16 ? DType::f32 : dtype;
  Tensor out = make_tensor(like.sizes(), compute);
  kernel(compute, out);
  return compute == dtype ? out : convert(out, dtype);
}

Tensor softmax_op(const char* name, const Tensor& x, int64_t dim, bool log) {
  check_defined(name, x);
  if (!is_floating(x.dtype()))
    fail<DTypeError>(name, ": input must be floating point, got ", dtype_name(x.dtype()), "; convert it with to()");
  int64_t d = wrap_dim(dim, x.dim(), name);
  Tensor y = run_softmax_kernel(x, x.dtype(), [&](DType compute, const Tensor& out) {
    kernels::softmax(kernel_input(x, compute), out, d, log);
  });
  // x too, though first-order backward reads only y: the recorded backward recomputes y
  // from x (as unary_op does), so x must not change either.
  autograd::record(name, y, {&x}, autograd::save(x, y.detach()),
                   [name, d, log](const Tensor& g, const Tensor& x, const Tensor& y) -> TensorList {
    if (autograd::GradMode::enabled()) {
      // Recorded backward: y recomputed with history, so second derivatives see how y
      // depends on x.
      Tensor yv = softmax_op(name, x, d, log);
      if (log) return {g - exp(yv) * sum(g, {d}, true)};
      return {yv * (g - sum(g * yv, {d}, true))};
    }
    return {run_softmax_kernel(g, g.dtype(), [&](DType compute, const Tensor& out) {
      kernels::softmax_backward(kernel_input(g, compute), kernel_input(y, compute), out, d, log);
    })};
  });
  return y;
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_op("softmax", x, dim, false); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_op("log_softmax", x, dim, true); }

Tensor Tensor::softmax(int64_t dim) const { return cajal::softmax(*this, dim); }
Tensor Tensor::log_softmax(int64_t dim) const { return cajal::log_softmax(*this, dim); }

}  // namespace cajal
