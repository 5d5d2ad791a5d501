#pragma once
// Group fairness of a binary classifier: per-group rates, the gaps between groups with
// bootstrap confidence intervals, and two mitigations, reweighing before training (Kamiran
// and Calders 2012) and per-group decision thresholds after it (Hardt et al. 2016).
//
// Class 1 is the favourable outcome (a loan granted, a candidate shortlisted). The sensitive
// attribute comes as one text value per example (the column's cells as read from the file),
// so any attribute, numbers included, works the same; groups are listed in sorted order of
// their names, so that two runs on the same data print the same table.
//
// The gaps follow Fairlearn's definitions (fairlearn/metrics/_fairness_metrics.py, method
// "between_groups"), so a number here can be checked against Fairlearn's documentation:
//   demographic parity difference  max - min of the groups' selection rates P(yhat = 1 | A = a)
//   demographic parity ratio       min / max of those rates
//   equalized odds difference      the larger of the TPR difference and the FPR difference
//                                  (each max - min over groups)
//   equal opportunity difference   max - min of the groups' true positive rates
//
// Unlike Fairlearn, which warns and returns 0 for a rate whose denominator is empty, a group
// without examples of class 1 (TPR undefined) or of class 0 (FPR undefined) is an error that
// names the group: an audit that silently reports "TPR 0" for such a group would be wrong.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cajal/core/tensor.h"
#include "cajal/metrics/roc_auc.h"

namespace cajal::metrics {

// ------------------------------------------------------------------ the sensitive column

// The index of the sensitive attribute `name` among a table's column names. The one check a
// caller reading a CSV needs before it can hand this file the column's values: a name that is
// not there fails with one line listing the columns that are.
size_t attribute_column_index(const std::vector<std::string>& column_names, const std::string& name);

// ------------------------------------------------------------------ group metrics

// Reliability diagram of predicted probabilities, as scikit-learn's
// calibration_curve(y_true, scores, n_bins=10, strategy="uniform"): bin b holds the scores in
// (b/10, (b+1)/10] (the first bin also holds 0), and only non-empty bins are listed.
struct CalibrationCurve {
  std::vector<double> mean_predicted;     // mean score of the bin (sklearn's prob_pred)
  std::vector<double> fraction_positive;  // fraction of class 1 in the bin (sklearn's prob_true)
  std::vector<int64_t> count;             // examples in the bin, for drawing the histogram
};

struct GroupMetrics {
  std::string group;  // the attribute's value; "overall" for the whole data set
  int64_t count = 0;
  int64_t positives = 0, negatives = 0;  // y_true == 1, y_true == 0
  int64_t true_positives = 0, false_positives = 0, true_negatives = 0, false_negatives = 0;
  double selection_rate = 0;       // P(y_pred = 1): demographic parity compares these
  double true_positive_rate = 0;   // P(y_pred = 1 | y_true = 1): equal opportunity
  double false_positive_rate = 0;  // P(y_pred = 1 | y_true = 0): with TPR, equalized odds
  double accuracy = 0;
  double base_rate = 0;  // P(y_true = 1): a gap in selection rates may just follow this one
  // Only when scores are given (empty / nullopt otherwise).
  CalibrationCurve calibration;
  std::optional<double> brier;    // mean (score - y_true)^2, sklearn's brier_score_loss
  std::optional<double> roc_auc;  // metrics::roc_auc of the group's scores
  RocCurve roc;                   // metrics::roc_curve of the group's scores
};

// A statistic with its percentile bootstrap interval.
struct Interval {
  double value = 0;  // on the data as given
  double low = 0, high = 0;
  // Resamples in which the statistic was defined (a resample that draws no example of class 1
  // in some group has no TPR there; one in which no group selects anyone has no DP ratio);
  // the bounds are percentiles of those. 0, with NaN bounds, when bootstrap = 0.
  int64_t resamples = 0;
};

struct FairnessOptions {
  // Bootstrap resamples for the intervals; 0 skips the bootstrap (NaN bounds).
  int64_t bootstrap = 1000;
  // Coverage of the intervals: the bounds are the (1 - c)/2 and (1 + c)/2 percentiles of the
  // resampled statistics, interpolated linearly as numpy.percentile does.
  double confidence = 0.95;
  uint64_t seed = 0;  // the bootstrap's Generator; one seed gives the same intervals everywhere
};

struct FairnessReport {
  std::vector<GroupMetrics> groups;  // sorted by group name
  GroupMetrics overall;
  Interval demographic_parity_difference, demographic_parity_ratio;
  Interval equalized_odds_difference, equal_opportunity_difference;
  int64_t bootstrap_samples = 0;
  double confidence = 0;
};

// y_true, y_pred: integer [N] of 0 and 1; groups: N attribute values, at least 2 distinct, each
// group holding examples of both classes; scores (optional): floating [N], the probability of
// class 1, in [0, 1] and never NaN, for the calibration, Brier score and ROC curve of each group.
//
// The bootstrap resamples with replacement within each group (stratified: every resample
// keeps each group's size, so no group can vanish from a resample and the gaps always compare
// the same groups), then recomputes the four gaps; the interval is the percentile interval.
// A gap that is truly near 0 gives a max - min whose resamples are biased upward, so its
// interval may lie above the point estimate; read such an interval as "at most high".
FairnessReport fairness_report(const Tensor& y_true, const Tensor& y_pred, const std::vector<std::string>& groups,
                               const Tensor& scores = {}, const FairnessOptions& options = {});

// ------------------------------------------------------------------ accuracy cost

// What a mitigation did, from two reports on the same evaluation data (the same groups and
// labels): one of the predictions before it, one after. The caller decides what "before" is:
// the model trained without reweighing, or the model's own predictions before per-group thresholds.
struct MitigationCost {
  double accuracy_before = 0, accuracy_after = 0;
  double accuracy_cost = 0;  // before - after: accuracy given up (negative: gained)
  double demographic_parity_difference_before = 0, demographic_parity_difference_after = 0;
  double equalized_odds_difference_before = 0, equalized_odds_difference_after = 0;
  double equal_opportunity_difference_before = 0, equal_opportunity_difference_after = 0;
};
// Fails when the reports are not on the same data (different groups or class counts).
MitigationCost mitigation_cost(const FairnessReport& before, const FairnessReport& after);

// ------------------------------------------------------------------ reweighing

// Kamiran and Calders' reweighing (2012), the formula of AIF360's Reweighing: each example of
// group g and label y gets w = P(g) P(y) / P(g, y) = n_g n_y / (n n_gy). Training on the
// weighted data sees label and group independent (every group's weighted rate of class 1 is the
// overall rate) while each group keeps its total weight n_g, without changing any example.
// A (group, label) pair with no examples leaves nothing to reweigh toward independence: an error.
std::vector<double> reweighing_weights(const Tensor& y_true, const std::vector<std::string>& groups);

// ------------------------------------------------------------------ per-group thresholds

enum class FairnessConstraint {
  equal_opportunity,  // the same TPR in every group (deterministic thresholds)
  equalized_odds,     // the same TPR and FPR in every group (randomized thresholds)
};

// One group's decision rule: predict 1 with probability
//   p_high    for scores >= high,
//   p_middle  for scores in [low, high),
//   p_low     for scores < low.
// A deterministic threshold t is low = high = t, p_high = 1, p_low = 0. Hardt et al.'s
// equalized-odds rule randomizes between two thresholds (scores between them are predicted 1
// with probability lambda) and, where the group's ROC curve lies above the common point, mixes
// in a constant predictor (Fairlearn's ThresholdOptimizer does the same); both fold into these
// three probabilities. Thresholds are scores seen at fit time (sklearn's roc_curve thresholds,
// "score >= t"), or +inf for "predict 1 for no one".
struct GroupThreshold {
  std::string group;
  double low = 0, high = 0;
  double p_low = 0, p_middle = 0, p_high = 1;
  // Expected rates and accuracy of this rule on the fit data.
  double true_positive_rate = 0, false_positive_rate = 0, accuracy = 0;
};

struct GroupThresholds {
  FairnessConstraint constraint = FairnessConstraint::equal_opportunity;
  std::vector<GroupThreshold> groups;  // sorted by group name
  // Equal opportunity: the TPR gap allowed (see ThresholdOptions). Equalized odds: 0, the
  // expected rates are equal, and target_* hold the common (FPR, TPR) point.
  double tolerance = 0;
  double target_false_positive_rate = 0, target_true_positive_rate = 0;
  // Expected accuracy on the fit data with these rules, and the best accuracy of one threshold
  // shared by every group (the group-blind classifier). The difference is the accuracy the
  // constraint costs; negative when separate thresholds gain more than the constraint takes.
  double accuracy = 0;
  double single_threshold_accuracy = 0;
  double accuracy_cost() const { return single_threshold_accuracy - accuracy; }
};

struct ThresholdOptions {
  // Equal opportunity only: the largest TPR gap allowed between groups. A deterministic
  // threshold moves a group's TPR in steps of 1 / (its examples of class 1) or more, so exact
  // equality is often reachable only at TPR 0 and 1; the default, 1 / (the fewest examples of class 1
  // in any group), is the finest gap the coarsest group can resolve. Any tolerance >= 0 can be
  // met (TPR 0 everywhere always qualifies); a smaller one costs accuracy.
  std::optional<double> tolerance;
};

// Chooses per-group thresholds on `scores` (floating [N], finite, higher meaning class 1) that
// satisfy `constraint` on (y_true, groups) and give the highest accuracy on that data.
//   equal_opportunity: over every window [L, L + tolerance] of TPR values (L running over the
//     TPRs the groups reach), each group takes its most accurate threshold with TPR in the
//     window; the best window wins. This is exact: no choice of one threshold per group with
//     TPR gap <= tolerance is more accurate on this data.
//   equalized_odds (Hardt et al. 2016): randomized thresholds reach every point of a group's
//     ROC convex hull, so the common (FPR, TPR) points are those under every group's hull; the
//     accuracy, linear in that point, is maximized exactly over the breakpoints of the lowest
//     hull (Fairlearn searches a grid of FPR values instead).
// Every group needs examples of both classes, and there must be at least 2 groups.
GroupThresholds fit_group_thresholds(const Tensor& scores, const Tensor& y_true, const std::vector<std::string>& groups,
                                     FairnessConstraint constraint, const ThresholdOptions& options = {});

// Probability of predicting 1 for each example under the fitted rules, float64 [N]: the
// expected predictions, from which expected rates follow without sampling.
Tensor group_threshold_probabilities(const GroupThresholds& thresholds, const Tensor& scores,
                                     const std::vector<std::string>& groups);

// Predictions int64 [N] of 0 and 1: each example is predicted 1 with its probability above,
// drawing one uniform number per example from Generator(seed) in order (a deterministic rule
// uses no randomness, whatever the seed). A group not seen at fit time is an error.
Tensor apply_group_thresholds(const GroupThresholds& thresholds, const Tensor& scores,
                              const std::vector<std::string>& groups, uint64_t seed = 0);

}  // namespace cajal::metrics
