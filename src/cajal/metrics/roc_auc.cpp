#include "cajal/metrics/roc_auc.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>
#include <vector>

#include "cajal/metrics/inputs.h"

namespace cajal::metrics {

namespace {

// The ROC curve of `scores` in samples, where `positive` marks the samples of the positive
// class: from (0, 0), lower the threshold one distinct score at a time and count the false
// and true positives above it.
struct CountedCurve {
  std::vector<int64_t> false_positives{0}, true_positives{0};
};

CountedCurve counted_roc(const std::vector<double>& scores, const std::vector<char>& positive) {
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  CountedCurve curve;
  int64_t true_positives = 0, false_positives = 0;
  for (size_t i = 0; i < order.size();) {
    double threshold = scores[order[i]];
    for (; i < order.size() && scores[order[i]] == threshold; ++i) {
      if (positive[order[i]]) ++true_positives;
      else ++false_positives;
    }
    curve.false_positives.push_back(false_positives);
    curve.true_positives.push_back(true_positives);
  }
  return curve;
}

// Area under the ROC curve of `scores`; both classes must be present. Each step of the curve
// adds the trapezoid under it. Counted in samples, twice the area is an exact integer;
// dividing by 2 * positives * negatives at the end scales both axes to [0, 1].
double area_under_roc(const std::vector<double>& scores, const std::vector<char>& positive) {
  CountedCurve curve = counted_roc(scores, positive);
  const std::vector<int64_t>& fp = curve.false_positives;
  const std::vector<int64_t>& tp = curve.true_positives;
  int64_t twice_area = 0;
  for (size_t i = 1; i < fp.size(); ++i) twice_area += (fp[i] - fp[i - 1]) * (tp[i] + tp[i - 1]);
  return static_cast<double>(twice_area) / (2.0 * static_cast<double>(tp.back()) * static_cast<double>(fp.back()));
}

// A binary problem's scores and which samples are positive, checked (both classes present).
std::pair<std::vector<double>, std::vector<char>> binary_problem(const char* metric, const Tensor& scores,
                                                                 const Tensor& targets) {
  std::vector<double> values = detail::read_values(metric, "scores", scores);
  std::vector<int64_t> truth = detail::read_labels(metric, "targets", targets);
  detail::check_lengths(metric, static_cast<int64_t>(values.size()), static_cast<int64_t>(truth.size()));
  detail::check_labels_below(metric, "targets", truth, 2);
  std::vector<char> positive(truth.begin(), truth.end());
  auto positives = std::count(positive.begin(), positive.end(), 1);
  if (positives == 0 || positives == static_cast<int64_t>(truth.size()))
    fail<ValueError>(metric, ": targets hold only class ", truth[0], " (", truth.size(),
                     " samples); ROC AUC is undefined unless both classes are present");
  return {std::move(values), std::move(positive)};
}

}  // namespace

double roc_auc(const Tensor& scores, const Tensor& targets) {
  auto [values, positive] = binary_problem("roc_auc", scores, targets);
  return area_under_roc(values, positive);
}

RocCurve roc_curve(const Tensor& scores, const Tensor& targets) {
  auto [values, positive] = binary_problem("roc_curve", scores, targets);
  CountedCurve counted = counted_roc(values, positive);
  double negatives = static_cast<double>(counted.false_positives.back());
  double positives = static_cast<double>(counted.true_positives.back());
  RocCurve curve;
  for (size_t i = 0; i < counted.false_positives.size(); ++i) {
    curve.false_positive_rate.push_back(static_cast<double>(counted.false_positives[i]) / negatives);
    curve.true_positive_rate.push_back(static_cast<double>(counted.true_positives[i]) / positives);
  }
  return curve;
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
