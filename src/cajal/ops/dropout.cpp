// Dropout: a random keep-mask (Bernoulli with probability 1 - p) multiplies the input.
// The result is built from differentiable ops with the mask as a constant, so the gradient
// is the upstream gradient times the scaled mask.
#include "cajal/ops/dropout.h"

#include <cmath>

#include "cajal/ops/creation.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/random.h"

namespace cajal {

namespace {

void check_dropout(const Tensor& x, double p, const char* op) {
  check_defined(op, x);
  if (!(p >= 0 && p <= 1)) fail<ValueError>(op, ": dropout probability has to be between 0 and 1, but got ", p);
  if (!x.is_floating_point()) fail<DTypeError>(op, ": expected a floating point input, got ", dtype_name(x.dtype()));
}

// 1 / (1 - p) where kept, 0 where dropped, in x's dtype, of the given shape.
Tensor scaled_keep_mask(const Tensor& x, const Dims& shape, double p, Generator* gen) {
  Tensor mask = bernoulli(shape, 1 - p, {.dtype = x.dtype()}, gen);
  mask.mul_(1 / (1 - p));
  return mask;
}

// True when the op returns x unchanged; p = 1 is handled by the callers as zeros.
bool passes_through(const Tensor& x, double p, bool training) { return !training || p == 0 || x.numel() == 0; }

}  // namespace

Tensor dropout(const Tensor& x, double p, bool training, Generator* gen) {
  check_dropout(x, p, "dropout");
  if (passes_through(x, p, training)) return x;
  if (p == 1) return x * 0;
  return x * scaled_keep_mask(x, x.sizes(), p, gen);
}

Tensor dropout2d(const Tensor& x, double p, bool training, Generator* gen) {
  check_dropout(x, p, "dropout2d");
  if (x.dim() < 2) fail<ShapeError>("dropout2d: expected an input [N, C, ...] of at least 2 dims, got shape ", x.sizes());
  if (passes_through(x, p, training)) return x;
  if (p == 1) return x * 0;
  Dims mask_shape(static_cast<size_t>(x.dim()), 1);  // [N, C, 1, ...]: broadcast over each channel
  mask_shape[0] = x.size(0);
  mask_shape[1] = x.size(1);
  return x * scaled_keep_mask(x, mask_shape, p, gen);
}

Tensor alpha_dropout(const Tensor& x, double p, bool training, Generator* gen) {
  check_dropout(x, p, "alpha_dropout");
  if (passes_through(x, p, training)) return x;
  if (p == 1) return x * 0;
  // SELU's negative saturation is -scale * alpha = -1.7580993408473766. Dropped elements
  // take that value, then a * (.) + b with a, b chosen (Klambauer et al. 2017) so a unit
  // normal input keeps mean 0 and variance 1. As torch: kept -> a x + alpha a p,
  // dropped -> -alpha a (1 - p).
  constexpr double kAlpha = 1.7580993408473766;
  const double a = 1 / std::sqrt((kAlpha * kAlpha * p + 1) * (1 - p));
  Tensor keep = bernoulli(x.sizes(), 1 - p, {.dtype = x.dtype()}, gen);
  Tensor shift = (keep - 1) * (kAlpha * a) + kAlpha * a * p;
  return x * (keep * a) + shift;
}

}  // namespace cajal
