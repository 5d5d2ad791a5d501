// TfIdfVectorizer: counts of the n-grams of a pool in each row of token ids (ints), optionally
// with skips between an n-gram's tokens, turned into term frequencies, inverse document
// frequency weights or both. Counting is plain loops over the ids; the result is data for
// the layers after it, not something to differentiate.
#include <map>

#include "cajal/onnx/import_ops.h"
#include "cajal/ops/creation.h"

namespace cajal::onnx {

namespace {

TensorList run_tfidf(const Node& node, const TensorList& in) {
  const Tensor& x = in.at(0);
  if (x.is_floating_point() || x.dim() < 1 || x.dim() > 2) fail<ShapeError>(node.where(), ": X must be [C] or [N, C] integers");
  if (!node.has("pool_int64s")) node.unsupported("pool_strings");
  const int64_t min_n = node.get_int("min_gram_length", 1), max_n = node.get_int("max_gram_length", 1);
  const int64_t max_skip = node.get_int("max_skip_count", 0);
  const std::string mode = node.get_string("mode", "TF");
  std::vector<int64_t> counts = node.get_ints("ngram_counts"), indexes = node.get_ints("ngram_indexes"), pool = node.get_ints("pool_int64s");
  std::vector<double> weights = node.get_floats("weights");
  if (min_n < 1 || max_n < min_n || max_skip < 0 || static_cast<int64_t>(counts.size()) < max_n)
    fail<ValueError>(node.where(), ": gram lengths, max_skip_count and ngram_counts do not fit");
  // The pool's n-grams by length: pool[counts[n-1] .. counts[n]) holds the n-grams of n tokens,
  // numbered in pool order across lengths; each number's output column is ngram_indexes[number].
  std::map<std::vector<int64_t>, int64_t> columns;
  std::map<int64_t, double> column_weights;  // weights are given per n-gram of the pool
  int64_t number = 0, width = 0;
  for (int64_t n = 1; n <= static_cast<int64_t>(counts.size()); ++n) {
    int64_t begin = counts[static_cast<size_t>(n - 1)];
    int64_t end = n < static_cast<int64_t>(counts.size()) ? counts[static_cast<size_t>(n)] : static_cast<int64_t>(pool.size());
    if (begin < 0 || end < begin || end > static_cast<int64_t>(pool.size()) || (end - begin) % n != 0)
      fail<ValueError>(node.where(), ": ngram_counts do not divide the pool into n-grams");
    for (int64_t at = begin; at < end; at += n, ++number) {
      if (number >= static_cast<int64_t>(indexes.size())) fail<ValueError>(node.where(), ": fewer ngram_indexes than n-grams");
      int64_t column = indexes[static_cast<size_t>(number)];
      if (column < 0) fail<ValueError>(node.where(), ": negative ngram index");
      if (n >= min_n && n <= max_n) columns[std::vector<int64_t>(pool.begin() + at, pool.begin() + at + n)] = column;
      if (!weights.empty()) {
        if (number >= static_cast<int64_t>(weights.size())) fail<ValueError>(node.where(), ": fewer weights than n-grams");
        column_weights[column] = weights[static_cast<size_t>(number)];
      }
      width = std::max(width, column + 1);
    }
  }
  const bool batched = x.dim() == 2;
  const int64_t rows = batched ? x.size(0) : 1, length = x.size(-1);
  std::vector<int64_t> ids = x.to_vector<int64_t>();
  std::vector<double> out(static_cast<size_t>(rows * width), 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t* row = ids.data() + r * length;
    for (int64_t n = min_n; n <= max_n; ++n) {
      // A unigram has no gaps to skip, so it is counted once, not once per skip.
      for (int64_t skip = 0; skip <= (n == 1 ? 0 : max_skip); ++skip) {
        const int64_t stride = skip + 1;
        for (int64_t start = 0; start + (n - 1) * stride < length; ++start) {
          std::vector<int64_t> gram;
          for (int64_t j = 0; j < n; ++j) gram.push_back(row[start + j * stride]);
          if (auto it = columns.find(gram); it != columns.end()) out[static_cast<size_t>(r * width + it->second)] += 1;
        }
      }
    }
  }
  for (size_t k = 0; k < out.size(); ++k) {
    auto given = column_weights.find(static_cast<int64_t>(k % static_cast<size_t>(width)));
    double weight = given == column_weights.end() ? 1.0 : given->second;
    if (mode == "IDF") out[k] = out[k] > 0 ? weight : 0;
    else if (mode == "TFIDF") out[k] *= weight;
    else if (mode != "TF") fail<ValueError>(node.where(), ": unknown mode '", mode, "'");
  }
  Dims shape = batched ? Dims{rows, width} : Dims{width};
  return {from_vector(out, shape).to(DType::f32)};
}

}  // namespace

void register_text_ops(OpTable& table) { table["TfIdfVectorizer"] = {run_tfidf, 9}; }

}  // namespace cajal::onnx
