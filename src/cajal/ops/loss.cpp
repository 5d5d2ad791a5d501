// Loss functions. Most are compositions of differentiable ops, so their gradients of every
// order come from those ops. Two have a backward of their own: cross_entropy with class
// indices (a fused kernel forward, and a fused first-order backward, softmax - one_hot,
// with a differentiable formula when backward is recorded) and binary_cross_entropy
// (PyTorch's input gradient, which stays finite where the clamped logs saturate).
#include "cajal/ops/loss.h"

#include <cmath>
#include <string_view>

#include "cajal/autograd/node.h"
#include "cajal/kernels/cpu/loss.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/reduce.h"
#include "cajal/ops/reduce_util.h"
#include "cajal/ops/shape.h"

namespace cajal {

namespace {

// --- shared checks and reductions ---

void require_floating(const Tensor& t, const char* op, const char* what) {
  if (!t.is_floating_point())
    fail<DTypeError>(op, ": ", what, " must be floating point, got ", dtype_name(t.dtype()));
}

// Whether a tensor of shape `from` broadcasts to exactly `to`.
bool broadcasts_to(const Dims& from, const Dims& to) {
  if (from.size() > to.size()) return false;
  size_t lead = to.size() - from.size();
  for (size_t d = 0; d < from.size(); ++d)
    if (from[d] != 1 && from[d] != to[lead + d]) return false;
  return true;
}

void check_broadcasts_to(const Tensor& t, const char* what, const Tensor& like, const char* like_what, const char* op) {
  if (!broadcasts_to(t.sizes(), like.sizes()))
    fail<ShapeError>(op, ": ", what, " shape ", t.sizes(), " does not broadcast to ", like_what, " shape ", like.sizes());
}

void check_same_shape(const Tensor& target, const Tensor& input, const char* op) {
  if (target.sizes() != input.sizes())
    fail<ShapeError>(op, ": target shape ", target.sizes(), " differs from input shape ", input.sizes(),
                     "; they must be equal");
}

// BatchMean belongs to kl_div alone.
void check_reduction(Reduction reduction, const char* op) {
  if (reduction == Reduction::BatchMean)
    fail<ValueError>(op, ": reduction BatchMean is only defined for kl_div; use Mean, Sum or None");
}

// Per-element losses reduced as asked.
Tensor reduce_loss(const Tensor& loss, Reduction reduction, const char* op) {
  check_reduction(reduction, op);
  if (reduction == Reduction::Mean) return mean(loss);
  return reduction == Reduction::Sum ? sum(loss) : loss;
}

// input - target for the regression losses, after their checks.
Tensor difference(const Tensor& input, const Tensor& target, const char* op) {
  check_defined(op, input, target);
  require_floating(input, op, "input");
  check_broadcasts_to(target, "target", input, "input", op);
  return input - target;
}

// 0.5 d^2 / scale below |d| < threshold, |d| - threshold / 2 above, times `outer`:
// smooth_l1 (threshold beta, scale beta, outer 1) and huber (delta, 1, delta).
Tensor quadratic_then_linear(const Tensor& d, double threshold, double scale, double outer) {
  Tensor a = abs(d);
  return where(lt(a, threshold), square(d) * (0.5 / scale), (a - 0.5 * threshold) * outer);
}

// --- class-index targets (nll_loss, cross_entropy) ---

// The class weights checked (one per class) and in the input's dtype; undefined if none.
Tensor checked_class_weight(const Tensor& weight, int64_t classes, DType dtype, const char* op) {
  if (!weight.defined()) return weight;
  if (weight.dim() != 1 || weight.size(0) != classes)
    fail<ShapeError>(op, ": weight must be 1-D with one value per class (", classes, "), got shape ", weight.sizes());
  require_floating(weight, op, "weight");
  return weight.dtype() == dtype ? weight : weight.to(dtype);
}

// The input [N, C, d1, ...] and target [N, d1, ...] of a class-index loss; an unbatched
// input [C] with a 0-d target is seen as [1, C] and [1].
struct ClassIndexProblem {
  Tensor input;
  Tensor target;  // int64, every value in [0, C) or ignore_index
  Tensor weight;  // [C] in the input's dtype, or undefined
  int64_t ignore_index;
  Dims loss_shape;  // the caller's target shape: a None reduction's result
};

ClassIndexProblem class_index_problem(const Tensor& input, const Tensor& target, const Tensor& weight,
                                      int64_t ignore_index, const char* op) {
  require_floating(input, op, "input");
  if (input.dim() == 0) fail<ShapeError>(op, ": input must have a class dim, got a 0-d tensor");
  if (target.dtype() != DType::i64)
    fail<DTypeError>(op, ": class-index targets must be int64, got ", dtype_name(target.dtype()),
                     std::string_view(op) == "cross_entropy" ? " (class probabilities must be floating point)" : "");
  int64_t class_dim = input.dim() == 1 ? 0 : 1;
  Dims expected = input.sizes();
  expected.erase(static_cast<size_t>(class_dim));
  if (target.sizes() != expected)
    fail<ShapeError>(op, ": target shape ", target.sizes(), " does not match input shape ", input.sizes(),
                     " (expected ", expected, ", the input's shape without its class dim ", class_dim, ")");
  int64_t classes = input.size(class_dim);
  Tensor t = target.contiguous();
  if (auto bad = kernels::first_invalid_class(t, classes, ignore_index))
    fail<IndexError>(op, ": target ", *bad, " is out of range for ", classes, " classes (valid: 0 to ", classes - 1,
                     ", or ignore_index ", ignore_index, ")");
  bool unbatched = input.dim() == 1;
  return {unbatched ? input.unsqueeze(0) : input, unbatched ? t.unsqueeze(0) : t,
          checked_class_weight(weight, classes, input.dtype(), op), ignore_index, target.sizes()};
}

// Where the targets count (not ignore_index), and each position's target, with ignored
// positions pointing at class 0 so they can index safely.
struct ValidTargets {
  Tensor valid;  // bool, target's shape
  Tensor index;  // int64, target's shape
};
ValidTargets valid_targets(const ClassIndexProblem& pr) {
  Tensor valid = ne(pr.target, pr.ignore_index);
  return {valid, where(valid, pr.target, 0)};
}

// The weight of each position's target class: w[t], 1 without weights, 0 where ignored.
Tensor target_weights(const ClassIndexProblem& pr, const ValidTargets& vt) {
  Tensor w = pr.weight.defined() ? index_select(pr.weight, 0, vt.index.flatten()).view(vt.index.sizes())
                                 : ones(vt.index.sizes(), {.dtype = pr.input.dtype()});
  return where(vt.valid, w, 0);
}

// None keeps the per-position losses; Sum adds them; Mean divides the sum by the total
// weight of the targets that count (NaN when none does, as in PyTorch).
Tensor reduce_class_loss(const Tensor& loss, const Tensor& target_weight, const ClassIndexProblem& pr,
                         Reduction reduction, const char* op) {
  if (reduction == Reduction::None) return loss.view(pr.loss_shape);
  if (reduction == Reduction::Mean) return sum(loss) / sum(target_weight);
  return reduce_loss(loss, reduction, op);
}

// The gradient cross_entropy's kernel computes, in differentiable ops (the softmax of the
// logits with history), for backward graphs that are themselves differentiated:
//   g * scale * (((1 - s) w_t + (s / C) W) softmax(x) - (s / C) w - (1 - s) w_t one_hot(t)),
// 0 where ignored; g is one value (Sum, Mean) or one per position (None).
Tensor cross_entropy_grad(const ClassIndexProblem& pr, double smoothing, const Tensor& g, double scale,
                          Reduction reduction) {
  const Tensor& x = pr.input;
  int64_t classes = x.size(1);
  ValidTargets vt = valid_targets(pr);
  Tensor valid = vt.valid.unsqueeze(1), index = vt.index.unsqueeze(1);  // [N, 1, d1, ...]
  Tensor wt = target_weights(pr, vt).unsqueeze(1);
  Dims class_shape(static_cast<size_t>(x.dim()), 1);
  class_shape[1] = classes;
  Tensor w = pr.weight.defined() ? pr.weight.view(class_shape) : ones(class_shape, {.dtype = x.dtype()});
  Tensor coef = wt * (1 - smoothing) + sum(w) * (smoothing / classes);
  Tensor picked = scatter(zeros_like(x), 1, index, wt * (1 - smoothing));
  Tensor grad = where(valid, coef * softmax(x, 1) - w * (smoothing / classes) - picked, 0);
  return grad * ((reduction == Reduction::None ? g.reshape(pr.target.sizes()).unsqueeze(1) : g) * scale);
}

Tensor cross_entropy_class_indices(const Tensor& input, const Tensor& target, const CrossEntropyLossOptions& o) {
  const char* op = "cross_entropy";
  check_reduction(o.reduction, op);
  ClassIndexProblem pr = class_index_problem(input, target, o.weight, o.ignore_index, op);
  const Tensor& x = pr.input;
  DType dtype = x.dtype(), compute = dtype == DType::bf16 ? DType::f32 : dtype;
  kernels::CrossEntropyTargets targets{pr.target, pr.weight.defined() ? kernel_input(pr.weight, compute) : Tensor(),
                                       o.ignore_index, o.label_smoothing};
  Tensor xc = kernel_input(x, compute);
  Tensor loss = make_tensor(pr.target.sizes(), compute), lse = make_tensor(pr.target.sizes(), compute),
         target_weight = make_tensor(pr.target.sizes(), compute);
  kernels::cross_entropy(xc, 1, targets, loss, lse, target_weight);
  // Mean divides by the total weight of the targets that count; backward scales by its inverse.
  double total = o.reduction == Reduction::Mean ? sum(target_weight).item<double>() : 1.0, scale = 1.0 / total;
  Tensor out = o.reduction == Reduction::None ? loss.view(pr.loss_shape) : sum(loss);
  if (o.reduction == Reduction::Mean) out = out / total;
  if (compute != dtype) out = out.to(dtype);
  // Saved: the input and the targets and weights the gradient reads (the caller's tensors or
  // aliases of them), and the kernel's view of the input and weights and its lse.
  autograd::record(op, out, {&x}, autograd::save(x, pr.target, pr.weight, xc, targets.class_weight, lse),
                   [ignore_index = pr.ignore_index, loss_shape = pr.loss_shape, smoothing = o.label_smoothing,
                    reduction = o.reduction, scale](const Tensor& g, const Tensor& x, const Tensor& target, const Tensor& weight,
                                                    const Tensor& xc, const Tensor& class_weight, const Tensor& lse) -> TensorList {
    if (autograd::GradMode::enabled())
      return {cross_entropy_grad({x, target, weight, ignore_index, loss_shape}, smoothing, g, scale, reduction)};
    Tensor gx = make_tensor(xc.sizes(), xc.dtype());
    kernels::cross_entropy_backward(xc, 1, {target, class_weight, ignore_index, smoothing}, lse,
                                    kernel_input(g, xc.dtype()), scale, gx);
    return {gx.dtype() == x.dtype() ? gx : convert(gx, x.dtype())};
  });
  return out;
}

// Class probabilities: -sum_c w_c p_c log_softmax(x)_c per position, p smoothed.
Tensor cross_entropy_probabilities(const Tensor& input, const Tensor& target, const CrossEntropyLossOptions& o) {
  const char* op = "cross_entropy";
  require_floating(input, op, "input");
  if (input.dim() == 0) fail<ShapeError>(op, ": input must have a class dim, got a 0-d tensor");
  check_same_shape(target, input, op);
  if (target.dtype() != input.dtype())
    fail<DTypeError>(op, ": class-probability target dtype ", dtype_name(target.dtype()), " differs from input dtype ",
                     dtype_name(input.dtype()));
  int64_t class_dim = input.dim() == 1 ? 0 : 1, classes = input.size(class_dim);
  Tensor p = o.label_smoothing > 0 ? target * (1 - o.label_smoothing) + o.label_smoothing / classes : target;
  Tensor terms = log_softmax(input, class_dim) * p;
  if (Tensor w = checked_class_weight(o.weight, classes, input.dtype(), op); w.defined()) {
    Dims class_shape(static_cast<size_t>(input.dim()), 1);
    class_shape[class_dim] = classes;
    terms = terms * w.view(class_shape);
  }
  Tensor loss = -sum(terms, {class_dim});
  // Mean divides by the number of positions, whatever the weights.
  if (o.reduction == Reduction::Mean) return sum(loss) / static_cast<double>(loss.numel());
  return reduce_loss(loss, o.reduction, op);
}

// --- binary cross entropy ---

// -(t log(x) + (1 - t) log(1 - x)) with each log clamped to >= -100, and PyTorch's input
// gradient (x - t) / max(x (1 - x), eps), finite at x = 0 and 1. PyTorch's eps is 1e-12
// stored as a float (9.99999996e-13), kept here so saturated gradients agree.
Tensor binary_cross_entropy_elementwise(const Tensor& x, const Tensor& t) {
  constexpr double eps = 1e-12f;
  Tensor loss;
  {
    NoGradGuard no_grad;
    loss = -(t * clamp(log(x), -100, std::nullopt) + (1 - t) * clamp(log1p(-x), -100, std::nullopt));
  }
  autograd::record("binary_cross_entropy", loss, {&x, &t}, autograd::save(x, t),
                   [eps](const Tensor& g, const Tensor& x, const Tensor& t) -> TensorList {
    Tensor gx = x.requires_grad() ? g * (x - t) / clamp(x * (1 - x), eps, std::nullopt) : Tensor();
    Tensor gt = t.requires_grad() ? g * (clamp(log1p(-x), -100, std::nullopt) - clamp(log(x), -100, std::nullopt)) : Tensor();
    return {gx, gt};
  });
  return loss;
}

// --- distances ---

// The p-norm of x1 - x2 + eps along the last dim, as torch.pairwise_distance.
Tensor pairwise_distance(const Tensor& x1, const Tensor& x2, double p, double eps) {
  Tensor d = x1 - x2 + eps;
  if (p == 1 || p == 2 || std::isinf(p)) return norm(d, p, {-1});
  return pow(sum(pow(abs(d), p), {-1}), 1.0 / p);
}

// t log t, 0 where t is 0 and NaN where t < 0 (torch.xlogy(t, t)); the zeros are kept out
// of the log so the gradient stays finite.
Tensor xlogx(const Tensor& t) {
  Tensor zero = eq(t, 0);
  return where(zero, 0, t * log(where(zero, 1, t)));
}

}  // namespace

// --- regression ---

Tensor mse_loss(const Tensor& input, const Tensor& target, const MSELossOptions& o) {
  return reduce_loss(square(difference(input, target, "mse_loss")), o.reduction, "mse_loss");
}

Tensor l1_loss(const Tensor& input, const Tensor& target, const L1LossOptions& o) {
  return reduce_loss(abs(difference(input, target, "l1_loss")), o.reduction, "l1_loss");
}

Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, const SmoothL1LossOptions& o) {
  const char* op = "smooth_l1_loss";
  check_defined(op, input, target);
  if (!(o.beta >= 0)) fail<ValueError>(op, ": beta must be >= 0, got ", o.beta);
  Tensor d = difference(input, target, op);
  Tensor loss = o.beta == 0 ? abs(d) : quadratic_then_linear(d, o.beta, o.beta, 1.0);
  return reduce_loss(loss, o.reduction, op);
}

Tensor huber_loss(const Tensor& input, const Tensor& target, const HuberLossOptions& o) {
  const char* op = "huber_loss";
  check_defined(op, input, target);
  if (!(o.delta > 0)) fail<ValueError>(op, ": delta must be > 0, got ", o.delta);
  Tensor d = difference(input, target, op);
  return reduce_loss(quadratic_then_linear(d, o.delta, 1.0, o.delta), o.reduction, op);
}

// --- classification ---

Tensor nll_loss(const Tensor& input, const Tensor& target, const NLLLossOptions& o) {
  const char* op = "nll_loss";
  check_defined(op, input, target);
  ClassIndexProblem pr = class_index_problem(input, target, o.weight, o.ignore_index, op);
  ValidTargets vt = valid_targets(pr);
  Tensor wt = target_weights(pr, vt);
  Tensor picked = gather(pr.input, 1, vt.index.unsqueeze(1)).squeeze(1);
  Tensor loss = where(vt.valid, -(picked * wt), 0);  // not a product with 0: picked may be -inf
  return reduce_class_loss(loss, wt, pr, o.reduction, op);
}

Tensor cross_entropy(const Tensor& input, const Tensor& target, const CrossEntropyLossOptions& o) {
  check_defined("cross_entropy", input, target);
  if (!(o.label_smoothing >= 0 && o.label_smoothing <= 1))
    fail<ValueError>("cross_entropy: label_smoothing must be in [0, 1], got ", o.label_smoothing);
  if (target.is_floating_point()) return cross_entropy_probabilities(input, target, o);
  return cross_entropy_class_indices(input, target, o);
}

Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const BCELossOptions& o) {
  const char* op = "binary_cross_entropy";
  check_defined(op, input, target);
  require_floating(input, op, "input");
  require_floating(target, op, "target");
  check_same_shape(target, input, op);
  Tensor outside = logical_not(logical_and(ge(input, 0), le(input, 1)));  // NaN counts as outside
  if (any(outside).item<bool>())
    fail<ValueError>(op, ": input must hold probabilities in [0, 1], got ", masked_select(input, outside)[0].item(),
                     "; apply sigmoid first, or use binary_cross_entropy_with_logits");
  Tensor loss = binary_cross_entropy_elementwise(input, target);
  if (o.weight.defined()) {
    check_broadcasts_to(o.weight, "weight", input, "input", op);
    loss = loss * o.weight;
  }
  return reduce_loss(loss, o.reduction, op);
}

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, const BCEWithLogitsLossOptions& o) {
  const char* op = "binary_cross_entropy_with_logits";
  check_defined(op, input, target);
  require_floating(input, op, "input");
  require_floating(target, op, "target");
  check_same_shape(target, input, op);
  // -log(sigmoid(x)) = softplus(-x), which never forms exp of a large number; and
  // -log(1 - sigmoid(x)) = x + softplus(-x).
  Tensor neg_log_sigmoid = softplus(-input);
  Tensor loss;
  if (o.pos_weight.defined()) {
    check_broadcasts_to(o.pos_weight, "pos_weight", target, "target", op);
    loss = (1 - target) * input + ((o.pos_weight - 1) * target + 1) * neg_log_sigmoid;
  } else {
    loss = (1 - target) * input + neg_log_sigmoid;
  }
  if (o.weight.defined()) {
    check_broadcasts_to(o.weight, "weight", input, "input", op);
    loss = loss * o.weight;
  }
  return reduce_loss(loss, o.reduction, op);
}

Tensor kl_div(const Tensor& input, const Tensor& target, const KLDivLossOptions& o) {
  const char* op = "kl_div";
  check_defined(op, input, target);
  require_floating(input, op, "input");
  check_broadcasts_to(target, "target", input, "input", op);
  Tensor loss = o.log_target ? exp(target) * (target - input) : xlogx(target) - target * input;
  if (o.reduction != Reduction::BatchMean) return reduce_loss(loss, o.reduction, op);
  Tensor total = sum(loss);
  return input.dim() == 0 ? total : total / static_cast<double>(input.size(0));
}

// --- embeddings and ranking ---

Tensor cosine_embedding_loss(const Tensor& input1, const Tensor& input2, const Tensor& target,
                             const CosineEmbeddingLossOptions& o) {
  const char* op = "cosine_embedding_loss";
  check_defined(op, input1, input2, target);
  require_floating(input1, op, "input1");
  require_floating(input2, op, "input2");
  if (target.dim() > 1) fail<ShapeError>(op, ": target must be 0-d or 1-D, got shape ", target.sizes());
  int64_t feature_dim = target.dim();  // [N, D] inputs with a [N] target; [D] with a 0-d one
  if (input1.dim() != feature_dim + 1 || input2.dim() != feature_dim + 1)
    fail<ShapeError>(op, ": a ", feature_dim, "-D target expects ", feature_dim + 1, "-D inputs, got shapes ",
                     input1.sizes(), " and ", input2.sizes());
  if (input1.sizes() != input2.sizes())
    fail<ShapeError>(op, ": input shapes ", input1.sizes(), " and ", input2.sizes(), " differ");
  if (feature_dim == 1 && target.size(0) != input1.size(0))
    fail<ShapeError>(op, ": target shape ", target.sizes(), " does not match the batch of input shape ", input1.sizes());
  const double eps = 1e-12;  // PyTorch's: keeps zero vectors from dividing by zero
  Tensor dot = sum(input1 * input2, {feature_dim});
  Tensor norms = sqrt((sum(square(input1), {feature_dim}) + eps) * (sum(square(input2), {feature_dim}) + eps));
  Tensor cos = dot / norms;
  Tensor loss = where(eq(target, 1), 1 - cos, 0) + where(eq(target, -1), clamp(cos - o.margin, 0, std::nullopt), 0);
  return reduce_loss(loss, o.reduction, op);
}

Tensor margin_ranking_loss(const Tensor& input1, const Tensor& input2, const Tensor& target,
                           const MarginRankingLossOptions& o) {
  const char* op = "margin_ranking_loss";
  check_defined(op, input1, input2, target);
  require_floating(input1, op, "input1");
  require_floating(input2, op, "input2");
  if (input1.dim() != input2.dim() || input1.dim() != target.dim())
    fail<ShapeError>(op, ": input1, input2 and target must have the same number of dims, got shapes ", input1.sizes(),
                     ", ", input2.sizes(), " and ", target.sizes());
  broadcast_shapes(broadcast_shapes(input1.sizes(), input2.sizes(), op), target.sizes(), op);  // throws if they do not
  return reduce_loss(clamp(-target * (input1 - input2) + o.margin, 0, std::nullopt), o.reduction, op);
}

Tensor triplet_margin_loss(const Tensor& anchor, const Tensor& positive, const Tensor& negative,
                           const TripletMarginLossOptions& o) {
  const char* op = "triplet_margin_loss";
  check_defined(op, anchor, positive, negative);
  require_floating(anchor, op, "anchor");
  if (anchor.dim() != positive.dim() || anchor.dim() != negative.dim())
    fail<ShapeError>(op, ": anchor, positive and negative must have the same number of dims, got shapes ",
                     anchor.sizes(), ", ", positive.sizes(), " and ", negative.sizes());
  if (anchor.dim() == 0) fail<ShapeError>(op, ": inputs must have a feature dim, got 0-d tensors");
  if (!(o.p > 0)) fail<ValueError>(op, ": p must be > 0, got ", o.p);
  Tensor d_pos = pairwise_distance(anchor, positive, o.p, o.eps);
  Tensor d_neg = pairwise_distance(anchor, negative, o.p, o.eps);
  if (o.swap) d_neg = minimum(d_neg, pairwise_distance(positive, negative, o.p, o.eps));
  return reduce_loss(clamp(d_pos - d_neg + o.margin, 0, std::nullopt), o.reduction, op);
}

}  // namespace cajal
