#include "cajal/metrics/inputs.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace cajal::metrics::detail {

namespace {

void check_defined(const char* metric, const char* what, const Tensor& t) {
  if (!t.defined()) fail<ValueError>(metric, ": ", what, " is an undefined tensor");
}

void check_not_empty(const char* metric, const char* what, int64_t n) {
  if (n == 0) fail<ValueError>(metric, ": empty input (", what, " has 0 samples)");
}

// Rejects NaN; `index` formats the position of element i in errors.
template <typename Index>
void check_no_nan(const char* metric, const char* what, const std::vector<double>& values, Index index) {
  for (size_t i = 0; i < values.size(); ++i)
    if (std::isnan(values[i])) fail<ValueError>(metric, ": ", what, index(static_cast<int64_t>(i)), " is NaN");
}

}  // namespace

std::vector<int64_t> read_labels(const char* metric, const char* what, const Tensor& t) {
  check_defined(metric, what, t);
  if (!is_integral(t.dtype()))
    fail<DTypeError>(metric, ": ", what, " must hold integer class indices, got ", dtype_name(t.dtype()));
  if (t.dim() != 1) fail<ShapeError>(metric, ": ", what, " must be class indices of shape [N], got shape ", t.sizes());
  check_not_empty(metric, what, t.numel());
  std::vector<int64_t> labels = t.to_vector<int64_t>();
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] < 0)
      fail<ValueError>(metric, ": ", what, "[", i, "] = ", labels[i], " is not a class index (labels start at 0)");
  return labels;
}

Scores read_scores(const char* metric, const char* what, const Tensor& t) {
  check_defined(metric, what, t);
  if (!t.is_floating_point()) fail<DTypeError>(metric, ": ", what, " must be floating point, got ", dtype_name(t.dtype()));
  if (t.dim() != 2) fail<ShapeError>(metric, ": ", what, " must have shape [N, C], got shape ", t.sizes());
  check_not_empty(metric, what, t.size(0));
  if (t.size(1) == 0) fail<ShapeError>(metric, ": ", what, " has no columns (shape ", t.sizes(), ")");
  Scores s{t.to_vector<double>(), t.size(0), t.size(1)};
  check_no_nan(metric, what, s.values, [&](int64_t i) { return cajal::detail::concat("[", i / s.cols, ", ", i % s.cols, "]"); });
  return s;
}

std::vector<double> read_values(const char* metric, const char* what, const Tensor& t) {
  check_defined(metric, what, t);
  if (!t.is_floating_point()) fail<DTypeError>(metric, ": ", what, " must be floating point, got ", dtype_name(t.dtype()));
  bool column = t.dim() == 2 && t.size(1) == 1;
  if (t.dim() != 1 && !column) fail<ShapeError>(metric, ": ", what, " must have shape [N] or [N, 1], got shape ", t.sizes());
  check_not_empty(metric, what, t.size(0));
  std::vector<double> values = t.to_vector<double>();
  check_no_nan(metric, what, values, [](int64_t i) { return cajal::detail::concat("[", i, "]"); });
  return values;
}

void check_lengths(const char* metric, int64_t predictions, int64_t targets) {
  if (predictions != targets)
    fail<ValueError>(metric, ": predictions and targets differ in length (", predictions, " vs ", targets, " samples)");
}

void check_labels_below(const char* metric, const char* what, const std::vector<int64_t>& labels, int64_t num_classes) {
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] >= num_classes)
      fail<ValueError>(metric, ": ", what, "[", i, "] = ", labels[i], " is out of range for ", num_classes,
                       " classes (expected 0 <= label < ", num_classes, ")");
}

LabelPairs read_label_pairs(const char* metric, const Tensor& predictions, const Tensor& targets,
                            std::optional<int64_t> num_classes) {
  check_defined(metric, "predictions", predictions);
  if (num_classes && *num_classes < 1) fail<ValueError>(metric, ": num_classes must be at least 1, got ", *num_classes);
  LabelPairs pairs;
  pairs.truth = read_labels(metric, "targets", targets);
  if (predictions.is_floating_point()) {
    Scores scores = read_scores(metric, "predictions", predictions);
    if (num_classes && *num_classes != scores.cols)
      fail<ValueError>(metric, ": predictions have ", scores.cols, " class scores per sample but num_classes is ", *num_classes);
    pairs.predicted.resize(static_cast<size_t>(scores.rows));
    for (int64_t row = 0; row < scores.rows; ++row) {
      const double* first = scores.values.data() + row * scores.cols;
      pairs.predicted[static_cast<size_t>(row)] = std::max_element(first, first + scores.cols) - first;
    }
    pairs.num_classes = scores.cols;
  } else {
    if (predictions.dim() != 1)
      fail<ShapeError>(metric, ": predictions must be class indices [N] or floating scores [N, C], got ",
                       dtype_name(predictions.dtype()), " of shape ", predictions.sizes());
    pairs.predicted = read_labels(metric, "predictions", predictions);
    int64_t largest = std::max(*std::max_element(pairs.predicted.begin(), pairs.predicted.end()),
                               *std::max_element(pairs.truth.begin(), pairs.truth.end()));
    pairs.num_classes = num_classes.value_or(largest + 1);
  }
  check_lengths(metric, static_cast<int64_t>(pairs.predicted.size()), static_cast<int64_t>(pairs.truth.size()));
  check_labels_below(metric, "predictions", pairs.predicted, pairs.num_classes);
  check_labels_below(metric, "targets", pairs.truth, pairs.num_classes);
  return pairs;
}

void add_confusion_counts(const LabelPairs& pairs, int64_t* counts) {
  for (size_t i = 0; i < pairs.truth.size(); ++i) ++counts[pairs.truth[i] * pairs.num_classes + pairs.predicted[i]];
}

void check_zero_division(const char* metric, double zero_division) {
  if (zero_division != 0.0 && zero_division != 1.0)
    fail<ValueError>(metric, ": zero_division must be 0 or 1, got ", zero_division);
}

double machine_epsilon(DType dtype) {
  switch (dtype) {
    case DType::f32: return std::numeric_limits<float>::epsilon();
    case DType::f64: return std::numeric_limits<double>::epsilon();
    case DType::bf16: return 0.0078125;  // 2^-7: bfloat16 keeps 7 explicit mantissa bits
    default: fail<DTypeError>("machine_epsilon: ", dtype_name(dtype), " is not a floating dtype");
  }
}

void CompensatedSum::add(double x) {
  double t = sum_ + x;
  // Whichever operand is larger in magnitude kept its low bits; recover the other's.
  compensation_ += std::fabs(sum_) >= std::fabs(x) ? (sum_ - t) + x : (x - t) + sum_;
  sum_ = t;
}

}  // namespace cajal::metrics::detail
