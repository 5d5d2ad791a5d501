#include "cajal/cli/probability_scores.h"

#include <limits>
#include <vector>

#include "cajal/metrics/classification.h"
#include "cajal/metrics/roc_auc.h"

namespace cajal::cli {

ProbabilityScores probability_scores(const Tensor& probabilities, const Tensor& targets) {
  ProbabilityScores scores;
  scores.log_loss = metrics::log_loss(probabilities, targets);
  int64_t classes = probabilities.size(1);
  scores.roc_auc_name = classes == 2 ? "ROC AUC" : "ROC AUC (macro OvR)";
  std::vector<int64_t> support(static_cast<size_t>(classes), 0);
  for (int64_t label : targets.to_vector<int64_t>()) ++support[static_cast<size_t>(label)];  // log_loss checked the range
  for (int64_t k = 0; k < classes && scores.class_without_examples < 0; ++k)
    if (support[static_cast<size_t>(k)] == 0) scores.class_without_examples = k;
  if (scores.class_without_examples >= 0) scores.roc_auc = std::numeric_limits<double>::quiet_NaN();
  else if (classes == 2) scores.roc_auc = metrics::roc_auc(probabilities.select(1, 1), targets);
  else scores.roc_auc = metrics::roc_auc_ovr(probabilities, targets, metrics::Average::Macro);
  return scores;
}

}  // namespace cajal::cli
