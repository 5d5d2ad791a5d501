#pragma once
// Elementwise CPU kernels. They know nothing of autograd: ops/ checks arguments, picks
// dtypes, allocates outputs and records gradients, then calls these.
#include "cajal/core/tensor.h"

namespace cajal::kernels {

enum class UnaryOp {
  Neg, Abs, Exp, Log, Log1p, Expm1, Sqrt, Rsqrt, Square, Sin, Cos, Tanh, Sigmoid, Relu,
  LeakyRelu,  // p0 = negative slope
  Elu,        // p0 = alpha, p1 = scale (selu uses its constants)
  GeluErf, GeluTanh, Silu,
  Softplus,   // p0 = beta, p1 = threshold
  Sign, Floor, Ceil, Round, Reciprocal,
  Clamp,      // p0 = min, p1 = max (NaN for "none")
  PowScalar,  // p0 = exponent
  Erf,
  LogicalNot, IsNan, IsFinite,
};

enum class BinaryOp {
  Add, Sub, Mul, Div, Pow, Maximum, Minimum, Atan2,
  Eq, Ne, Lt, Le, Gt, Ge, LogicalAnd, LogicalOr, LogicalXor,
  // Fused first-order backward formulas (grad, saved) -> grad_input, one pass each.
  ReluBackward,     // (g, x)
  SigmoidBackward,  // (g, y)
  TanhBackward,     // (g, y)
};

// out = op(in), elementwise. `in` and `out` have the same shape; out's dtype is the
// input's, except for the predicates (bool). p0/p1 are the op's parameters.
void unary(UnaryOp op, const Tensor& in, const Tensor& out, double p0 = 0, double p1 = 0);

// out = op(a, b) with broadcasting; a and b share a dtype; out has the broadcast shape and
// that dtype, or bool for comparisons and logical ops. `alpha` scales b for Add/Sub.
void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out, double alpha = 1);

// out = cond ? a : b with broadcasting (cond bool; a, b, out of one dtype).
void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out);

// dst = src, broadcasting src to dst's shape and converting dtypes.
void copy(const Tensor& src, const Tensor& dst);

// Every element of t set to value.
void fill(const Tensor& t, double value);

}  // namespace cajal::kernels
