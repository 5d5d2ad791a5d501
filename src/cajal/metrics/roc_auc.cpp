#include "cajal/metrics/roc_auc.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "cajal/metrics/inputs.h"

namespace cajal::metrics {

namespace {

// Area under the ROC curve of `scores`, where `positive` marks the samples of the positive
// class; both classes must be present.
double area_under_roc(const std::vector<double>& scores, const std::vector<char>& positive) {
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  // Lower the threshold one distinct score at a time; each step moves the curve from the
  // previous (false positives, true positives) counts to the new ones and adds the trapezoid
  // under that segment. Counted in samples, twice the area is an exact integer; dividing by
  // 2 * positives * negatives at the end scales both axes to [0, 1].
  int64_t true_positives = 0, false_positives = 0, twice_area = 0;
  for (size_t i = 0; i < order.size();) {
    int64_t tp_before = true_positives, fp_before = false_positives;
    double threshold = scores[order[i]];
    for (; i < order.size() && scores[order[i]] == threshold; ++i) {
      if (positive[order[i]]) ++true_positives;
      else ++false_positives;
    }
    twice_area += (false_positives - fp_before) * (true_positives + tp_before);
  }
  return static_cast<double>(twice_area) /
         (2.0 * static_cast<double>(true_positives) * static_cast<double>(false_positives));
}

}  // namespace

double roc_auc(const Tensor& scores, const Tensor& targets) {
  const char* metric = "roc_auc";
  std::vector<double> values = detail::read_values(metric, "scores", scores);
  std::vector<int64_t> truth = detail::read_labels(metric, "targets", targets);
  detail::check_lengths(metric, static_cast<int64_t>(values.size()), static_cast<int64_t>(truth.size()));
  detail::check_labels_below(metric, "targets", truth, 2);
  std::vector<char> positive(truth.begin(), truth.end());
  auto positives = std::count(positive.begin(), positive.end(), 1);
  if (positives == 0 || positives == static_cast<int64_t>(truth.size()))
    fail<ValueError>(metric, ": targets hold only class ", truth[0], " (", truth.size(),
                     " samples); ROC AUC is undefined unless both classes are present");
  return area_under_roc(values, positive);
}

double roc_auc_ovr(const Tensor& probabilities, const Tensor& targets, Average average) {
  const char* metric = "roc_auc_ovr";
  detail::Scores s = detail::read_scores(metric, "probabilities", probabilities);
  std::vector<int64_t> truth = detail::read_labels(metric, "targets", targets);
  detail::check_lengths(metric, s.rows, static_cast<int64_t>(truth.size()));
  if (s.cols < 2) fail<ValueError>(metric, ": needs at least 2 classes, got probabilities of shape ", probabilities.sizes());
  detail::check_labels_below(metric, "targets", truth, s.cols);
  for (int64_t row = 0; row < s.rows; ++row) {
    double sum = 0;
    for (int64_t c = 0; c < s.cols; ++c) sum += s.at(row, c);
    if (!(std::fabs(1.0 - sum) <= 1e-8 + 1e-5 * std::fabs(sum)))  // numpy.allclose(1, sum)
      fail<ValueError>(metric, ": probabilities[", row, "] sum to ", sum,
                       ", not 1 (one-vs-rest ROC AUC needs probabilities, e.g. softmax of the logits)");
  }
  if (average == Average::Micro) {
    // All one-vs-rest problems pooled: sample i against class c has score [i, c].
    std::vector<char> positive(s.values.size());
    for (int64_t row = 0; row < s.rows; ++row)
      positive[static_cast<size_t>(row * s.cols + truth[static_cast<size_t>(row)])] = 1;
    return area_under_roc(s.values, positive);
  }
  double sum = 0;
  std::vector<double> column(static_cast<size_t>(s.rows));
  std::vector<char> positive(static_cast<size_t>(s.rows));
  for (int64_t c = 0; c < s.cols; ++c) {
    for (int64_t row = 0; row < s.rows; ++row) {
      column[static_cast<size_t>(row)] = s.at(row, c);
      positive[static_cast<size_t>(row)] = truth[static_cast<size_t>(row)] == c;
    }
    auto support = std::count(positive.begin(), positive.end(), 1);
    if (support == 0)
      fail<ValueError>(metric, ": class ", c, " has no samples in targets; its one-vs-rest ROC AUC is undefined");
    if (support == s.rows)
      fail<ValueError>(metric, ": every sample (", s.rows, ") is of class ", c,
                       "; its one-vs-rest ROC AUC is undefined without negatives");
    double area = area_under_roc(column, positive);
    sum += average == Average::Weighted ? area * static_cast<double>(support) : area;
  }
  return sum / static_cast<double>(average == Average::Weighted ? s.rows : s.cols);
}

}  // namespace cajal::metrics
