#pragma once
// The scores of a classifier that need its probabilities, as `cajal eval` prints them and
// report.html shows them, computed as scikit-learn computes them: the log loss, and the area
// under the ROC curve (two classes: of class 1's probability, as roc_auc_score; more: each
// class against the rest, averaged with equal weights, as roc_auc_score(multi_class='ovr',
// average='macro')).
#include <cstdint>
#include <string>

#include "cajal/core/tensor.h"

namespace cajal::cli {

struct ProbabilityScores {
  double log_loss = 0;
  const char* roc_auc_name = "";  // "ROC AUC" (two classes) or "ROC AUC (macro OvR)"
  double roc_auc = 0;
  // A class of no example leaves the area undefined: then its index, and roc_auc is NaN.
  int64_t class_without_examples = -1;
};

// `probabilities` floating [N, C] (rows summing to 1, C >= 2), `targets` int64 [N] in 0 .. C-1.
ProbabilityScores probability_scores(const Tensor& probabilities, const Tensor& targets);

}  // namespace cajal::cli
