// Elementwise ONNX operators: unary math and activations, broadcasting binary arithmetic,
// comparison and logic, the variadic Sum/Mean/Max/Min, Clip, Where, Cast. Each family is one
// table from op_type to a cajal expression, run by one function, so adding an operator is one
// line. ONNX broadcasts binary operands with NumPy's rules, as cajal's ops do.
#include <cmath>
#include <limits>

#include "cajal/onnx/import_ops.h"
#include "cajal/ops/activation.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/elementwise.h"

namespace cajal::onnx {

namespace {

// ------------------------------------------------------------------ unary

// x converted to float32 when it is an integer tensor (for the few ops ONNX defines on
// integers through a float formula), else x.
Tensor as_float(const Tensor& x) { return x.is_floating_point() ? x : x.to(DType::f32); }

Tensor trunc(const Tensor& x) { return sign(x) * floor(abs(x)); }

// Inverse trigonometric and hyperbolic functions cajal has no kernel for, written with the
// ops it has (so they are differentiable too): asin x = atan2(x, sqrt(1 - x^2)), ...
Tensor sqrt_one_minus_square(const Tensor& x) { return sqrt(1.0 - x * x); }

using UnaryFn = Tensor (*)(const Node&, const Tensor&);
struct UnaryOp {
  UnaryFn fn;
  int64_t min_version;
};

const std::map<std::string, UnaryOp>& unary_ops() {
  static const std::map<std::string, UnaryOp> ops = {
      {"Identity", {[](const Node&, const Tensor& x) { return x; }, 1}},
      {"Neg", {[](const Node&, const Tensor& x) { return neg(x); }, 6}},
      {"Abs", {[](const Node&, const Tensor& x) { return abs(x); }, 6}},
      {"Exp", {[](const Node&, const Tensor& x) { return exp(x); }, 6}},
      {"Log", {[](const Node&, const Tensor& x) { return log(x); }, 6}},
      {"Sqrt", {[](const Node&, const Tensor& x) { return sqrt(x); }, 6}},
      {"Reciprocal", {[](const Node&, const Tensor& x) { return reciprocal(x); }, 6}},
      {"Floor", {[](const Node&, const Tensor& x) { return floor(x); }, 6}},
      {"Ceil", {[](const Node&, const Tensor& x) { return ceil(x); }, 6}},
      {"Round", {[](const Node&, const Tensor& x) { return round(x); }, 11}},
      {"Sign", {[](const Node&, const Tensor& x) { return sign(x); }, 9}},
      {"Erf", {[](const Node&, const Tensor& x) { return erf(x); }, 9}},
      {"Sin", {[](const Node&, const Tensor& x) { return sin(x); }, 7}},
      {"Cos", {[](const Node&, const Tensor& x) { return cos(x); }, 7}},
      {"Tan", {[](const Node&, const Tensor& x) { return sin(x) / cos(x); }, 7}},
      {"Asin", {[](const Node&, const Tensor& x) { return atan2(x, sqrt_one_minus_square(x)); }, 7}},
      {"Acos", {[](const Node&, const Tensor& x) { return atan2(sqrt_one_minus_square(x), x); }, 7}},
      {"Atan", {[](const Node&, const Tensor& x) { return atan2(x, ones_like(x)); }, 7}},
      {"Sinh", {[](const Node&, const Tensor& x) { return (exp(x) - exp(-x)) * 0.5; }, 9}},
      {"Cosh", {[](const Node&, const Tensor& x) { return (exp(x) + exp(-x)) * 0.5; }, 9}},
      {"Asinh", {[](const Node&, const Tensor& x) { return log(x + sqrt(x * x + 1.0)); }, 9}},
      {"Acosh", {[](const Node&, const Tensor& x) { return log(x + sqrt(x * x - 1.0)); }, 9}},
      {"Atanh", {[](const Node&, const Tensor& x) { return log((1.0 + x) / (1.0 - x)) * 0.5; }, 9}},
      {"Sigmoid", {[](const Node&, const Tensor& x) { return sigmoid(x); }, 6}},
      {"Tanh", {[](const Node&, const Tensor& x) { return tanh(x); }, 6}},
      {"Relu", {[](const Node&, const Tensor& x) { return relu(x); }, 6}},
      {"LeakyRelu", {[](const Node& n, const Tensor& x) { return leaky_relu(x, n.get_float("alpha", 0.01)); }, 6}},
      {"Elu", {[](const Node& n, const Tensor& x) { return elu(x, n.get_float("alpha", 1.0)); }, 6}},
      {"Selu", {[](const Node& n, const Tensor& x) {
                  return elu(x, n.get_float("alpha", 1.67326319217681884765625)) * n.get_float("gamma", 1.05070102214813232421875);
                }, 6}},
      // celu(x) = max(0, x) + min(0, alpha * (exp(x / alpha) - 1)) = alpha * elu(x / alpha).
      {"Celu", {[](const Node& n, const Tensor& x) {
                  double alpha = n.get_float("alpha", 1.0);
                  return elu(x / alpha, 1.0) * alpha;
                }, 12}},
      {"HardSigmoid", {[](const Node& n, const Tensor& x) {
                         return clamp(x * n.get_float("alpha", 0.2) + n.get_float("beta", 0.5), 0.0, 1.0);
                       }, 6}},
      {"HardSwish", {[](const Node&, const Tensor& x) { return x * clamp(x / 6.0 + 0.5, 0.0, 1.0); }, 14}},
      {"Softplus", {[](const Node&, const Tensor& x) { return softplus(x); }, 1}},
      {"Softsign", {[](const Node&, const Tensor& x) { return x / (abs(x) + 1.0); }, 1}},
      {"ThresholdedRelu", {[](const Node& n, const Tensor& x) { return where(gt(x, n.get_float("alpha", 1.0)), x, 0.0); }, 10}},
      {"Shrink", {[](const Node& n, const Tensor& x) {
                    double lambd = n.get_float("lambd", 0.5), bias = n.get_float("bias", 0.0);
                    Tensor y = where(lt(x, -lambd), as_float(x) + bias, where(gt(x, lambd), as_float(x) - bias, 0.0));
                    return y.to(x.dtype());
                  }, 9}},
      {"Not", {[](const Node&, const Tensor& x) { return logical_not(x); }, 1}},
      {"IsNaN", {[](const Node&, const Tensor& x) { return isnan(x); }, 9}},
      {"IsInf", {[](const Node& n, const Tensor& x) {
                   Tensor inf = logical_not(logical_or(isfinite(x), isnan(x)));
                   if (!n.get_int("detect_positive", 1)) inf = logical_and(inf, lt(x, 0.0));
                   if (!n.get_int("detect_negative", 1)) inf = logical_and(inf, gt(x, 0.0));
                   return inf;
                 }, 10}},
  };
  return ops;
}

TensorList run_unary(const Node& node, const TensorList& in) { return {unary_ops().at(node.op_type).fn(node, in.at(0))}; }

// ------------------------------------------------------------------ binary

// ONNX's integer division rounds toward zero (as C); computed in float64, exact for the
// magnitudes below 2^53 that integer models use.
Tensor onnx_div(const Tensor& a, const Tensor& b) {
  if (a.is_floating_point() || b.is_floating_point()) return div(a, b);
  DType dtype = promote_types(a.dtype(), b.dtype());
  return trunc(div(a.to(DType::f64), b.to(DType::f64))).to(dtype);
}

// Mod: fmod = 0 takes the divisor's sign (Python's %), fmod = 1 the dividend's (C's fmod).
Tensor onnx_mod(const Node& node, const Tensor& a, const Tensor& b) {
  bool c_style = node.get_int("fmod", 0) != 0;
  if (!c_style && a.is_floating_point()) node.unsupported("fmod=0 on floating point inputs (ONNX requires fmod=1)");
  DType dtype = promote_types(a.dtype(), b.dtype());
  Tensor x = a.to(DType::f64), y = b.to(DType::f64);
  Tensor q = div(x, y);
  Tensor r = x - (c_style ? trunc(q) : floor(q)) * y;
  return r.to(dtype);
}

// BitShift on unsigned integers: a * 2^b or floor(a / 2^b), in float64 and back.
Tensor bit_shift(const Node& node, const Tensor& a, const Tensor& b) {
  std::string direction = node.get_string("direction", "");
  Tensor factor = pow(2.0, b.to(DType::f64));
  Tensor x = a.to(DType::f64);
  if (direction == "LEFT") return (x * factor).to(a.dtype());
  if (direction == "RIGHT") return floor(x / factor).to(a.dtype());
  fail<IOError>(node.where(), ": direction must be LEFT or RIGHT, got '", direction, "'");
}

// Pow keeps the base's type (an int32 base with a float exponent gives int32).
Tensor onnx_pow(const Tensor& a, const Tensor& b) {
  Tensor y = pow(a, b);
  return y.dtype() == a.dtype() ? y : y.to(a.dtype());
}

// PRelu: x where x >= 0, slope * x elsewhere; the slope broadcasts to x.
Tensor prelu_onnx(const Tensor& x, const Tensor& slope) { return where(lt(x, 0.0), x * slope, x); }

using BinaryFn = Tensor (*)(const Node&, const Tensor&, const Tensor&);
struct BinaryOp {
  BinaryFn fn;
  int64_t min_version;  // 7: the first versions that broadcast with NumPy's rules
};

const std::map<std::string, BinaryOp>& binary_ops() {
  static const std::map<std::string, BinaryOp> ops = {
      {"Add", {[](const Node&, const Tensor& a, const Tensor& b) { return add(a, b); }, 7}},
      {"Sub", {[](const Node&, const Tensor& a, const Tensor& b) { return sub(a, b); }, 7}},
      {"Mul", {[](const Node&, const Tensor& a, const Tensor& b) { return mul(a, b); }, 7}},
      {"Div", {[](const Node&, const Tensor& a, const Tensor& b) { return onnx_div(a, b); }, 7}},
      {"Pow", {[](const Node&, const Tensor& a, const Tensor& b) { return onnx_pow(a, b); }, 7}},
      {"Mod", {[](const Node& n, const Tensor& a, const Tensor& b) { return onnx_mod(n, a, b); }, 10}},
      {"BitShift", {[](const Node& n, const Tensor& a, const Tensor& b) { return bit_shift(n, a, b); }, 11}},
      {"PRelu", {[](const Node&, const Tensor& a, const Tensor& b) { return prelu_onnx(a, b); }, 7}},
      {"Equal", {[](const Node&, const Tensor& a, const Tensor& b) { return eq(a, b); }, 7}},
      {"Less", {[](const Node&, const Tensor& a, const Tensor& b) { return lt(a, b); }, 7}},
      {"LessOrEqual", {[](const Node&, const Tensor& a, const Tensor& b) { return le(a, b); }, 12}},
      {"Greater", {[](const Node&, const Tensor& a, const Tensor& b) { return gt(a, b); }, 7}},
      {"GreaterOrEqual", {[](const Node&, const Tensor& a, const Tensor& b) { return ge(a, b); }, 12}},
      {"And", {[](const Node&, const Tensor& a, const Tensor& b) { return logical_and(a, b); }, 7}},
      {"Or", {[](const Node&, const Tensor& a, const Tensor& b) { return logical_or(a, b); }, 7}},
      {"Xor", {[](const Node&, const Tensor& a, const Tensor& b) { return logical_xor(a, b); }, 7}},
  };
  return ops;
}

TensorList run_binary(const Node& node, const TensorList& in) {
  return {binary_ops().at(node.op_type).fn(node, in.at(0), in.at(1))};
}

// ------------------------------------------------------------------ variadic

// Sum, Mean, Max and Min fold any number of broadcasting inputs.
TensorList run_variadic(const Node& node, const TensorList& in) {
  if (in.empty()) fail<IOError>(node.where(), ": needs at least one input");
  Tensor acc = in[0];
  for (size_t k = 1; k < in.size(); ++k) {
    if (node.op_type == "Max") acc = maximum(acc, in[k]);
    else if (node.op_type == "Min") acc = minimum(acc, in[k]);
    else acc = acc + in[k];
  }
  if (node.op_type == "Mean") acc = acc / static_cast<double>(in.size());
  return {acc};
}

// ------------------------------------------------------------------ the rest

// Clip: bounds from attributes (before version 11) or optional scalar inputs.
TensorList run_clip(const Node& node, const TensorList& in) {
  const Tensor& x = in.at(0);
  std::optional<double> lo, hi;
  if (node.version < 11) {
    lo = node.get_float("min", -std::numeric_limits<double>::infinity());
    hi = node.get_float("max", std::numeric_limits<double>::infinity());
  } else {
    if (optional_input(in, 1).defined()) lo = scalar_value(in[1]);
    if (optional_input(in, 2).defined()) hi = scalar_value(in[2]);
  }
  if (!lo && !hi) return {x};
  // One pass where clamp takes the bounds (ReLU6 in every MobileNet: Clip(0, 6)).
  bool is_float = x.dtype() == DType::f32 || x.dtype() == DType::f64;
  if (is_float && (!lo || !hi || *lo <= *hi)) return {clamp(x, lo, hi)};
  // ONNX allows min > max (every value becomes max); clamp refuses it, so apply them in turn.
  Tensor y = lo ? maximum(x, scalar_like(*lo, x)) : x;
  return {hi ? minimum(y, scalar_like(*hi, x)) : y};
}

}  // namespace

bool run_activation_in_place(const Node& node, const TensorList& in) {
  Tensor x = in.at(0);
  if (x.dtype() != DType::f32 && x.dtype() != DType::f64) return false;
  if (node.op_type == "Relu") {
    relu_(x);
    return true;
  }
  if (node.op_type != "Clip") return false;
  std::optional<double> lo, hi;
  if (node.version < 11) {
    lo = node.get_float("min", -std::numeric_limits<double>::infinity());
    hi = node.get_float("max", std::numeric_limits<double>::infinity());
  } else {
    if (optional_input(in, 1).defined()) lo = scalar_value(in[1]);
    if (optional_input(in, 2).defined()) hi = scalar_value(in[2]);
  }
  if (!lo && !hi) return true;  // the identity
  if (lo && hi && *lo > *hi) return false;
  clamp_(x, lo, hi);
  return true;
}

namespace {

TensorList run_where(const Node&, const TensorList& in) { return {where(in.at(0), in.at(1), in.at(2))}; }

TensorList run_cast(const Node& node, const TensorList& in) {
  DType to = node.op_type == "CastLike" ? in.at(1).dtype() : dtype_from_onnx(static_cast<int32_t>(node.get_int("to", 0)), node.where());
  return {in.at(0).to(to)};
}

// Dropout in inference (or with ratio 0): the identity, and an all-true mask when asked for.
// Training mode with a ratio is random and refused, as it cannot match another runtime's values.
TensorList run_dropout(const Node& node, const TensorList& in) {
  const Tensor& training = optional_input(in, 2);
  const Tensor& ratio = optional_input(in, 1);
  double p = ratio.defined() ? scalar_value(ratio) : node.get_float("ratio", 0.5);
  if (training.defined() && scalar_value(training) != 0 && p != 0) node.unsupported("training_mode=true with a nonzero ratio");
  return {in.at(0), ones(in[0].sizes(), {.dtype = DType::boolean})};
}

}  // namespace

void register_elementwise_ops(OpTable& table) {
  for (const auto& [name, op] : unary_ops()) table[name] = {run_unary, op.min_version};
  for (const auto& [name, op] : binary_ops()) table[name] = {run_binary, op.min_version};
  for (const char* name : {"Sum", "Mean", "Max", "Min"}) table[name] = {run_variadic, 8};
  table["Clip"] = {run_clip, 6};
  table["Where"] = {run_where, 9};
  table["Cast"] = {run_cast, 6};
  table["CastLike"] = {run_cast, 15};
  table["Dropout"] = {run_dropout, 7};
}

}  // namespace cajal::onnx
