// Scaled dot-product attention: two batched GEMMs around one fused, masked softmax.
#include "cajal/ops/attention.h"

#include <cmath>

#include "cajal/autograd/node.h"
#include "cajal/kernels/cpu/attention.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/dropout.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/linalg.h"
#include "cajal/ops/reduce.h"

namespace cajal {

namespace {

// The positions a bool mask and the causal limit leave to attend (undefined when neither
// applies), broadcastable to scores' shape [..., L, S].
Tensor allowed_positions(const Tensor& mask, bool causal, int64_t L, int64_t S) {
  Tensor allowed = mask.defined() && mask.dtype() == DType::boolean ? mask : Tensor();
  if (causal) {
    Tensor lower = arange(L).unsqueeze(1) >= arange(S).unsqueeze(0);
    allowed = allowed.defined() ? logical_and(allowed, lower) : lower;
  }
  return allowed;
}

// softmax(scale * scores + mask) along the last dim, with the masks of
// kernels::attention_softmax (mask already has scores' dtype when it is not bool). Positions
// removed by a bool mask or the causal limit get no gradient (see the kernel).
Tensor attention_softmax(const Tensor& scores, const Tensor& mask, bool causal, double scale) {
  Tensor y = make_tensor(scores.sizes(), scores.dtype());
  Tensor kernel_mask;  // the mask seen with scores' shape, without history
  {
    NoGradGuard kernel_view;
    kernel_mask = mask.defined() ? mask.detach().expand(scores.sizes()) : Tensor();
    kernels::attention_softmax(scores.detach().contiguous(), kernel_mask, causal, scale, y);
  }
  autograd::record("attention_softmax", y, {&scores, &mask},
                   [scores, mask, kernel_mask, causal, scale, yd = y.detach()](const Tensor& g) -> TensorList {
    const bool mask_grad = mask.defined() && mask.requires_grad();
    Tensor grad_sum;  // the gradient of the masked, scaled scores (softmax's input)
    if (autograd::GradMode::enabled()) {
      // Recorded backward: y recomputed with history, so second derivatives see how y
      // depends on the scores.
      Tensor yv = attention_softmax(scores, mask, causal, scale);
      grad_sum = yv * (g - sum(g * yv, {-1}, true));
      Tensor allowed = allowed_positions(mask, causal, scores.size(-2), scores.size(-1));
      if (allowed.defined()) grad_sum = where(allowed, grad_sum, 0.0);
    } else {
      // The fused kernel, which also applies the scale when only the scores need a gradient.
      grad_sum = make_tensor(g.sizes(), g.dtype());
      kernels::attention_softmax_backward(g.contiguous(), yd, kernel_mask, causal, mask_grad ? 1.0 : scale, grad_sum);
      if (!mask_grad) return {grad_sum, Tensor()};
    }
    return {scores.requires_grad() ? grad_sum * scale : Tensor(), mask_grad ? sum_to(grad_sum, mask.sizes()) : Tensor()};
  }, {&y});
  return y;
}

// Throws unless q, k, v (and the mask) fit together; returns the scores' shape [..., L, S].
Dims check_attention_inputs(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask, const char* op) {
  for (const Tensor* t : {&q, &k, &v})
    if (!t->defined()) fail<ValueError>(op, ": query, key and value must all be defined");
  if (q.dtype() != k.dtype() || q.dtype() != v.dtype() || (q.dtype() != DType::f32 && q.dtype() != DType::f64))
    fail<DTypeError>(op, ": query, key and value must be float32 or float64 of one dtype, got ", dtype_name(q.dtype()),
                     ", ", dtype_name(k.dtype()), " and ", dtype_name(v.dtype()));
  if (q.dim() < 2 || k.dim() < 2 || v.dim() < 2)
    fail<ShapeError>(op, ": query, key and value need at least 2 dims ([..., L, E]), got shapes ", q.sizes(), ", ",
                     k.sizes(), " and ", v.sizes());
  if (q.size(-1) != k.size(-1))
    fail<ShapeError>(op, ": query of shape ", q.sizes(), " and key of shape ", k.sizes(),
                     " differ in the embedding dim (", q.size(-1), " != ", k.size(-1), ")");
  if (k.size(-2) != v.size(-2))
    fail<ShapeError>(op, ": key of shape ", k.sizes(), " and value of shape ", v.sizes(),
                     " differ in the sequence length (", k.size(-2), " != ", v.size(-2), ")");
  auto batch = [](const Tensor& t) { return Dims(t.sizes().begin(), t.sizes().end() - 2); };
  Dims shape = broadcast_shapes(broadcast_shapes(batch(q), batch(k), op), batch(v), op);
  shape.push_back(q.size(-2));
  shape.push_back(k.size(-2));
  if (mask.defined()) {
    if (mask.dtype() != DType::boolean && !is_floating(mask.dtype()))
      fail<DTypeError>(op, ": attn_mask must be bool or floating, got ", dtype_name(mask.dtype()));
    bool fits = mask.dim() <= static_cast<int64_t>(shape.size());
    for (int64_t i = 1; fits && i <= mask.dim(); ++i) {
      int64_t m = mask.size(-i), s = shape[shape.size() - i];
      fits = m == s || m == 1;
    }
    if (!fits)
      fail<ShapeError>(op, ": attn_mask of shape ", mask.sizes(), " does not broadcast to the attention scores' shape ",
                       shape, " ([..., L, S])");
  }
  return shape;
}

}  // namespace

AttentionWithWeights attention_with_weights(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                                            bool causal, double dropout_p, Generator* gen, const char* op) {
  check_attention_inputs(q, k, v, mask, op);
  if (dropout_p < 0 || dropout_p > 1) fail<ValueError>(op, ": dropout_p must be in [0, 1], got ", dropout_p);
  double scale = 1 / std::sqrt(static_cast<double>(q.size(-1)));
  Tensor typed_mask = mask.defined() && mask.dtype() != DType::boolean && mask.dtype() != q.dtype() ? mask.to(q.dtype()) : mask;
  Tensor weights = attention_softmax(matmul(q, k.transpose(-2, -1)), typed_mask, causal, scale);
  if (dropout_p > 0) weights = dropout(weights, dropout_p, true, gen);
  return {matmul(weights, v), weights};
}

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& attn_mask,
                                    double dropout_p, bool is_causal, Generator* gen) {
  if (is_causal && attn_mask.defined())
    fail<ValueError>("scaled_dot_product_attention: pass either attn_mask or is_causal, not both");
  return attention_with_weights(q, k, v, attn_mask, is_causal, dropout_p, gen).output;
}

Tensor causal_mask(int64_t size) {
  if (size < 0) fail<ValueError>("causal_mask: size must be non-negative, got ", size);
  Tensor positions = arange(size);
  return positions.unsqueeze(1) >= positions.unsqueeze(0);
}

}  // namespace cajal
