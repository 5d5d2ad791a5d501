#include "cajal/metrics/classification.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "cajal/metrics/inputs.h"
#include "cajal/ops/creation.h"

namespace cajal::metrics {

using detail::LabelPairs;

double accuracy(const Tensor& predictions, const Tensor& targets) {
  LabelPairs pairs = detail::read_label_pairs("accuracy", predictions, targets, std::nullopt);
  int64_t correct = 0;
  for (size_t i = 0; i < pairs.truth.size(); ++i) correct += pairs.predicted[i] == pairs.truth[i];
  return static_cast<double>(correct) / static_cast<double>(pairs.truth.size());
}

double top_k_accuracy(const Tensor& scores, const Tensor& targets, int64_t k) {
  const char* metric = "top_k_accuracy";
  if (k < 1) fail<ValueError>(metric, ": k must be at least 1, got ", k);
  detail::Scores s = detail::read_scores(metric, "scores", scores);
  std::vector<int64_t> truth = detail::read_labels(metric, "targets", targets);
  detail::check_lengths(metric, s.rows, static_cast<int64_t>(truth.size()));
  detail::check_labels_below(metric, "targets", truth, s.cols);
  int64_t hits = 0;
  for (int64_t row = 0; row < s.rows; ++row) {
    int64_t target = truth[static_cast<size_t>(row)];
    double target_score = s.at(row, target);
    // The target's place in scikit-learn's order: descending scores, ties by descending index.
    int64_t ranked_above = 0;
    for (int64_t c = 0; c < s.cols; ++c) {
      double score = s.at(row, c);
      ranked_above += score > target_score || (score == target_score && c > target);
    }
    hits += ranked_above < k;
  }
  return static_cast<double>(hits) / static_cast<double>(s.rows);
}

Tensor confusion_matrix(const Tensor& predictions, const Tensor& targets, std::optional<int64_t> num_classes) {
  LabelPairs pairs = detail::read_label_pairs("confusion_matrix", predictions, targets, num_classes);
  Tensor counts = zeros({pairs.num_classes, pairs.num_classes}, {.dtype = DType::i64});
  detail::add_confusion_counts(pairs, counts.data_ptr<int64_t>());
  return counts;
}

// ------------------------------------------------------------------ precision, recall, F1

namespace {

// numerator / denominator, or zero_division when the denominator is 0 (scikit-learn's _prf_divide).
double divide(int64_t numerator, int64_t denominator, double zero_division) {
  return denominator == 0 ? zero_division : static_cast<double>(numerator) / static_cast<double>(denominator);
}

double f1_of(double precision, double recall) {
  double denominator = precision + recall;
  return denominator == 0.0 ? 0.0 : 2.0 * precision * recall / denominator;
}

// Scores from row-major [C, C] counts (rows = true class), which hold at least one sample.
PrecisionRecallF1 scores_from_counts(const std::vector<int64_t>& counts, int64_t num_classes, double zero_division) {
  auto C = static_cast<size_t>(num_classes);
  std::vector<int64_t> true_positives(C, 0), predicted(C, 0), support(C, 0);
  for (size_t t = 0; t < C; ++t)
    for (size_t p = 0; p < C; ++p) {
      int64_t n = counts[t * C + p];
      support[t] += n;
      predicted[p] += n;
      if (t == p) true_positives[t] = n;
    }
  std::vector<double> precision(C), recall(C), f1(C);
  int64_t total_true_positives = 0, total_predicted = 0, total_support = 0;
  PrecisionRecallF1::Averaged macro, weighted;
  for (size_t c = 0; c < C; ++c) {
    precision[c] = divide(true_positives[c], predicted[c], zero_division);
    recall[c] = divide(true_positives[c], support[c], zero_division);
    f1[c] = f1_of(precision[c], recall[c]);
    total_true_positives += true_positives[c];
    total_predicted += predicted[c];
    total_support += support[c];
    macro.precision += precision[c];
    macro.recall += recall[c];
    macro.f1 += f1[c];
    auto weight = static_cast<double>(support[c]);
    weighted.precision += precision[c] * weight;
    weighted.recall += recall[c] * weight;
    weighted.f1 += f1[c] * weight;
  }
  auto classes = static_cast<double>(num_classes), samples = static_cast<double>(total_support);
  PrecisionRecallF1 result;
  result.macro = {macro.precision / classes, macro.recall / classes, macro.f1 / classes};
  result.weighted = {weighted.precision / samples, weighted.recall / samples, weighted.f1 / samples};
  double micro_precision = divide(total_true_positives, total_predicted, zero_division);
  double micro_recall = divide(total_true_positives, total_support, zero_division);
  result.micro = {micro_precision, micro_recall, f1_of(micro_precision, micro_recall)};
  result.precision = from_vector(precision);
  result.recall = from_vector(recall);
  result.f1 = from_vector(f1);
  result.support = from_vector(support);
  return result;
}

PrecisionRecallF1 precision_recall_f1_named(const char* metric, const Tensor& predictions, const Tensor& targets,
                                            const PrecisionRecallF1Options& options) {
  detail::check_zero_division(metric, options.zero_division);
  LabelPairs pairs = detail::read_label_pairs(metric, predictions, targets, options.num_classes);
  std::vector<int64_t> counts(static_cast<size_t>(pairs.num_classes * pairs.num_classes), 0);
  detail::add_confusion_counts(pairs, counts.data());
  return scores_from_counts(counts, pairs.num_classes, options.zero_division);
}

}  // namespace

const PrecisionRecallF1::Averaged& PrecisionRecallF1::averaged(Average average) const {
  switch (average) {
    case Average::Macro: return macro;
    case Average::Micro: return micro;
    case Average::Weighted: return weighted;
  }
  fail<ValueError>("PrecisionRecallF1::averaged: unknown Average ", static_cast<int>(average));
}

PrecisionRecallF1 precision_recall_f1(const Tensor& predictions, const Tensor& targets,
                                      const PrecisionRecallF1Options& options) {
  return precision_recall_f1_named("precision_recall_f1", predictions, targets, options);
}

PrecisionRecallF1 precision_recall_f1_from_confusion(const Tensor& confusion, double zero_division) {
  const char* metric = "precision_recall_f1_from_confusion";
  detail::check_zero_division(metric, zero_division);
  if (!confusion.defined()) fail<ValueError>(metric, ": confusion is an undefined tensor");
  if (!is_integral(confusion.dtype()))
    fail<DTypeError>(metric, ": the confusion matrix must hold integer counts, got ", dtype_name(confusion.dtype()));
  if (confusion.dim() != 2 || confusion.size(0) != confusion.size(1) || confusion.size(0) == 0)
    fail<ShapeError>(metric, ": the confusion matrix must be square [C, C] with C >= 1, got shape ", confusion.sizes());
  std::vector<int64_t> counts = confusion.to_vector<int64_t>();
  for (size_t i = 0; i < counts.size(); ++i)
    if (counts[i] < 0) fail<ValueError>(metric, ": count ", counts[i], " at position ", i, " is negative");
  if (std::all_of(counts.begin(), counts.end(), [](int64_t n) { return n == 0; }))
    fail<ValueError>(metric, ": empty input (the confusion matrix counts no samples)");
  return scores_from_counts(counts, confusion.size(0), zero_division);
}

double precision(const Tensor& predictions, const Tensor& targets, Average average,
                 const PrecisionRecallF1Options& options) {
  return precision_recall_f1_named("precision", predictions, targets, options).averaged(average).precision;
}

double recall(const Tensor& predictions, const Tensor& targets, Average average, const PrecisionRecallF1Options& options) {
  return precision_recall_f1_named("recall", predictions, targets, options).averaged(average).recall;
}

double f1_score(const Tensor& predictions, const Tensor& targets, Average average, const PrecisionRecallF1Options& options) {
  return precision_recall_f1_named("f1_score", predictions, targets, options).averaged(average).f1;
}

// ------------------------------------------------------------------ log loss

double log_loss(const Tensor& probabilities, const Tensor& targets) {
  const char* metric = "log_loss";
  if (probabilities.defined() && probabilities.dim() != 1 && probabilities.dim() != 2)
    fail<ShapeError>(metric, ": probabilities must have shape [N, C] or [N], got shape ", probabilities.sizes());
  std::vector<int64_t> truth = detail::read_labels(metric, "targets", targets);
  bool binary = probabilities.defined() && (probabilities.dim() == 1 || probabilities.size(1) == 1);
  detail::Scores rows;
  std::vector<double> class_one;
  if (binary) class_one = detail::read_values(metric, "probabilities", probabilities);
  else rows = detail::read_scores(metric, "probabilities", probabilities);
  double eps = detail::machine_epsilon(probabilities.dtype());
  auto clip = [eps](double p) { return std::clamp(p, eps, 1.0 - eps); };
  if (binary) {
    // The probability of class 1, clipped, then completed with class 0's (scikit-learn's order).
    rows = {std::vector<double>(2 * class_one.size()), static_cast<int64_t>(class_one.size()), 2};
    for (size_t i = 0; i < class_one.size(); ++i) {
      rows.values[2 * i] = 1.0 - clip(class_one[i]);
      rows.values[2 * i + 1] = clip(class_one[i]);
    }
  }
  detail::check_lengths(metric, rows.rows, static_cast<int64_t>(truth.size()));
  detail::check_labels_below(metric, "targets", truth, rows.cols);
  detail::CompensatedSum total;
  for (int64_t row = 0; row < rows.rows; ++row) {
    double row_sum = 0;
    for (int64_t c = 0; c < rows.cols; ++c) row_sum += clip(rows.at(row, c));
    total.add(-std::log(clip(rows.at(row, truth[static_cast<size_t>(row)])) / row_sum));
  }
  return total.value() / static_cast<double>(rows.rows);
}

}  // namespace cajal::metrics
