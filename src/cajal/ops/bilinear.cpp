// bilinear as one matrix product and one reduction (an einsum "ni,oij,nj->no" done by
// hand), built of differentiable ops so its gradients need no formula of their own.
#include "cajal/ops/bilinear.h"

#include "cajal/ops/elementwise.h"
#include "cajal/ops/linalg.h"
#include "cajal/ops/reduce.h"

namespace cajal {

Tensor bilinear(const Tensor& x1, const Tensor& x2, const Tensor& weight, const Tensor& bias) {
  check_defined("bilinear", x1, x2, weight);
  if (weight.dim() != 3) fail<ShapeError>("bilinear: weight must be [out, in1, in2], got shape ", weight.sizes());
  const int64_t out = weight.size(0), in1 = weight.size(1), in2 = weight.size(2);
  if (x1.dim() < 1 || x1.size(-1) != in1 || x2.dim() < 1 || x2.size(-1) != in2)
    fail<ShapeError>("bilinear: inputs of shapes ", x1.sizes(), " and ", x2.sizes(), " do not end in the weight's ",
                     "in1 = ", in1, " and in2 = ", in2, " (weight shape ", weight.sizes(), ")");
  Dims lead(x1.sizes().begin(), x1.sizes().end() - 1);
  if (Dims(x2.sizes().begin(), x2.sizes().end() - 1) != lead)
    fail<ShapeError>("bilinear: inputs of shapes ", x1.sizes(), " and ", x2.sizes(), " have different leading dims");
  if (bias.defined() && (bias.dim() != 1 || bias.size(0) != out))
    fail<ShapeError>("bilinear: bias must be [", out, "], got shape ", bias.sizes());

  const int64_t n = numel_of(lead);
  // t[n, o, j] = sum_i x1[n, i] weight[o, i, j]: one [n, in1] x [in1, out * in2] product.
  Tensor w = weight.permute({1, 0, 2}).reshape({in1, out * in2});
  Tensor t = x1.reshape({n, in1}).matmul(w).view({n, out, in2});
  Tensor y = (t * x2.reshape({n, 1, in2})).sum({2});
  if (bias.defined()) y = y + bias;
  lead.push_back(out);
  return y.reshape(lead);
}

}  // namespace cajal
