#pragma once
// CSV tables: numeric feature columns and one label column, as a TensorDataset.
//
//   auto table = data::load_csv("iris.csv", {.label_column = "species", .labels = data::CsvLabels::Names});
//   table.dataset;  // inputs float32 [N, F], targets int64 [N]
//   table.classes;  // {"setosa", "versicolor", "virginica"}: class k is classes[k]
//
// Every problem is an IOError "file:line:column: ..." (line and column counted from 1).
#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "cajal/data/dataset.h"

namespace cajal::data {

enum class CsvLabels {
  Indices,  // integer class indices (0, 1, ...) -> int64
  Names,    // class names (any text) -> int64 indices into CsvTable::classes
  Values,   // numbers for regression -> float32
};

struct CsvOptions {
  // The label column: its header name, or its 0-based index (negative counts from the end).
  std::variant<int64_t, std::string> label_column = int64_t{-1};
  CsvLabels labels = CsvLabels::Indices;
  // Names only: the class names in index order. Empty: the distinct names found, sorted.
  // Give the training table's classes when loading its validation or test table.
  std::vector<std::string> classes = {};
  // Columns left out of the features, by header name: identifiers, or a sensitive attribute
  // kept for a fairness audit. They may hold any text; CsvTable::ignored keeps it.
  std::vector<std::string> ignore_columns = {};
  bool header = true;      // the first (non-skipped) line names the columns
  int64_t skip_lines = 0;  // lines to skip before the header (scikit-learn's tables start with a line of counts)
  char delimiter = ',';
};

struct CsvTable {
  DatasetPtr dataset;                      // inputs float32 [N, F], targets as CsvOptions::labels says
  Tensor features;                         // the inputs
  Tensor labels;                           // the targets
  std::vector<std::string> feature_names;  // header names (or "column <k>" without a header)
  std::string label_name;
  std::vector<std::string> classes;        // Names: class k's name; otherwise empty
  // Each ignored column's text, row by row, in the order of CsvOptions::ignore_columns.
  std::vector<std::pair<std::string, std::vector<std::string>>> ignored;
};

CsvTable load_csv(const std::string& path, const CsvOptions& options = {});

}  // namespace cajal::data
