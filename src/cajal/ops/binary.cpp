// Binary elementwise ops: broadcasting, type promotion, forward kernel and backward
// formula together. Gradients of broadcast inputs are summed back to their shapes.
#include <cmath>

#include "cajal/autograd/node.h"
#include "cajal/kernels/cpu/elementwise.h"
#include "cajal/ops/convert.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/reduce.h"

namespace cajal {

using kernels::BinaryOp;

namespace {
enum class Category { Bool, Integral, Floating };
Category category(DType t) {
  return t == DType::boolean ? Category::Bool : (is_floating(t) ? Category::Floating : Category::Integral);
}
}  // namespace

DType result_type(const Tensor& a, const Tensor& b) {
  bool za = a.dim() == 0, zb = b.dim() == 0;
  if (za == zb) return promote_types(a.dtype(), b.dtype());
  const Tensor& dimensioned = za ? b : a;
  const Tensor& zero_dim = za ? a : b;
  if (category(zero_dim.dtype()) > category(dimensioned.dtype())) return zero_dim.dtype();
  return dimensioned.dtype();
}

Tensor scalar_like(Scalar value, const Tensor& like) {
  DType t = like.dtype();
  DType dt;
  if (is_floating(t)) dt = t;
  else if (!value.integral) dt = DType::f32;
  else if (t == DType::boolean) dt = value.boolean ? DType::boolean : DType::i64;
  else dt = t;
  return scalar_tensor(value, dt);
}

namespace {

void check_devices(const Tensor& a, const Tensor& b, const char* op) {
  if (a.device() != b.device())
    fail<Error>(op, ": expected both tensors on the same device, got ", a.device(), " and ", b.device());
}

// Runs a binary kernel in `compute` dtype (bfloat16 computes in float32), producing
// `out_dtype` (bool for comparisons).
Tensor binary_forward(BinaryOp op, const Tensor& a, const Tensor& b, DType compute, bool boolean_out, const char* name,
                      double alpha = 1) {
  check_devices(a, b, name);
  Dims shape = broadcast_shapes(a.sizes(), b.sizes(), name);
  DType kernel_dtype = compute == DType::bf16 ? DType::f32 : compute;
  Tensor x = a.dtype() == kernel_dtype ? a : convert(a, kernel_dtype);
  Tensor y = b.dtype() == kernel_dtype ? b : convert(b, kernel_dtype);
  Tensor out = make_tensor(shape, boolean_out ? DType::boolean : kernel_dtype);
  kernels::binary(op, x, y, out, alpha);
  return (compute == DType::bf16 && !boolean_out) ? convert(out, DType::bf16) : out;
}

Tensor compare(BinaryOp op, const Tensor& a, const Tensor& b, const char* name) {
  check_defined(name, a, b);
  return binary_forward(op, a, b, result_type(a, b), true, name);
}

Tensor logical(BinaryOp op, const Tensor& a, const Tensor& b, const char* name) {
  check_defined(name, a, b);
  return binary_forward(op, a, b, result_type(a, b), true, name);
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b, Scalar alpha) {
  check_defined("add", a, b);
  DType dt = result_type(a, b);
  if (!alpha.integral && !is_floating(dt)) fail<DTypeError>("add: a float alpha needs a floating result, got ", dtype_name(dt));
  Tensor out = binary_forward(BinaryOp::Add, a, b, dt, false, "add", alpha.value);
  double al = alpha.value;
  autograd::record("add", out, {&a, &b}, [sa = a.sizes(), sb = b.sizes(), al](const Tensor& g) -> TensorList {
    return {sum_to(g, sa), sum_to(al == 1 ? g : g * al, sb)};
  });
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b, Scalar alpha) {
  check_defined("sub", a, b);
  DType dt = result_type(a, b);
  if (dt == DType::boolean) fail<DTypeError>("sub: subtraction of bool tensors is not supported; use logical_xor");
  Tensor out = binary_forward(BinaryOp::Sub, a, b, dt, false, "sub", alpha.value);
  double al = alpha.value;
  autograd::record("sub", out, {&a, &b}, [sa = a.sizes(), sb = b.sizes(), al](const Tensor& g) -> TensorList {
    return {sum_to(g, sa), sum_to(g * -al, sb)};
  });
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  check_defined("mul", a, b);
  Tensor out = binary_forward(BinaryOp::Mul, a, b, result_type(a, b), false, "mul");
  if (autograd::needs_grad({&a, &b})) {
    bool ga = a.requires_grad(), gb = b.requires_grad();
    // Each gradient reads only the other input: save a only if b needs a gradient, and b
    // only if a does. The shapes are captured as plain values.
    autograd::record("mul", out, {&a, &b}, autograd::save(gb ? a : Tensor(), ga ? b : Tensor()),
                     [sa = a.sizes(), sb = b.sizes(), ga, gb](const Tensor& g, const Tensor& a, const Tensor& b) -> TensorList {
      return {ga ? sum_to(g * b, sa) : Tensor(), gb ? sum_to(g * a, sb) : Tensor()};
    });
  }
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  check_defined("div", a, b);
  DType dt = result_type(a, b);
  if (!is_floating(dt)) dt = DType::f32;  // true division
  Tensor out = binary_forward(BinaryOp::Div, a, b, dt, false, "div");
  if (autograd::needs_grad({&a, &b})) {
    bool ga = a.requires_grad(), gb = b.requires_grad();
    autograd::record("div", out, {&a, &b}, autograd::save(gb ? a : Tensor(), b),
                     [sa = a.sizes(), ga, gb](const Tensor& g, const Tensor& a, const Tensor& b) -> TensorList {
      return {ga ? sum_to(g / b, sa) : Tensor(), gb ? sum_to(-(g * a) / (b * b), b.sizes()) : Tensor()};
    });
  }
  return out;
}

Tensor pow(const Tensor& a, const Tensor& b) {
  check_defined("pow", a, b);
  DType dt = result_type(a, b);
  if (dt == DType::boolean) fail<DTypeError>("pow: not supported for bool tensors");
  Tensor out = binary_forward(BinaryOp::Pow, a, b, dt, false, "pow");
  if (autograd::needs_grad({&a, &b})) {
    bool ga = a.requires_grad(), gb = b.requires_grad();
    autograd::record("pow", out, {&a, &b}, autograd::save(a, b),
                     [ga, gb](const Tensor& g, const Tensor& a, const Tensor& b) -> TensorList {
      Tensor grad_a, grad_b;
      // d/da a^b = b a^(b-1), taken as 0 where b == 0 (as PyTorch does, even at a == 0).
      if (ga) grad_a = sum_to(where(eq(b, 0), 0, g * b * pow(a, b - 1)), a.sizes());
      // d/db a^b = a^b log a, taken as 0 where a == 0 and b >= 0.
      if (gb) grad_b = sum_to(where(logical_and(eq(a, 0), ge(b, 0)), 0, g * pow(a, b) * log(a)), b.sizes());
      return {grad_a, grad_b};
    });
  }
  return out;
}

Tensor pow(Scalar base, const Tensor& exponent) {
  check_defined("pow", exponent);
  return pow(scalar_like(base, exponent), exponent);
}

namespace {
// max/min: the gradient goes to the larger (smaller) input; ties split it in half.
Tensor extremum(BinaryOp op, const Tensor& a, const Tensor& b, const char* name) {
  check_defined(name, a, b);
  Tensor out = binary_forward(op, a, b, result_type(a, b), false, name);
  if (autograd::needs_grad({&a, &b})) {
    bool is_max = op == BinaryOp::Maximum;
    autograd::record(name, out, {&a, &b}, autograd::save(a, b),
                     [is_max](const Tensor& g, const Tensor& a, const Tensor& b) -> TensorList {
      Tensor a_wins = is_max ? gt(a, b) : lt(a, b);
      Tensor tie = eq(a, b);
      Tensor half = g * 0.5;
      Tensor grad_a = where(a_wins, g, where(tie, half, 0));
      Tensor grad_b = where(logical_or(a_wins, tie), where(tie, half, 0), g);
      return {sum_to(grad_a, a.sizes()), sum_to(grad_b, b.sizes())};
    });
  }
  return out;
}
}  // namespace

Tensor maximum(const Tensor& a, const Tensor& b) { return extremum(BinaryOp::Maximum, a, b, "maximum"); }
Tensor minimum(const Tensor& a, const Tensor& b) { return extremum(BinaryOp::Minimum, a, b, "minimum"); }

Tensor atan2(const Tensor& a, const Tensor& b) {
  check_defined("atan2", a, b);
  DType dt = result_type(a, b);
  if (!is_floating(dt)) dt = DType::f32;
  Tensor out = binary_forward(BinaryOp::Atan2, a, b, dt, false, "atan2");
  if (autograd::needs_grad({&a, &b})) {
    autograd::record("atan2", out, {&a, &b}, autograd::save(a, b), [](const Tensor& g, const Tensor& a, const Tensor& b) -> TensorList {
      Tensor denom = a * a + b * b;
      return {sum_to(g * b / denom, a.sizes()), sum_to(-(g * a) / denom, b.sizes())};
    });
  }
  return out;
}

Tensor eq(const Tensor& a, const Tensor& b) { return compare(BinaryOp::Eq, a, b, "eq"); }
Tensor ne(const Tensor& a, const Tensor& b) { return compare(BinaryOp::Ne, a, b, "ne"); }
Tensor lt(const Tensor& a, const Tensor& b) { return compare(BinaryOp::Lt, a, b, "lt"); }
Tensor le(const Tensor& a, const Tensor& b) { return compare(BinaryOp::Le, a, b, "le"); }
Tensor gt(const Tensor& a, const Tensor& b) { return compare(BinaryOp::Gt, a, b, "gt"); }
Tensor ge(const Tensor& a, const Tensor& b) { return compare(BinaryOp::Ge, a, b, "ge"); }
Tensor logical_and(const Tensor& a, const Tensor& b) { return logical(BinaryOp::LogicalAnd, a, b, "logical_and"); }
Tensor logical_or(const Tensor& a, const Tensor& b) { return logical(BinaryOp::LogicalOr, a, b, "logical_or"); }
Tensor logical_xor(const Tensor& a, const Tensor& b) { return logical(BinaryOp::LogicalXor, a, b, "logical_xor"); }

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  check_defined("where", cond, a, b);
  check_devices(a, b, "where");
  if (cond.dtype() != DType::boolean)
    fail<DTypeError>("where: condition must be a bool tensor, got ", dtype_name(cond.dtype()));
  Dims shape = broadcast_shapes(broadcast_shapes(cond.sizes(), a.sizes(), "where"), b.sizes(), "where");
  DType dt = result_type(a, b);
  Tensor x = a.dtype() == dt ? a : convert(a, dt);
  Tensor y = b.dtype() == dt ? b : convert(b, dt);
  Tensor out = make_tensor(shape, dt);
  kernels::where(cond, x, y, out);
  if (autograd::needs_grad({&a, &b})) {
    autograd::record("where", out, {&a, &b}, autograd::save(cond),
                     [sa = a.sizes(), sb = b.sizes()](const Tensor& g, const Tensor& cond) -> TensorList {
      return {sum_to(where(cond, g, 0), sa), sum_to(where(cond, 0, g), sb)};
    });
  }
  return out;
}

// Scalar overloads: the number becomes a 0-d tensor of the dtype PyTorch would give it.
Tensor add(const Tensor& a, Scalar b) {
  check_defined("add", a);
  return add(a, scalar_like(b, a));
}
Tensor sub(const Tensor& a, Scalar b) {
  check_defined("sub", a);
  return sub(a, scalar_like(b, a));
}
Tensor mul(const Tensor& a, Scalar b) {
  check_defined("mul", a);
  return mul(a, scalar_like(b, a));
}
Tensor div(const Tensor& a, Scalar b) {
  check_defined("div", a);
  return div(a, scalar_like(b, a));
}
Tensor maximum(const Tensor& a, Scalar b) {
  check_defined("maximum", a);
  return maximum(a, scalar_like(b, a));
}
Tensor minimum(const Tensor& a, Scalar b) {
  check_defined("minimum", a);
  return minimum(a, scalar_like(b, a));
}
Tensor eq(const Tensor& a, Scalar b) {
  check_defined("eq", a);
  return eq(a, scalar_like(b, a));
}
Tensor ne(const Tensor& a, Scalar b) {
  check_defined("ne", a);
  return ne(a, scalar_like(b, a));
}
Tensor lt(const Tensor& a, Scalar b) {
  check_defined("lt", a);
  return lt(a, scalar_like(b, a));
}
Tensor le(const Tensor& a, Scalar b) {
  check_defined("le", a);
  return le(a, scalar_like(b, a));
}
Tensor gt(const Tensor& a, Scalar b) {
  check_defined("gt", a);
  return gt(a, scalar_like(b, a));
}
Tensor ge(const Tensor& a, Scalar b) {
  check_defined("ge", a);
  return ge(a, scalar_like(b, a));
}
Tensor where(const Tensor& cond, const Tensor& a, Scalar b) {
  check_defined("where", cond, a);
  return where(cond, a, scalar_like(b, a));
}
Tensor where(const Tensor& cond, Scalar a, const Tensor& b) {
  check_defined("where", cond, b);
  return where(cond, scalar_like(a, b), b);
}

// --- in place: compute out of place, write back, and take over the result's history ---
namespace {
Tensor& write_back(Tensor& self, const Tensor& result, const char* op) {
  autograd::check_inplace(self, result.requires_grad(), op);
  if (result.sizes() != self.sizes())
    fail<ShapeError>(op, ": result of shape ", result.sizes(), " cannot be written into a tensor of shape ", self.sizes());
  if (result.dtype() != self.dtype() && !(is_floating(self.dtype()) || result.dtype() == DType::boolean ||
                                          (is_integral(self.dtype()) && is_integral(result.dtype(), true))))
    fail<DTypeError>(op, ": result type ", dtype_name(result.dtype()), " cannot be cast to the tensor's type ",
                     dtype_name(self.dtype()));
  kernels::copy(result, self);
  self.bump_version();
  autograd::take_history(self, result);
  return self;
}

// The tensor as the input of the out-of-place op. When history is recorded, a copy that
// carries its history: backward may read the input's values after write_back has
// overwritten them (clamp_ and mul_ need the old values, as PyTorch keeps them).
Tensor original(const Tensor& t, const Tensor& other = Tensor()) {
  return autograd::needs_grad({&t, &other}) ? t.clone() : t;
}
}  // namespace

// add and sub read no input values in backward, so they take the tensor itself.
Tensor& add_(Tensor& a, const Tensor& b, Scalar alpha) {
  check_defined("add_", a, b);
  return write_back(a, add(a, b, alpha), "add_");
}
Tensor& sub_(Tensor& a, const Tensor& b, Scalar alpha) {
  check_defined("sub_", a, b);
  return write_back(a, sub(a, b, alpha), "sub_");
}
Tensor& mul_(Tensor& a, const Tensor& b) {
  check_defined("mul_", a, b);
  return write_back(a, mul(original(a, b), b), "mul_");
}
Tensor& div_(Tensor& a, const Tensor& b) {
  check_defined("div_", a, b);
  return write_back(a, div(original(a, b), b), "div_");
}
Tensor& clamp_(Tensor& a, std::optional<double> min, std::optional<double> max) {
  check_defined("clamp_", a);
  return write_back(a, clamp(original(a), min, max), "clamp_");
}
Tensor& relu_(Tensor& a) {
  check_defined("relu_", a);
  return write_back(a, relu(original(a)), "relu_");
}
Tensor& exp_(Tensor& a) {
  check_defined("exp_", a);
  return write_back(a, exp(original(a)), "exp_");
}
Tensor& masked_fill_(Tensor& a, const Tensor& mask, Scalar value) {
  check_defined("masked_fill_", a, mask);
  // The value takes the tensor's dtype, as in PyTorch (2.5 fills an int tensor with 2).
  return write_back(a, where(mask, scalar_tensor(value, a.dtype()), original(a)), "masked_fill_");
}

Tensor Tensor::add(const Tensor& o, Scalar alpha) const { return cajal::add(*this, o, alpha); }
Tensor Tensor::sub(const Tensor& o, Scalar alpha) const { return cajal::sub(*this, o, alpha); }
Tensor Tensor::mul(const Tensor& o) const { return cajal::mul(*this, o); }
Tensor Tensor::div(const Tensor& o) const { return cajal::div(*this, o); }
Tensor& Tensor::add_(const Tensor& o, Scalar alpha) { return cajal::add_(*this, o, alpha); }
Tensor& Tensor::sub_(const Tensor& o, Scalar alpha) { return cajal::sub_(*this, o, alpha); }
Tensor& Tensor::mul_(const Tensor& o) { return cajal::mul_(*this, o); }
Tensor& Tensor::div_(const Tensor& o) { return cajal::div_(*this, o); }
Tensor& Tensor::add_(Scalar s) {
  check_defined("add_", *this);
  return cajal::add_(*this, scalar_like(s, *this));
}
Tensor& Tensor::sub_(Scalar s) {
  check_defined("sub_", *this);
  return cajal::sub_(*this, scalar_like(s, *this));
}
Tensor& Tensor::mul_(Scalar s) {
  check_defined("mul_", *this);
  return cajal::mul_(*this, scalar_like(s, *this));
}
Tensor& Tensor::div_(Scalar s) {
  check_defined("div_", *this);
  return cajal::div_(*this, scalar_like(s, *this));
}

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator+(const Tensor& a, Scalar b) { return add(a, b); }
Tensor operator-(const Tensor& a, Scalar b) { return sub(a, b); }
Tensor operator*(const Tensor& a, Scalar b) { return mul(a, b); }
Tensor operator/(const Tensor& a, Scalar b) { return div(a, b); }
Tensor operator+(Scalar a, const Tensor& b) {
  check_defined("add", b);
  return add(scalar_like(a, b), b);
}
Tensor operator-(Scalar a, const Tensor& b) {
  check_defined("sub", b);
  return sub(scalar_like(a, b), b);
}
Tensor operator*(Scalar a, const Tensor& b) {
  check_defined("mul", b);
  return mul(scalar_like(a, b), b);
}
Tensor operator/(Scalar a, const Tensor& b) {
  check_defined("div", b);
  return div(scalar_like(a, b), b);
}
Tensor operator==(const Tensor& a, const Tensor& b) { return eq(a, b); }
Tensor operator!=(const Tensor& a, const Tensor& b) { return ne(a, b); }
Tensor operator<(const Tensor& a, const Tensor& b) { return lt(a, b); }
Tensor operator<=(const Tensor& a, const Tensor& b) { return le(a, b); }
Tensor operator>(const Tensor& a, const Tensor& b) { return gt(a, b); }
Tensor operator>=(const Tensor& a, const Tensor& b) { return ge(a, b); }
Tensor operator<(const Tensor& a, Scalar b) { return lt(a, b); }
Tensor operator<=(const Tensor& a, Scalar b) { return le(a, b); }
Tensor operator>(const Tensor& a, Scalar b) { return gt(a, b); }
Tensor operator>=(const Tensor& a, Scalar b) { return ge(a, b); }
Tensor operator&&(const Tensor& a, const Tensor& b) { return logical_and(a, b); }
Tensor operator||(const Tensor& a, const Tensor& b) { return logical_or(a, b); }
Tensor& operator+=(Tensor& a, const Tensor& b) { return add_(a, b); }
Tensor& operator-=(Tensor& a, const Tensor& b) { return sub_(a, b); }
Tensor& operator*=(Tensor& a, const Tensor& b) { return mul_(a, b); }
Tensor& operator/=(Tensor& a, const Tensor& b) { return div_(a, b); }
Tensor& operator+=(Tensor& a, Scalar b) { return a.add_(b); }
Tensor& operator-=(Tensor& a, Scalar b) { return a.sub_(b); }
Tensor& operator*=(Tensor& a, Scalar b) { return a.mul_(b); }
Tensor& operator/=(Tensor& a, Scalar b) { return a.div_(b); }

}  // namespace cajal
