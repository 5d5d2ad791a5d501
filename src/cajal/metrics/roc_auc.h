#pragma once
// Area under the ROC curve, as scikit-learn's roc_auc_score computes it: the ROC curve has
// one point per distinct score (equal scores move together, so ties give diagonal segments)
// and the area is summed by the trapezoid rule. Arguments come in the order scores, targets.
#include <vector>

#include "cajal/core/tensor.h"
#include "cajal/metrics/classification.h"

namespace cajal::metrics {

// Binary problem: scores floating [N] (or [N, 1]), higher meaning class 1; targets integer [N]
// holding 0 and 1, both present (the area is undefined otherwise, and that is an error).
double roc_auc(const Tensor& scores, const Tensor& targets);

// The points of that curve, as scikit-learn's roc_curve(drop_intermediate=False) gives them:
// (0, 0), then one point per distinct score from the highest down, ending at (1, 1). Takes
// what roc_auc takes and fails where it fails.
struct RocCurve {
  std::vector<double> false_positive_rate, true_positive_rate;
};
RocCurve roc_curve(const Tensor& scores, const Tensor& targets);

// Multiclass, one-vs-rest: probabilities floating [N, C] (each row sums to 1, as scikit-learn
// requires, so that logits are not passed by mistake) and targets integer [N] in 0 .. C-1.
// Each class's scores rank it against all other classes; every class needs positive and
// negative samples in targets. The per-class areas are averaged with equal weights (Macro)
// or by support (Weighted); Micro is the area of all C one-vs-rest problems pooled.
double roc_auc_ovr(const Tensor& probabilities, const Tensor& targets, Average average = Average::Macro);

}  // namespace cajal::metrics
