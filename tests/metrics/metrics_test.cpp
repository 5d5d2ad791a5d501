// Metrics against scikit-learn: random inputs from several seeds plus edge cases (a class
// never predicted, a class absent from the targets, a single class present, tied scores,
// perfect and worst predictions, constant regression targets) are written as .npy files,
// tests/reference/metrics_reference.py computes sklearn's results beside them, and every
// float64 result must match to 1e-12. The meters must equal the functions on the
// concatenated batches, and bad inputs must fail with a message naming the metric.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <random>
#include <string>
#include <vector>

#include "cajal/io/npy.h"
#include "cajal/metrics/metrics.h"
#include "support/test_support.h"

namespace cajal {
namespace {

using metrics::Average;

constexpr double kTolerance = 1e-12;

// |actual - expected| <= tolerance * max(1, |expected|); NaN matches only NaN.
::testing::AssertionResult matches(double actual, double expected, double tolerance = kTolerance) {
  if (std::isnan(actual) && std::isnan(expected)) return ::testing::AssertionSuccess();
  if (std::fabs(actual - expected) <= tolerance * std::max(1.0, std::fabs(expected)))
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << std::setprecision(17) << actual << " vs sklearn's " << expected
                                       << " (difference " << actual - expected << ")";
}

Tensor labels_tensor(const std::vector<int64_t>& v) { return from_vector(v); }

// ------------------------------------------------------------------ cases

struct Case {
  std::string id;
  std::string kind;  // labels, scores, probs, binary, regression (see metrics_reference.py)
  int64_t num_classes;
};

// The cases, their inputs and sklearn's results, in one directory built once per run.
class Reference {
 public:
  Reference() : dir_(test::temp_dir()) {
    for (unsigned seed = 1; seed <= 5; ++seed) add_random_cases(seed);
    add_edge_cases();
    std::ofstream list(dir_ + "/cases.txt");
    for (const Case& c : cases_) list << c.id << " " << c.kind << " " << c.num_classes << "\n";
    list.close();
    test::run_reference("metrics_reference.py", dir_);
  }

  std::vector<Case> of_kind(const std::string& kind) const {
    std::vector<Case> selected;
    for (const Case& c : cases_)
      if (c.kind == kind) selected.push_back(c);
    return selected;
  }
  // An input or result file of a case: <id>_<name>.npy.
  Tensor load(const Case& c, const std::string& name) const { return load_npy(dir_ + "/" + c.id + "_" + name + ".npy"); }

 private:
  void add(const std::string& id, const std::string& kind, int64_t num_classes,
           std::initializer_list<std::pair<const char*, Tensor>> inputs) {
    for (const auto& [name, t] : inputs) save_npy(t, dir_ + "/" + id + "_" + name + ".npy");
    cases_.push_back({id, kind, num_classes});
  }

  // Labels uniform in [low, high).
  std::vector<int64_t> uniform_labels(int64_t n, int64_t low, int64_t high) {
    std::uniform_int_distribution<int64_t> dist(low, high - 1);
    std::vector<int64_t> v(static_cast<size_t>(n));
    for (int64_t& x : v) x = dist(rng_);
    return v;
  }
  // Uniform labels in [0, C) whose first samples are 0, 1, ..., present - 1 (so those classes occur).
  std::vector<int64_t> labels_with_first(int64_t n, int64_t classes, int64_t present) {
    std::vector<int64_t> v = uniform_labels(n, 0, classes);
    for (int64_t c = 0; c < present; ++c) v[static_cast<size_t>(c)] = c;
    return v;
  }
  std::vector<double> normal(int64_t n, double mean = 0, double stddev = 1) {
    std::normal_distribution<double> dist(mean, stddev);
    std::vector<double> v(static_cast<size_t>(n));
    for (double& x : v) x = dist(rng_);
    return v;
  }
  int64_t uniform_int(int64_t low, int64_t high) { return std::uniform_int_distribution<int64_t>(low, high)(rng_); }
  // Scores [N, C]: normal noise, plus `boost` on each sample's target class.
  Tensor scores_for(const std::vector<int64_t>& truth, int64_t classes, double boost) {
    auto n = static_cast<int64_t>(truth.size());
    std::vector<double> s = normal(n * classes);
    for (int64_t i = 0; i < n; ++i) s[static_cast<size_t>(i * classes + truth[static_cast<size_t>(i)])] += boost;
    return from_vector(s, {n, classes});
  }
  // One-hot rows [N, C] of `hot`, scaled.
  static Tensor one_hot(const std::vector<int64_t>& hot, int64_t classes, double scale = 1.0) {
    auto n = static_cast<int64_t>(hot.size());
    std::vector<double> s(static_cast<size_t>(n * classes), 0.0);
    for (int64_t i = 0; i < n; ++i) s[static_cast<size_t>(i * classes + hot[static_cast<size_t>(i)])] = scale;
    return from_vector(s, {n, classes});
  }
  static std::vector<int64_t> shifted(const std::vector<int64_t>& labels, int64_t classes) {
    std::vector<int64_t> v = labels;
    for (int64_t& x : v) x = (x + 1) % classes;
    return v;
  }

  void add_random_cases(unsigned seed) {
    rng_.seed(seed);
    std::string s = std::to_string(seed);
    {  // predictions right 60% of the time, else uniform
      int64_t C = uniform_int(2, 7), n = uniform_int(1, 300);
      std::vector<int64_t> truth = uniform_labels(n, 0, C), pred = uniform_labels(n, 0, C);
      std::bernoulli_distribution right(0.6);
      for (size_t i = 0; i < truth.size(); ++i)
        if (right(rng_)) pred[i] = truth[i];
      add("labels_seed" + s, "labels", C, {{"true", labels_tensor(truth)}, {"pred", labels_tensor(pred)}});
    }
    {  // top-k needs three classes in the targets (sklearn treats two as a binary problem)
      int64_t C = uniform_int(3, 6), n = uniform_int(3, 200);
      std::vector<int64_t> truth = labels_with_first(n, C, 3);
      add("scores_seed" + s, "scores", C, {{"true", labels_tensor(truth)}, {"scores", scores_for(truth, C, 1.5)}});
    }
    {  // every class present, so that every one-vs-rest ROC AUC is defined
      int64_t C = uniform_int(3, 6), n = uniform_int(C + 1, 200);
      std::vector<int64_t> truth = labels_with_first(n, C, C);
      add("probs_seed" + s, "probs", C, {{"true", labels_tensor(truth)}, {"probs", softmax(scores_for(truth, C, 1.0), 1)}});
    }
    {
      int64_t n = uniform_int(2, 200);
      std::vector<int64_t> truth = labels_with_first(n, 2, 2);
      std::vector<double> logits = normal(n);
      for (size_t i = 0; i < logits.size(); ++i) logits[i] = 1 / (1 + std::exp(-(logits[i] + truth[i])));
      add("binary_seed" + s, "binary", 2, {{"true", labels_tensor(truth)}, {"scores", from_vector(logits)}});
    }
    {
      int64_t n = uniform_int(2, 300);
      std::vector<double> truth = normal(n, 5, 3), pred = normal(n);
      for (size_t i = 0; i < pred.size(); ++i) pred[i] += truth[i];
      add("regression_seed" + s, "regression", 0, {{"true", from_vector(truth)}, {"pred", from_vector(pred)}});
    }
  }

  void add_edge_cases() {
    rng_.seed(99);
    auto labels_case = [&](const std::string& id, int64_t C, const std::vector<int64_t>& truth,
                           const std::vector<int64_t>& pred) {
      add(id, "labels", C, {{"true", labels_tensor(truth)}, {"pred", labels_tensor(pred)}});
    };
    std::vector<int64_t> all4 = labels_with_first(40, 4, 4), all5 = labels_with_first(50, 5, 5);
    labels_case("never_predicted", 4, all4, uniform_labels(40, 0, 3));
    labels_case("absent_from_targets", 4, uniform_labels(40, 0, 3), all4);
    labels_case("absent_everywhere", 5, uniform_labels(40, 0, 4), uniform_labels(40, 0, 4));
    labels_case("single_class_perfect", 3, std::vector<int64_t>(10, 1), std::vector<int64_t>(10, 1));
    labels_case("single_class_mixed", 3, std::vector<int64_t>(12, 2), uniform_labels(12, 0, 3));
    labels_case("one_class_only", 1, std::vector<int64_t>(5, 0), std::vector<int64_t>(5, 0));
    labels_case("perfect_labels", 5, all5, all5);
    labels_case("worst_labels", 5, all5, shifted(all5, 5));
    labels_case("one_sample", 3, {2}, {0});

    auto scores_case = [&](const std::string& id, const std::vector<int64_t>& truth, const Tensor& scores) {
      add(id, "scores", scores.size(1), {{"true", labels_tensor(truth)}, {"scores", scores}});
    };
    std::vector<int64_t> truth4 = labels_with_first(60, 4, 3);
    std::vector<double> small_integers(240);
    for (double& x : small_integers) x = static_cast<double>(uniform_int(0, 2));
    scores_case("tied_scores", truth4, from_vector(small_integers, {60, 4}));
    scores_case("all_equal_scores", truth4, zeros({60, 4}, {.dtype = DType::f64}));
    scores_case("perfect_scores", truth4, one_hot(truth4, 4, 5.0));
    scores_case("worst_scores", truth4, one_hot(truth4, 4, -5.0));

    auto probs_case = [&](const std::string& id, const std::vector<int64_t>& truth, const Tensor& probs) {
      add(id, "probs", probs.size(1), {{"true", labels_tensor(truth)}, {"probs", probs}});
    };
    // Rows are permutations of dyadic values, so equal probabilities are bit-for-bit equal.
    std::vector<double> tied;
    for (int64_t i = 0; i < 40; ++i) {
      std::vector<double> row = {0.5, 0.25, 0.125, 0.125};
      std::shuffle(row.begin(), row.end(), rng_);
      tied.insert(tied.end(), row.begin(), row.end());
    }
    probs_case("tied_probs", all4, from_vector(tied, {40, 4}));
    probs_case("perfect_probs", all4, one_hot(all4, 4));
    probs_case("worst_probs", all4, one_hot(shifted(all4, 4), 4));
    std::vector<int64_t> three_of_four = uniform_labels(40, 0, 3);
    probs_case("class_absent_probs", three_of_four, softmax(scores_for(three_of_four, 4, 1.0), 1));
    std::vector<int64_t> only_ones(20, 1);
    probs_case("single_class_probs", only_ones, softmax(scores_for(only_ones, 3, 1.0), 1));
    probs_case("float32_probs", all5, softmax(scores_for(all5, 5, 1.0), 1).to(DType::f32));
    probs_case("float32_worst_probs", all4, one_hot(shifted(all4, 4), 4).to(DType::f32));

    auto binary_case = [&](const std::string& id, const std::vector<int64_t>& truth, const Tensor& scores) {
      add(id, "binary", 2, {{"true", labels_tensor(truth)}, {"scores", scores}});
    };
    std::vector<int64_t> truth2 = labels_with_first(50, 2, 2);
    std::vector<double> coarse(50), as_double(truth2.begin(), truth2.end()), flipped(50);
    for (size_t i = 0; i < coarse.size(); ++i) {
      coarse[i] = 0.2 * static_cast<double>(uniform_int(1, 2) + truth2[i]);  // 0.2, 0.4 or 0.6: many ties
      flipped[i] = 1.0 - as_double[i];
    }
    binary_case("tied_binary", truth2, from_vector(coarse));
    binary_case("perfect_binary", truth2, from_vector(as_double));
    binary_case("worst_binary", truth2, from_vector(flipped));
    binary_case("constant_binary", truth2, full({50}, 0.5, {.dtype = DType::f64}));
    binary_case("single_class_binary", std::vector<int64_t>(10, 1), from_vector(normal(10, 0.5, 0.1)));
    binary_case("float32_binary", truth2, from_vector(coarse).to(DType::f32));

    auto regression_case = [&](const std::string& id, const std::vector<double>& truth, const std::vector<double>& pred) {
      add(id, "regression", 0, {{"true", from_vector(truth)}, {"pred", from_vector(pred)}});
    };
    std::vector<double> values = normal(30, 1, 2), negated = values;
    for (double& x : negated) x = -x;
    regression_case("constant_targets_perfect", std::vector<double>(20, 2.5), std::vector<double>(20, 2.5));
    regression_case("constant_targets", std::vector<double>(20, 2.5), normal(20, 2.5, 1));
    regression_case("perfect_regression", values, values);
    regression_case("worst_regression", values, negated);
    regression_case("one_sample_regression", {1.5}, {0.25});
    regression_case("offset_regression", normal(100, 1e4, 1), normal(100, 1e4, 1));
  }

  std::string dir_;
  std::vector<Case> cases_;
  std::mt19937_64 rng_;
};

const Reference& reference() {
  static const Reference r;
  return r;
}

// Precision, recall and F1 as [3, C] rows, and the averages as [3, 3] (macro, micro, weighted).
Tensor per_class_rows(const metrics::PrecisionRecallF1& s) {
  return stack({s.precision, s.recall, s.f1});
}
Tensor averaged_rows(const metrics::PrecisionRecallF1& s) {
  std::vector<double> v;
  for (const auto* a : {&s.macro, &s.micro, &s.weighted}) v.insert(v.end(), {a->precision, a->recall, a->f1});
  return from_vector(v, {3, 3});
}

// ------------------------------------------------------------------ functions vs sklearn

TEST(Metrics, LabelMetricsMatchSklearn) {
  const Reference& ref = reference();
  ASSERT_GE(ref.of_kind("labels").size(), 14u);
  for (const Case& c : ref.of_kind("labels")) {
    SCOPED_TRACE(c.id);
    Tensor truth = ref.load(c, "true"), pred = ref.load(c, "pred");
    EXPECT_TRUE(matches(metrics::accuracy(pred, truth), ref.load(c, "accuracy").item()));
    Tensor confusion = metrics::confusion_matrix(pred, truth, c.num_classes);
    EXPECT_EQ(confusion.dtype(), DType::i64);
    EXPECT_TRUE(test::all_close(confusion, ref.load(c, "confusion"), 0, 0));
    // Inferred, the class count is the largest label + 1: the top-left block of sklearn's.
    Tensor inferred = metrics::confusion_matrix(pred, truth);
    int64_t k = inferred.size(0);
    EXPECT_TRUE(test::all_close(inferred, ref.load(c, "confusion").slice(0, 0, k).slice(1, 0, k), 0, 0));
    for (double zd : {0.0, 1.0}) {
      SCOPED_TRACE("zero_division " + std::to_string(zd));
      std::string suffix = zd == 0.0 ? "_zd0" : "_zd1";
      metrics::PrecisionRecallF1 s =
          metrics::precision_recall_f1(pred, truth, {.num_classes = c.num_classes, .zero_division = zd});
      EXPECT_TRUE(test::all_close(per_class_rows(s), ref.load(c, "per_class" + suffix), kTolerance, kTolerance));
      EXPECT_TRUE(test::all_close(s.support, ref.load(c, "support"), 0, 0));
      Tensor averaged = ref.load(c, "averaged" + suffix);
      EXPECT_TRUE(test::all_close(averaged_rows(s), averaged, kTolerance, kTolerance));
      // The single-number functions give the same averages.
      Average averages[] = {Average::Macro, Average::Micro, Average::Weighted};
      for (int64_t a = 0; a < 3; ++a) {
        metrics::PrecisionRecallF1Options options{.num_classes = c.num_classes, .zero_division = zd};
        EXPECT_TRUE(matches(metrics::precision(pred, truth, averages[a], options), averaged.at<double>({a, 0})));
        EXPECT_TRUE(matches(metrics::recall(pred, truth, averages[a], options), averaged.at<double>({a, 1})));
        EXPECT_TRUE(matches(metrics::f1_score(pred, truth, averages[a], options), averaged.at<double>({a, 2})));
      }
    }
  }
}

TEST(Metrics, ScoreMetricsMatchSklearn) {
  const Reference& ref = reference();
  ASSERT_GE(ref.of_kind("scores").size(), 9u);
  for (const Case& c : ref.of_kind("scores")) {
    SCOPED_TRACE(c.id);
    Tensor truth = ref.load(c, "true"), scores = ref.load(c, "scores");
    // Accuracy of the row maxima, the first of equal maxima as numpy.argmax.
    EXPECT_TRUE(matches(metrics::accuracy(scores, truth), ref.load(c, "accuracy").item()));
    std::vector<double> top_k = ref.load(c, "top_k").to_vector<double>();
    for (int64_t k = 1; k <= c.num_classes; ++k)
      EXPECT_TRUE(matches(metrics::top_k_accuracy(scores, truth, k), top_k[static_cast<size_t>(k - 1)])) << "k = " << k;
  }
}

TEST(Metrics, ProbabilityMetricsMatchSklearn) {
  const Reference& ref = reference();
  ASSERT_GE(ref.of_kind("probs").size(), 12u);
  int64_t undefined = 0;
  for (const Case& c : ref.of_kind("probs")) {
    SCOPED_TRACE(c.id);
    Tensor truth = ref.load(c, "true"), probs = ref.load(c, "probs");
    // sklearn computes float32 probabilities in float32; cajal in float64 with float32's eps.
    double tolerance = probs.dtype() == DType::f32 ? 1e-6 : kTolerance;
    EXPECT_TRUE(matches(metrics::log_loss(probs, truth), ref.load(c, "log_loss").item(), tolerance));
    std::vector<double> auc = ref.load(c, "roc_auc").to_vector<double>();
    Average averages[] = {Average::Macro, Average::Weighted, Average::Micro};
    for (size_t a = 0; a < 3; ++a) {
      SCOPED_TRACE("average " + std::to_string(a));
      if (std::isnan(auc[a])) {  // sklearn raised: a class has no positives or no negatives
        ++undefined;
        test::expect_error<ValueError>([&] { metrics::roc_auc_ovr(probs, truth, averages[a]); },
                                       {"roc_auc_ovr: class ", "undefined"});
      } else {
        EXPECT_TRUE(matches(metrics::roc_auc_ovr(probs, truth, averages[a]), auc[a]));
      }
    }
  }
  EXPECT_EQ(undefined, 4);  // macro and weighted of class_absent_probs and single_class_probs
}

TEST(Metrics, BinaryMetricsMatchSklearn) {
  const Reference& ref = reference();
  ASSERT_GE(ref.of_kind("binary").size(), 11u);
  for (const Case& c : ref.of_kind("binary")) {
    SCOPED_TRACE(c.id);
    Tensor truth = ref.load(c, "true"), scores = ref.load(c, "scores");
    double tolerance = scores.dtype() == DType::f32 ? 1e-6 : kTolerance;
    EXPECT_TRUE(matches(metrics::log_loss(scores, truth), ref.load(c, "log_loss").item(), tolerance));
    double auc = ref.load(c, "roc_auc").item();
    if (std::isnan(auc)) {
      test::expect_error<ValueError>([&] { metrics::roc_auc(scores, truth); }, {"roc_auc: targets hold only class 1"});
      test::expect_error<ValueError>([&] { metrics::roc_curve(scores, truth); }, {"roc_curve: targets hold only class 1"});
      continue;
    }
    EXPECT_TRUE(matches(metrics::roc_auc(scores, truth), auc));
    Tensor expected = ref.load(c, "roc_curve");  // [2, P]: false and true positive rates
    metrics::RocCurve curve = metrics::roc_curve(scores, truth);
    ASSERT_EQ(static_cast<int64_t>(curve.false_positive_rate.size()), expected.size(1));
    ASSERT_EQ(curve.true_positive_rate.size(), curve.false_positive_rate.size());
    for (int64_t i = 0; i < expected.size(1); ++i) {
      EXPECT_TRUE(matches(curve.false_positive_rate[i], expected[0][i].item<double>())) << "point " << i;
      EXPECT_TRUE(matches(curve.true_positive_rate[i], expected[1][i].item<double>())) << "point " << i;
    }
  }
}

TEST(Metrics, RegressionMatchesSklearn) {
  const Reference& ref = reference();
  ASSERT_GE(ref.of_kind("regression").size(), 11u);
  for (const Case& c : ref.of_kind("regression")) {
    SCOPED_TRACE(c.id);
    Tensor truth = ref.load(c, "true"), pred = ref.load(c, "pred");
    std::vector<double> expected = ref.load(c, "regression").to_vector<double>();
    EXPECT_TRUE(matches(metrics::mean_squared_error(pred, truth), expected[0])) << "MSE";
    EXPECT_TRUE(matches(metrics::root_mean_squared_error(pred, truth), expected[1])) << "RMSE";
    EXPECT_TRUE(matches(metrics::mean_absolute_error(pred, truth), expected[2])) << "MAE";
    EXPECT_TRUE(matches(metrics::r2_score(pred, truth), expected[3])) << "R^2";
    // Columns [N, 1] are the same data.
    EXPECT_TRUE(matches(metrics::r2_score(pred.unsqueeze(1), truth.unsqueeze(1)), expected[3]));
  }
}

TEST(Metrics, KnownValues) {
  // Worked examples from scikit-learn's documentation.
  EXPECT_DOUBLE_EQ(metrics::roc_auc(tensor({0.1, 0.4, 0.35, 0.8}), tensor({0, 0, 1, 1})), 0.75);
  EXPECT_NEAR(metrics::log_loss(tensor({.1, .9, .9, .1, .8, .2, .35, .65}, {4, 2}), tensor({1, 0, 0, 1})),
              0.21616187468057912, 1e-15);
  EXPECT_NEAR(metrics::r2_score(tensor({2.5, 0.0, 2.0, 8.0}), tensor({3.0, -0.5, 2.0, 7.0})), 0.9486081370449679, 1e-15);
}

// ------------------------------------------------------------------ meters

// Splits [0, n) into consecutive batches of random sizes.
std::vector<std::pair<int64_t, int64_t>> random_batches(int64_t n, std::mt19937& rng) {
  std::vector<std::pair<int64_t, int64_t>> batches;
  std::uniform_int_distribution<int64_t> size(1, 17);
  for (int64_t start = 0; start < n;) {
    int64_t end = std::min(n, start + size(rng));
    batches.emplace_back(start, end);
    start = end;
  }
  return batches;
}

void expect_same_scores(const metrics::PrecisionRecallF1& a, const metrics::PrecisionRecallF1& b) {
  EXPECT_TRUE(test::all_close(per_class_rows(a), per_class_rows(b), 0, 0));
  EXPECT_TRUE(test::all_close(averaged_rows(a), averaged_rows(b), 0, 0));
  EXPECT_TRUE(test::all_close(a.support, b.support, 0, 0));
}

TEST(Metrics, ClassificationMeterEqualsFunctionsOnConcatenatedBatches) {
  const Reference& ref = reference();
  std::mt19937 rng(7);
  for (const Case& c : ref.of_kind("labels")) {
    SCOPED_TRACE(c.id);
    Tensor truth = ref.load(c, "true"), pred = ref.load(c, "pred");
    for (double zd : {0.0, 1.0}) {
      metrics::ClassificationMeter meter(c.num_classes, zd);
      for (auto [start, end] : random_batches(truth.size(0), rng))
        meter.update(pred.slice(0, start, end), truth.slice(0, start, end));
      metrics::ClassificationReport r = meter.compute();
      EXPECT_EQ(r.count, truth.size(0));
      EXPECT_EQ(r.accuracy, metrics::accuracy(pred, truth));
      EXPECT_FALSE(r.loss.has_value());
      EXPECT_TRUE(test::all_close(r.confusion_matrix, metrics::confusion_matrix(pred, truth, c.num_classes), 0, 0));
      expect_same_scores(r.scores, metrics::precision_recall_f1(pred, truth, {.num_classes = c.num_classes, .zero_division = zd}));
    }
  }
  // From logits, with batch losses: the loss average is the mean over all samples.
  for (const Case& c : ref.of_kind("scores")) {
    SCOPED_TRACE(c.id);
    Tensor truth = ref.load(c, "true"), scores = ref.load(c, "scores");
    metrics::ClassificationMeter meter(c.num_classes);
    for (auto [start, end] : random_batches(truth.size(0), rng)) {
      Tensor logits = scores.slice(0, start, end), targets = truth.slice(0, start, end);
      meter.update(logits, targets, cross_entropy(logits, targets).item());
    }
    metrics::ClassificationReport r = meter.compute();
    EXPECT_TRUE(matches(r.accuracy, ref.load(c, "accuracy").item()));
    ASSERT_TRUE(r.loss.has_value());
    EXPECT_TRUE(matches(*r.loss, cross_entropy(scores, truth).item()));
    expect_same_scores(r.scores, metrics::precision_recall_f1(scores, truth));
    // reset() starts over.
    meter.reset();
    EXPECT_EQ(meter.count(), 0);
    meter.update(scores, truth);
    EXPECT_EQ(meter.compute().accuracy, r.accuracy);
    EXPECT_FALSE(meter.compute().loss.has_value());
  }
}

TEST(Metrics, RegressionMeterEqualsFunctionsOnConcatenatedBatches) {
  const Reference& ref = reference();
  std::mt19937 rng(11);
  for (const Case& c : ref.of_kind("regression")) {
    SCOPED_TRACE(c.id);
    Tensor truth = ref.load(c, "true"), pred = ref.load(c, "pred");
    metrics::RegressionMeter meter;
    for (auto [start, end] : random_batches(truth.size(0), rng))
      meter.update(pred.slice(0, start, end), truth.slice(0, start, end));
    metrics::RegressionReport r = meter.compute();
    std::vector<double> expected = ref.load(c, "regression").to_vector<double>();
    // Sample-by-sample accumulation: the batching changes nothing, not even rounding.
    EXPECT_EQ(r.count, truth.size(0));
    EXPECT_EQ(r.mse, metrics::mean_squared_error(pred, truth));
    EXPECT_EQ(r.rmse, metrics::root_mean_squared_error(pred, truth));
    EXPECT_EQ(r.mae, metrics::mean_absolute_error(pred, truth));
    EXPECT_TRUE(r.r2 == metrics::r2_score(pred, truth) || (std::isnan(r.r2) && truth.size(0) == 1));
    EXPECT_TRUE(matches(r.r2, expected[3]));
  }
}

TEST(Metrics, RegressionMeterStaysAccurateOnLargeOffsets) {
  // Targets 1e8 + i (i < 1000): a sum of squares minus the squared sum loses every digit of
  // their spread. Predicting 1e8 + i + 0.5 gives errors of exactly 0.5; predicting the mean
  // gives SSE = SST, so R^2 = 0, which only holds if SST is accurate.
  std::vector<double> truth, shifted, mean(1000, 1e8 + 499.5);
  for (int i = 0; i < 1000; ++i) {
    truth.push_back(1e8 + i);
    shifted.push_back(1e8 + i + 0.5);
  }
  metrics::RegressionMeter meter;
  meter.update(from_vector(shifted), from_vector(truth));
  metrics::RegressionReport r = meter.compute();
  EXPECT_EQ(r.mse, 0.25);
  EXPECT_EQ(r.mae, 0.5);
  EXPECT_TRUE(matches(r.r2, 1.0 - 250.0 / (1000.0 * (1000.0 * 1000.0 - 1.0) / 12.0)));
  EXPECT_TRUE(matches(metrics::r2_score(from_vector(mean), from_vector(truth)), 0.0));
}

// ------------------------------------------------------------------ errors

TEST(Metrics, ErrorsNameTheMetricAndValues) {
  Tensor three = tensor({0, 1, 2}), two = tensor({0, 1});
  Tensor empty = zeros({0}, {.dtype = DType::i64});
  test::expect_error<ValueError>([&] { metrics::accuracy(three, two); }, {"accuracy: ", "differ in length (3 vs 2"});
  test::expect_error<ValueError>([&] { metrics::f1_score(empty, empty); }, {"f1_score: empty input"});
  test::expect_error<ValueError>([&] { metrics::confusion_matrix(tensor({0, 5}), two, 3); },
                                 {"confusion_matrix: predictions[1] = 5 is out of range for 3 classes"});
  test::expect_error<ValueError>([&] { metrics::precision(two, tensor({0, -1})); }, {"precision: targets[1] = -1"});
  test::expect_error<ValueError>([&] { metrics::recall(two, two, Average::Macro, {.num_classes = std::nullopt, .zero_division = 0.5}); },
                                 {"recall: zero_division must be 0 or 1, got 0.5"});
  test::expect_error<DTypeError>([&] { metrics::accuracy(two, tensor({0.0, 1.0})); },
                                 {"accuracy: targets must hold integer class indices, got float64"});
  test::expect_error<ValueError>([&] { metrics::confusion_matrix(zeros({2, 4}, {.dtype = DType::f64}), two, 3); },
                                 {"confusion_matrix: predictions have 4 class scores per sample but num_classes is 3"});
  test::expect_error<ValueError>([&] { metrics::top_k_accuracy(zeros({2, 3}), two, 0); }, {"top_k_accuracy: k must be at least 1, got 0"});
  test::expect_error<ValueError>([&] { metrics::top_k_accuracy(zeros({2, 3}), tensor({0, 3}), 1); },
                                 {"top_k_accuracy: targets[1] = 3 is out of range for 3 classes"});
  test::expect_error<ValueError>([&] { metrics::roc_auc(tensor({0.1, 0.2}), tensor({0, 2})); },
                                 {"roc_auc: targets[1] = 2 is out of range for 2 classes"});
  test::expect_error<ValueError>([&] { metrics::roc_auc(tensor({0.1, NAN}), two); }, {"roc_auc: scores[1] is NaN"});
  test::expect_error<ValueError>([&] { metrics::roc_auc_ovr(tensor({0.5, 0.7, 0.2, 0.8}, {2, 2}), two); },
                                 {"roc_auc_ovr: probabilities[0] sum to 1.2"});
  test::expect_error<ValueError>([&] { metrics::roc_auc_ovr(tensor({0.5, 0.5, 0.2, 0.8}, {2, 2}), tensor({1, 1})); },
                                 {"roc_auc_ovr: class 0 has no samples in targets"});
  test::expect_error<ValueError>([&] { metrics::log_loss(tensor({0.5, 0.5}, {1, 2}), tensor({2})); },
                                 {"log_loss: targets[0] = 2 is out of range for 2 classes"});
  test::expect_error<ShapeError>([&] { metrics::log_loss(zeros({2, 2, 2}), two); }, {"log_loss: probabilities must have shape [N, C] or [N]"});
  test::expect_error<ValueError>([&] { metrics::mean_squared_error(tensor({1.0, 2.0, 3.0, 4.0}), tensor({1.0, 2.0, 3.0})); },
                                 {"mean_squared_error: ", "(4 vs 3 samples)"});
  test::expect_error<ValueError>([&] { metrics::r2_score(zeros({0}), zeros({0})); }, {"r2_score: empty input"});
  test::expect_error<ShapeError>([&] { metrics::mean_absolute_error(zeros({3, 2}), zeros({3, 2})); },
                                 {"mean_absolute_error: predictions must have shape [N] or [N, 1], got shape [3, 2]"});
  test::expect_error<ValueError>([&] { metrics::RegressionMeter().compute(); }, {"RegressionMeter.compute: empty input"});
  test::expect_error<ValueError>([&] { metrics::ClassificationMeter(0); }, {"ClassificationMeter: num_classes must be at least 1, got 0"});
  test::expect_error<ValueError>([&] { metrics::ClassificationMeter(3).compute(); }, {"ClassificationMeter.compute: empty input"});
  test::expect_error<ValueError>([&] { metrics::ClassificationMeter(3).update(zeros({2, 4}), two); },
                                 {"ClassificationMeter.update: predictions have 4 class scores per sample but num_classes is 3"});
  test::expect_error<ValueError>([&] {
    metrics::ClassificationMeter meter(3);
    meter.update(two, two, 0.5);
    meter.update(two, two);
  }, {"ClassificationMeter.update: a batch loss was given for earlier batches but not for this one"});
  test::expect_error<ValueError>([&] { metrics::precision_recall_f1_from_confusion(zeros({2, 2}, {.dtype = DType::i64})); },
                                 {"precision_recall_f1_from_confusion: empty input"});
}

}  // namespace
}  // namespace cajal
