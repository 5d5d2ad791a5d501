#pragma once
// Rule extraction: a small decision tree fitted to a model's predictions (a "surrogate"),
// read back as if-then rules. The tree is CART as scikit-learn's DecisionTreeClassifier grows
// it, so that the same data and options give the same tree (same splits at the same
// thresholds, nodes in the same order), which is what the tests check against it:
//
//   auto report = explain::fit_surrogate(train_x, model_train_predictions,
//                                        test_x, model_test_predictions, test_y, 2, {.max_depth = 3});
//   report.fidelity;  // how often the tree agrees with the model on the test set
//   std::cout << explain::format_rules(report.rules, feature_names, class_names);
//   // if worst radius <= 16.8 and mean concave points <= 0.0514 then benign  (coverage 52.3%, confidence 98.7%)
//
// The tree works on features rounded to float32, as scikit-learn's trees do.
#include <cstdint>
#include <string>
#include <vector>

#include "cajal/core/tensor.h"

namespace cajal::explain {

// How a node's impurity is measured: Gini (1 - sum p_k^2) or entropy (-sum p_k log2 p_k).
enum class Criterion { Gini, Entropy };

// scikit-learn's stopping rules, with its defaults except max_depth: a surrogate is only
// readable while it is small, so depth is limited by default.
struct TreeOptions {
  int64_t max_depth = 4;          // the root has depth 0; at least 1
  int64_t min_samples_split = 2;  // a node with fewer samples is a leaf
  int64_t min_samples_leaf = 1;   // a split must leave at least this many samples on each side
  Criterion criterion = Criterion::Gini;
};

// One node. Nodes are numbered depth first, left child before right, as scikit-learn's
// tree_ arrays are, so node i here is node i there.
struct TreeNode {
  int64_t feature = -1;     // the feature tested; -1 marks a leaf
  double threshold = 0;     // a sample goes left when float32(x[feature]) <= threshold (0 in a leaf)
  int64_t left = -1;        // child node indices; -1 in a leaf
  int64_t right = -1;
  int64_t samples = 0;      // fit samples that reach this node
  std::vector<int64_t> class_counts;  // of those, how many of each class
  double impurity = 0;      // by the tree's criterion
  bool is_leaf() const { return feature < 0; }
  // The majority class (the lowest index among equal counts, as numpy.argmax).
  int64_t predicted_class() const;
};

class DecisionTree {
 public:
  // features: floating [N, F] (rounded to float32; NaN and infinity are errors), labels:
  // integer [N] in 0 .. num_classes-1. Among splits of exactly equal quality the lowest
  // feature index wins (scikit-learn draws the order in which it visits features at random).
  static DecisionTree fit(const Tensor& features, const Tensor& labels, int64_t num_classes,
                          const TreeOptions& options = {});

  Tensor predict(const Tensor& features) const;        // int64 [N]: the leaf's majority class
  Tensor predict_proba(const Tensor& features) const;  // float32 [N, C]: the leaf's class fractions
  Tensor apply(const Tensor& features) const;          // int64 [N]: the index of the leaf reached

  const std::vector<TreeNode>& nodes() const { return nodes_; }
  int64_t num_features() const { return num_features_; }
  int64_t num_classes() const { return num_classes_; }
  int64_t depth() const;  // of the deepest leaf (0 when the root is a leaf)
  int64_t leaf_count() const;

 private:
  std::vector<int64_t> leaves(const char* method, const Tensor& features) const;

  std::vector<TreeNode> nodes_;
  int64_t num_features_ = 0;
  int64_t num_classes_ = 0;
};

// One test on a path: x[feature] <= threshold (less_equal) or x[feature] > threshold.
struct Condition {
  int64_t feature = 0;
  bool less_equal = true;
  double threshold = 0;
};

// The path to one leaf as a rule.
struct Rule {
  std::vector<Condition> conditions;  // all must hold; empty when the root is the leaf
  int64_t leaf = 0;                   // the leaf's node index
  int64_t predicted_class = 0;
  int64_t samples = 0;                // fit samples in the leaf
  double coverage = 0;                // samples / all fit samples
  double confidence = 0;              // the fraction of the leaf's samples in predicted_class
};

// One rule per leaf, in node order. Tests of one feature in one direction along a path are
// merged into the tightest one (x <= 5 then x <= 3 reads "x <= 3"), in the order each first
// appears, so a rule says no more than it must.
std::vector<Rule> extract_rules(const DecisionTree& tree);

// One line per rule:
//   if worst radius <= 16.8 and mean concave points <= 0.0514 then benign  (coverage 52.3%, confidence 98.7%)
// ("always <class>" for a rule without conditions). Numbers have 3 significant digits, so a
// printed threshold is rounded; Rule holds the exact one. Empty name lists mean "x[3]" and
// "class 1"; a list that is given must name every feature and class the rules use.
std::string format_rules(const std::vector<Rule>& rules, const std::vector<std::string>& feature_names = {},
                         const std::vector<std::string>& class_names = {});

struct SurrogateReport {
  DecisionTree tree;
  std::vector<Rule> rules;
  double fidelity = 0;        // tree and model agree, on the evaluation set
  double accuracy = 0;        // tree's predictions vs the true labels, on the evaluation set
  double model_accuracy = 0;  // the model's, for comparison
};

// Fits the tree to the model's predictions on the fit set and measures it on a held-out
// evaluation set (agreement measured where it was fitted would flatter it). Model predictions
// are class indices, integer [N], or scores, floating [N, C] (the first largest is the class).
SurrogateReport fit_surrogate(const Tensor& fit_features, const Tensor& fit_model_predictions,
                              const Tensor& eval_features, const Tensor& eval_model_predictions,
                              const Tensor& eval_labels, int64_t num_classes, const TreeOptions& options = {});

}  // namespace cajal::explain
