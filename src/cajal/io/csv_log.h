#pragma once
// metrics.csv: one row of named numbers per epoch, readable by any spreadsheet or
// pandas.read_csv.
//
// The header comes from the keys of the first row. A later row may bring new keys: the new
// columns are appended to the header and the file is rewritten (atomically) with empty cells
// for the rows that came before; a key missing from a later row leaves its cell empty. So the
// file always has one header that names every column, and nobody has to declare the columns
// up front. Rows whose keys are all known are appended and fsync'ed at once.
//
// Numbers are written in the shortest form that reads back as the same double ("0.1",
// "3", "1e-300"); NaN and infinities as "nan", "inf" and "-inf" (as Python's float() and
// pandas read them). A key holding ',' or '"' is quoted as RFC 4180 says.
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace cajal {

// Named values in a fixed order, e.g. {{"epoch", 3}, {"train_loss", 0.41}, {"val_loss", 0.45}}.
using NamedValues = std::vector<std::pair<std::string, double>>;

// `value` in the shortest decimal form that parses back to the same double ("nan", "inf",
// "-inf" for the non-finite values).
std::string format_shortest(double value);

class CsvLog {
 public:
  // Starts a new log at `path`, replacing any file there once the first row is written.
  explicit CsvLog(std::string path);

  // Continues the log at `path` after a resumed run: reads it, keeps its first `keep_rows`
  // rows (those of the epochs the checkpoint holds), drops any later ones (epochs that ran
  // after the checkpoint and will run again) and rewrites the file. Throws an IOError naming
  // the file and line when the file is missing, malformed or holds fewer rows.
  static CsvLog resume(std::string path, size_t keep_rows);

  // Adds one row and writes it to disk. Keys must be unique within the row, non-empty and
  // free of line breaks (a ValueError otherwise).
  void log(const NamedValues& row);

  const std::string& path() const { return path_; }
  const std::vector<std::string>& columns() const { return columns_; }
  // Every row so far, one cell per column (empty where the row had no such key).
  const std::vector<std::vector<std::optional<double>>>& rows() const { return rows_; }

 private:
  void rewrite() const;                // the whole file, atomically
  void append_last_row() const;        // the last row, appended and flushed
  std::string header_line() const;
  std::string row_line(const std::vector<std::optional<double>>& row) const;

  std::string path_;
  std::vector<std::string> columns_;
  std::vector<std::vector<std::optional<double>>> rows_;
};

}  // namespace cajal
