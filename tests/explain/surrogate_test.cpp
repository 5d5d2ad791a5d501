// The decision-tree surrogate against scikit-learn: tests/reference/surrogate_reference.py
// fits a model (logistic regression on breast cancer, a small MLP on wine) on a 70% split of
// the tables python3-sklearn ships, and DecisionTreeClassifier to the model's predictions on
// the training rows, in several configurations. cajal's tree, fitted to the same features
// (read here from the same CSV files) and predictions, must be the same tree node by node:
// same feature, threshold, samples, class counts and impurity, and the same predictions and
// leaves on every row. Where scikit-learn picks another feature at a node (it visits features
// in a random order and keeps the first of equally good splits; cajal keeps the lowest index)
// the two splits must be exactly as good, and that subtree is not compared further. Then
// fidelity on the held-out rows; the model rebuilt from its saved parameters (exactly its
// predictions) and the surrogate fitted on synthetic queries to it (the documented draw, rules
// counted on the real rows, fidelity); the rules read from the trees, a hand-made tree's rule
// text and the errors bad inputs get.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "cajal/data/csv.h"
#include "cajal/explain/surrogate.h"
#include "support/reference_npy.h"
#include "support/test_support.h"

namespace cajal {
namespace {

using explain::Criterion;
using explain::DecisionTree;
using explain::TreeNode;
using explain::TreeOptions;

const test::ReferenceNpy& reference() {
  static test::ReferenceNpy r("surrogate_reference.py");
  return r;
}

const char* const kTables[] = {"breast_cancer", "wine"};

// The configurations surrogate_reference.py fits, by name.
struct Config {
  const char* name;
  TreeOptions options;
};
const Config kConfigs[] = {
    {"gini_d2", {.max_depth = 2}},
    {"gini_d3", {.max_depth = 3}},
    {"gini_d4", {.max_depth = 4}},
    {"entropy_d4", {.max_depth = 4, .criterion = Criterion::Entropy}},
    {"gini_d4_leaf5", {.max_depth = 4, .min_samples_leaf = 5}},
    {"gini_d6_split20", {.max_depth = 6, .min_samples_split = 20}},
};

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> parts;
  std::stringstream in(line);
  for (std::string part; std::getline(in, part, '\t');) parts.push_back(part);
  return parts;
}

// One table: its features read from scikit-learn's CSV file by data::load_csv, the split, the
// model's predictions and the names.
struct Table {
  std::string name;
  int64_t num_classes = 0;
  Tensor features, labels, model;  // every row
  Tensor train, test;              // row indices
  Tensor train_x, train_model, test_x, test_model, test_labels;
  std::vector<std::string> feature_names, class_names;
};

const Table& table(const std::string& name) {
  static std::map<std::string, Table> tables;
  auto found = tables.find(name);
  if (found != tables.end()) return found->second;
  const test::ReferenceNpy& ref = reference();
  Table t;
  t.name = name;
  std::ifstream names(ref.dir() + "/" + name + ".names.txt");
  std::string csv_path, line;
  std::getline(names, csv_path);
  std::getline(names, line);
  t.feature_names = split_tabs(line);
  std::getline(names, line);
  t.class_names = split_tabs(line);
  t.num_classes = static_cast<int64_t>(t.class_names.size());
  // scikit-learn's CSV files start with a line of counts and class names, and have no header.
  data::CsvTable csv = data::load_csv(csv_path, {.header = false, .skip_lines = 1});
  t.features = csv.features;
  t.labels = csv.labels;
  // The same float32 values numpy has (both parse to double, then round to float32).
  EXPECT_TRUE(test::all_close(t.features, ref.load(name + ".features"), 0, 0)) << name;
  EXPECT_TRUE(test::all_close(t.labels, ref.load(name + ".labels"), 0, 0)) << name;
  EXPECT_EQ(static_cast<int64_t>(t.feature_names.size()), t.features.size(1));
  t.model = ref.load(name + ".model_predictions");
  t.train = ref.load(name + ".train");
  t.test = ref.load(name + ".test");
  t.train_x = index_select(t.features, 0, t.train);
  t.train_model = index_select(t.model, 0, t.train);
  t.test_x = index_select(t.features, 0, t.test);
  t.test_model = index_select(t.model, 0, t.test);
  t.test_labels = index_select(t.labels, 0, t.test);
  return tables.emplace(name, std::move(t)).first->second;
}

// scikit-learn's tree_ arrays for one table and configuration.
struct SklearnTree {
  std::vector<int64_t> left, right, feature, samples, classes, predict, apply;
  std::vector<double> threshold, impurity;
  std::vector<std::vector<int64_t>> counts;  // [node][class index of `classes`]

  SklearnTree(const std::string& prefix) {
    const test::ReferenceNpy& ref = reference();
    left = ref.load(prefix + "children_left").to_vector<int64_t>();
    right = ref.load(prefix + "children_right").to_vector<int64_t>();
    feature = ref.load(prefix + "feature").to_vector<int64_t>();
    samples = ref.load(prefix + "n_node_samples").to_vector<int64_t>();
    classes = ref.load(prefix + "classes").to_vector<int64_t>();
    predict = ref.load(prefix + "predict").to_vector<int64_t>();
    apply = ref.load(prefix + "apply").to_vector<int64_t>();
    threshold = ref.load(prefix + "threshold").to_vector<double>();
    impurity = ref.load(prefix + "impurity").to_vector<double>();
    Tensor value = ref.load(prefix + "value");
    std::vector<int64_t> flat = value.to_vector<int64_t>();
    auto width = static_cast<size_t>(value.size(1));
    for (size_t k = 0; k < left.size(); ++k) counts.emplace_back(flat.begin() + k * width, flat.begin() + (k + 1) * width);
  }
  bool is_leaf(int64_t k) const { return left[static_cast<size_t>(k)] < 0; }
  // scikit-learn's criterion for the split at node k: -(n_right * impurity_right) - (n_left * impurity_left).
  double proxy(int64_t k) const {
    auto l = static_cast<size_t>(left[static_cast<size_t>(k)]), r = static_cast<size_t>(right[static_cast<size_t>(k)]);
    return -static_cast<double>(samples[r]) * impurity[r] - static_cast<double>(samples[l]) * impurity[l];
  }
};

double proxy(const std::vector<TreeNode>& nodes, int64_t k) {
  const TreeNode& n = nodes[static_cast<size_t>(k)];
  const TreeNode& l = nodes[static_cast<size_t>(n.left)];
  const TreeNode& r = nodes[static_cast<size_t>(n.right)];
  return -static_cast<double>(r.samples) * r.impurity - static_cast<double>(l.samples) * l.impurity;
}

struct Comparison {
  int64_t compared = 0;         // node pairs compared
  int64_t same_partition = 0;   // ties where sklearn's feature splits the rows the same way
  int64_t other_partition = 0;  // ties where it splits them another way: that subtree is not compared
};

// Whether row i of x goes left at a split of `feature` at `threshold` (x compared as float32).
bool goes_left(const std::vector<float>& x, int64_t num_features, int64_t i, int64_t feature, double threshold) {
  return static_cast<double>(x[static_cast<size_t>(i * num_features + feature)]) <= threshold;
}

// Walks both trees from the root, comparing each pair of nodes. x: the fit rows, row-major.
Comparison compare(const std::vector<TreeNode>& ours, const SklearnTree& theirs, int64_t num_classes,
                   const std::vector<float>& x, int64_t num_features, const std::string& where) {
  Comparison result;
  struct Pair {
    int64_t ours, theirs;
    std::vector<int64_t> rows;  // the fit rows that reach both nodes
  };
  std::vector<int64_t> all_rows(x.size() / static_cast<size_t>(num_features));
  for (size_t i = 0; i < all_rows.size(); ++i) all_rows[i] = static_cast<int64_t>(i);
  std::vector<Pair> stack{{0, 0, all_rows}};
  while (!stack.empty()) {
    Pair pair = std::move(stack.back());
    stack.pop_back();
    ++result.compared;
    const TreeNode& node = ours[static_cast<size_t>(pair.ours)];
    auto j = static_cast<size_t>(pair.theirs);
    std::string at = where + " node " + std::to_string(pair.ours) + " (sklearn's " + std::to_string(j) + ")";
    EXPECT_EQ(node.samples, static_cast<int64_t>(pair.rows.size())) << at;
    EXPECT_EQ(node.samples, theirs.samples[j]) << at;
    std::vector<int64_t> counts(static_cast<size_t>(num_classes), 0);
    for (size_t c = 0; c < theirs.classes.size(); ++c) counts[static_cast<size_t>(theirs.classes[c])] = theirs.counts[j][c];
    EXPECT_EQ(node.class_counts, counts) << at;
    EXPECT_NEAR(node.impurity, theirs.impurity[j], 1e-12) << at;
    EXPECT_EQ(node.is_leaf(), theirs.is_leaf(pair.theirs)) << at;
    if (node.is_leaf() || theirs.is_leaf(pair.theirs)) continue;
    std::vector<int64_t> left, right;
    for (int64_t i : pair.rows) (goes_left(x, num_features, i, node.feature, node.threshold) ? left : right).push_back(i);
    if (node.feature != theirs.feature[j]) {
      // A tie: sklearn visits features in a random order and met the other one first; cajal
      // keeps the lowest index. Both splits must be exactly as good.
      EXPECT_EQ(proxy(ours, pair.ours), theirs.proxy(pair.theirs)) << at << ": sklearn's split is better, not a tie";
      EXPECT_LT(node.feature, theirs.feature[j]) << at << ": cajal keeps the lowest index of equally good features";
      bool same = true;
      for (int64_t i : pair.rows)
        same = same && goes_left(x, num_features, i, node.feature, node.threshold) ==
                           goes_left(x, num_features, i, theirs.feature[j], theirs.threshold[j]);
      std::cout << at << ": tie, feature " << node.feature << " <= " << node.threshold << " vs sklearn's feature "
                << theirs.feature[j] << " <= " << theirs.threshold[j] << " on " << node.samples << " samples, "
                << (same ? "same partition" : "another partition") << "\n";
      if (!same) {
        ++result.other_partition;
        continue;  // the subtrees grow on other rows
      }
      ++result.same_partition;  // the children hold the same rows: compare on
    } else {
      EXPECT_NEAR(node.threshold, theirs.threshold[j], 1e-9 * std::fabs(theirs.threshold[j])) << at;
    }
    stack.push_back({node.right, theirs.right[j], std::move(right)});
    stack.push_back({node.left, theirs.left[j], std::move(left)});
  }
  return result;
}

// ------------------------------------------------------------------ the same tree as sklearn

TEST(Surrogate, SameTreeAsSklearn) {
  Comparison total;
  int64_t sklearn_nodes = 0;
  for (const char* name : kTables) {
    const Table& t = table(name);
    std::vector<float> x = t.train_x.to_vector<float>();
    for (const Config& config : kConfigs) {
      std::string where = std::string(name) + " " + config.name;
      DecisionTree tree = DecisionTree::fit(t.train_x, t.train_model, t.num_classes, config.options);
      SklearnTree theirs(std::string(name) + "." + config.name + ".");
      Comparison c = compare(tree.nodes(), theirs, t.num_classes, x, t.train_x.size(1), where);
      total.compared += c.compared;
      total.same_partition += c.same_partition;
      total.other_partition += c.other_partition;
      sklearn_nodes += static_cast<int64_t>(theirs.left.size());
      EXPECT_LE(tree.depth(), config.options.max_depth) << where;
      if (c.other_partition == 0) {
        // The same tree up to tied features: the same nodes, and the same leaves and
        // predictions on the fit rows (on every row, without ties).
        EXPECT_EQ(tree.nodes().size(), theirs.left.size()) << where;
        // Without ties every row takes the same path; with tied features only the fit rows must.
        bool every_row = c.same_partition == 0;
        Tensor rows_x = every_row ? t.features : t.train_x;
        std::vector<int64_t> train = t.train.to_vector<int64_t>();
        std::vector<int64_t> apply = tree.apply(rows_x).to_vector<int64_t>(), predict = tree.predict(rows_x).to_vector<int64_t>();
        for (size_t r = 0; r < apply.size(); ++r) {
          size_t i = every_row ? r : static_cast<size_t>(train[r]);
          EXPECT_EQ(apply[r], theirs.apply[i]) << where << " row " << i;
          EXPECT_EQ(predict[r], theirs.predict[i]) << where << " row " << i;
        }
      }
      // predict_proba: the leaf's class fractions, whose first maximum is predict's class.
      Tensor proba = tree.predict_proba(t.features);
      std::vector<int64_t> leaves = tree.apply(t.features).to_vector<int64_t>();
      Tensor expected = zeros({t.features.size(0), t.num_classes});
      for (int64_t i = 0; i < t.features.size(0); ++i) {
        const TreeNode& leaf = tree.nodes()[static_cast<size_t>(leaves[static_cast<size_t>(i)])];
        for (int64_t c = 0; c < t.num_classes; ++c)
          expected.at<float>({i, c}) = static_cast<float>(static_cast<double>(leaf.class_counts[static_cast<size_t>(c)]) /
                                                          static_cast<double>(leaf.samples));
      }
      EXPECT_TRUE(test::all_close(proba, expected, 0, 0)) << where;
      EXPECT_TRUE(test::all_close(argmax(proba, 1), tree.predict(t.features), 0, 0)) << where;
    }
  }
  std::cout << "compared " << total.compared << " of sklearn's " << sklearn_nodes << " nodes; ties on sklearn's choice: "
            << total.same_partition << " with the same partition, " << total.other_partition << " with another\n";
  // Ties must not hide most of the trees from the comparison.
  EXPECT_GE(total.compared, sklearn_nodes * 3 / 4);
}

// Whether the trees have the same nodes with the same splits (no tie went another way).
bool same_splits(const std::vector<TreeNode>& ours, const SklearnTree& theirs) {
  if (ours.size() != theirs.left.size()) return false;
  for (size_t k = 0; k < ours.size(); ++k)
    if (ours[k].is_leaf() != theirs.is_leaf(static_cast<int64_t>(k)) ||
        (!ours[k].is_leaf() && (ours[k].feature != theirs.feature[k] || ours[k].threshold != theirs.threshold[k])))
      return false;
  return true;
}

// ------------------------------------------------------------------ fidelity on held-out rows

TEST(Surrogate, FidelityOnHeldOutRows) {
  for (const char* name : kTables) {
    const Table& t = table(name);
    for (const char* config : {"gini_d2", "gini_d3", "gini_d4"}) {
      TreeOptions options;
      for (const Config& c : kConfigs)
        if (std::string(c.name) == config) options = c.options;
      explain::SurrogateReport report =
          explain::fit_surrogate(t.train_x, t.train_model, t.test_x, t.test_model, t.test_labels, t.num_classes, options);
      // The same agreements counted here, and scikit-learn's tree's agreement with the model.
      SklearnTree theirs(std::string(name) + "." + config + ".");
      std::vector<int64_t> rows = t.test.to_vector<int64_t>(), model = t.model.to_vector<int64_t>();
      std::vector<int64_t> labels = t.labels.to_vector<int64_t>();
      std::vector<int64_t> ours = report.tree.predict(t.features).to_vector<int64_t>();
      double agree = 0, right = 0, model_right = 0, sklearn_agree = 0;
      for (int64_t i : rows) {
        auto k = static_cast<size_t>(i);
        agree += ours[k] == model[k];
        right += ours[k] == labels[k];
        model_right += model[k] == labels[k];
        sklearn_agree += theirs.predict[k] == model[k];
      }
      auto n = static_cast<double>(rows.size());
      EXPECT_DOUBLE_EQ(report.fidelity, agree / n);
      EXPECT_DOUBLE_EQ(report.accuracy, right / n);
      EXPECT_DOUBLE_EQ(report.model_accuracy, model_right / n);
      std::cout << name << " " << config << ": fidelity " << report.fidelity << " (sklearn's tree " << sklearn_agree / n
                << "), accuracy " << report.accuracy << ", model accuracy " << report.model_accuracy << ", "
                << report.tree.leaf_count() << " leaves\n";
      if (same_splits(report.tree.nodes(), theirs)) {
        EXPECT_DOUBLE_EQ(report.fidelity, sklearn_agree / n) << name << " " << config;
      }
      EXPECT_GT(report.model_accuracy, 0.9) << name;
      // Breast cancer: 0.918 to 0.942. Wine has 54 held-out rows, and its trees' small nodes have
      // tied splits (several features separate their few rows equally well) whose choice moves
      // fidelity by several rows: sklearn's trees for random_state 0..39 range from 0.833 to
      // 0.944 at depth 3 and 0.815 to 0.963 at depth 4 (0.944 and 0.926 for random_state=0);
      // cajal's lowest-index choice gives 0.870 at both. At depth 2 every tree gets 0.833.
      double floor = std::string(name) == "breast_cancer" ? 0.9 : options.max_depth >= 3 ? 0.85 : 0.8;
      EXPECT_GE(report.fidelity, floor) << name << " " << config;
      EXPECT_EQ(report.rules.size(), static_cast<size_t>(report.tree.leaf_count()));
    }
    // Scores [N, C] instead of class indices give the same surrogate.
    Tensor scores = one_hot(t.train_model, t.num_classes).to(DType::f32);
    Tensor eval_scores = one_hot(t.test_model, t.num_classes).to(DType::f64);
    explain::SurrogateReport a = explain::fit_surrogate(t.train_x, scores, t.test_x, eval_scores, t.test_labels, t.num_classes);
    explain::SurrogateReport b =
        explain::fit_surrogate(t.train_x, t.train_model, t.test_x, t.test_model, t.test_labels, t.num_classes);
    EXPECT_EQ(format_rules(a.rules), format_rules(b.rules));
    EXPECT_EQ(a.fidelity, b.fidelity);
  }
}

TEST(Surrogate, RulesDescribeTheLeaves) {
  for (const char* name : kTables) {
    const Table& t = table(name);
    for (const Config& config : kConfigs) {
      std::string where = std::string(name) + " " + config.name;
      DecisionTree tree = DecisionTree::fit(t.train_x, t.train_model, t.num_classes, config.options);
      std::vector<explain::Rule> rules = explain::extract_rules(tree);
      ASSERT_EQ(rules.size(), static_cast<size_t>(tree.leaf_count())) << where;
      std::vector<int64_t> leaves = tree.apply(t.train_x).to_vector<int64_t>();
      std::vector<float> x = t.train_x.to_vector<float>();
      const int64_t n = t.train_x.size(0), f = t.train_x.size(1);
      double coverage = 0;
      int64_t previous_leaf = -1;
      for (const explain::Rule& rule : rules) {
        coverage += rule.coverage;
        const TreeNode& leaf = tree.nodes()[static_cast<size_t>(rule.leaf)];
        EXPECT_TRUE(leaf.is_leaf()) << where;
        EXPECT_GT(rule.leaf, previous_leaf) << where << ": rules in node order";
        previous_leaf = rule.leaf;
        EXPECT_EQ(rule.samples, leaf.samples) << where;
        EXPECT_EQ(rule.predicted_class, leaf.predicted_class()) << where;
        EXPECT_DOUBLE_EQ(rule.confidence, static_cast<double>(leaf.class_counts[static_cast<size_t>(rule.predicted_class)]) /
                                              static_cast<double>(leaf.samples));
        // At most one condition per feature and direction: merged to the tightest.
        for (size_t a = 0; a < rule.conditions.size(); ++a)
          for (size_t b = a + 1; b < rule.conditions.size(); ++b)
            EXPECT_FALSE(rule.conditions[a].feature == rule.conditions[b].feature &&
                         rule.conditions[a].less_equal == rule.conditions[b].less_equal)
                << where;
        // The conditions select exactly the leaf's rows.
        int64_t selected = 0;
        for (int64_t i = 0; i < n; ++i) {
          bool all = true;
          for (const explain::Condition& c : rule.conditions) {
            double v = x[static_cast<size_t>(i * f + c.feature)];
            all = all && (c.less_equal ? v <= c.threshold : v > c.threshold);
          }
          if (!all) continue;
          ++selected;
          EXPECT_EQ(leaves[static_cast<size_t>(i)], rule.leaf) << where << " row " << i;
        }
        EXPECT_EQ(selected, rule.samples) << where << " leaf " << rule.leaf;
      }
      EXPECT_NEAR(coverage, 1.0, 1e-12) << where;
    }
  }
  const Table& t = table("breast_cancer");
  DecisionTree tree = DecisionTree::fit(t.train_x, t.train_model, t.num_classes, {.max_depth = 2});
  std::cout << explain::format_rules(explain::extract_rules(tree), t.feature_names, t.class_names);
}

TEST(Surrogate, FormatsHandMadeTrees) {
  // x0 <= 4.5 holds class 0 alone; above it x1 tells class 1 (x1 = 0) from class 2 (x1 = 1).
  Tensor x = tensor({1.f, 0.f, 2.f, 1.f, 3.f, 0.f, 4.f, 1.f, 5.f, 0.f, 6.f, 1.f, 7.f, 0.f, 8.f, 1.f}, {8, 2});
  Tensor y = tensor({0, 0, 0, 0, 1, 2, 1, 2});
  DecisionTree tree = DecisionTree::fit(x, y, 3);
  ASSERT_EQ(tree.nodes().size(), 5u);
  EXPECT_EQ(tree.nodes()[0].feature, 0);
  EXPECT_EQ(tree.nodes()[0].threshold, 4.5);
  EXPECT_EQ(tree.nodes()[2].feature, 1);
  EXPECT_EQ(tree.nodes()[2].threshold, 0.5);
  EXPECT_EQ(explain::format_rules(explain::extract_rules(tree), {"petal length", "petal width"},
                                  {"setosa", "versicolor", "virginica"}),
            "if petal length <= 4.5 then setosa  (coverage 50%, confidence 100%)\n"
            "if petal length > 4.5 and petal width <= 0.5 then versicolor  (coverage 25%, confidence 100%)\n"
            "if petal length > 4.5 and petal width > 0.5 then virginica  (coverage 25%, confidence 100%)\n");

  // Two splits of one feature on a path merge: "x > 2.5 and x > 4.5" reads "x > 4.5". The root
  // can split at 2.5 or at 4.5 equally well; the lower threshold wins, as in sklearn. Unnamed
  // features and classes read x[k] and "class k".
  Tensor x1 = tensor({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}, {6, 1});
  DecisionTree chain = DecisionTree::fit(x1, tensor({0, 0, 1, 1, 2, 2}), 3, {.max_depth = 2});
  EXPECT_EQ(explain::format_rules(explain::extract_rules(chain)),
            "if x[0] <= 2.5 then class 0  (coverage 33.3%, confidence 100%)\n"
            "if x[0] > 2.5 and x[0] <= 4.5 then class 1  (coverage 33.3%, confidence 100%)\n"
            "if x[0] > 4.5 then class 2  (coverage 33.3%, confidence 100%)\n");
  // Depth 1: the leaf above 2.5 holds 2 of each of two classes and 1 of a third; the first of
  // the equal counts is its class.
  DecisionTree stump = DecisionTree::fit(tensor({1.f, 2.f, 3.f, 4.f, 5.f, 6.f, 7.f}, {7, 1}),
                                         tensor({0, 0, 2, 2, 1, 1, 0}), 3, {.max_depth = 1});
  EXPECT_EQ(explain::format_rules(explain::extract_rules(stump), {"size"}, {"a", "b", "c"}),
            "if size <= 2.5 then a  (coverage 28.6%, confidence 100%)\n"
            "if size > 2.5 then b  (coverage 71.4%, confidence 40%)\n");

  // Features that split equally well: the lowest index wins (column 2 copies column 1; column
  // 0 splits worse).
  Tensor x3 = tensor({3.f, 1.f, 1.f, 1.f, 2.f, 2.f, 2.f, 3.f, 3.f, 0.f, 4.f, 4.f}, {4, 3});
  DecisionTree copies = DecisionTree::fit(x3, tensor({0, 0, 1, 1}), 2);
  EXPECT_EQ(copies.nodes()[0].feature, 1);
  EXPECT_EQ(copies.nodes()[0].threshold, 2.5);

  // One class: the root is the only leaf.
  DecisionTree single = DecisionTree::fit(x1, tensor({1, 1, 1, 1, 1, 1}), 2);
  EXPECT_EQ(single.nodes().size(), 1u);
  EXPECT_EQ(single.depth(), 0);
  EXPECT_EQ(explain::format_rules(explain::extract_rules(single), {"a"}, {"no", "yes"}),
            "always yes  (coverage 100%, confidence 100%)\n");
}

// ------------------------------------------------------------------ bad inputs

TEST(Surrogate, BadInputsFailClearly) {
  Tensor x = tensor({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}, {3, 2});
  Tensor y = tensor({0, 1, 1});
  test::expect_error<ShapeError>([&] { DecisionTree::fit(tensor({1.f, 2.f, 3.f}), y, 2); },
                                 {"DecisionTree::fit: features must have shape [N, F], got shape [3]"});
  test::expect_error<DTypeError>([&] { DecisionTree::fit(tensor({1, 2, 3, 4, 5, 6}, {3, 2}), y, 2); },
                                 {"DecisionTree::fit: features must be floating point"});
  test::expect_error<ValueError>([&] { DecisionTree::fit(x, tensor({0, 2, 1}), 2); },
                                 {"DecisionTree::fit: labels[1] = 2 is out of range for 2 classes"});
  test::expect_error<ValueError>([&] { DecisionTree::fit(x, tensor({0, -1, 1}), 2); },
                                 {"DecisionTree::fit: labels[1] = -1 is out of range"});
  test::expect_error<ValueError>([&] { DecisionTree::fit(x, tensor({0, 1}), 2); },
                                 {"DecisionTree::fit: features and labels differ in length (3 vs 2 samples)"});
  test::expect_error<ValueError>([&] { DecisionTree::fit(x, y, 2, {.max_depth = 0}); },
                                 {"DecisionTree::fit: max_depth must be at least 1, got 0"});
  test::expect_error<ValueError>([&] { DecisionTree::fit(x, y, 2, {.min_samples_leaf = 0}); },
                                 {"min_samples_leaf must be at least 1, got 0"});
  test::expect_error<ValueError>([&] { DecisionTree::fit(x, y, 0); }, {"num_classes must be at least 1, got 0"});
  test::expect_error<ValueError>([&] { DecisionTree::fit(tensor({1.f, NAN, 3.f, 4.f, 5.f, 6.f}, {3, 2}), y, 2); },
                                 {"DecisionTree::fit: features[0, 1] is NaN"});
  test::expect_error<ValueError>([&] { DecisionTree::fit(tensor({1.f, INFINITY, 3.f, 4.f, 5.f, 6.f}, {3, 2}), y, 2); },
                                 {"DecisionTree::fit: features[0, 1] = inf is not finite in float32"});
  test::expect_error<ValueError>([&] { DecisionTree::fit(test::f64({1e39, 2, 3, 4, 5, 6}, {3, 2}), y, 2); },
                                 {"features[0, 0] = 1e+39 is not finite in float32"});
  test::expect_error<ValueError>([&] { DecisionTree::fit(zeros({0, 2}), from_vector(std::vector<int64_t>{}), 2); },
                                 {"DecisionTree::fit: empty input (features has 0 samples)"});
  test::expect_error<ValueError>([&] { DecisionTree::fit(x, Tensor(), 2); }, {"labels is an undefined tensor"});

  DecisionTree tree = DecisionTree::fit(x, y, 2);
  test::expect_error<ShapeError>([&] { tree.predict(zeros({2, 3})); },
                                 {"DecisionTree::predict: features have 3 columns but the tree was fitted on 2 features"});
  test::expect_error<ValueError>([&] { tree.apply(tensor({NAN, 1.f}, {1, 2})); }, {"DecisionTree::apply: features[0, 0] is NaN"});
  test::expect_error<ValueError>([&] { DecisionTree().predict(x); }, {"DecisionTree::predict: the tree has not been fitted"});
  test::expect_error<ValueError>([&] { explain::format_rules(explain::extract_rules(tree), {"a", "b"}, {"no"}); },
                                 {"format_rules: rule 1 uses class 1 but only 1 class names were given"});

  test::expect_error<ValueError>([&] { explain::fit_surrogate(x, y, x, y, tensor({0, 1}), 2); },
                                 {"fit_surrogate: eval_features and eval_labels differ in length (3 vs 2 samples)"});
  test::expect_error<ShapeError>([&] { explain::fit_surrogate(x, y, zeros({3, 1}), y, y, 2); },
                                 {"fit_surrogate: eval_features have 1 columns but fit_features have 2"});
  test::expect_error<ShapeError>([&] { explain::fit_surrogate(x, zeros({3, 3}), x, y, y, 2); },
                                 {"fit_surrogate: fit_model_predictions must be class indices [N] or scores [N, 2]"});
  test::expect_error<ValueError>([&] { explain::fit_surrogate(x, y, x, tensor({0, 5, 1}), y, 2); },
                                 {"fit_surrogate: eval_model_predictions[1] = 5 is out of range for 2 classes"});
  test::expect_error<ValueError>([&] { explain::fit_surrogate(x, y, x, y, y, 2, {.max_depth = -1}); },
                                 {"fit_surrogate: max_depth must be at least 1, got -1"});
}

}  // namespace
}  // namespace cajal
