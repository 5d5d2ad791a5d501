// Copies and conversions: contiguous, clone, to(dtype), copy_, fill_.
#include "cajal/autograd/node.h"
#include "cajal/kernels/cpu/elementwise.h"
#include "cajal/ops/convert.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/reduce.h"

namespace cajal {

Tensor convert(const Tensor& t, DType dtype) {
  check_defined("to", t);
  Tensor out = make_tensor(t.sizes(), dtype);
  kernels::copy(t, out);
  return out;
}

Tensor Tensor::clone() const {
  check_defined("clone", *this);
  Tensor out = convert(*this, dtype());
  autograd::record("clone", out, {this}, [](const Tensor& g) -> TensorList { return {g}; });
  return out;
}

Tensor Tensor::contiguous() const {
  check_defined("contiguous", *this);
  return is_contiguous() ? *this : clone();
}

Tensor Tensor::to(DType target) const {
  check_defined("to", *this);
  if (target == dtype()) return *this;
  Tensor out = convert(*this, target);
  // Only floating types carry gradients: an integer or bool result has no history, as in PyTorch.
  if (!is_floating(target)) return out;
  DType source = dtype();
  autograd::record("to", out, {this}, [source](const Tensor& g) -> TensorList { return {g.to(source)}; });
  return out;
}

Tensor& Tensor::copy_(const Tensor& src) {
  check_defined("copy_", *this, src);
  autograd::check_inplace(*this, autograd::needs_grad({&src}), "copy_");
  if (broadcast_shapes(src.sizes(), sizes(), "copy_") != sizes())
    fail<ShapeError>("copy_: source of shape ", src.sizes(), " does not broadcast to ", sizes());
  kernels::copy(src, *this);
  bump_version();
  if (!autograd::needs_grad({&src})) {
    if (autograd::GradMode::enabled() && requires_grad() && !is_leaf()) detach_();  // a constant now: no history
  } else {
    Tensor result = detach();  // carries the copy's history, then hands it to this tensor
    autograd::record("copy_", result, {&src}, [src_shape = src.sizes(), src_dtype = src.dtype()](const Tensor& g) -> TensorList {
      return {sum_to(g, src_shape).to(src_dtype)};
    });
    autograd::take_history(*this, result);
  }
  return *this;
}

Tensor& Tensor::fill_(Scalar value) {
  check_defined("fill_", *this);
  autograd::check_inplace(*this, false, "fill_");
  kernels::fill(*this, value.value);
  bump_version();
  if (autograd::GradMode::enabled() && requires_grad() && !is_leaf()) detach_();  // a constant now: no history
  return *this;
}

}  // namespace cajal
