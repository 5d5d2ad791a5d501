// Linear algebra ops: matmul with NumPy's batching rules, and mm, bmm, addmm, dot, outer
// and linear built on the same GEMM kernel. Each op checks shapes and dtypes, allocates
// its output uninitialized, runs the kernel, and records a backward written with matmul
// itself, so gradients can be differentiated again.
#include "cajal/ops/linalg.h"

#include <algorithm>
#include <cmath>

#include "cajal/autograd/node.h"
#include "cajal/kernels/cpu/elementwise.h"
#include "cajal/kernels/cpu/gemm.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/reduce.h"

namespace cajal {

namespace {

void check_dims(const Tensor& a, const Tensor& b, int64_t dims, const char* op) {
  if (a.dim() != dims || b.dim() != dims)
    fail<ShapeError>(op, ": expected ", dims, "-D tensors, got shapes ", a.sizes(), " and ", b.sizes());
}

// The contracted sizes must agree: a's last dim and b's first (1-D) or second-to-last dim.
void check_inner(const Tensor& a, const Tensor& b, const char* op) {
  int64_t ka = a.sizes().back(), kb = b.dim() == 1 ? b.size(0) : b.size(-2);
  if (ka != kb) fail<ShapeError>(op, ": shapes ", a.sizes(), " and ", b.sizes(), " cannot be multiplied (", ka, " != ", kb, ")");
}

// Numbers of any kind multiply; bool does not (as in PyTorch).
DType product_dtype(DType dt, const char* op) {
  if (dt == DType::boolean) fail<DTypeError>(op, ": bool tensors cannot be multiplied; convert them with to()");
  return dt;
}

// Differentiable dtype conversion, skipped when t already has it.
Tensor as_dtype(const Tensor& t, DType dt) { return t.dtype() == dt ? t : t.to(dt); }

Dims batch_dims(const Tensor& t) { return Dims(t.sizes().begin(), t.sizes().end() - 2); }

// Rows of t viewed as one matrix: [..., n, k] -> [prod(...) * n, k].
Tensor as_rows(const Tensor& t) {
  Dims leading(t.sizes().begin(), t.sizes().end() - 1);
  return t.reshape({numel_of(leading), t.sizes().back()});
}

// The broadcast batch shape of a [..., n, k] and b [..., k, m].
Dims broadcast_batch(const Tensor& a, const Tensor& b) {
  Dims batch_a = batch_dims(a), batch_b = batch_dims(b);
  for (size_t i = 1; i <= std::min(batch_a.size(), batch_b.size()); ++i) {
    int64_t da = batch_a[batch_a.size() - i], db = batch_b[batch_b.size() - i];
    if (da != db && da != 1 && db != 1)
      fail<ShapeError>("matmul: batch dims of shapes ", a.sizes(), " and ", b.sizes(), " cannot be broadcast (", da,
                       " vs ", db, ")");
  }
  return broadcast_shapes(batch_a, batch_b, "matmul");
}

Tensor transpose_last(const Tensor& t) { return t.transpose(-2, -1); }

Tensor scaled(const Tensor& t, double factor) { return factor == 1 ? t : t * factor; }

// a [..., n, k] @ b [..., k, m]: both at least 2-D, one dtype, inner sizes checked.
Tensor matmul_matrices(const Tensor& a, const Tensor& b) {
  Dims shape = broadcast_batch(a, b);
  shape.push_back(a.sizes()[a.dim() - 2]);
  shape.push_back(b.sizes().back());
  Tensor out = make_tensor(shape, a.dtype());
  kernels::gemm(a, b, out);
  if (autograd::needs_grad({&a, &b})) {
    bool ga = a.requires_grad(), gb = b.requires_grad();
    // Each gradient reads only the other input: save a only if b needs a gradient, and b
    // only if a does.
    autograd::record("matmul", out, {&a, &b}, autograd::save(gb ? a : Tensor(), ga ? b : Tensor()),
                     [sa = a.sizes(), sb = b.sizes(), ga, gb](const Tensor& g, const Tensor& a, const Tensor& b) -> TensorList {
      Tensor grad_a, grad_b;
      if (ga) grad_a = sum_to(matmul(g, transpose_last(b)), sa);
      if (gb) {
        // A matrix b shared by a whole batch gets one GEMM over all rows, not a batch of
        // products summed afterwards.
        if (sb.size() == 2 && sa.size() > 2) grad_b = matmul(as_rows(a).t(), as_rows(g));
        else grad_b = sum_to(matmul(transpose_last(a), g), sb);
      }
      return {grad_a, grad_b};
    });
  }
  return out;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  check_defined("matmul", a, b);
  if (a.dim() == 0 || b.dim() == 0)
    fail<ShapeError>("matmul: both arguments need at least 1 dimension, got shapes ", a.sizes(), " and ", b.sizes());
  check_inner(a, b, "matmul");
  DType dt = product_dtype(result_type(a, b), "matmul");
  // A 1-D operand is a matrix of one row (left) or one column (right) for the product,
  // and that dim is removed from the result again (NumPy's rules).
  Tensor x = as_dtype(a, dt), y = as_dtype(b, dt);
  if (a.dim() == 1) x = x.unsqueeze(0);
  if (b.dim() == 1) y = y.unsqueeze(1);
  Tensor out = matmul_matrices(x, y);
  if (b.dim() == 1) out = out.squeeze(-1);
  if (a.dim() == 1) out = out.squeeze(b.dim() == 1 ? -1 : -2);
  return out;
}

Tensor Tensor::matmul(const Tensor& o) const { return cajal::matmul(*this, o); }

Tensor mm(const Tensor& a, const Tensor& b) {
  check_defined("mm", a, b);
  check_dims(a, b, 2, "mm");
  check_inner(a, b, "mm");
  DType dt = product_dtype(result_type(a, b), "mm");
  return matmul_matrices(as_dtype(a, dt), as_dtype(b, dt));
}

Tensor bmm(const Tensor& a, const Tensor& b) {
  check_defined("bmm", a, b);
  check_dims(a, b, 3, "bmm");
  if (a.size(0) != b.size(0))
    fail<ShapeError>("bmm: batch sizes of shapes ", a.sizes(), " and ", b.sizes(), " differ (", a.size(0), " != ", b.size(0), ")");
  check_inner(a, b, "bmm");
  DType dt = product_dtype(result_type(a, b), "bmm");
  return matmul_matrices(as_dtype(a, dt), as_dtype(b, dt));
}

Tensor addmm(const Tensor& input, const Tensor& a, const Tensor& b, double beta, double alpha) {
  check_defined("addmm", input, a, b);
  check_dims(a, b, 2, "addmm");
  check_inner(a, b, "addmm");
  Dims shape{a.size(0), b.size(1)};
  if (broadcast_shapes(input.sizes(), shape, "addmm") != shape)
    fail<ShapeError>("addmm: input of shape ", input.sizes(), " does not broadcast to the product's shape ", shape);
  DType dt = product_dtype(promote_types(result_type(input, a), result_type(a, b)), "addmm");
  if (!is_floating(dt) && (alpha != std::trunc(alpha) || beta != std::trunc(beta)))
    fail<DTypeError>("addmm: alpha (", alpha, ") and beta (", beta, ") must be integers for ", dtype_name(dt), " tensors");
  Tensor c = as_dtype(input, dt), x = as_dtype(a, dt), y = as_dtype(b, dt);
  Tensor out = make_tensor(shape, dt);
  if (beta != 0) kernels::copy(c, out);  // input broadcast into the output; the GEMM adds to it
  kernels::gemm(x, y, out, alpha, beta);
  if (autograd::needs_grad({&c, &x, &y})) {
    bool gc = c.requires_grad(), gx = x.requires_grad(), gy = y.requires_grad();
    autograd::record("addmm", out, {&c, &x, &y}, autograd::save(gy ? x : Tensor(), gx ? y : Tensor()),
                     [gc, gx, gy, beta, alpha, input_shape = c.sizes()](const Tensor& g, const Tensor& x, const Tensor& y) -> TensorList {
      return {gc ? sum_to(scaled(g, beta), input_shape) : Tensor(), gx ? scaled(matmul(g, y.t()), alpha) : Tensor(),
              gy ? scaled(matmul(x.t(), g), alpha) : Tensor()};
    });
  }
  return out;
}

Tensor outer(const Tensor& a, const Tensor& b) {
  check_defined("outer", a, b);
  check_dims(a, b, 1, "outer");
  return mul(a.unsqueeze(1), b.unsqueeze(0));
}

Tensor dot(const Tensor& a, const Tensor& b) {
  check_defined("dot", a, b);
  check_dims(a, b, 1, "dot");
  check_inner(a, b, "dot");
  return matmul(a, b);
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  check_defined("linear", x, weight);
  if (weight.dim() != 2)
    fail<ShapeError>("linear: weight must be 2-D [out_features, in_features], got shape ", weight.sizes());
  int64_t out_features = weight.size(0), in_features = weight.size(1);
  if (x.dim() == 0 || x.sizes().back() != in_features)
    fail<ShapeError>("linear: input of shape ", x.sizes(), " does not match weight of shape ", weight.sizes(), " (",
                     x.dim() == 0 ? 0 : x.sizes().back(), " != ", in_features, ")");
  if (bias.defined() && (bias.dim() != 1 || bias.size(0) != out_features))
    fail<ShapeError>("linear: bias of shape ", bias.sizes(), " does not match weight of shape ", weight.sizes(),
                     " (expected [", out_features, "])");
  if (x.dim() == 1) return linear(x.unsqueeze(0), weight, bias).squeeze(0);

  DType dt = result_type(x, weight);
  if (bias.defined()) dt = promote_types(dt, bias.dtype());
  dt = product_dtype(dt, "linear");
  Tensor xc = as_dtype(x, dt), w = as_dtype(weight, dt), b = bias.defined() ? as_dtype(bias, dt) : Tensor();
  Dims shape = x.sizes();
  shape[shape.size() - 1] = out_features;
  Tensor out = make_tensor(shape, dt);
  if (b.defined()) kernels::copy(b, out);  // bias broadcast into every row; the GEMM adds x @ w^T
  {
    NoGradGuard kernel_view;  // w^T is only the kernel's view of w; the op records its own backward
    kernels::gemm(xc, w.t(), out, 1, b.defined() ? 1 : 0);
  }
  if (autograd::needs_grad({&xc, &w, &b})) {
    bool gx = xc.requires_grad(), gw = w.requires_grad(), gb = b.defined() && b.requires_grad();
    autograd::record("linear", out, {&xc, &w, &b}, autograd::save(gw ? xc : Tensor(), gx ? w : Tensor()),
                     [gx, gw, gb, out_features](const Tensor& g, const Tensor& xc, const Tensor& w) -> TensorList {
      return {gx ? matmul(g, w) : Tensor(),                       // [..., out] @ [out, in]: one GEMM
              gw ? matmul(as_rows(g).t(), as_rows(xc)) : Tensor(),  // [out, N] @ [N, in]
              gb ? sum_to(g, {out_features}) : Tensor()};
    });
  }
  return out;
}

}  // namespace cajal
