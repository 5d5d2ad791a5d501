// Copies and conversions: contiguous, clone, to(dtype), copy_, fill_.
#include "cajal/autograd/node.h"
#include "cajal/kernels/cpu/elementwise.h"
#include "cajal/ops/convert.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/reduce.h"

namespace cajal {

Tensor convert(const Tensor& t, DType dtype) {
  Tensor out = make_tensor(t.sizes(), dtype);
  kernels::copy(t, out);
  return out;
}

Tensor Tensor::clone() const {
  Tensor out = convert(*this, dtype());
  autograd::record("clone", out, {this}, [](const Tensor& g) -> TensorList { return {g}; });
  return out;
}

Tensor Tensor::contiguous() const { return is_contiguous() ? *this : clone(); }

Tensor Tensor::to(DType target) const {
  if (target == dtype()) return *this;
  if (requires_grad() && autograd::GradMode::enabled() && !is_floating(target))
    fail<DTypeError>("to: cannot convert a tensor that requires grad to ", dtype_name(target),
                     " (only floating types carry gradients); detach() it first");
  Tensor out = convert(*this, target);
  DType source = dtype();
  autograd::record("to", out, {this}, [source](const Tensor& g) -> TensorList { return {g.to(source)}; });
  return out;
}

namespace {
// In place on a leaf that requires grad would silently change what backward sees.
void check_inplace(const Tensor& self, const char* op) {
  if (autograd::GradMode::enabled() && self.requires_grad() && self.is_leaf())
    fail<AutogradError>(op, ": a leaf tensor that requires grad is used in an in-place operation; "
                        "wrap it in NoGradGuard (optimizer updates) or clone() it");
}
}  // namespace

Tensor& Tensor::copy_(const Tensor& src) {
  check_inplace(*this, "copy_");
  if (numel_of(broadcast_shapes(src.sizes(), sizes(), "copy_")) != numel())
    fail<ShapeError>("copy_: source of shape ", src.sizes(), " does not broadcast to ", sizes());
  kernels::copy(src, *this);
  bump_version();
  if (autograd::needs_grad({&src})) {
    Tensor& self = *this;
    Dims src_shape = src.sizes();
    DType src_dtype = src.dtype();
    Tensor result = self.detach();  // rebase this tensor's history on the copy
    autograd::record("copy_", result, {&src}, [src_shape, src_dtype](const Tensor& g) -> TensorList {
      return {sum_to(g, src_shape).to(src_dtype)};
    });
    impl()->grad_fn = result.grad_fn();
    impl()->requires_grad = true;
  }
  return *this;
}

Tensor& Tensor::fill_(Scalar value) {
  check_inplace(*this, "fill_");
  kernels::fill(*this, value.value);
  bump_version();
  if (requires_grad() && !is_leaf()) detach_();  // a constant now: no history
  return *this;
}

}  // namespace cajal
