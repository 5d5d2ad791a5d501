#pragma once
// Classification metrics as plain functions on tensors, computed as scikit-learn computes
// them (float64 results). Arguments come in the order predictions, targets (scikit-learn
// takes y_true first).
//
//   predictions: class indices, integer [N], or scores/logits/probabilities, floating [N, C],
//                whose row maxima are the predicted classes (the first of equal maxima);
//   targets:     class indices, integer [N].
//
// The number of classes C is the scores' column count, or `num_classes` when given, or else
// the largest label + 1; results cover the classes 0 .. C-1, as scikit-learn does when given
// labels=range(C). A class that appears in neither tensor still has its row, column and scores.
// Mismatched lengths, empty inputs and labels out of range throw a ValueError naming the metric.
#include <cstdint>
#include <optional>

#include "cajal/core/tensor.h"

namespace cajal::metrics {

// Fraction of samples whose predicted class is the target.
double accuracy(const Tensor& predictions, const Tensor& targets);

// Fraction of samples whose target is among the k highest of its scores [N, C]. Equal scores
// rank as scikit-learn's top_k_accuracy_score ranks them: the higher class index first.
// k >= C gives 1.
double top_k_accuracy(const Tensor& scores, const Tensor& targets, int64_t k);

// Counts [C, C] (int64): entry [i, j] is the number of samples of true class i predicted as j.
Tensor confusion_matrix(const Tensor& predictions, const Tensor& targets,
                        std::optional<int64_t> num_classes = std::nullopt);

// ------------------------------------------------------------------ precision, recall, F1

enum class Average {
  Macro,     // unweighted mean over the C classes
  Micro,     // from the counts summed over classes (equals accuracy for single-label data)
  Weighted,  // mean over classes weighted by their support (samples in targets)
};

struct PrecisionRecallF1Options {
  std::optional<int64_t> num_classes;
  // The value of a score whose denominator is zero: precision of a class never predicted,
  // recall of a class absent from targets. 0 or 1, as scikit-learn's zero_division; an F1
  // whose precision and recall are both 0 is 0.
  double zero_division = 0.0;
};

struct PrecisionRecallF1 {
  struct Averaged {
    double precision = 0;
    double recall = 0;
    double f1 = 0;
  };
  Tensor precision;  // per class, float64 [C]
  Tensor recall;     // per class, float64 [C]
  Tensor f1;         // per class, float64 [C]
  Tensor support;    // samples of each class in targets, int64 [C]
  Averaged macro;
  Averaged micro;
  Averaged weighted;

  const Averaged& averaged(Average average) const;
};

PrecisionRecallF1 precision_recall_f1(const Tensor& predictions, const Tensor& targets,
                                      const PrecisionRecallF1Options& options = {});
// The same scores from a confusion matrix [C, C] of non-negative integer counts (rows = true).
PrecisionRecallF1 precision_recall_f1_from_confusion(const Tensor& confusion, double zero_division = 0.0);

double precision(const Tensor& predictions, const Tensor& targets, Average average = Average::Macro,
                 const PrecisionRecallF1Options& options = {});
double recall(const Tensor& predictions, const Tensor& targets, Average average = Average::Macro,
              const PrecisionRecallF1Options& options = {});
double f1_score(const Tensor& predictions, const Tensor& targets, Average average = Average::Macro,
                const PrecisionRecallF1Options& options = {});

// ------------------------------------------------------------------ log loss

// Mean negative log-likelihood of the targets under `probabilities`: floating [N, C] with
// C >= 2 (one distribution per row), or [N] holding the probability of class 1 of a binary
// problem. As scikit-learn's log_loss: probabilities are clipped to [eps, 1 - eps] with eps
// the machine epsilon of their dtype (2^-52 for float64, 2^-23 for float32), then each row
// is divided by its sum. Computed in float64 whatever the input dtype (scikit-learn computes
// float32 inputs in float32).
double log_loss(const Tensor& probabilities, const Tensor& targets);

}  // namespace cajal::metrics
