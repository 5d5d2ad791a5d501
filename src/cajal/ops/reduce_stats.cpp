// Statistics over dims (prod, var, std, logsumexp, norm) and cumsum, with their gradients.
#include <cmath>

#include "cajal/autograd/node.h"
#include "cajal/kernels/cpu/scan.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/reduce.h"
#include "cajal/ops/reduce_util.h"

namespace cajal {

using kernels::ReduceOp;

namespace {

bool grad_recording() { return autograd::GradMode::enabled(); }

void require_floating(const Tensor& x, const char* op) {
  check_defined(op, x);
  if (!is_floating(x.dtype()))
    fail<DTypeError>(op, ": input must be floating point, got ", dtype_name(x.dtype()), "; convert it with to()");
}

// bfloat16 statistics are computed in float32 (then stored back as bfloat16).
Tensor widen(const Tensor& x) { return x.dtype() == DType::bf16 ? convert(x, DType::f32) : x; }

int64_t reduced_count(const Tensor& x, const Dims& reduced) {
  int64_t n = 1;
  for (int64_t d : reduced) n *= x.size(d);
  return n;
}

// A reduction's result in keepdim layout (size 1 at the reduced dims).
Tensor keep_shape(const Tensor& r, const Tensor& x, const Dims& reduced, bool keepdim) {
  return keepdim ? r : r.reshape(keepdim_shape(x, reduced));
}

// num / den, and 0 where den is 0 (the convention PyTorch uses for the gradients of norm
// and std at 0). The division never sees a 0, so no NaN appears in higher derivatives either.
Tensor safe_divide(const Tensor& num, const Tensor& den) {
  Tensor den_is_zero = eq(den, 0);
  return where(den_is_zero, 0, num / where(den_is_zero, 1, den));
}

// --- prod ---

Tensor prod_over(const Tensor& x, const Dims& dims, bool keepdim);

// d prod / d x_i is the product of the other elements of x_i's slice. Splitting x into its
// zeros and its nonzeros (each 1 where the other is), that is the other nonzeros' product,
// prod(nonzeros) / nonzero_i, times the other zeros' product. Nothing divides by zero, so
// inputs holding zeros get PyTorch's gradient; second derivatives are exact unless a slice
// holds two or more zeros.
Tensor product_of_others(const Tensor& x, const Dims& reduced) {
  Tensor is_zero = eq(x, 0);
  Tensor zeros = where(is_zero, x, 1);
  Tensor nonzeros = where(is_zero, 1, x);
  Tensor other_nonzeros = prod_over(nonzeros, reduced, true) / nonzeros;
  // For a nonzero x_i the other zeros are all the slice's zeros (their product is 0 if there
  // is any, and kept as a product so it differentiates); for a zero x_i they multiply to 1
  // when it is the slice's only zero, else to 0.
  Tensor only_zero = eq(sum(is_zero, reduced, true), 1).to(x.dtype());
  Tensor other_zeros = where(is_zero, only_zero, prod_over(zeros, reduced, true));
  return other_zeros * other_nonzeros;
}

Tensor prod_over(const Tensor& x, const Dims& dims, bool keepdim) {
  Dims reduced = reduction_dims(x, dims, "prod");
  DType dt = is_floating(x.dtype()) ? x.dtype() : DType::i64;  // integers and bools multiply in int64
  Tensor out = reduce_raw(ReduceOp::Prod, x, reduced, keepdim, dt);
  autograd::record("prod", out, {&x}, autograd::save(x), [reduced, keepdim](const Tensor& g, const Tensor& x) -> TensorList {
    return {expand_reduced_grad(g, x.sizes(), reduced, keepdim) * product_of_others(x, reduced)};
  });
  return out;
}

// --- var and std ---

// N - 1 for the unbiased estimate, else N (never negative: an empty slice gives 0/0 = NaN).
double variance_divisor(const Tensor& x, const Dims& reduced, bool unbiased) {
  return static_cast<double>(std::max<int64_t>(reduced_count(x, reduced) - (unbiased ? 1 : 0), 0));
}

// Two passes: the mean first, then the squared deviations from it, which stays accurate
// when the mean is large compared with the spread.
Tensor variance_forward(const Tensor& x, const Dims& reduced, bool unbiased, bool keepdim) {
  NoGradGuard no_grad;
  Tensor xw = widen(x);
  Tensor deviation = xw - mean(xw, reduced, true);
  Tensor v = sum(deviation * deviation, reduced, keepdim) / variance_divisor(x, reduced, unbiased);
  return v.to(x.dtype());
}

// d var / d x = 2 (x - mean) / divisor, times the output gradient spread over each slice.
Tensor variance_backward(const Tensor& g_keep, const Tensor& x, const Dims& reduced, bool unbiased) {
  Tensor g_spread = expand_reduced_grad(g_keep, x.sizes(), reduced, true);
  return g_spread * (x - mean(x, reduced, true)) * (2.0 / variance_divisor(x, reduced, unbiased));
}

Tensor variance_op(const Tensor& x, const Dims& dims, bool unbiased, bool keepdim, bool take_sqrt) {
  const char* name = take_sqrt ? "std" : "var";
  require_floating(x, name);
  Dims reduced = reduction_dims(x, dims, name);
  Tensor out = variance_forward(x, reduced, unbiased, keepdim);
  if (take_sqrt) {
    NoGradGuard no_grad;
    out = sqrt(out);
  }
  autograd::record(name, out, {&x}, autograd::save(x, out.detach()),
                   [reduced, unbiased, keepdim, take_sqrt](const Tensor& g, const Tensor& x, const Tensor& out) -> TensorList {
    Tensor g_keep = keep_shape(g, x, reduced, keepdim);
    if (!take_sqrt) return {variance_backward(g_keep, x, reduced, unbiased)};
    // d std = d var / (2 std); 0 where std is 0, as in PyTorch. Recomputed with history
    // when backward is recorded, so second derivatives see how std depends on x.
    Tensor s = grad_recording() ? variance_op(x, reduced, unbiased, true, true) : keep_shape(out, x, reduced, keepdim);
    return {variance_backward(safe_divide(g_keep, s * 2), x, reduced, unbiased)};
  });
  return out;
}

// --- logsumexp ---

Tensor logsumexp_forward(const Tensor& x, const Dims& reduced, bool keepdim) {
  NoGradGuard no_grad;
  // Shift by each slice's max so exp cannot overflow; a slice whose max is infinite (or
  // NaN) is not shifted, which gives PyTorch's inf, -inf and NaN results.
  Tensor m = reduce_raw(ReduceOp::Max, x, reduced, true, x.dtype());
  m = where(isfinite(m), m, 0);
  Tensor total = sum(exp(x - m), reduced, true);
  Tensor out = log(total) + m;
  return keepdim ? out : out.view(drop_dims(out.sizes(), reduced));
}

// --- norm ---

Tensor norm_forward(const Tensor& x, double p, const Dims& reduced, bool keepdim) {
  NoGradGuard no_grad;
  Tensor xw = widen(x);
  Tensor out;
  if (p == 1) out = sum(abs(xw), reduced, keepdim);
  else if (p == 2) out = sqrt(sum(square(xw), reduced, keepdim));
  else out = reduce_raw(ReduceOp::Max, abs(xw), reduced, keepdim, xw.dtype());
  return out.to(x.dtype());
}

// --- cumsum ---

// Running sums along dim, forward or from the end; each direction's gradient is the other.
Tensor cumsum_scan(const Tensor& x, int64_t dim, bool reverse) {
  int64_t d = wrap_dim(dim, x.dim(), "cumsum");
  DType dt = is_floating(x.dtype()) ? x.dtype() : DType::i64;  // integers and bools sum in int64
  DType compute = dt == DType::bf16 ? DType::f32 : dt;
  Tensor out = make_tensor(x.sizes(), compute);
  kernels::cumsum(kernel_input(x, compute), out, d, reverse);
  if (compute != dt) out = convert(out, dt);
  autograd::record("cumsum", out, {&x}, [d, reverse](const Tensor& g) -> TensorList {
    return {cumsum_scan(g, d, !reverse)};
  });
  return out;
}

}  // namespace

Tensor prod(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  check_defined("prod", x);
  return prod_over(x, dim ? Dims{*dim} : Dims{}, keepdim);
}

Tensor var(const Tensor& x, const Dims& dims, bool unbiased, bool keepdim) {
  check_defined("var", x);
  return variance_op(x, dims, unbiased, keepdim, false);
}
Tensor std(const Tensor& x, const Dims& dims, bool unbiased, bool keepdim) {
  check_defined("std", x);
  return variance_op(x, dims, unbiased, keepdim, true);
}

Tensor logsumexp(const Tensor& x, const Dims& dims, bool keepdim) {
  check_defined("logsumexp", x);
  Tensor xf = is_floating(x.dtype()) ? x : x.to(DType::f32);  // integers give float32, as in PyTorch
  Dims reduced = reduction_dims(xf, dims, "logsumexp");
  Tensor out = logsumexp_forward(xf, reduced, keepdim);
  autograd::record("logsumexp", out, {&xf}, autograd::save(xf, out.detach()),
                   [reduced, keepdim](const Tensor& g, const Tensor& x, const Tensor& out) -> TensorList {
    // d lse / d x = exp(x - lse), the softmax over the slice.
    Tensor lse = grad_recording() ? logsumexp(x, reduced, true) : keep_shape(out, x, reduced, keepdim);
    return {expand_reduced_grad(g, x.sizes(), reduced, keepdim) * exp(x - lse)};
  });
  return out;
}

Tensor norm(const Tensor& x, double p, const Dims& dims, bool keepdim) {
  check_defined("norm", x);
  require_floating(x, "norm");
  bool p_inf = std::isinf(p) && p > 0;
  if (p != 1 && p != 2 && !p_inf) fail<ValueError>("norm: p must be 1, 2 or inf, got ", p);
  Dims reduced = reduction_dims(x, dims, "norm");
  if (p_inf && x.numel() == 0)
    fail<ValueError>("norm: the infinity norm of an empty tensor (shape ", x.sizes(), ") is undefined");
  Tensor out = norm_forward(x, p, reduced, keepdim);
  autograd::record("norm", out, {&x}, autograd::save(x, out.detach()),
                   [p, reduced, keepdim](const Tensor& g, const Tensor& x, const Tensor& out) -> TensorList {
    Tensor g_spread = expand_reduced_grad(g, x.sizes(), reduced, keepdim);
    if (p == 1) return {g_spread * sign(x)};
    if (p == 2) {
      // d |x| = x / |x|, and 0 at x = 0 as in PyTorch; recomputed with history when
      // backward is recorded.
      Tensor n = grad_recording() ? norm(x, 2, reduced, true) : keep_shape(out, x, reduced, keepdim);
      return {g_spread * safe_divide(x, n)};
    }
    // Infinity norm: the gradient is shared among the entries whose |x| is the max (or NaN).
    Tensor a = abs(x);
    Tensor hit = logical_or(eq(a, keep_shape(out, x, reduced, keepdim)), isnan(a)).to(x.dtype());
    return {sign(x) * hit * (g_spread / sum(hit, reduced, true))};
  });
  return out;
}

Tensor cumsum(const Tensor& x, int64_t dim) {
  check_defined("cumsum", x);
  return cumsum_scan(x, dim, false);
}

}  // namespace cajal
