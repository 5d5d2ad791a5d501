#pragma once
// Loss functions with PyTorch's semantics and defaults (torch.nn.functional.*_loss), all
// differentiable, to any order. Each takes an options struct, so a call names only what
// differs from the defaults:
//   cross_entropy(logits, labels, {.label_smoothing = 0.1});
//   mse_loss(prediction, target, {.reduction = Reduction::Sum});
// The same structs configure the modules in nn/loss.h.
//
// Shapes: for the elementwise losses (mse, l1, smooth_l1, huber, kl_div) the target must
// broadcast to the input's shape; PyTorch also broadcasts the input up to a larger target,
// with a warning that this is most likely a bug ([N, 1] against [N] gives [N, N]), and
// cajal refuses that case with a ShapeError.
#include <cstdint>

#include "cajal/core/tensor.h"

namespace cajal {

// How per-element losses become the result: kept (None), averaged (Mean) or added (Sum).
// BatchMean (kl_div only) is the sum divided by the batch size, input.size(0).
enum class Reduction { None, Mean, Sum, BatchMean };

// --- regression ---

struct MSELossOptions {
  Reduction reduction = Reduction::Mean;
};
struct L1LossOptions {
  Reduction reduction = Reduction::Mean;
};
struct SmoothL1LossOptions {
  Reduction reduction = Reduction::Mean;
  double beta = 1.0;  // below |input - target| < beta the loss is 0.5 d^2 / beta; 0 gives l1_loss
};
struct HuberLossOptions {
  Reduction reduction = Reduction::Mean;
  double delta = 1.0;  // below |input - target| < delta the loss is 0.5 d^2, above delta (|d| - delta / 2)
};

// (input - target)^2
Tensor mse_loss(const Tensor& input, const Tensor& target, const MSELossOptions& options = {});
// |input - target|
Tensor l1_loss(const Tensor& input, const Tensor& target, const L1LossOptions& options = {});
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, const SmoothL1LossOptions& options = {});
Tensor huber_loss(const Tensor& input, const Tensor& target, const HuberLossOptions& options = {});

// --- classification ---

// Class-index targets: ignore_index marks positions that count for nothing (no loss, no
// gradient, no share in the mean). weight (optional, one value per class) scales each
// position's loss by its target class's weight, and Mean then divides by the sum of the
// weights of the targets that are not ignored (PyTorch's weighted mean).
struct NLLLossOptions {
  Tensor weight = {};
  int64_t ignore_index = -100;
  Reduction reduction = Reduction::Mean;
};
struct CrossEntropyLossOptions {
  Tensor weight = {};
  int64_t ignore_index = -100;  // class-index targets only
  Reduction reduction = Reduction::Mean;
  double label_smoothing = 0.0;  // in [0, 1]: the target becomes (1 - s) one_hot + s / C
};

// Negative log-likelihood of log-probabilities: input [N, C], [N, C, d1, ...] or [C];
// target int64 class indices [N], [N, d1, ...] or [] (the input's shape without dim 1).
Tensor nll_loss(const Tensor& input, const Tensor& target, const NLLLossOptions& options = {});

// Cross entropy from logits (log_softmax over the class dim, then nll_loss) in one fused,
// numerically stable pass. input [N, C], [N, C, d1, ...] or [C]; target either int64 class
// indices (shaped as for nll_loss) or floating class probabilities of the input's shape.
// With probabilities, Mean divides by the number of positions (N * d1 * ...), whatever
// the weights, and ignore_index does not apply.
Tensor cross_entropy(const Tensor& input, const Tensor& target, const CrossEntropyLossOptions& options = {});

struct BCELossOptions {
  Tensor weight = {};  // broadcast to the input's shape
  Reduction reduction = Reduction::Mean;
};
struct BCEWithLogitsLossOptions {
  Tensor weight = {};      // broadcast to the input's shape
  Tensor pos_weight = {};  // weight of the positive term, broadcast like the target: [C] for [N, C]
  Reduction reduction = Reduction::Mean;
};

// -w (t log(x) + (1 - t) log(1 - x)) for probabilities x in [0, 1]; each log is clamped to
// >= -100, so x = 0 or 1 gives a finite loss, as in PyTorch. target has the input's shape.
Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const BCELossOptions& options = {});
// binary_cross_entropy(sigmoid(input), target) computed stably from logits:
// -w (p t log(sigmoid(x)) + (1 - t) log(1 - sigmoid(x))), p the pos_weight.
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const BCEWithLogitsLossOptions& options = {});

struct KLDivLossOptions {
  Reduction reduction = Reduction::Mean;  // PyTorch's default; BatchMean is the true KL divergence
  bool log_target = false;                // the target holds log-probabilities
};
// Kullback-Leibler divergence of the target from the input (log-probabilities):
// target * (log(target) - input), 0 where target is 0; exp(t) * (t - input) with log_target.
Tensor kl_div(const Tensor& input, const Tensor& target, const KLDivLossOptions& options = {});

// --- embeddings and ranking ---

struct CosineEmbeddingLossOptions {
  double margin = 0.0;
  Reduction reduction = Reduction::Mean;
};
struct MarginRankingLossOptions {
  double margin = 0.0;
  Reduction reduction = Reduction::Mean;
};
struct TripletMarginLossOptions {
  double margin = 1.0;
  double p = 2.0;      // the norm of the distances, p > 0
  double eps = 1e-6;   // added to the differences before the norm, as pairwise_distance does
  bool swap = false;   // use the smaller of d(anchor, negative) and d(positive, negative)
  Reduction reduction = Reduction::Mean;
};

// 1 - cos(x1, x2) where target is 1, max(0, cos(x1, x2) - margin) where it is -1 (0 for
// other values). x1, x2 [N, D] with target [N], or [D] with a 0-d target.
Tensor cosine_embedding_loss(const Tensor& input1, const Tensor& input2, const Tensor& target,
                             const CosineEmbeddingLossOptions& options = {});
// max(0, -target * (input1 - input2) + margin); the three tensors have one rank.
Tensor margin_ranking_loss(const Tensor& input1, const Tensor& input2, const Tensor& target,
                           const MarginRankingLossOptions& options = {});
// max(0, d(a, p) - d(a, n) + margin) with d the p-norm distance along the last dim.
Tensor triplet_margin_loss(const Tensor& anchor, const Tensor& positive, const Tensor& negative,
                           const TripletMarginLossOptions& options = {});

}  // namespace cajal
