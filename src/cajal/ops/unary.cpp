// Unary elementwise ops: forward through kernels::unary, backward formula beside it.
#include <cmath>

#include "cajal/autograd/node.h"
#include "cajal/kernels/cpu/elementwise.h"
#include "cajal/ops/convert.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/elementwise.h"

namespace cajal {

using kernels::BinaryOp;
using kernels::UnaryOp;

namespace {

// Runs a unary kernel. Integer inputs of floating ops compute in float32; bfloat16
// computes in float32 and is stored back as bfloat16.
Tensor unary_forward(UnaryOp op, const Tensor& x, bool int_to_float, double p0 = 0, double p1 = 0) {
  DType dt = x.dtype();
  DType compute = (dt == DType::bf16 || (int_to_float && !is_floating(dt))) ? DType::f32 : dt;
  Tensor in = compute == dt ? x : convert(x, compute);
  Tensor out = make_tensor(x.sizes(), compute);
  kernels::unary(op, in, out, p0, p1);
  return dt == DType::bf16 ? convert(out, DType::bf16) : out;
}

// A differentiable unary op. `derivative(g, x, y)` returns the input gradient; when
// backward is being recorded (create_graph) y is recomputed from x with history, so
// second derivatives see how y depends on x.
template <typename Derivative>
Tensor unary_op(const char* name, UnaryOp op, const Tensor& x, Derivative derivative, double p0 = 0,
                double p1 = 0, bool int_to_float = true) {
  check_defined(name, x);
  Tensor y = unary_forward(op, x, int_to_float, p0, p1);
  if (autograd::needs_grad({&x})) {
    // Formulas read x, and y or (under create_graph) y recomputed from x.
    autograd::record(name, y, {&x}, autograd::save(x, y.detach()),
                     [name, op, derivative, p0, p1](const Tensor& g, const Tensor& x, const Tensor& y) -> TensorList {
      Tensor yv = autograd::GradMode::enabled() ? unary_op(name, op, x, derivative, p0, p1) : y;
      return {derivative(g, x, yv)};
    });
  }
  return y;
}

// Backward of ops whose derivative is zero almost everywhere (sign, floor, ...).
Tensor zero_grad_of(const Tensor& g, const Tensor&, const Tensor&) { return zeros_like(g); }

bool grad_recording() { return autograd::GradMode::enabled(); }

// g * d, using a fused one-pass kernel for first-order backward.
Tensor fused_backward(BinaryOp op, const Tensor& g, const Tensor& saved) {
  Tensor out = make_tensor(g.sizes(), g.dtype());
  kernels::binary(op, g.contiguous(), saved.contiguous(), out);
  return out;
}

constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;

}  // namespace

Tensor neg(const Tensor& x) {
  check_defined("neg", x);
  if (x.dtype() == DType::boolean) fail<DTypeError>("neg: negation of a bool tensor is not supported; use logical_not");
  return unary_op("neg", UnaryOp::Neg, x, [](const Tensor& g, const Tensor&, const Tensor&) { return neg(g); }, 0, 0, false);
}
Tensor abs(const Tensor& x) {
  return unary_op("abs", UnaryOp::Abs, x, [](const Tensor& g, const Tensor& x, const Tensor&) { return g * sign(x); }, 0, 0, false);
}
Tensor exp(const Tensor& x) {
  return unary_op("exp", UnaryOp::Exp, x, [](const Tensor& g, const Tensor&, const Tensor& y) { return g * y; });
}
Tensor log(const Tensor& x) {
  return unary_op("log", UnaryOp::Log, x, [](const Tensor& g, const Tensor& x, const Tensor&) { return g / x; });
}
Tensor log1p(const Tensor& x) {
  return unary_op("log1p", UnaryOp::Log1p, x, [](const Tensor& g, const Tensor& x, const Tensor&) { return g / (x + 1); });
}
Tensor expm1(const Tensor& x) {
  return unary_op("expm1", UnaryOp::Expm1, x, [](const Tensor& g, const Tensor&, const Tensor& y) { return g * (y + 1); });
}
Tensor sqrt(const Tensor& x) {
  return unary_op("sqrt", UnaryOp::Sqrt, x, [](const Tensor& g, const Tensor&, const Tensor& y) { return g / (y * 2); });
}
Tensor rsqrt(const Tensor& x) {
  return unary_op("rsqrt", UnaryOp::Rsqrt, x,
                  [](const Tensor& g, const Tensor&, const Tensor& y) { return g * (y * y * y) * -0.5; });
}
Tensor square(const Tensor& x) {
  return unary_op("square", UnaryOp::Square, x, [](const Tensor& g, const Tensor& x, const Tensor&) { return g * x * 2; },
                  0, 0, false);
}
Tensor erf(const Tensor& x) {
  return unary_op("erf", UnaryOp::Erf, x, [](const Tensor& g, const Tensor& x, const Tensor&) {
    return g * exp(-(x * x)) * M_2_SQRTPI;
  });
}
Tensor sin(const Tensor& x) {
  return unary_op("sin", UnaryOp::Sin, x, [](const Tensor& g, const Tensor& x, const Tensor&) { return g * cos(x); });
}
Tensor cos(const Tensor& x) {
  return unary_op("cos", UnaryOp::Cos, x, [](const Tensor& g, const Tensor& x, const Tensor&) { return -(g * sin(x)); });
}
Tensor tanh(const Tensor& x) {
  return unary_op("tanh", UnaryOp::Tanh, x, [](const Tensor& g, const Tensor&, const Tensor& y) {
    return grad_recording() ? g * (1 - y * y) : fused_backward(BinaryOp::TanhBackward, g, y);
  });
}
Tensor sigmoid(const Tensor& x) {
  return unary_op("sigmoid", UnaryOp::Sigmoid, x, [](const Tensor& g, const Tensor&, const Tensor& y) {
    return grad_recording() ? g * y * (1 - y) : fused_backward(BinaryOp::SigmoidBackward, g, y);
  });
}
Tensor relu(const Tensor& x) {
  return unary_op("relu", UnaryOp::Relu, x, [](const Tensor& g, const Tensor& x, const Tensor&) {
    return grad_recording() ? where(gt(x, 0), g, 0) : fused_backward(BinaryOp::ReluBackward, g, x);
  }, 0, 0, false);
}
Tensor leaky_relu(const Tensor& x, double slope) {
  return unary_op("leaky_relu", UnaryOp::LeakyRelu, x, [slope](const Tensor& g, const Tensor& x, const Tensor&) {
    return where(gt(x, 0), g, g * slope);
  }, slope);
}

namespace {
Tensor elu_op(const char* name, const Tensor& x, double alpha, double scale) {
  return unary_op(name, UnaryOp::Elu, x, [alpha, scale](const Tensor& g, const Tensor& x, const Tensor& y) {
    return where(gt(x, 0), g * scale, g * (y + scale * alpha));
  }, alpha, scale);
}
}  // namespace

Tensor elu(const Tensor& x, double alpha) { return elu_op("elu", x, alpha, 1.0); }
Tensor selu(const Tensor& x) { return elu_op("selu", x, kSeluAlpha, kSeluScale); }

Tensor gelu(const Tensor& x, GeluApprox approximate) {
  if (approximate == GeluApprox::None)
    return unary_op("gelu", UnaryOp::GeluErf, x, [](const Tensor& g, const Tensor& x, const Tensor&) {
      Tensor cdf = (erf(x * M_SQRT1_2) + 1) * 0.5;
      Tensor pdf = exp(x * x * -0.5) * (0.5 * M_2_SQRTPI * M_SQRT1_2);
      return g * (cdf + x * pdf);
    });
  return unary_op("gelu_tanh", UnaryOp::GeluTanh, x, [](const Tensor& g, const Tensor& x, const Tensor&) {
    const double k = M_2_SQRTPI * M_SQRT1_2, c = 0.044715;
    Tensor t = tanh((x + x * x * x * c) * k);
    Tensor du = (x * x * (3 * c) + 1) * k;
    return g * ((t + 1) * 0.5 + x * 0.5 * (1 - t * t) * du);
  });
}
Tensor silu(const Tensor& x) {
  return unary_op("silu", UnaryOp::Silu, x, [](const Tensor& g, const Tensor& x, const Tensor&) {
    Tensor s = sigmoid(x);
    return g * s * (x * (1 - s) + 1);
  });
}
Tensor softplus(const Tensor& x, double beta, double threshold) {
  return unary_op("softplus", UnaryOp::Softplus, x, [beta, threshold](const Tensor& g, const Tensor& x, const Tensor&) {
    return where(gt(x * beta, threshold), g, g * sigmoid(x * beta));
  }, beta, threshold);
}
Tensor sign(const Tensor& x) { return unary_op("sign", UnaryOp::Sign, x, zero_grad_of, 0, 0, false); }
Tensor floor(const Tensor& x) { return unary_op("floor", UnaryOp::Floor, x, zero_grad_of, 0, 0, false); }
Tensor ceil(const Tensor& x) { return unary_op("ceil", UnaryOp::Ceil, x, zero_grad_of, 0, 0, false); }
Tensor round(const Tensor& x) { return unary_op("round", UnaryOp::Round, x, zero_grad_of, 0, 0, false); }
Tensor reciprocal(const Tensor& x) {
  return unary_op("reciprocal", UnaryOp::Reciprocal, x, [](const Tensor& g, const Tensor&, const Tensor& y) {
    return -(g * y * y);
  });
}
Tensor clamp(const Tensor& x, std::optional<double> min, std::optional<double> max) {
  if (!min && !max) fail<ValueError>("clamp: at least one of min and max must be given");
  if (min && max && *min > *max) fail<ValueError>("clamp: min ", *min, " is greater than max ", *max);
  double lo = min.value_or(NAN), hi = max.value_or(NAN);
  // An integer tensor clamped to a fractional bound gives float32, as torch.clamp(ints, 2.5) does.
  bool fractional = (min && *min != std::floor(*min)) || (max && *max != std::floor(*max));
  return unary_op("clamp", UnaryOp::Clamp, x, [lo, hi](const Tensor& g, const Tensor& x, const Tensor&) {
    Tensor inside = ones_like(x).to(DType::boolean);
    if (!std::isnan(lo)) inside = logical_and(inside, ge(x, lo));
    if (!std::isnan(hi)) inside = logical_and(inside, le(x, hi));
    return where(inside, g, 0);
  }, lo, hi, fractional);
}
Tensor pow(const Tensor& x, Scalar exponent) {
  check_defined("pow", x);
  double p = exponent.value;
  bool int_to_float = !exponent.integral;
  if (!is_floating(x.dtype()) && exponent.integral && p < 0)
    fail<ValueError>("pow: integers to negative integer powers are not allowed (exponent ", p, ")");
  return unary_op("pow", UnaryOp::PowScalar, x, [p](const Tensor& g, const Tensor& x, const Tensor&) {
    if (p == 0) return zeros_like(g);
    return g * pow(x, p - 1) * p;
  }, p, 0, int_to_float);
}
Tensor isnan(const Tensor& x) {
  check_defined("isnan", x);
  Tensor out = make_tensor(x.sizes(), DType::boolean);
  kernels::unary(UnaryOp::IsNan, x.dtype() == DType::bf16 ? convert(x, DType::f32) : x, out);
  return out;
}
Tensor isfinite(const Tensor& x) {
  check_defined("isfinite", x);
  Tensor out = make_tensor(x.sizes(), DType::boolean);
  kernels::unary(UnaryOp::IsFinite, x.dtype() == DType::bf16 ? convert(x, DType::f32) : x, out);
  return out;
}
Tensor logical_not(const Tensor& x) {
  check_defined("logical_not", x);
  Tensor out = make_tensor(x.sizes(), DType::boolean);
  kernels::unary(UnaryOp::LogicalNot, x.dtype() == DType::bf16 ? convert(x, DType::f32) : x, out);
  return out;
}

Tensor Tensor::neg() const { return cajal::neg(*this); }
Tensor Tensor::abs() const { return cajal::abs(*this); }
Tensor Tensor::exp() const { return cajal::exp(*this); }
Tensor Tensor::log() const { return cajal::log(*this); }
Tensor Tensor::sqrt() const { return cajal::sqrt(*this); }
Tensor Tensor::square() const { return cajal::square(*this); }
Tensor Tensor::tanh() const { return cajal::tanh(*this); }
Tensor Tensor::sigmoid() const { return cajal::sigmoid(*this); }
Tensor Tensor::relu() const { return cajal::relu(*this); }
Tensor Tensor::pow(Scalar e) const { return cajal::pow(*this, e); }
Tensor operator-(const Tensor& a) { return neg(a); }
Tensor operator!(const Tensor& a) { return logical_not(a); }

}  // namespace cajal
