// Scaled dot-product attention: two batched GEMMs around one fused, masked softmax; and the
// multi-head attention of packed projections as one op (MultiheadAttention without weights).
#include "cajal/ops/attention.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "cajal/autograd/node.h"
#include "cajal/core/parallel.h"
#include "cajal/kernels/cpu/attention.h"
#include "cajal/kernels/cpu/gemm.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/dropout.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/linalg.h"
#include "cajal/ops/reduce.h"
#include "cajal/ops/shape.h"

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
  autograd::record("attention_softmax", y, {&scores, &mask}, autograd::save(scores, mask, kernel_mask, y.detach()),
                   [causal, scale](const Tensor& g, const Tensor& scores, const Tensor& mask, const Tensor& kernel_mask,
                                   const Tensor& y) -> TensorList {
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
      kernels::attention_softmax_backward(g.contiguous(), y, kernel_mask, causal, mask_grad ? 1.0 : scale, grad_sum);
      if (!mask_grad) return {grad_sum, Tensor()};
    }
    return {scores.requires_grad() ? grad_sum * scale : Tensor(), mask_grad ? sum_to(grad_sum, mask.sizes()) : Tensor()};
  });
  return y;
}

// Throws unless q, k, v (and the mask) fit together; returns the scores' shape [..., L, S].
Dims check_attention_inputs(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask, const char* op) {
  check_defined(op, q, k, v);
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

Tensor heads_view(const Tensor& projection, int64_t offset, int64_t embed_dim, int64_t heads, bool batch_first) {
  Tensor block = projection.narrow(-1, offset, embed_dim).unflatten(-1, {heads, embed_dim / heads});
  return batch_first ? block.permute({0, 2, 1, 3}) : block.permute({1, 2, 0, 3});
}

Tensor merge_heads(const Tensor& x, bool batch_first) {
  int64_t N = x.size(0), H = x.size(1), L = x.size(2), D = x.size(3);
  if (batch_first) return x.permute({0, 2, 1, 3}).reshape({N, L, H * D});
  return x.permute({2, 0, 1, 3}).reshape({L, N, H * D});
}

namespace {

// The gradient of multi_head_attention built from differentiable ops (for create_graph):
// softmax's backward with the probabilities recomputed with history, the blocks of each input
// joined in column order.
TensorList recorded_attention_backward(const Tensor& g, const ProjectedQKV& qkv, int64_t heads, int64_t embed_dim,
                                       bool batch_first, const Tensor& mask, bool causal, const Tensor& keep) {
  auto view = [&](const HeadBlock& b) { return heads_view(qkv.inputs[b.input], b.offset, embed_dim, heads, batch_first); };
  Tensor q = view(qkv.q), k = view(qkv.k), v = view(qkv.v);
  double scale = 1 / std::sqrt(static_cast<double>(q.size(-1)));
  Tensor p = attention_softmax(matmul(q, k.transpose(-2, -1)), mask, causal, scale);
  Tensor dropped = keep.defined() ? p * keep : p;
  Tensor g_heads = heads_view(g, 0, embed_dim, heads, batch_first);
  Tensor grad_p = matmul(g_heads, v.transpose(-2, -1));
  if (keep.defined()) grad_p = grad_p * keep;
  Tensor grad_sum = p * (grad_p - sum(grad_p * p, {-1}, true));
  Tensor allowed = allowed_positions(mask, causal, p.size(-2), p.size(-1));
  if (allowed.defined()) grad_sum = where(allowed, grad_sum, 0.0);
  std::vector<std::pair<int64_t, Tensor>> blocks[3];  // per input: (offset, gradient block)
  blocks[qkv.q.input].emplace_back(qkv.q.offset, merge_heads(matmul(grad_sum, k) * scale, batch_first));
  blocks[qkv.k.input].emplace_back(qkv.k.offset, merge_heads(matmul(grad_sum.transpose(-2, -1), q) * scale, batch_first));
  blocks[qkv.v.input].emplace_back(qkv.v.offset, merge_heads(matmul(dropped.transpose(-2, -1), g_heads), batch_first));
  TensorList grads;
  for (size_t i = 0; i < qkv.inputs.size(); ++i) {
    std::sort(blocks[i].begin(), blocks[i].end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    TensorList parts;
    for (const auto& block : blocks[i]) parts.push_back(block.second);
    grads.push_back(parts.size() == 1 ? parts[0] : cat(parts, -1));
  }
  if (mask.defined() && mask.dtype() != DType::boolean)
    grads.push_back(mask.requires_grad() ? sum_to(grad_sum, mask.sizes()) : Tensor());
  return grads;
}

}  // namespace

namespace {

// The history-free [N, heads, L, head_dim] view of one block of the projections, which the
// kernels read.
Tensor block_view(const TensorList& projections, const HeadBlock& b, int64_t embed_dim, int64_t heads, bool batch_first) {
  return heads_view(projections[b.input].detach(), b.offset, embed_dim, heads, batch_first);
}

// out = alpha * a @ b for [N, heads, ...] batches of matrices, the N batch entries split
// between the threads and each product single-threaded: one parallel region for the whole
// batch rather than one inside each small product, whose threads wait for each other
// (and for the scheduler, on a busy machine) after every matrix.
void batched_gemm(const Tensor& a, const Tensor& b, const Tensor& out, double alpha = 1) {
  parallel_for(0, out.size(0), 1, [&](int64_t begin, int64_t end) {
    int64_t n = end - begin;
    kernels::gemm(a.narrow(0, begin, n), b.narrow(0, begin, n), out.narrow(0, begin, n), alpha);
  });
}

}  // namespace

Tensor multi_head_attention(const ProjectedQKV& qkv, int64_t heads, int64_t embed_dim, bool batch_first,
                            const Tensor& attn_mask, bool causal, double dropout_p, Generator* gen) {
  const char* op = "multi_head_attention";
  if (qkv.inputs.empty() || qkv.inputs.size() > 3) fail<ValueError>(op, ": expected 1 to 3 projections, got ", qkv.inputs.size());
  if (heads <= 0 || embed_dim % heads != 0)
    fail<ValueError>(op, ": embed_dim ", embed_dim, " is not divisible by heads ", heads);
  for (const HeadBlock* b : {&qkv.q, &qkv.k, &qkv.v})
    if (b->input >= qkv.inputs.size() || qkv.inputs[b->input].dim() != 3 || b->offset < 0 ||
        b->offset + embed_dim > qkv.inputs[b->input].size(-1))
      fail<ShapeError>(op, ": a block of ", embed_dim, " columns at ", b->offset, " does not fit projection ", b->input);
  // Every projection's columns are q, k or v blocks, so backward writes all of its gradient.
  for (size_t i = 0; i < qkv.inputs.size(); ++i) {
    int64_t blocks = (qkv.q.input == i) + (qkv.k.input == i) + (qkv.v.input == i);
    if (qkv.inputs[i].size(-1) != blocks * embed_dim)
      fail<ShapeError>(op, ": projection ", i, " of shape ", qkv.inputs[i].sizes(), " is not made of its q, k and v blocks");
  }
  if (dropout_p < 0 || dropout_p > 1) fail<ValueError>(op, ": dropout_p must be in [0, 1], got ", dropout_p);
  const DType dtype = qkv.inputs[0].dtype();
  const Tensor mask = attn_mask.defined() && attn_mask.dtype() != DType::boolean && attn_mask.dtype() != dtype
                          ? attn_mask.to(dtype)
                          : attn_mask;
  // The views, the buffers and the kernels' work, without history; the op records its own.
  Tensor q, k, v, p, dropped, keep, kernel_mask, out;
  {
    NoGradGuard kernel_views;
    auto view = [&](const HeadBlock& b) { return block_view(qkv.inputs, b, embed_dim, heads, batch_first); };
    q = view(qkv.q), k = view(qkv.k), v = view(qkv.v);
    check_attention_inputs(q, k, v, mask, op);
    const int64_t N = q.size(0), L = q.size(2), S = k.size(2);
    kernel_mask = mask.defined() ? mask.detach().expand({N, heads, L, S}) : Tensor();
    // The scores, then the probabilities in the same buffer (the kernel reads each row before writing it).
    p = make_tensor({N, heads, L, S}, dtype);
    batched_gemm(q, k.transpose(-2, -1), p);
    kernels::attention_softmax(p, kernel_mask, causal, 1 / std::sqrt(static_cast<double>(q.size(-1))), p);
    dropped = p;
    if (dropout_p > 0) {
      keep = dropout(ones_like(p), dropout_p, true, gen);  // 0 or 1 / (1 - dropout_p)
      dropped = p * keep;
    }
    out = make_tensor(batch_first ? Dims{N, L, embed_dim} : Dims{L, N, embed_dim}, dtype);
    batched_gemm(dropped, v, heads_view(out, 0, embed_dim, heads, batch_first));
  }
  const bool float_mask = mask.defined() && mask.dtype() != DType::boolean;
  TensorList inputs = qkv.inputs;
  if (float_mask) inputs.push_back(mask);
  // Saved: the projections (up to three, undefined where absent; backward rebuilds their
  // head views, which cost nothing), the mask, and the probabilities, dropout mask and
  // dropped probabilities, which only this node reaches.
  auto projection = [&](size_t i) { return i < qkv.inputs.size() ? qkv.inputs[i] : Tensor(); };
  autograd::record_list(
      op, out, inputs, autograd::save(projection(0), projection(1), projection(2), mask, p, keep, dropped),
      [n_projections = qkv.inputs.size(), q_block = qkv.q, k_block = qkv.k, v_block = qkv.v, heads, embed_dim,
       batch_first, causal, float_mask](const Tensor& g, const Tensor& in0, const Tensor& in1, const Tensor& in2,
                                        const Tensor& mask, const Tensor& p, const Tensor& keep,
                                        const Tensor& dropped) -> TensorList {
    ProjectedQKV saved{{in0, in1, in2}, q_block, k_block, v_block};
    saved.inputs.resize(n_projections);
    if (autograd::GradMode::enabled())
      return recorded_attention_backward(g, saved, heads, embed_dim, batch_first, mask, causal, keep);
    auto view = [&](const HeadBlock& b) { return block_view(saved.inputs, b, embed_dim, heads, batch_first); };
    Tensor q = view(q_block), k = view(k_block), v = view(v_block);
    Tensor kernel_mask = mask.defined() ? mask.detach().expand(p.sizes()) : Tensor();
    const double scale = 1 / std::sqrt(static_cast<double>(q.size(-1)));
    Tensor g_heads = heads_view(g.contiguous(), 0, embed_dim, heads, batch_first);
    // The gradient of the weights, then (in place) of the masked scores, unscaled.
    Tensor grad = make_tensor(p.sizes(), p.dtype());
    batched_gemm(g_heads, v.transpose(-2, -1), grad);
    if (keep.defined()) grad = grad * keep;
    kernels::attention_softmax_backward(grad, p, kernel_mask, causal, 1.0, grad);
    TensorList grads;
    for (const Tensor& input : saved.inputs) grads.push_back(make_tensor(input.sizes(), input.dtype()));
    auto block = [&](const HeadBlock& b) { return heads_view(grads[b.input], b.offset, embed_dim, heads, batch_first); };
    batched_gemm(grad, k, block(q_block), scale);
    batched_gemm(grad.transpose(-2, -1), q, block(k_block), scale);
    batched_gemm(dropped.transpose(-2, -1), g_heads, block(v_block));
    if (float_mask) grads.push_back(mask.requires_grad() ? sum_to(grad, mask.sizes()) : Tensor());
    return grads;
  });
  return out;
}

Tensor causal_mask(int64_t size) {
  if (size < 0) fail<ValueError>("causal_mask: size must be non-negative, got ", size);
  Tensor positions = arange(size);
  return positions.unsqueeze(1) >= positions.unsqueeze(0);
}

}  // namespace cajal
