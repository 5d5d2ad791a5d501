#include "cajal/metrics/fairness.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <utility>

#include "cajal/core/error.h"
#include "cajal/core/generator.h"
#include "cajal/metrics/inputs.h"
#include "cajal/ops/creation.h"

namespace cajal::metrics {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
// Rates are ratios of counts; two rates closer than this are the same rate.
constexpr double kRateEps = 1e-12;

// ------------------------------------------------------------------ inputs

// Integer labels [N] holding only 0 and 1.
std::vector<int64_t> read_binary(const char* fn, const char* what, const Tensor& t) {
  if (!t.defined()) fail<ValueError>(fn, ": ", what, " is an undefined tensor");
  if (!is_integral(t.dtype(), true))
    fail<DTypeError>(fn, ": ", what, " must hold integer labels 0 and 1, got ", dtype_name(t.dtype()));
  if (t.dim() != 1) fail<ShapeError>(fn, ": ", what, " must have shape [N], got shape ", t.sizes());
  if (t.numel() == 0) fail<ValueError>(fn, ": empty input (", what, " has 0 examples)");
  std::vector<int64_t> v = t.to_vector<int64_t>();
  for (size_t i = 0; i < v.size(); ++i)
    if (v[i] != 0 && v[i] != 1)
      fail<ValueError>(fn, ": ", what, "[", i, "] = ", v[i], " is not a binary label (0 or 1, 1 the favourable outcome)");
  return v;
}

void check_same_length(const char* fn, const char* a, size_t na, const char* b, size_t nb) {
  if (na != nb) fail<ValueError>(fn, ": ", a, " and ", b, " differ in length (", na, " vs ", nb, " examples)");
}

// The groups present, sorted by name, and each example's group as an index into them.
struct GroupIndex {
  std::vector<std::string> names;
  std::vector<int32_t> of;                     // per example
  std::vector<std::vector<int64_t>> members;   // per group, examples in their original order
};

GroupIndex index_groups(const char* fn, const std::vector<std::string>& groups, size_t n) {
  if (groups.size() != n)
    fail<ValueError>(fn, ": groups has ", groups.size(), " values but y_true has ", n,
                     " examples (one attribute value per example)");
  std::map<std::string, int32_t> ids;
  for (const std::string& g : groups) ids.emplace(g, 0);
  GroupIndex index;
  for (auto& [name, id] : ids) {
    id = static_cast<int32_t>(index.names.size());
    index.names.push_back(name);
  }
  if (index.names.size() < 2)
    fail<ValueError>(fn, ": every example is in group '", index.names[0],
                     "'; comparing groups needs at least 2 distinct attribute values");
  index.members.resize(index.names.size());
  index.of.resize(n);
  for (size_t i = 0; i < n; ++i) {
    index.of[i] = ids[groups[i]];
    index.members[static_cast<size_t>(index.of[i])].push_back(static_cast<int64_t>(i));
  }
  return index;
}

// A group without examples of a class has no TPR (class 1) or FPR (class 0).
void check_both_classes(const char* fn, const GroupIndex& index, const std::vector<int64_t>& y_true) {
  for (size_t g = 0; g < index.names.size(); ++g) {
    int64_t positives = 0;
    for (int64_t i : index.members[g]) positives += y_true[static_cast<size_t>(i)];
    auto count = static_cast<int64_t>(index.members[g].size());
    if (positives == 0)
      fail<ValueError>(fn, ": group '", index.names[g], "' has no examples of class 1 (all ", count,
                       " have y_true = 0), so its true positive rate is undefined");
    if (positives == count)
      fail<ValueError>(fn, ": group '", index.names[g], "' has no examples of class 0 (all ", count,
                       " have y_true = 1), so its false positive rate is undefined");
  }
}

std::vector<double> read_probabilities(const char* fn, const Tensor& scores, size_t n) {
  std::vector<double> s = detail::read_values(fn, "scores", scores);
  check_same_length(fn, "scores", s.size(), "y_true", n);
  for (size_t i = 0; i < s.size(); ++i)
    if (s[i] < 0 || s[i] > 1)
      fail<ValueError>(fn, ": scores[", i, "] = ", s[i], " is outside [0, 1] (scores must be probabilities of class 1)");
  return s;
}

std::vector<double> read_finite_scores(const char* fn, const Tensor& scores, size_t n) {
  std::vector<double> s = detail::read_values(fn, "scores", scores);
  check_same_length(fn, "scores", s.size(), "y_true", n);
  for (size_t i = 0; i < s.size(); ++i)
    if (!std::isfinite(s[i])) fail<ValueError>(fn, ": scores[", i, "] = ", s[i], " is not finite");
  return s;
}

// ------------------------------------------------------------------ per-group metrics

CalibrationCurve calibration_curve(const std::vector<double>& scores, const std::vector<int64_t>& y) {
  constexpr int kBins = 10;
  // numpy.linspace(0, 1, 11)[1:-1]: i * 0.1, so 0.30000000000000004 and not 0.3, as sklearn bins.
  double inner[kBins - 1];
  for (int i = 0; i < kBins - 1; ++i) inner[i] = (i + 1) * (1.0 / kBins);
  double sums[kBins] = {}, trues[kBins] = {};
  int64_t totals[kBins] = {};
  for (size_t i = 0; i < scores.size(); ++i) {
    // numpy.searchsorted(inner, p): the number of inner edges below p.
    auto bin = std::lower_bound(inner, inner + (kBins - 1), scores[i]) - inner;
    sums[bin] += scores[i];
    trues[bin] += static_cast<double>(y[i]);
    ++totals[bin];
  }
  CalibrationCurve curve;
  for (int b = 0; b < kBins; ++b) {
    if (totals[b] == 0) continue;
    curve.mean_predicted.push_back(sums[b] / static_cast<double>(totals[b]));
    curve.fraction_positive.push_back(trues[b] / static_cast<double>(totals[b]));
    curve.count.push_back(totals[b]);
  }
  return curve;
}

GroupMetrics group_metrics(std::string name, const std::vector<int64_t>& members, const std::vector<int64_t>& y_true,
                           const std::vector<int64_t>& y_pred, const std::vector<double>* scores) {
  GroupMetrics m;
  m.group = std::move(name);
  m.count = static_cast<int64_t>(members.size());
  for (int64_t i : members) {
    auto k = static_cast<size_t>(i);
    if (y_true[k] == 1) y_pred[k] == 1 ? ++m.true_positives : ++m.false_negatives;
    else y_pred[k] == 1 ? ++m.false_positives : ++m.true_negatives;
  }
  m.positives = m.true_positives + m.false_negatives;
  m.negatives = m.false_positives + m.true_negatives;
  auto n = static_cast<double>(m.count);
  m.selection_rate = static_cast<double>(m.true_positives + m.false_positives) / n;
  m.true_positive_rate = static_cast<double>(m.true_positives) / static_cast<double>(m.positives);
  m.false_positive_rate = static_cast<double>(m.false_positives) / static_cast<double>(m.negatives);
  m.accuracy = static_cast<double>(m.true_positives + m.true_negatives) / n;
  m.base_rate = static_cast<double>(m.positives) / n;
  if (scores) {
    std::vector<double> s;
    std::vector<int64_t> y;
    for (int64_t i : members) {
      s.push_back((*scores)[static_cast<size_t>(i)]);
      y.push_back(y_true[static_cast<size_t>(i)]);
    }
    m.calibration = calibration_curve(s, y);
    double squares = 0;
    for (size_t i = 0; i < s.size(); ++i) squares += (s[i] - static_cast<double>(y[i])) * (s[i] - static_cast<double>(y[i]));
    m.brier = squares / n;
    Tensor st = from_vector(s), yt = from_vector(y);
    m.roc_auc = roc_auc(st, yt);
    m.roc = roc_curve(st, yt);
  }
  return m;
}

// ------------------------------------------------------------------ the gaps

// A group's counts, all that the four gaps need.
struct Counts {
  int64_t count = 0, positives = 0, true_positives = 0, false_positives = 0;
};

struct Gaps {
  double dp_difference = kNaN, dp_ratio = kNaN, eo_difference = kNaN, eopp_difference = kNaN;
};

// Fairlearn's between-groups gaps from the groups' counts; a gap whose rates are undefined in
// some group (a resample without one class there) stays NaN, and so does the ratio when no
// group selects anyone (0 / 0).
Gaps gaps_of(const std::vector<Counts>& groups) {
  double sel_min = kInf, sel_max = -kInf, tpr_min = kInf, tpr_max = -kInf, fpr_min = kInf, fpr_max = -kInf;
  bool rates_defined = true;
  for (const Counts& c : groups) {
    double sel = static_cast<double>(c.true_positives + c.false_positives) / static_cast<double>(c.count);
    sel_min = std::min(sel_min, sel);
    sel_max = std::max(sel_max, sel);
    int64_t negatives = c.count - c.positives;
    if (c.positives == 0 || negatives == 0) {
      rates_defined = false;
      continue;
    }
    double tpr = static_cast<double>(c.true_positives) / static_cast<double>(c.positives);
    double fpr = static_cast<double>(c.false_positives) / static_cast<double>(negatives);
    tpr_min = std::min(tpr_min, tpr);
    tpr_max = std::max(tpr_max, tpr);
    fpr_min = std::min(fpr_min, fpr);
    fpr_max = std::max(fpr_max, fpr);
  }
  Gaps gaps;
  gaps.dp_difference = sel_max - sel_min;
  if (sel_max > 0) gaps.dp_ratio = sel_min / sel_max;
  if (rates_defined) {
    gaps.eopp_difference = tpr_max - tpr_min;
    gaps.eo_difference = std::max(tpr_max - tpr_min, fpr_max - fpr_min);
  }
  return gaps;
}

// numpy.percentile(values, 100 q) with its default linear interpolation; values get sorted.
double percentile(std::vector<double>& values, double q) {
  std::sort(values.begin(), values.end());
  double position = q * static_cast<double>(values.size() - 1);
  auto below = static_cast<size_t>(std::floor(position));
  size_t above = std::min(below + 1, values.size() - 1);
  double t = position - static_cast<double>(below);
  return values[below] + (values[above] - values[below]) * t;
}

Interval interval_of(double value, std::vector<double> resampled, double confidence) {
  Interval interval{value, kNaN, kNaN, 0};
  resampled.erase(std::remove_if(resampled.begin(), resampled.end(), [](double v) { return std::isnan(v); }),
                  resampled.end());
  interval.resamples = static_cast<int64_t>(resampled.size());
  if (resampled.empty()) return interval;
  interval.low = percentile(resampled, (1 - confidence) / 2);
  interval.high = percentile(resampled, (1 + confidence) / 2);
  return interval;
}

}  // namespace

// ------------------------------------------------------------------ public: report

size_t attribute_column_index(const std::vector<std::string>& column_names, const std::string& name) {
  auto it = std::find(column_names.begin(), column_names.end(), name);
  if (it != column_names.end()) return static_cast<size_t>(it - column_names.begin());
  std::string listed;
  for (const std::string& c : column_names) listed += (listed.empty() ? "" : ", ") + c;
  fail<ValueError>("fairness: the sensitive attribute column '", name, "' does not exist (the columns are: ",
                   listed.empty() ? "none" : listed, ")");
}

FairnessReport fairness_report(const Tensor& y_true, const Tensor& y_pred, const std::vector<std::string>& groups,
                               const Tensor& scores, const FairnessOptions& options) {
  const char* fn = "fairness_report";
  if (options.bootstrap < 0) fail<ValueError>(fn, ": bootstrap must be >= 0 resamples, got ", options.bootstrap);
  if (!(options.confidence > 0 && options.confidence < 1))
    fail<ValueError>(fn, ": confidence must be in (0, 1), got ", options.confidence);
  std::vector<int64_t> truth = read_binary(fn, "y_true", y_true);
  std::vector<int64_t> predicted = read_binary(fn, "y_pred", y_pred);
  check_same_length(fn, "y_true", truth.size(), "y_pred", predicted.size());
  GroupIndex index = index_groups(fn, groups, truth.size());
  std::vector<double> probabilities;
  if (scores.defined()) probabilities = read_probabilities(fn, scores, truth.size());
  check_both_classes(fn, index, truth);
  const std::vector<double>* s = scores.defined() ? &probabilities : nullptr;

  FairnessReport report;
  std::vector<Counts> counts;
  for (size_t g = 0; g < index.names.size(); ++g) {
    report.groups.push_back(group_metrics(index.names[g], index.members[g], truth, predicted, s));
    const GroupMetrics& m = report.groups.back();
    counts.push_back({m.count, m.positives, m.true_positives, m.false_positives});
  }
  std::vector<int64_t> everyone(truth.size());
  std::iota(everyone.begin(), everyone.end(), int64_t{0});
  report.overall = group_metrics("overall", everyone, truth, predicted, s);

  // Bootstrap, stratified by group: each resample draws each group's size from that group.
  // Each example is coded 2 * y_true + y_pred, so a draw is one table lookup.
  std::vector<std::vector<uint8_t>> codes(index.names.size());
  for (size_t g = 0; g < index.names.size(); ++g)
    for (int64_t i : index.members[g])
      codes[g].push_back(static_cast<uint8_t>(2 * truth[static_cast<size_t>(i)] + predicted[static_cast<size_t>(i)]));
  const auto B = static_cast<size_t>(options.bootstrap);
  std::vector<double> dp_difference(B), dp_ratio(B), eo_difference(B), eopp_difference(B);
  Generator gen(options.seed);
  std::vector<Counts> resampled(index.names.size());
  for (size_t b = 0; b < B; ++b) {
    for (size_t g = 0; g < codes.size(); ++g) {
      const std::vector<uint8_t>& code = codes[g];
      const auto n = static_cast<double>(code.size());
      int64_t tally[4] = {0, 0, 0, 0};
      for (size_t j = 0; j < code.size(); ++j) {
        auto pick = static_cast<size_t>(gen.next_double() * n);
        ++tally[code[std::min(pick, code.size() - 1)]];
      }
      resampled[g] = {static_cast<int64_t>(code.size()), tally[2] + tally[3], tally[3], tally[1]};
    }
    Gaps gaps = gaps_of(resampled);
    dp_difference[b] = gaps.dp_difference;
    dp_ratio[b] = gaps.dp_ratio;
    eo_difference[b] = gaps.eo_difference;
    eopp_difference[b] = gaps.eopp_difference;
  }
  Gaps point = gaps_of(counts);
  report.demographic_parity_difference = interval_of(point.dp_difference, std::move(dp_difference), options.confidence);
  report.demographic_parity_ratio = interval_of(point.dp_ratio, std::move(dp_ratio), options.confidence);
  report.equalized_odds_difference = interval_of(point.eo_difference, std::move(eo_difference), options.confidence);
  report.equal_opportunity_difference = interval_of(point.eopp_difference, std::move(eopp_difference), options.confidence);
  report.bootstrap_samples = options.bootstrap;
  report.confidence = options.confidence;
  return report;
}

MitigationCost mitigation_cost(const FairnessReport& before, const FairnessReport& after) {
  bool same = before.groups.size() == after.groups.size();
  for (size_t g = 0; same && g < before.groups.size(); ++g)
    same = before.groups[g].group == after.groups[g].group && before.groups[g].count == after.groups[g].count &&
           before.groups[g].positives == after.groups[g].positives;
  if (!same)
    fail<ValueError>("mitigation_cost: the two reports are not on the same data (their groups or class counts "
                     "differ); compare predictions before and after on one evaluation set");
  MitigationCost cost;
  cost.accuracy_before = before.overall.accuracy;
  cost.accuracy_after = after.overall.accuracy;
  cost.accuracy_cost = cost.accuracy_before - cost.accuracy_after;
  cost.demographic_parity_difference_before = before.demographic_parity_difference.value;
  cost.demographic_parity_difference_after = after.demographic_parity_difference.value;
  cost.equalized_odds_difference_before = before.equalized_odds_difference.value;
  cost.equalized_odds_difference_after = after.equalized_odds_difference.value;
  cost.equal_opportunity_difference_before = before.equal_opportunity_difference.value;
  cost.equal_opportunity_difference_after = after.equal_opportunity_difference.value;
  return cost;
}

// ------------------------------------------------------------------ public: reweighing

std::vector<double> reweighing_weights(const Tensor& y_true, const std::vector<std::string>& groups) {
  const char* fn = "reweighing_weights";
  std::vector<int64_t> truth = read_binary(fn, "y_true", y_true);
  GroupIndex index = index_groups(fn, groups, truth.size());
  const size_t G = index.names.size();
  std::vector<int64_t> cell(2 * G, 0);  // [group][label]
  int64_t label_count[2] = {0, 0};
  for (size_t i = 0; i < truth.size(); ++i) {
    ++cell[2 * static_cast<size_t>(index.of[i]) + static_cast<size_t>(truth[i])];
    ++label_count[truth[i]];
  }
  for (size_t g = 0; g < G; ++g)
    for (int y = 0; y < 2; ++y)
      if (cell[2 * g + static_cast<size_t>(y)] == 0)
        fail<ValueError>(fn, ": group '", index.names[g], "' has no examples of class ", y,
                         ", so no weight can make its label rate match the others' (reweighing needs every "
                         "group to have examples of both classes)");
  const auto n = static_cast<double>(truth.size());
  std::vector<double> weights(truth.size());
  for (size_t i = 0; i < truth.size(); ++i) {
    auto g = static_cast<size_t>(index.of[i]);
    auto y = static_cast<size_t>(truth[i]);
    auto group_size = static_cast<double>(index.members[g].size());
    weights[i] = group_size * static_cast<double>(label_count[y]) / (n * static_cast<double>(cell[2 * g + y]));
  }
  return weights;
}

// ------------------------------------------------------------------ public: thresholds

namespace {

// The ROC points of a set of examples in counts: point k predicts 1 for scores >= threshold[k];
// point 0 has threshold +inf (no one), then one point per distinct score from the highest down.
struct RocPoints {
  std::vector<double> threshold;
  std::vector<int64_t> true_positives, false_positives;
  int64_t positives = 0, negatives = 0;
};

RocPoints roc_points(const std::vector<double>& scores, const std::vector<int64_t>& y, const std::vector<int64_t>& members) {
  std::vector<int64_t> order = members;
  std::sort(order.begin(), order.end(),
            [&](int64_t a, int64_t b) { return scores[static_cast<size_t>(a)] > scores[static_cast<size_t>(b)]; });
  RocPoints roc;
  roc.threshold.push_back(kInf);
  roc.true_positives.push_back(0);
  roc.false_positives.push_back(0);
  int64_t tp = 0, fp = 0;
  for (size_t i = 0; i < order.size();) {
    double t = scores[static_cast<size_t>(order[i])];
    for (; i < order.size() && scores[static_cast<size_t>(order[i])] == t; ++i)
      y[static_cast<size_t>(order[i])] == 1 ? ++tp : ++fp;
    roc.threshold.push_back(t);
    roc.true_positives.push_back(tp);
    roc.false_positives.push_back(fp);
  }
  roc.positives = tp;
  roc.negatives = fp;
  return roc;
}

// Correct predictions of ROC point k: true positives plus true negatives.
int64_t correct_at(const RocPoints& roc, size_t k) { return roc.true_positives[k] + roc.negatives - roc.false_positives[k]; }

// The probability of predicting 1 that `rule` gives a score.
double probability_of(const GroupThreshold& rule, double score) {
  if (score >= rule.high) return rule.p_high;
  if (score >= rule.low) return rule.p_middle;
  return rule.p_low;
}

// Fills the rule's expected TPR, FPR and accuracy on the group's examples; returns its expected
// number of correct predictions.
double fill_expected_rates(GroupThreshold& rule, const std::vector<double>& scores, const std::vector<int64_t>& y,
                           const std::vector<int64_t>& members) {
  double tp = 0, fp = 0;
  int64_t positives = 0;
  for (int64_t i : members) {
    double p = probability_of(rule, scores[static_cast<size_t>(i)]);
    if (y[static_cast<size_t>(i)] == 1) tp += p, ++positives;
    else fp += p;
  }
  auto negatives = static_cast<int64_t>(members.size()) - positives;
  rule.true_positive_rate = tp / static_cast<double>(positives);
  rule.false_positive_rate = fp / static_cast<double>(negatives);
  double correct = tp + (static_cast<double>(negatives) - fp);
  rule.accuracy = correct / static_cast<double>(members.size());
  return correct;
}

GroupThreshold deterministic_rule(const std::string& group, double threshold) {
  GroupThreshold rule;
  rule.group = group;
  rule.low = rule.high = threshold;
  rule.p_low = 0;
  rule.p_middle = rule.p_high = 1;
  return rule;
}

// Argmax over ranges of a fixed array in O(1) per query (a sparse table), for the equal
// opportunity search's many windows. The first of equal maxima wins.
class RangeArgmax {
 public:
  explicit RangeArgmax(const std::vector<int64_t>& values) : values_(values) {
    size_t n = values.size();
    table_.push_back(std::vector<size_t>(n));
    std::iota(table_[0].begin(), table_[0].end(), size_t{0});
    for (size_t width = 2; width <= n; width *= 2) {
      const std::vector<size_t>& prev = table_.back();
      std::vector<size_t> level(n - width + 1);
      for (size_t i = 0; i + width <= n; ++i) level[i] = better(prev[i], prev[i + width / 2]);
      table_.push_back(std::move(level));
    }
  }
  // Index of the largest value in [lo, hi] (inclusive, lo <= hi).
  size_t query(size_t lo, size_t hi) const {
    size_t level = 0;
    while ((size_t{2} << level) <= hi - lo + 1) ++level;
    return better(table_[level][lo], table_[level][hi + 1 - (size_t{1} << level)]);
  }

 private:
  size_t better(size_t a, size_t b) const {
    if (values_[a] != values_[b]) return values_[a] > values_[b] ? a : b;
    return std::min(a, b);
  }
  std::vector<int64_t> values_;
  std::vector<std::vector<size_t>> table_;
};

// Equal opportunity: for each window [L, L + tolerance] of TPR (L running over every TPR some
// group reaches, since the lowest TPR of any feasible choice is one of them), each group takes
// its most accurate ROC point with TPR in the window.
void fit_equal_opportunity(GroupThresholds& out, const GroupIndex& index, const std::vector<RocPoints>& rocs,
                           const ThresholdOptions& options) {
  const char* fn = "fit_group_thresholds";
  const size_t G = rocs.size();
  std::vector<std::vector<double>> tpr(G);
  std::vector<std::vector<int64_t>> correct(G);
  int64_t fewest_positives = std::numeric_limits<int64_t>::max();
  std::vector<double> lows;
  for (size_t g = 0; g < G; ++g) {
    for (size_t k = 0; k < rocs[g].threshold.size(); ++k) {
      tpr[g].push_back(static_cast<double>(rocs[g].true_positives[k]) / static_cast<double>(rocs[g].positives));
      correct[g].push_back(correct_at(rocs[g], k));
    }
    fewest_positives = std::min(fewest_positives, rocs[g].positives);
    lows.insert(lows.end(), tpr[g].begin(), tpr[g].end());
  }
  std::sort(lows.begin(), lows.end());
  lows.erase(std::unique(lows.begin(), lows.end()), lows.end());
  double tolerance = options.tolerance.value_or(1.0 / static_cast<double>(fewest_positives));
  if (!(tolerance >= 0)) fail<ValueError>(fn, ": tolerance must be >= 0, got ", tolerance);

  std::vector<RangeArgmax> best_in(correct.begin(), correct.end());
  // The window from L = 0 always has a choice (TPR 0, threshold +inf, in every group), so
  // some window is feasible whatever the tolerance.
  int64_t best_correct = -1;
  double best_gap = kInf;
  std::vector<size_t> best_choice(G), choice(G);
  for (double low : lows) {
    bool feasible = true;
    for (size_t g = 0; g < G; ++g) {
      auto first = std::lower_bound(tpr[g].begin(), tpr[g].end(), low - kRateEps) - tpr[g].begin();
      auto last = std::upper_bound(tpr[g].begin(), tpr[g].end(), low + tolerance + kRateEps) - tpr[g].begin() - 1;
      if (last < first) feasible = false;
      else choice[g] = best_in[g].query(static_cast<size_t>(first), static_cast<size_t>(last));
    }
    if (!feasible) continue;
    int64_t total = 0;
    double lo = kInf, hi = -kInf;
    for (size_t g = 0; g < G; ++g) {
      total += correct[g][choice[g]];
      lo = std::min(lo, tpr[g][choice[g]]);
      hi = std::max(hi, tpr[g][choice[g]]);
    }
    if (total > best_correct || (total == best_correct && hi - lo < best_gap)) {
      best_correct = total;
      best_gap = hi - lo;
      best_choice = choice;
    }
  }
  out.tolerance = tolerance;
  for (size_t g = 0; g < G; ++g) out.groups.push_back(deterministic_rule(index.names[g], rocs[g].threshold[best_choice[g]]));
}

// A vertex of a group's ROC convex hull: rates and the threshold of the ROC point it is.
struct HullVertex {
  double x, y;  // FPR, TPR
  double threshold;
};

// The upper convex hull of a group's ROC points, from FPR 0 to 1: a concave, increasing curve.
// Built on the integer counts (the sign of each turn is exact; scaling an axis by a positive
// factor keeps it), then scaled to rates. At FPR 0 only the highest point is kept.
std::vector<HullVertex> roc_hull(const RocPoints& roc) {
  std::vector<size_t> hull;
  for (size_t k = 0; k < roc.threshold.size(); ++k) {
    while (hull.size() >= 2) {
      size_t o = hull[hull.size() - 2], a = hull.back();
      int64_t ax = roc.false_positives[a] - roc.false_positives[o], ay = roc.true_positives[a] - roc.true_positives[o];
      int64_t bx = roc.false_positives[k] - roc.false_positives[o], by = roc.true_positives[k] - roc.true_positives[o];
      if (ax * by - ay * bx < 0) break;  // a clockwise turn at a: a stays on the upper hull
      hull.pop_back();
    }
    hull.push_back(k);
  }
  while (hull.size() >= 2 && roc.false_positives[hull[1]] == roc.false_positives[hull[0]]) hull.erase(hull.begin());
  std::vector<HullVertex> vertices;
  for (size_t k : hull)
    vertices.push_back({static_cast<double>(roc.false_positives[k]) / static_cast<double>(roc.negatives),
                        static_cast<double>(roc.true_positives[k]) / static_cast<double>(roc.positives),
                        roc.threshold[k]});
  return vertices;
}

// The segment of the hull over FPR x: vertices j and j + 1 with x_j <= x <= x_{j+1} (j + 1 is
// the last vertex at x = 1).
size_t hull_segment(const std::vector<HullVertex>& hull, double x) {
  auto it = std::upper_bound(hull.begin(), hull.end(), x, [](double v, const HullVertex& h) { return v < h.x; });
  auto j = static_cast<size_t>(it - hull.begin());
  return j == 0 ? 0 : std::min(j - 1, hull.size() - 2);
}

double hull_at(const std::vector<HullVertex>& hull, double x) {
  size_t j = hull_segment(hull, x);
  const HullVertex &a = hull[j], &b = hull[j + 1];
  if (x <= a.x) return a.y;
  if (x >= b.x) return b.y;
  return a.y + (b.y - a.y) * (x - a.x) / (b.x - a.x);
}

// Equalized odds (Hardt et al. 2016): the common point (x, y) must lie under every group's hull,
// and accuracy, P y + N (1 - x) over the whole data, grows with y, so for each x the best y is
// the lowest hull there. That lower envelope is piecewise linear and the accuracy linear along
// each piece, so the best x is a breakpoint: a hull vertex or a crossing of two hulls.
void fit_equalized_odds(GroupThresholds& out, const GroupIndex& index, const std::vector<RocPoints>& rocs) {
  const size_t G = rocs.size();
  std::vector<std::vector<HullVertex>> hulls;
  std::vector<double> xs;
  int64_t positives = 0, negatives = 0;
  for (const RocPoints& roc : rocs) {
    hulls.push_back(roc_hull(roc));
    for (const HullVertex& v : hulls.back()) xs.push_back(v.x);
    positives += roc.positives;
    negatives += roc.negatives;
  }
  std::sort(xs.begin(), xs.end());
  xs.erase(std::unique(xs.begin(), xs.end()), xs.end());
  std::vector<double> candidates = xs;
  std::vector<double> at0(G), at1(G);
  for (size_t i = 0; i + 1 < xs.size(); ++i) {
    for (size_t g = 0; g < G; ++g) {
      at0[g] = hull_at(hulls[g], xs[i]);
      at1[g] = hull_at(hulls[g], xs[i + 1]);
    }
    for (size_t g = 0; g < G; ++g)
      for (size_t h = g + 1; h < G; ++h) {
        double d0 = at0[g] - at0[h], d1 = at1[g] - at1[h];
        if (d0 * d1 < 0) candidates.push_back(xs[i] + (xs[i + 1] - xs[i]) * d0 / (d0 - d1));
      }
  }
  auto envelope = [&](double x) {
    double y = kInf;
    for (const auto& hull : hulls) y = std::min(y, hull_at(hull, x));
    return y;
  };
  double best_x = 0, best_y = envelope(0), best_value = -kInf;
  for (double x : candidates) {
    double y = envelope(x);
    double value = static_cast<double>(positives) * y - static_cast<double>(negatives) * x;
    if (value > best_value) best_value = value, best_x = x, best_y = y;
  }
  out.target_false_positive_rate = best_x;
  out.target_true_positive_rate = best_y;
  for (size_t g = 0; g < G; ++g) {
    const std::vector<HullVertex>& hull = hulls[g];
    size_t j = hull_segment(hull, best_x);
    const HullVertex &a = hull[j], &b = hull[j + 1];
    // The hull point over best_x: threshold a.threshold with probability 1 - lambda, else b's.
    double lambda = best_x <= a.x ? 0.0 : best_x >= b.x ? 1.0 : (best_x - a.x) / (b.x - a.x);
    double y_hull = a.y + (b.y - a.y) * lambda;
    // Down to best_y by mixing in, with probability p, a constant predictor that says 1 with
    // probability best_x (the point (best_x, best_x) on the diagonal, under every hull).
    double p = y_hull - best_x > kRateEps ? std::clamp((y_hull - best_y) / (y_hull - best_x), 0.0, 1.0) : 0.0;
    GroupThreshold rule;
    rule.group = index.names[g];
    rule.p_high = (1 - p) + p * best_x;
    rule.p_low = p * best_x;
    if (lambda == 0.0 || lambda == 1.0) {
      rule.low = rule.high = lambda == 0.0 ? a.threshold : b.threshold;
      rule.p_middle = rule.p_high;
    } else {
      rule.high = a.threshold;
      rule.low = b.threshold;
      rule.p_middle = (1 - p) * lambda + p * best_x;
    }
    out.groups.push_back(rule);
  }
  out.tolerance = 0;
}

// The rule of each example's group; a group not seen at fit time is an error.
std::vector<const GroupThreshold*> rules_for(const char* fn, const GroupThresholds& thresholds,
                                             const std::vector<std::string>& groups) {
  std::map<std::string, const GroupThreshold*> by_name;
  for (const GroupThreshold& rule : thresholds.groups) by_name[rule.group] = &rule;
  std::vector<const GroupThreshold*> rules(groups.size());
  for (size_t i = 0; i < groups.size(); ++i) {
    auto it = by_name.find(groups[i]);
    if (it == by_name.end()) {
      std::string fitted;
      for (const GroupThreshold& rule : thresholds.groups) fitted += (fitted.empty() ? "'" : ", '") + rule.group + "'";
      fail<ValueError>(fn, ": group '", groups[i], "' (example ", i, ") was not seen by fit_group_thresholds (it fitted ",
                       fitted.empty() ? "no groups" : fitted, ")");
    }
    rules[i] = it->second;
  }
  return rules;
}

}  // namespace

GroupThresholds fit_group_thresholds(const Tensor& scores, const Tensor& y_true, const std::vector<std::string>& groups,
                                     FairnessConstraint constraint, const ThresholdOptions& options) {
  const char* fn = "fit_group_thresholds";
  std::vector<int64_t> truth = read_binary(fn, "y_true", y_true);
  std::vector<double> s = read_finite_scores(fn, scores, truth.size());
  GroupIndex index = index_groups(fn, groups, truth.size());
  check_both_classes(fn, index, truth);
  std::vector<RocPoints> rocs;
  for (const auto& members : index.members) rocs.push_back(roc_points(s, truth, members));

  GroupThresholds out;
  out.constraint = constraint;
  if (constraint == FairnessConstraint::equal_opportunity) fit_equal_opportunity(out, index, rocs, options);
  else fit_equalized_odds(out, index, rocs);

  double correct = 0;
  for (size_t g = 0; g < out.groups.size(); ++g) correct += fill_expected_rates(out.groups[g], s, truth, index.members[g]);
  out.accuracy = correct / static_cast<double>(truth.size());
  if (constraint == FairnessConstraint::equal_opportunity) {
    double sum = 0;
    for (const GroupThreshold& rule : out.groups) sum += rule.true_positive_rate;
    out.target_true_positive_rate = sum / static_cast<double>(out.groups.size());
  }
  std::vector<int64_t> everyone(truth.size());
  std::iota(everyone.begin(), everyone.end(), int64_t{0});
  RocPoints all = roc_points(s, truth, everyone);
  int64_t best = 0;
  for (size_t k = 0; k < all.threshold.size(); ++k) best = std::max(best, correct_at(all, k));
  out.single_threshold_accuracy = static_cast<double>(best) / static_cast<double>(truth.size());
  return out;
}

Tensor group_threshold_probabilities(const GroupThresholds& thresholds, const Tensor& scores,
                                     const std::vector<std::string>& groups) {
  const char* fn = "group_threshold_probabilities";
  std::vector<double> s = detail::read_values(fn, "scores", scores);
  if (groups.size() != s.size())
    fail<ValueError>(fn, ": groups has ", groups.size(), " values but scores has ", s.size(), " examples");
  std::vector<const GroupThreshold*> rules = rules_for(fn, thresholds, groups);
  std::vector<double> p(s.size());
  for (size_t i = 0; i < s.size(); ++i) p[i] = probability_of(*rules[i], s[i]);
  return from_vector(p);
}

Tensor apply_group_thresholds(const GroupThresholds& thresholds, const Tensor& scores,
                              const std::vector<std::string>& groups, uint64_t seed) {
  const char* fn = "apply_group_thresholds";
  std::vector<double> s = detail::read_values(fn, "scores", scores);
  if (groups.size() != s.size())
    fail<ValueError>(fn, ": groups has ", groups.size(), " values but scores has ", s.size(), " examples");
  std::vector<const GroupThreshold*> rules = rules_for(fn, thresholds, groups);
  Generator gen(seed);
  std::vector<int64_t> predicted(s.size());
  for (size_t i = 0; i < s.size(); ++i) predicted[i] = gen.next_double() < probability_of(*rules[i], s[i]) ? 1 : 0;
  return from_vector(predicted);
}

}  // namespace cajal::metrics
