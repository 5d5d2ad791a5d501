#include "cajal/explain/surrogate.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <utility>

#include "cajal/core/error.h"
#include "cajal/ops/creation.h"

namespace cajal::explain {

namespace {

// scikit-learn's constants (sklearn/tree/_splitter.pyx, _tree.pyx): feature values closer than
// FEATURE_THRESHOLD are never split between, and a node whose impurity is at most EPSILON
// is pure.
constexpr double kFeatureThreshold = 1e-7;
constexpr double kEpsilon = std::numeric_limits<double>::epsilon();

// a * b, rounded on its own. With -march=native GCC may fuse a product and the addition that
// follows into one FMA (C++ allows it), which rounds once instead of twice; the criterion
// then differs from scikit-learn's in the last bit and can break a near tie the other way.
// Reading the product back through a volatile keeps the two roundings.
double product(double a, double b) {
  volatile double p = a * b;
  return p;
}

// ------------------------------------------------------------------ inputs

// Features as float32 (what scikit-learn's trees compute on), column by column.
struct FeatureTable {
  std::vector<float> columns;  // column-major: feature f of row i is columns[f * rows + i]
  int64_t rows = 0, cols = 0;
  float at(int64_t row, int64_t col) const { return columns[static_cast<size_t>(col * rows + row)]; }
};

FeatureTable read_features(const char* fn, const char* what, const Tensor& t) {
  if (!t.defined()) fail<ValueError>(fn, ": ", what, " is an undefined tensor");
  if (!t.is_floating_point())
    fail<DTypeError>(fn, ": ", what, " must be floating point [N, F], got ", dtype_name(t.dtype()));
  if (t.dim() != 2) fail<ShapeError>(fn, ": ", what, " must have shape [N, F], got shape ", t.sizes());
  if (t.size(0) == 0) fail<ValueError>(fn, ": empty input (", what, " has 0 samples)");
  if (t.size(1) == 0) fail<ShapeError>(fn, ": ", what, " has no feature columns (shape ", t.sizes(), ")");
  FeatureTable table;
  table.rows = t.size(0);
  table.cols = t.size(1);
  std::vector<double> values = t.to_vector<double>();
  table.columns.resize(values.size());
  for (int64_t i = 0; i < table.rows; ++i)
    for (int64_t f = 0; f < table.cols; ++f) {
      double v = values[static_cast<size_t>(i * table.cols + f)];
      if (std::isnan(v)) fail<ValueError>(fn, ": ", what, "[", i, ", ", f, "] is NaN");
      auto x = static_cast<float>(v);
      if (!std::isfinite(x)) fail<ValueError>(fn, ": ", what, "[", i, ", ", f, "] = ", v, " is not finite in float32");
      table.columns[static_cast<size_t>(f * table.rows + i)] = x;
    }
  return table;
}

// Integer class indices [N] in 0 .. num_classes-1.
std::vector<int64_t> read_labels(const char* fn, const char* what, const Tensor& t, int64_t num_classes) {
  if (!t.defined()) fail<ValueError>(fn, ": ", what, " is an undefined tensor");
  if (t.is_floating_point() || t.dtype() == DType::boolean)
    fail<DTypeError>(fn, ": ", what, " must hold integer class indices, got ", dtype_name(t.dtype()));
  if (t.dim() != 1) fail<ShapeError>(fn, ": ", what, " must be class indices of shape [N], got shape ", t.sizes());
  if (t.numel() == 0) fail<ValueError>(fn, ": empty input (", what, " has 0 samples)");
  std::vector<int64_t> labels = t.to_vector<int64_t>();
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] < 0 || labels[i] >= num_classes)
      fail<ValueError>(fn, ": ", what, "[", i, "] = ", labels[i], " is out of range for ", num_classes,
                       " classes (expected 0 <= label < ", num_classes, ")");
  return labels;
}

// A model's predictions: class indices [N], or scores [N, C] whose first row maximum is the class.
std::vector<int64_t> read_predictions(const char* fn, const char* what, const Tensor& t, int64_t num_classes) {
  if (!t.defined()) fail<ValueError>(fn, ": ", what, " is an undefined tensor");
  if (!t.is_floating_point()) return read_labels(fn, what, t, num_classes);
  if (t.dim() != 2 || t.size(1) != num_classes)
    fail<ShapeError>(fn, ": ", what, " must be class indices [N] or scores [N, ", num_classes, "], got ",
                     dtype_name(t.dtype()), " of shape ", t.sizes());
  if (t.size(0) == 0) fail<ValueError>(fn, ": empty input (", what, " has 0 samples)");
  std::vector<double> scores = t.to_vector<double>();
  std::vector<int64_t> classes(static_cast<size_t>(t.size(0)));
  for (size_t i = 0; i < classes.size(); ++i) {
    const double* row = scores.data() + i * static_cast<size_t>(num_classes);
    for (int64_t c = 0; c < num_classes; ++c)
      if (std::isnan(row[c])) fail<ValueError>(fn, ": ", what, "[", i, ", ", c, "] is NaN");
    classes[i] = std::max_element(row, row + num_classes) - row;
  }
  return classes;
}

void check_lengths(const char* fn, const char* a, int64_t na, const char* b, int64_t nb) {
  if (na != nb) fail<ValueError>(fn, ": ", a, " and ", b, " differ in length (", na, " vs ", nb, " samples)");
}

void check_options(const char* fn, int64_t num_classes, const TreeOptions& options) {
  if (num_classes < 1) fail<ValueError>(fn, ": num_classes must be at least 1, got ", num_classes);
  if (options.max_depth < 1) fail<ValueError>(fn, ": max_depth must be at least 1, got ", options.max_depth);
  if (options.min_samples_split < 2)
    fail<ValueError>(fn, ": min_samples_split must be at least 2, got ", options.min_samples_split);
  if (options.min_samples_leaf < 1)
    fail<ValueError>(fn, ": min_samples_leaf must be at least 1, got ", options.min_samples_leaf);
  if (options.criterion != Criterion::Gini && options.criterion != Criterion::Entropy)
    fail<ValueError>(fn, ": unknown criterion ", static_cast<int>(options.criterion));
}

// ------------------------------------------------------------------ growing

// The impurity of `n` samples with these class counts, computed as scikit-learn's Gini and
// Entropy criteria compute it (_criterion.pyx), operation for operation, so that equal
// splits compare equal and near ties break as they do there.
double impurity(Criterion criterion, const std::vector<int64_t>& counts, double n) {
  if (criterion == Criterion::Gini) {
    double squares = 0.0;  // integer counts: exact
    for (int64_t k : counts) squares += static_cast<double>(k) * static_cast<double>(k);
    return 1.0 - squares / (n * n);
  }
  static const double ln2 = std::log(2.0);
  double entropy = 0.0;
  for (int64_t k : counts)
    if (k > 0) {
      double p = static_cast<double>(k) / n;
      entropy -= product(p, std::log(p) / ln2);
    }
  return entropy;
}

struct Split {
  int64_t feature = -1;  // -1: no valid split
  int64_t pos = 0;       // samples [start, start + pos) go left
  double threshold = 0;
};

// Grows the tree as scikit-learn's DepthFirstTreeBuilder with its BestSplitter does (all
// features considered at every node, min_impurity_decrease = 0, no sample weights).
class Grower {
 public:
  Grower(const FeatureTable& x, const std::vector<int64_t>& y, int64_t num_classes, const TreeOptions& options)
      : x_(x), y_(y), num_classes_(num_classes), options_(options), samples_(static_cast<size_t>(x.rows)) {
    for (size_t i = 0; i < samples_.size(); ++i) samples_[i] = static_cast<int64_t>(i);
  }

  std::vector<TreeNode> grow() {
    struct Pending {
      int64_t start, end, depth, parent;
      bool is_left;
    };
    std::vector<TreeNode> nodes;
    std::vector<Pending> stack{{0, x_.rows, 0, -1, false}};
    while (!stack.empty()) {
      Pending p = stack.back();
      stack.pop_back();
      TreeNode node;
      node.samples = p.end - p.start;
      node.class_counts = counts(p.start, p.end);
      auto n = static_cast<double>(node.samples);
      node.impurity = impurity(options_.criterion, node.class_counts, n);
      // _tree.pyx: a node too deep or too small is a leaf, and so is a pure one.
      bool leaf = p.depth >= options_.max_depth || node.samples < options_.min_samples_split ||
                  node.samples < 2 * options_.min_samples_leaf || node.impurity <= kEpsilon;
      Split split;
      if (!leaf) {
        split = best_split(p.start, p.end, node.class_counts);
        leaf = split.feature < 0 || improvement(p.start, p.end, split, node) + kEpsilon < 0.0;
      }
      auto id = static_cast<int64_t>(nodes.size());
      if (p.parent >= 0) (p.is_left ? nodes[static_cast<size_t>(p.parent)].left : nodes[static_cast<size_t>(p.parent)].right) = id;
      if (!leaf) {
        node.feature = split.feature;
        node.threshold = split.threshold;
        // Right pushed first so that the left subtree is numbered first (depth-first order).
        stack.push_back({p.start + split.pos, p.end, p.depth + 1, id, false});
        stack.push_back({p.start, p.start + split.pos, p.depth + 1, id, true});
      }
      nodes.push_back(std::move(node));
    }
    return nodes;
  }

 private:
  std::vector<int64_t> counts(int64_t start, int64_t end) const {
    std::vector<int64_t> c(static_cast<size_t>(num_classes_), 0);
    for (int64_t i = start; i < end; ++i) ++c[static_cast<size_t>(y_[static_cast<size_t>(samples_[static_cast<size_t>(i)])])];
    return c;
  }

  // The split of samples [start, end) with the largest proxy improvement
  // -(n_right * impurity_right) - (n_left * impurity_left), as BestSplitter.node_split finds
  // it: within a feature the first (lowest) threshold of equal ones wins; across features the
  // lowest index (scikit-learn: the first in its random visiting order). On success the
  // samples are partitioned, left ones first.
  Split best_split(int64_t start, int64_t end, const std::vector<int64_t>& total) {
    const int64_t n = end - start;
    const int64_t min_leaf = options_.min_samples_leaf;
    double best_proxy = -std::numeric_limits<double>::infinity();
    Split best;
    std::vector<std::pair<float, int64_t>> sorted(static_cast<size_t>(n));
    std::vector<int64_t> left(total.size()), right(total.size());
    for (int64_t f = 0; f < x_.cols; ++f) {
      for (int64_t i = 0; i < n; ++i) {
        int64_t s = samples_[static_cast<size_t>(start + i)];
        sorted[static_cast<size_t>(i)] = {x_.at(s, f), s};
      }
      std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      auto value = [&](int64_t i) { return static_cast<double>(sorted[static_cast<size_t>(i)].first); };
      if (value(n - 1) <= value(0) + kFeatureThreshold) continue;  // constant feature
      std::fill(left.begin(), left.end(), 0);
      int64_t counted = 0;  // sorted[0, counted) are in `left`
      for (int64_t p = 0; p < n;) {
        // Skip to the next value more than FEATURE_THRESHOLD above the previous one.
        while (p + 1 < n && value(p + 1) <= value(p) + kFeatureThreshold) ++p;
        ++p;
        if (p >= n) break;
        if (p < min_leaf || n - p < min_leaf) continue;
        for (; counted < p; ++counted) ++left[static_cast<size_t>(y_[static_cast<size_t>(sorted[static_cast<size_t>(counted)].second)])];
        for (size_t c = 0; c < total.size(); ++c) right[c] = total[c] - left[c];
        auto n_left = static_cast<double>(p), n_right = static_cast<double>(n - p);
        double proxy = -product(n_right, impurity(options_.criterion, right, n_right)) -
                       product(n_left, impurity(options_.criterion, left, n_left));
        if (proxy > best_proxy) {
          best_proxy = proxy;
          best.feature = f;
          best.pos = p;
          // The midpoint, as a sum of halves (no overflow); where it rounds up to the upper
          // value the lower one is the threshold, so the upper value still goes right.
          best.threshold = value(p - 1) / 2.0 + value(p) / 2.0;
          if (best.threshold == value(p) || std::isinf(best.threshold)) best.threshold = value(p - 1);
        }
      }
    }
    if (best.feature >= 0) {
      auto first = samples_.begin() + start, last = samples_.begin() + end;
      auto middle = std::partition(first, last, [&](int64_t s) {
        return static_cast<double>(x_.at(s, best.feature)) <= best.threshold;
      });
      if (middle - first != best.pos)  // the threshold lies between the values at pos-1 and pos
        fail<Error>("DecisionTree::fit: internal error: the split of feature ", best.feature, " at ", best.threshold,
                    " sends ", middle - first, " samples left, expected ", best.pos);
    }
    return best;
  }

  // scikit-learn's impurity_improvement (the weighted decrease, as a fraction of all samples),
  // after the split has partitioned the samples.
  double improvement(int64_t start, int64_t end, const Split& split, const TreeNode& node) const {
    auto n = static_cast<double>(node.samples);
    auto n_left = static_cast<double>(split.pos), n_right = n - n_left;
    double impurity_left = impurity(options_.criterion, counts(start, start + split.pos), n_left);
    double impurity_right = impurity(options_.criterion, counts(start + split.pos, end), n_right);
    return (n / static_cast<double>(x_.rows)) *
           (node.impurity - product(n_right / n, impurity_right) - product(n_left / n, impurity_left));
  }

  const FeatureTable& x_;
  const std::vector<int64_t>& y_;
  int64_t num_classes_;
  TreeOptions options_;
  std::vector<int64_t> samples_;  // permuted so that every node's samples are contiguous
};

// "12.3", "0.0514", "1.5e+03": three significant digits.
std::string short_number(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3g", v);
  return buffer;
}

}  // namespace

// ------------------------------------------------------------------ DecisionTree

int64_t TreeNode::predicted_class() const {
  return std::max_element(class_counts.begin(), class_counts.end()) - class_counts.begin();
}

DecisionTree DecisionTree::fit(const Tensor& features, const Tensor& labels, int64_t num_classes,
                               const TreeOptions& options) {
  const char* fn = "DecisionTree::fit";
  check_options(fn, num_classes, options);
  FeatureTable x = read_features(fn, "features", features);
  std::vector<int64_t> y = read_labels(fn, "labels", labels, num_classes);
  check_lengths(fn, "features", x.rows, "labels", static_cast<int64_t>(y.size()));
  DecisionTree tree;
  tree.nodes_ = Grower(x, y, num_classes, options).grow();
  tree.num_features_ = x.cols;
  tree.num_classes_ = num_classes;
  return tree;
}

std::vector<int64_t> DecisionTree::leaves(const char* method, const Tensor& features) const {
  if (nodes_.empty()) fail<ValueError>(method, ": the tree has not been fitted");
  FeatureTable x = read_features(method, "features", features);
  if (x.cols != num_features_)
    fail<ShapeError>(method, ": features have ", x.cols, " columns but the tree was fitted on ", num_features_,
                     " features");
  std::vector<int64_t> leaf(static_cast<size_t>(x.rows));
  for (int64_t i = 0; i < x.rows; ++i) {
    int64_t k = 0;
    while (!nodes_[static_cast<size_t>(k)].is_leaf()) {
      const TreeNode& node = nodes_[static_cast<size_t>(k)];
      k = static_cast<double>(x.at(i, node.feature)) <= node.threshold ? node.left : node.right;
    }
    leaf[static_cast<size_t>(i)] = k;
  }
  return leaf;
}

Tensor DecisionTree::apply(const Tensor& features) const { return from_vector(leaves("DecisionTree::apply", features)); }

Tensor DecisionTree::predict(const Tensor& features) const {
  std::vector<int64_t> out = leaves("DecisionTree::predict", features);
  for (int64_t& k : out) k = nodes_[static_cast<size_t>(k)].predicted_class();
  return from_vector(out);
}

Tensor DecisionTree::predict_proba(const Tensor& features) const {
  std::vector<int64_t> leaf = leaves("DecisionTree::predict_proba", features);
  std::vector<float> out;
  out.reserve(leaf.size() * static_cast<size_t>(num_classes_));
  for (int64_t k : leaf) {
    const TreeNode& node = nodes_[static_cast<size_t>(k)];
    for (int64_t c : node.class_counts)
      out.push_back(static_cast<float>(static_cast<double>(c) / static_cast<double>(node.samples)));
  }
  return from_vector(out, {static_cast<int64_t>(leaf.size()), num_classes_});
}

int64_t DecisionTree::depth() const {
  if (nodes_.empty()) return 0;
  std::vector<int64_t> depth_of(nodes_.size(), 0);
  int64_t deepest = 0;
  for (size_t k = 0; k < nodes_.size(); ++k) {  // a parent comes before its children
    deepest = std::max(deepest, depth_of[k]);
    if (!nodes_[k].is_leaf())
      depth_of[static_cast<size_t>(nodes_[k].left)] = depth_of[static_cast<size_t>(nodes_[k].right)] = depth_of[k] + 1;
  }
  return deepest;
}

int64_t DecisionTree::leaf_count() const {
  return std::count_if(nodes_.begin(), nodes_.end(), [](const TreeNode& n) { return n.is_leaf(); });
}

// ------------------------------------------------------------------ rules

std::vector<Rule> extract_rules(const DecisionTree& tree) {
  const std::vector<TreeNode>& nodes = tree.nodes();
  if (nodes.empty()) fail<ValueError>("extract_rules: the tree has not been fitted");
  std::vector<Rule> rules;
  auto all = static_cast<double>(nodes[0].samples);
  // Depth first, left before right: leaves come out in node order.
  std::vector<std::pair<int64_t, std::vector<Condition>>> stack{{0, {}}};
  while (!stack.empty()) {
    auto [k, conditions] = std::move(stack.back());
    stack.pop_back();
    const TreeNode& node = nodes[static_cast<size_t>(k)];
    if (node.is_leaf()) {
      Rule rule;
      rule.conditions = std::move(conditions);
      rule.leaf = k;
      rule.predicted_class = node.predicted_class();
      rule.samples = node.samples;
      rule.coverage = static_cast<double>(node.samples) / all;
      rule.confidence = static_cast<double>(node.class_counts[static_cast<size_t>(rule.predicted_class)]) /
                        static_cast<double>(node.samples);
      rules.push_back(std::move(rule));
      continue;
    }
    for (bool less_equal : {false, true}) {  // right first, so that left is handled first
      std::vector<Condition> path = conditions;
      auto same = std::find_if(path.begin(), path.end(), [&](const Condition& c) {
        return c.feature == node.feature && c.less_equal == less_equal;
      });
      if (same == path.end()) path.push_back({node.feature, less_equal, node.threshold});
      else same->threshold = less_equal ? std::min(same->threshold, node.threshold) : std::max(same->threshold, node.threshold);
      stack.emplace_back(less_equal ? node.left : node.right, std::move(path));
    }
  }
  return rules;
}

std::string format_rules(const std::vector<Rule>& rules, const std::vector<std::string>& feature_names,
                         const std::vector<std::string>& class_names) {
  // names[index], or `unnamed` when no names were given.
  auto name = [](const std::vector<std::string>& names, int64_t index, const char* kind, const std::string& unnamed,
                 size_t rule) {
    if (names.empty()) return unnamed;
    if (index < 0 || static_cast<size_t>(index) >= names.size())
      fail<ValueError>("format_rules: rule ", rule, " uses ", kind, " ", index, " but only ", names.size(), " ", kind,
                       " names were given");
    return names[static_cast<size_t>(index)];
  };
  std::string text;
  for (size_t r = 0; r < rules.size(); ++r) {
    const Rule& rule = rules[r];
    if (rule.conditions.empty()) {
      text += "always ";
    } else {
      text += "if ";
      for (size_t i = 0; i < rule.conditions.size(); ++i) {
        const Condition& c = rule.conditions[i];
        if (i > 0) text += " and ";
        text += name(feature_names, c.feature, "feature", detail::concat("x[", c.feature, "]"), r) + (c.less_equal ? " <= " : " > ") +
                short_number(c.threshold);
      }
      text += " then ";
    }
    text += name(class_names, rule.predicted_class, "class", detail::concat("class ", rule.predicted_class), r) + "  (coverage " +
            short_number(100 * rule.coverage) + "%, confidence " + short_number(100 * rule.confidence) + "%)\n";
  }
  return text;
}

// ------------------------------------------------------------------ the surrogate

namespace {

// Fidelity and accuracies of the report's tree on the evaluation rows.
void measure(SurrogateReport& report, const Tensor& eval_features, const std::vector<int64_t>& eval_model,
             const std::vector<int64_t>& truth) {
  std::vector<int64_t> tree = report.tree.predict(eval_features).to_vector<int64_t>();
  int64_t agree = 0, tree_right = 0, model_right = 0;
  for (size_t i = 0; i < truth.size(); ++i) {
    agree += tree[i] == eval_model[i];
    tree_right += tree[i] == truth[i];
    model_right += eval_model[i] == truth[i];
  }
  auto n = static_cast<double>(truth.size());
  report.fidelity = static_cast<double>(agree) / n;
  report.accuracy = static_cast<double>(tree_right) / n;
  report.model_accuracy = static_cast<double>(model_right) / n;
}

}  // namespace

SurrogateReport fit_surrogate(const Tensor& fit_features, const Tensor& fit_model_predictions,
                              const Tensor& eval_features, const Tensor& eval_model_predictions,
                              const Tensor& eval_labels, int64_t num_classes, const TreeOptions& options) {
  // Every input is checked here first, so that an error names the argument as passed.
  const char* fn = "fit_surrogate";
  check_options(fn, num_classes, options);
  FeatureTable fit_x = read_features(fn, "fit_features", fit_features);
  std::vector<int64_t> fit_y = read_predictions(fn, "fit_model_predictions", fit_model_predictions, num_classes);
  check_lengths(fn, "fit_features", fit_x.rows, "fit_model_predictions", static_cast<int64_t>(fit_y.size()));
  FeatureTable eval_x = read_features(fn, "eval_features", eval_features);
  if (eval_x.cols != fit_x.cols)
    fail<ShapeError>(fn, ": eval_features have ", eval_x.cols, " columns but fit_features have ", fit_x.cols);
  std::vector<int64_t> eval_model = read_predictions(fn, "eval_model_predictions", eval_model_predictions, num_classes);
  std::vector<int64_t> truth = read_labels(fn, "eval_labels", eval_labels, num_classes);
  check_lengths(fn, "eval_features", eval_x.rows, "eval_model_predictions", static_cast<int64_t>(eval_model.size()));
  check_lengths(fn, "eval_features", eval_x.rows, "eval_labels", static_cast<int64_t>(truth.size()));

  SurrogateReport report;
  report.tree = DecisionTree::fit(fit_features, from_vector(fit_y), num_classes, options);
  report.rules = extract_rules(report.tree);
  measure(report, eval_features, eval_model, truth);
  return report;
}

}  // namespace cajal::explain
