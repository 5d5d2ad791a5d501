// Fairness metrics and mitigations against NumPy / scikit-learn / SciPy
// (tests/reference/fairness_reference.py generates the data and the oracle's results):
// per-group counts, rates, calibration curves, Brier scores and ROC curves against sklearn;
// the four gaps against Fairlearn's definitions and a documented Fairlearn example; the
// bootstrap intervals against a NumPy stratified percentile bootstrap (within Monte Carlo
// error); reweighing weights against the formula and a weighted logistic regression against
// sklearn's; equal-opportunity thresholds against a brute-force search over every combination
// of thresholds; equalized-odds randomized thresholds against the linear program over the
// groups' ROC convex hulls (scipy.optimize.linprog), in expectation and over many seeds.
// Every bad input must fail with one line that names the problem.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <string>
#include <vector>

#include "cajal/metrics/fairness.h"
#include "support/reference_npy.h"
#include "support/test_support.h"

namespace cajal {
namespace {

using metrics::FairnessConstraint;

const test::ReferenceNpy& reference() {
  static test::ReferenceNpy r("fairness_reference.py");
  return r;
}

std::vector<double> values(const std::string& name) { return reference().load(name).to_vector<double>(); }

// The attribute column of data set `prefix` (r, t, rw) as text: the codes of <prefix>_groups.npy
// mapped through <prefix>_names.txt.
std::vector<std::string> groups_of(const std::string& prefix) {
  std::ifstream in(reference().dir() + "/" + prefix + "_names.txt");
  std::vector<std::string> names;
  for (std::string line; std::getline(in, line);) names.push_back(line);
  std::vector<std::string> groups;
  for (int64_t code : reference().load(prefix + "_groups").to_vector<int64_t>())
    groups.push_back(names.at(static_cast<size_t>(code)));
  return groups;
}

// |actual - expected| <= tolerance * max(1, |expected|).
::testing::AssertionResult near(double actual, double expected, double tolerance = 1e-12) {
  if (std::fabs(actual - expected) <= tolerance * std::max(1.0, std::fabs(expected))) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << std::setprecision(17) << actual << " vs the oracle's " << expected;
}

::testing::AssertionResult near(const std::vector<double>& actual, const std::vector<double>& expected,
                                double tolerance = 1e-12) {
  if (actual.size() != expected.size())
    return ::testing::AssertionFailure() << actual.size() << " values vs the oracle's " << expected.size();
  for (size_t i = 0; i < actual.size(); ++i)
    if (auto r = near(actual[i], expected[i], tolerance); !r) return r << " at " << i;
  return ::testing::AssertionSuccess();
}

// The error f throws is E, one line, and holds every one of parts.
template <typename E = ValueError>
void expect_one_line(const std::function<void()>& f, std::initializer_list<std::string_view> parts) {
  std::string message = test::error_message<E>(f);
  EXPECT_EQ(message.find('\n'), std::string::npos) << "not one line: " << message;
  for (std::string_view part : parts)
    EXPECT_NE(message.find(part), std::string::npos) << "message \"" << message << "\" lacks \"" << part << "\"";
}

// ------------------------------------------------------------------ the report

TEST(FairnessReport, GroupMetricsMatchScikitLearn) {
  std::vector<std::string> groups = groups_of("r");
  auto report = metrics::fairness_report(reference().load("r_true"), reference().load("r_pred"), groups,
                                         reference().load("r_scores"), {.bootstrap = 0});
  ASSERT_EQ(report.groups.size(), 3u);
  EXPECT_EQ(report.groups[0].group, "men");  // sorted by name, not by first appearance
  EXPECT_EQ(report.groups[1].group, "nonbinary");
  EXPECT_EQ(report.groups[2].group, "women");
  EXPECT_EQ(report.overall.group, "overall");
  std::vector<int64_t> counts = reference().load("r_counts").to_vector<int64_t>();
  std::vector<double> rates = values("r_rates");
  for (size_t k = 0; k < 4; ++k) {
    const metrics::GroupMetrics& m = k < 3 ? report.groups[k] : report.overall;
    SCOPED_TRACE(m.group);
    const int64_t* c = &counts[7 * k];
    EXPECT_EQ(std::vector<int64_t>({m.count, m.positives, m.negatives, m.true_positives, m.false_positives,
                                    m.true_negatives, m.false_negatives}),
              std::vector<int64_t>(c, c + 7));
    const double* r = &rates[7 * k];
    EXPECT_TRUE(near(m.selection_rate, r[0]));
    EXPECT_TRUE(near(m.true_positive_rate, r[1]));
    EXPECT_TRUE(near(m.false_positive_rate, r[2]));
    EXPECT_TRUE(near(m.accuracy, r[3]));
    EXPECT_TRUE(near(m.base_rate, r[4]));
    ASSERT_TRUE(m.brier && m.roc_auc);
    EXPECT_TRUE(near(*m.brier, r[5]));
    EXPECT_TRUE(near(*m.roc_auc, r[6]));
    std::string id = std::to_string(k);
    EXPECT_TRUE(near(m.calibration.fraction_positive, values("r_cal_true_" + id)));
    EXPECT_TRUE(near(m.calibration.mean_predicted, values("r_cal_pred_" + id)));
    EXPECT_EQ(m.calibration.count, reference().load("r_cal_count_" + id).to_vector<int64_t>());
    std::vector<double> roc = values("r_roc_" + id);
    size_t points = roc.size() / 2;
    EXPECT_TRUE(near(m.roc.false_positive_rate, std::vector<double>(roc.begin(), roc.begin() + static_cast<long>(points))));
    EXPECT_TRUE(near(m.roc.true_positive_rate, std::vector<double>(roc.begin() + static_cast<long>(points), roc.end())));
  }
  std::vector<double> gaps = values("r_gaps");
  EXPECT_TRUE(near(report.demographic_parity_difference.value, gaps[0]));
  EXPECT_TRUE(near(report.demographic_parity_ratio.value, gaps[1]));
  EXPECT_TRUE(near(report.equalized_odds_difference.value, gaps[2]));
  EXPECT_TRUE(near(report.equal_opportunity_difference.value, gaps[3]));
  // No bootstrap: no bounds.
  EXPECT_TRUE(std::isnan(report.demographic_parity_difference.low));
  EXPECT_EQ(report.demographic_parity_difference.resamples, 0);

  // Without scores: the rates alone, no calibration or curves.
  auto plain = metrics::fairness_report(reference().load("r_true"), reference().load("r_pred"), groups, {}, {.bootstrap = 0});
  EXPECT_FALSE(plain.groups[0].brier.has_value());
  EXPECT_TRUE(plain.groups[0].calibration.count.empty());
  EXPECT_TRUE(plain.groups[0].roc.true_positive_rate.empty());
  EXPECT_EQ(plain.groups[1].true_positive_rate, report.groups[1].true_positive_rate);
}

TEST(FairnessReport, BootstrapIntervalsAgreeWithNumpy) {
  std::vector<std::string> groups = groups_of("r");
  metrics::FairnessOptions options{.bootstrap = 2000, .confidence = 0.95, .seed = 7};
  auto report = metrics::fairness_report(reference().load("r_true"), reference().load("r_pred"), groups, {}, options);
  std::vector<double> numpy = values("r_boot");
  const char* names[] = {"demographic parity difference", "demographic parity ratio", "equalized odds difference",
                         "equal opportunity difference"};
  const metrics::Interval* intervals[] = {&report.demographic_parity_difference, &report.demographic_parity_ratio,
                                          &report.equalized_odds_difference, &report.equal_opportunity_difference};
  double worst = 0;
  for (size_t j = 0; j < 4; ++j) {
    const metrics::Interval& ci = *intervals[j];
    SCOPED_TRACE(names[j]);
    EXPECT_EQ(ci.resamples, 2000);
    // Both sides draw 2000 resamples from different generators: the bounds agree within
    // Monte Carlo error (about 0.005 here), not exactly.
    EXPECT_NEAR(ci.low, numpy[2 * j], 0.02);
    EXPECT_NEAR(ci.high, numpy[2 * j + 1], 0.02);
    EXPECT_LE(ci.low, ci.value);
    EXPECT_GE(ci.high, ci.value);
    worst = std::max({worst, std::fabs(ci.low - numpy[2 * j]), std::fabs(ci.high - numpy[2 * j + 1])});
    std::cout << "  " << names[j] << ": " << ci.value << " [" << ci.low << ", " << ci.high << "], numpy ["
              << numpy[2 * j] << ", " << numpy[2 * j + 1] << "]\n";
  }
  std::cout << "  largest bound difference from numpy: " << worst << "\n";
  // Seeded: the same seed gives the same intervals, another seed other ones.
  auto again = metrics::fairness_report(reference().load("r_true"), reference().load("r_pred"), groups, {}, options);
  EXPECT_EQ(again.equalized_odds_difference.low, report.equalized_odds_difference.low);
  EXPECT_EQ(again.demographic_parity_ratio.high, report.demographic_parity_ratio.high);
  options.seed = 8;
  auto other = metrics::fairness_report(reference().load("r_true"), reference().load("r_pred"), groups, {}, options);
  EXPECT_NE(other.equalized_odds_difference.low, report.equalized_odds_difference.low);
  // A narrower confidence gives a narrower interval.
  options.confidence = 0.5;
  auto narrow = metrics::fairness_report(reference().load("r_true"), reference().load("r_pred"), groups, {}, options);
  EXPECT_GT(narrow.demographic_parity_difference.low, other.demographic_parity_difference.low);
  EXPECT_LT(narrow.demographic_parity_difference.high, other.demographic_parity_difference.high);
}

// Fairlearn's user guide, "Common fairness metrics" (docs/user_guide/assessment/
// common_fairness_metrics.rst): its input arrays and the values it prints.
TEST(FairnessReport, FairlearnDocumentedExample) {
  Tensor y_true = tensor({0, 1, 1, 1, 1, 0, 1, 0, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1});
  Tensor y_pred = tensor({0, 0, 1, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 0});
  std::vector<std::string> sf_data = {"b", "b", "a", "b", "b", "c", "c", "c", "a",
                                      "a", "c", "a", "b", "c", "c", "b", "c", "c"};
  auto report = metrics::fairness_report(y_true, y_pred, sf_data, {}, {.bootstrap = 200});
  EXPECT_DOUBLE_EQ(report.demographic_parity_difference.value, 0.25);     // printed: 0.25
  EXPECT_NEAR(report.demographic_parity_ratio.value, 0.666666, 1e-6);     // printed: 0.66666...
  EXPECT_DOUBLE_EQ(report.equalized_odds_difference.value, 1.0);          // printed: 1.0
  // Not printed there; by hand: TPRs a 1/2, b 3/5, c 2/5 (FPRs 1, 0, 2/3).
  EXPECT_DOUBLE_EQ(report.equal_opportunity_difference.value, 0.2);
  EXPECT_DOUBLE_EQ(report.groups[0].selection_rate, 0.75);
  EXPECT_DOUBLE_EQ(report.groups[1].false_positive_rate, 0.0);
  EXPECT_DOUBLE_EQ(report.groups[2].true_positive_rate, 0.4);
  // Group 'a' has 2 examples of each class: some resamples draw none of one, and the TPR and
  // FPR gaps leave those resamples out.
  EXPECT_LT(report.equal_opportunity_difference.resamples, 200);
  EXPECT_EQ(report.demographic_parity_difference.resamples, 200);
}

// ------------------------------------------------------------------ reweighing

TEST(Reweighing, WeightsFollowTheFormulaAndEqualizeTheLabelRate) {
  std::vector<std::string> groups = groups_of("r");
  Tensor y = reference().load("r_true");
  std::vector<double> w = metrics::reweighing_weights(y, groups);
  EXPECT_TRUE(near(w, values("r_weights")));
  std::vector<int64_t> labels = y.to_vector<int64_t>();
  double overall = static_cast<double>(std::count(labels.begin(), labels.end(), 1)) / static_cast<double>(labels.size());
  for (const std::string name : {"men", "nonbinary", "women"}) {
    double total = 0, positive = 0;
    int64_t count = 0;
    for (size_t i = 0; i < w.size(); ++i)
      if (groups[i] == name) total += w[i], positive += w[i] * static_cast<double>(labels[i]), ++count;
    EXPECT_TRUE(near(positive / total, overall)) << name;  // label independent of group
    EXPECT_TRUE(near(total, static_cast<double>(count))) << name;  // each group keeps its weight
  }
}

// Weighted logistic regression by Newton's method: features [N, 3] row-major.
std::vector<double> logistic_regression(const std::vector<double>& x, const std::vector<int64_t>& y,
                                        const std::vector<double>& w) {
  std::vector<double> beta(3, 0.0);
  for (int iteration = 0; iteration < 100; ++iteration) {
    double h[3][4] = {};  // Hessian | gradient
    for (size_t i = 0; i < y.size(); ++i) {
      const double* xi = &x[3 * i];
      double p = 1 / (1 + std::exp(-(beta[0] * xi[0] + beta[1] * xi[1] + beta[2] * xi[2])));
      for (int a = 0; a < 3; ++a) {
        h[a][3] += w[i] * (static_cast<double>(y[i]) - p) * xi[a];
        for (int b = 0; b < 3; ++b) h[a][b] += w[i] * p * (1 - p) * xi[a] * xi[b];
      }
    }
    for (int col = 0; col < 3; ++col)  // Gaussian elimination (the Hessian is positive definite)
      for (int row = col + 1; row < 3; ++row) {
        double f = h[row][col] / h[col][col];
        for (int k = col; k < 4; ++k) h[row][k] -= f * h[col][k];
      }
    double step[3];
    for (int row = 2; row >= 0; --row) {
      step[row] = h[row][3];
      for (int k = row + 1; k < 3; ++k) step[row] -= h[row][k] * step[k];
      step[row] /= h[row][row];
    }
    for (int a = 0; a < 3; ++a) beta[static_cast<size_t>(a)] += step[a];
    if (std::fabs(step[0]) + std::fabs(step[1]) + std::fabs(step[2]) < 1e-14) break;
  }
  return beta;
}

TEST(Reweighing, TrainingOnTheWeightsNarrowsTheGapAtAnAccuracyCost) {
  std::vector<std::string> groups = groups_of("rw");
  Tensor y = reference().load("rw_true");
  std::vector<int64_t> labels = y.to_vector<int64_t>();
  std::vector<double> x = values("rw_features");
  std::vector<double> w = metrics::reweighing_weights(y, groups);
  std::vector<double> plain = logistic_regression(x, labels, std::vector<double>(labels.size(), 1.0));
  std::vector<double> weighted = logistic_regression(x, labels, w);
  EXPECT_TRUE(near(plain, values("rw_coef_plain"), 1e-5));
  EXPECT_TRUE(near(weighted, values("rw_coef_weighted"), 1e-5));
  auto predict = [&](const std::vector<double>& beta) {
    std::vector<int64_t> out(labels.size());
    for (size_t i = 0; i < labels.size(); ++i)
      out[i] = beta[0] * x[3 * i] + beta[1] * x[3 * i + 1] + beta[2] * x[3 * i + 2] >= 0;
    return from_vector(out);
  };
  auto before = metrics::fairness_report(y, predict(plain), groups, {}, {.bootstrap = 0});
  auto after = metrics::fairness_report(y, predict(weighted), groups, {}, {.bootstrap = 0});
  metrics::MitigationCost cost = metrics::mitigation_cost(before, after);
  std::cout << "  reweighing: accuracy " << cost.accuracy_before << " -> " << cost.accuracy_after << " (cost "
            << cost.accuracy_cost << "), demographic parity difference " << cost.demographic_parity_difference_before
            << " -> " << cost.demographic_parity_difference_after << "\n";
  EXPECT_LT(cost.demographic_parity_difference_after, 0.6 * cost.demographic_parity_difference_before);
  EXPECT_GT(cost.accuracy_cost, 0.0);  // independence costs accuracy when the base rates truly differ
  EXPECT_LT(cost.accuracy_cost, 0.1);
  EXPECT_DOUBLE_EQ(cost.accuracy_before, before.overall.accuracy);
}

// ------------------------------------------------------------------ thresholds

struct ExpectedRates {
  std::vector<double> tpr, fpr;
  double accuracy = 0;
};

// Per-group rates (sorted names) and accuracy of the predictions or probabilities `p`.
ExpectedRates rates_of(const std::vector<double>& p, const std::vector<int64_t>& y, const std::vector<std::string>& groups,
                       const std::vector<std::string>& names) {
  ExpectedRates r;
  double correct = 0;
  for (const std::string& name : names) {
    double tp = 0, fp = 0, pos = 0, neg = 0;
    for (size_t i = 0; i < y.size(); ++i) {
      if (groups[i] != name) continue;
      if (y[i] == 1) tp += p[i], ++pos;
      else fp += p[i], ++neg;
    }
    r.tpr.push_back(tp / pos);
    r.fpr.push_back(fp / neg);
    correct += tp + neg - fp;
  }
  r.accuracy = correct / static_cast<double>(y.size());
  return r;
}

double gap(const std::vector<double>& v) {
  return *std::max_element(v.begin(), v.end()) - *std::min_element(v.begin(), v.end());
}

TEST(GroupThresholds, EqualOpportunityIsAsAccurateAsBruteForce) {
  std::vector<std::string> groups = groups_of("t");
  Tensor scores = reference().load("t_scores"), y = reference().load("t_true");
  std::vector<int64_t> labels = y.to_vector<int64_t>();
  auto fitted = metrics::fit_group_thresholds(scores, y, groups, FairnessConstraint::equal_opportunity);
  std::vector<double> eopp = values("t_eopp");
  ASSERT_EQ(fitted.groups.size(), 3u);
  EXPECT_EQ(fitted.groups[0].group, "east");
  EXPECT_TRUE(near(fitted.tolerance, eopp[0]));  // 1 / the fewest positives of a group
  EXPECT_TRUE(near(fitted.accuracy, eopp[1]));   // the best any one threshold per group reaches
  EXPECT_TRUE(near(fitted.single_threshold_accuracy, values("t_single")[0]));
  std::vector<double> tpr;
  for (const auto& rule : fitted.groups) {
    EXPECT_EQ(rule.low, rule.high);  // deterministic
    EXPECT_EQ(rule.p_high, 1.0);
    EXPECT_EQ(rule.p_low, 0.0);
    tpr.push_back(rule.true_positive_rate);
  }
  EXPECT_LE(gap(tpr), fitted.tolerance + 1e-12);
  // The predictions realize those rates exactly, whatever the seed.
  Tensor predicted = metrics::apply_group_thresholds(fitted, scores, groups, 1);
  EXPECT_TRUE(test::all_close(predicted, metrics::apply_group_thresholds(fitted, scores, groups, 2), 0, 0));
  std::vector<std::string> names = {"east", "north", "south"};
  ExpectedRates realized = rates_of(predicted.to_vector<double>(), labels, groups, names);
  EXPECT_TRUE(near(realized.tpr, tpr));
  EXPECT_TRUE(near(realized.accuracy, fitted.accuracy));
  auto before = metrics::fairness_report(y, (scores >= 0.5).to(DType::i64), groups, {}, {.bootstrap = 0});
  auto after = metrics::fairness_report(y, predicted, groups, {}, {.bootstrap = 0});
  auto cost = metrics::mitigation_cost(before, after);
  std::cout << "  equal opportunity: TPR gap " << gap(tpr) << " (tolerance " << fitted.tolerance << "), accuracy "
            << fitted.accuracy << " vs best single threshold " << fitted.single_threshold_accuracy << " (cost "
            << fitted.accuracy_cost() << "); vs threshold 0.5: accuracy " << cost.accuracy_before << " -> "
            << cost.accuracy_after << ", equal opportunity difference " << cost.equal_opportunity_difference_before
            << " -> " << cost.equal_opportunity_difference_after << "\n";

  // Other tolerances: met, and as accurate as brute force with the same tolerance.
  auto tight = metrics::fit_group_thresholds(scores, y, groups, FairnessConstraint::equal_opportunity, {.tolerance = 0.01});
  std::vector<double> tight_tpr;
  for (const auto& rule : tight.groups) tight_tpr.push_back(rule.true_positive_rate);
  EXPECT_LE(gap(tight_tpr), 0.01 + 1e-12);
  EXPECT_TRUE(near(tight.accuracy, eopp[2]));
  EXPECT_LE(tight.accuracy, fitted.accuracy);
  auto loose = metrics::fit_group_thresholds(scores, y, groups, FairnessConstraint::equal_opportunity, {.tolerance = 0.2});
  EXPECT_TRUE(near(loose.accuracy, eopp[3]));
  EXPECT_GE(loose.accuracy, fitted.accuracy);
  auto exact = metrics::fit_group_thresholds(scores, y, groups, FairnessConstraint::equal_opportunity, {.tolerance = 0});
  std::vector<double> exact_tpr;
  for (const auto& rule : exact.groups) exact_tpr.push_back(rule.true_positive_rate);
  EXPECT_LE(gap(exact_tpr), 1e-12);  // TPR 0 and 1 are always common
}

TEST(GroupThresholds, EqualizedOddsReachesTheLinearProgramOptimum) {
  std::vector<std::string> groups = groups_of("t");
  Tensor scores = reference().load("t_scores"), y = reference().load("t_true");
  std::vector<int64_t> labels = y.to_vector<int64_t>();
  std::vector<std::string> names = {"east", "north", "south"};
  auto fitted = metrics::fit_group_thresholds(scores, y, groups, FairnessConstraint::equalized_odds);
  std::vector<double> eodds = values("t_eodds");
  // Expected rates, from each example's probability of being predicted 1: equal across groups.
  ExpectedRates expected =
      rates_of(metrics::group_threshold_probabilities(fitted, scores, groups).to_vector<double>(), labels, groups, names);
  for (size_t g = 0; g < 3; ++g) {
    EXPECT_NEAR(expected.tpr[g], fitted.target_true_positive_rate, 1e-9) << names[g];
    EXPECT_NEAR(expected.fpr[g], fitted.target_false_positive_rate, 1e-9) << names[g];
    EXPECT_NEAR(fitted.groups[g].true_positive_rate, expected.tpr[g], 1e-12);
  }
  EXPECT_NEAR(expected.accuracy, fitted.accuracy, 1e-12);
  EXPECT_NEAR(fitted.accuracy, eodds[0], 1e-7);  // scipy's HiGHS solves to about 1e-9
  EXPECT_GE(fitted.accuracy, eodds[1] - 1e-12);  // no worse than any deterministic equal choice
  EXPECT_GT(fitted.accuracy, eodds[1] + 0.05);   // and here much better
  // Empirical rates over many seeds average to the expected ones.
  const int seeds = 1000;
  std::vector<double> tpr(3, 0.0), fpr(3, 0.0);
  double accuracy = 0;
  for (int seed = 0; seed < seeds; ++seed) {
    Tensor predicted = metrics::apply_group_thresholds(fitted, scores, groups, static_cast<uint64_t>(seed));
    ExpectedRates r = rates_of(predicted.to_vector<double>(), labels, groups, names);
    for (size_t g = 0; g < 3; ++g) tpr[g] += r.tpr[g] / seeds, fpr[g] += r.fpr[g] / seeds;
    accuracy += r.accuracy / seeds;
  }
  for (size_t g = 0; g < 3; ++g) {
    // Standard errors over 1000 seeds are below 0.004 for these group sizes.
    EXPECT_NEAR(tpr[g], fitted.target_true_positive_rate, 0.015) << names[g];
    EXPECT_NEAR(fpr[g], fitted.target_false_positive_rate, 0.015) << names[g];
  }
  EXPECT_NEAR(accuracy, fitted.accuracy, 0.005);
  std::cout << "  equalized odds: common point FPR " << fitted.target_false_positive_rate << ", TPR "
            << fitted.target_true_positive_rate << "; accuracy " << fitted.accuracy << " (linear program "
            << eodds[0] << ", best deterministic " << eodds[1] << ", best single threshold "
            << fitted.single_threshold_accuracy << ", cost " << fitted.accuracy_cost() << "); over " << seeds
            << " seeds TPR " << tpr[0] << " " << tpr[1] << " " << tpr[2] << ", FPR " << fpr[0] << " " << fpr[1]
            << " " << fpr[2] << "\n";
}

TEST(GroupThresholds, EqualizedOddsOptimumOnMoreGroups) {
  for (int k = 1; k <= 4; ++k) {
    std::string set = "e" + std::to_string(k);
    SCOPED_TRACE(set);
    std::vector<std::string> groups = groups_of(set);
    Tensor scores = reference().load(set + "_scores"), y = reference().load(set + "_true");
    auto fitted = metrics::fit_group_thresholds(scores, y, groups, FairnessConstraint::equalized_odds);
    EXPECT_EQ(fitted.groups.size(), static_cast<size_t>(k + 1));
    EXPECT_NEAR(fitted.accuracy, values(set + "_eodds")[0], 1e-7);
    std::vector<std::string> names;
    for (const auto& rule : fitted.groups) names.push_back(rule.group);
    ExpectedRates expected = rates_of(metrics::group_threshold_probabilities(fitted, scores, groups).to_vector<double>(),
                                      y.to_vector<int64_t>(), groups, names);
    EXPECT_LE(gap(expected.tpr), 1e-9);
    EXPECT_LE(gap(expected.fpr), 1e-9);
    EXPECT_NEAR(expected.accuracy, fitted.accuracy, 1e-12);
  }
}

TEST(GroupThresholds, SmallCasesByHand) {
  // Perfectly separable groups: the threshold between the classes, accuracy 1, both constraints.
  Tensor scores = tensor({0.9, 0.8, 0.2, 0.1, 0.7, 0.6, 0.4, 0.3});
  Tensor y = tensor({1, 1, 0, 0, 1, 1, 0, 0});
  std::vector<std::string> groups = {"a", "a", "a", "a", "b", "b", "b", "b"};
  for (auto constraint : {FairnessConstraint::equal_opportunity, FairnessConstraint::equalized_odds}) {
    auto fitted = metrics::fit_group_thresholds(scores, y, groups, constraint);
    EXPECT_DOUBLE_EQ(fitted.accuracy, 1.0);
    EXPECT_EQ(fitted.groups[0].low, 0.8);
    EXPECT_EQ(fitted.groups[1].low, 0.6);
    EXPECT_TRUE(test::all_close(metrics::apply_group_thresholds(fitted, scores, groups, 3), y, 0, 0));
  }
  // A useless score in group b (all tied): its hull is the diagonal, so equalized odds must
  // randomize; with equal class counts the common point sits on the diagonal.
  Tensor tied = tensor({0.9, 0.8, 0.2, 0.1, 0.5, 0.5, 0.5, 0.5});
  auto fitted = metrics::fit_group_thresholds(tied, y, groups, FairnessConstraint::equalized_odds);
  EXPECT_NEAR(fitted.target_true_positive_rate, fitted.target_false_positive_rate, 1e-12);
  EXPECT_NEAR(fitted.accuracy, 0.5, 1e-12);
}

// ------------------------------------------------------------------ bad input

TEST(FairnessErrors, EachBadInputIsOneClearLine) {
  Tensor y = tensor({0, 1, 0, 1, 0, 1});
  Tensor pred = tensor({0, 1, 1, 1, 0, 0});
  Tensor scores = tensor({0.1, 0.9, 0.6, 0.8, 0.2, 0.4});
  std::vector<std::string> groups = {"a", "a", "b", "b", "c", "c"};
  metrics::FairnessOptions quick{.bootstrap = 10};
  auto report = [&](const Tensor& t, const Tensor& p, const std::vector<std::string>& g, const Tensor& s = {}) {
    return [=] { metrics::fairness_report(t, p, g, s, quick); };
  };
  EXPECT_NO_THROW(report(y, pred, groups, scores)());

  expect_one_line([] { metrics::attribute_column_index({"age", "sex", "income"}, "race"); },
                  {"sensitive attribute column 'race' does not exist", "age, sex, income"});
  EXPECT_EQ(metrics::attribute_column_index({"age", "sex", "income"}, "sex"), 1u);
  expect_one_line(report(y, tensor({0, 1, 1}), groups), {"fairness_report: y_true and y_pred differ in length (6 vs 3"});
  expect_one_line(report(y, pred, {"a", "b"}), {"fairness_report: groups has 2 values but y_true has 6 examples"});
  expect_one_line(report(y, pred, groups, tensor({0.1, 0.2})), {"scores and y_true differ in length (2 vs 6"});
  expect_one_line(report(tensor({0, 1, 2, 1, 0, 1}), pred, groups), {"y_true[2] = 2 is not a binary label"});
  expect_one_line(report(y, tensor({0, 1, 1, -1, 0, 0}), groups), {"y_pred[3] = -1 is not a binary label"});
  expect_one_line(report(tensor({0, 0, 0, 1, 0, 1}), pred, groups),
                  {"group 'a' has no examples of class 1", "true positive rate is undefined"});
  expect_one_line(report(tensor({0, 1, 1, 1, 0, 1}), pred, groups),
                  {"group 'b' has no examples of class 0", "false positive rate is undefined"});
  expect_one_line(report(y, pred, std::vector<std::string>(6, "all")), {"every example is in group 'all'", "at least 2"});
  expect_one_line(report(y, pred, groups, tensor({0.1, 0.9, NAN, 0.8, 0.2, 0.4})), {"fairness_report: scores[2] is NaN"});
  expect_one_line(report(y, pred, groups, tensor({0.1, 0.9, 1.5, 0.8, 0.2, 0.4})), {"scores[2] = 1.5 is outside [0, 1]"});
  expect_one_line<DTypeError>(report(tensor({0.0, 1.0, 0.0, 1.0, 0.0, 1.0}), pred, groups),
                              {"y_true must hold integer labels"});
  expect_one_line([&] { metrics::fairness_report(y, pred, groups, {}, {.bootstrap = 10, .confidence = 95}); },
                  {"confidence must be in (0, 1), got 95"});
  expect_one_line([&] { metrics::fairness_report(y, pred, groups, {}, {.bootstrap = -1}); }, {"bootstrap must be >= 0"});

  expect_one_line([&] { metrics::reweighing_weights(tensor({0, 0, 0, 1, 0, 1}), groups); },
                  {"reweighing_weights: group 'a' has no examples of class 1"});

  auto fit = [&](const Tensor& s, const Tensor& t, const std::vector<std::string>& g) {
    return [=] { metrics::fit_group_thresholds(s, t, g, FairnessConstraint::equalized_odds); };
  };
  expect_one_line(fit(scores, tensor({0, 0, 0, 1, 0, 1}), groups),
                  {"fit_group_thresholds: group 'a' has no examples of class 1"});
  expect_one_line(fit(tensor({0.1, 0.9, INFINITY, 0.8, 0.2, 0.4}), y, groups), {"scores[2] = inf is not finite"});
  expect_one_line(fit(scores, y, std::vector<std::string>(6, "x")), {"every example is in group 'x'"});
  expect_one_line(
      [&] { metrics::fit_group_thresholds(scores, y, groups, FairnessConstraint::equal_opportunity, {.tolerance = -0.1}); },
      {"tolerance must be >= 0"});
  auto fitted = metrics::fit_group_thresholds(scores, y, groups, FairnessConstraint::equalized_odds);
  expect_one_line([&] { metrics::apply_group_thresholds(fitted, tensor({0.5, 0.5}), {"a", "d"}); },
                  {"group 'd' (example 1) was not seen by fit_group_thresholds", "'a', 'b', 'c'"});
  expect_one_line([&] { metrics::apply_group_thresholds(fitted, tensor({0.5, 0.5}), {"a"}); },
                  {"groups has 1 values but scores has 2 examples"});

  auto first = metrics::fairness_report(y, pred, groups, {}, quick);
  auto other = metrics::fairness_report(y, pred, {"a", "a", "b", "b", "b", "b"}, {}, quick);
  expect_one_line([&] { metrics::mitigation_cost(first, other); }, {"not on the same data"});
}

}  // namespace
}  // namespace cajal
