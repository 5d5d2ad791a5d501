// hardtanh, mish, prelu. mish and prelu are compositions of differentiable ops, so their
// gradients (of any order) come from those ops; hardtanh records its own backward for
// PyTorch's zero gradient at the bounds.
#include "cajal/ops/activation.h"

#include "cajal/autograd/node.h"
#include "cajal/ops/elementwise.h"

namespace cajal {

Tensor hardtanh(const Tensor& x, double min_val, double max_val) {
  check_defined("hardtanh", x);
  if (min_val > max_val) fail<ValueError>("hardtanh: min_val ", min_val, " is greater than max_val ", max_val);
  Tensor y = clamp(x.detach(), min_val, max_val);  // the forward only: the gradient differs from clamp's
  autograd::record("hardtanh", y, {&x}, autograd::save(x), [min_val, max_val](const Tensor& g, const Tensor& x) -> TensorList {
    return {where(logical_and(gt(x, min_val), lt(x, max_val)), g, 0)};
  });
  return y;
}

Tensor mish(const Tensor& x) {
  check_defined("mish", x);
  return x * tanh(softplus(x));
}

Tensor prelu(const Tensor& x, const Tensor& weight) {
  check_defined("prelu", x, weight);
  if (weight.dim() > 1) fail<ShapeError>("prelu: weight must be 1-D, got shape ", weight.sizes());
  const int64_t n = weight.numel();
  Tensor slope;
  if (n == 1) {
    slope = weight.reshape({});
  } else {
    if (x.dim() < 2 || x.size(1) != n)
      fail<ShapeError>("prelu: weight has ", n, " slopes but the input of shape ", x.sizes(), " has ",
                       x.dim() < 2 ? 1 : x.size(1), " channels (dim 1)");
    Dims shape(static_cast<size_t>(x.dim()), 1);
    shape[1] = n;
    slope = weight.reshape(shape);  // broadcasts over the batch and spatial dims
  }
  return where(gt(x, 0), x, x * slope);
}

}  // namespace cajal
