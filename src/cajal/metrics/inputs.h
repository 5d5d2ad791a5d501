#pragma once
// Reading and checking metric inputs (internal to src/cajal/metrics). Every reader names its
// metric in the errors it throws. Inputs are copied into plain vectors of doubles and int64
// labels: metrics are cheap next to the models they measure, and plain loops over vectors are
// easy to follow.
#include <cstdint>
#include <optional>
#include <vector>

#include "cajal/core/tensor.h"

namespace cajal::metrics::detail {

// Integer class indices [N], N > 0, none negative. `what` names the tensor in errors.
std::vector<int64_t> read_labels(const char* metric, const char* what, const Tensor& t);

// Floating scores [N, C] (N, C > 0) as row-major doubles; NaN is rejected.
struct Scores {
  std::vector<double> values;
  int64_t rows = 0;
  int64_t cols = 0;
  double at(int64_t row, int64_t col) const { return values[static_cast<size_t>(row * cols + col)]; }
};
Scores read_scores(const char* metric, const char* what, const Tensor& t);

// Floating values [N] (or a column [N, 1]), N > 0, as doubles; NaN is rejected.
std::vector<double> read_values(const char* metric, const char* what, const Tensor& t);

// Fails unless predictions and targets have the same number of samples.
void check_lengths(const char* metric, int64_t predictions, int64_t targets);

// Fails when a label is >= num_classes.
void check_labels_below(const char* metric, const char* what, const std::vector<int64_t>& labels, int64_t num_classes);

// Predicted and true classes of the same samples, with the number of classes C. Predictions
// are class indices [N] or floating scores [N, C] whose row maxima are the predicted classes
// (the first of equal maxima, as numpy.argmax). C is `num_classes` when given, else the
// scores' column count, else the largest label + 1 (as scikit-learn with labels=range(C)).
struct LabelPairs {
  std::vector<int64_t> predicted;
  std::vector<int64_t> truth;
  int64_t num_classes = 0;
};
LabelPairs read_label_pairs(const char* metric, const Tensor& predictions, const Tensor& targets,
                            std::optional<int64_t> num_classes);

// Adds each pair to the row-major [C, C] counts (row = true class, column = predicted).
void add_confusion_counts(const LabelPairs& pairs, int64_t* counts);

// Fails unless zero_division (the value of a score whose denominator is 0) is 0 or 1.
void check_zero_division(const char* metric, double zero_division);

// The spacing of floating dtype `dtype` at 1 (numpy.finfo(dtype).eps).
double machine_epsilon(DType dtype);

// Neumaier's compensated sum: the error of each addition is kept and added back at the end,
// so long sums of values of mixed size lose almost nothing to rounding.
class CompensatedSum {
 public:
  void add(double x);
  double value() const { return sum_ + compensation_; }

 private:
  double sum_ = 0;
  double compensation_ = 0;
};

}  // namespace cajal::metrics::detail
