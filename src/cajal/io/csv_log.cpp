#include "cajal/io/csv_log.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "cajal/core/error.h"
#include "cajal/io/atomic_file.h"

namespace cajal {

std::string format_shortest(double value) {
  if (std::isnan(value)) return "nan";  // to_chars may write "-nan"; NaN's sign means nothing here
  char buf[64];
  auto result = std::to_chars(buf, buf + sizeof buf, value);  // shortest round-trip form
  return std::string(buf, result.ptr);
}

namespace {

// A header cell: quoted (with '"' doubled) when it holds a comma or a quote.
std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// The cells of one line of a file this class wrote: fields separated by commas, a field in
// double quotes may hold commas and doubled quotes.
std::vector<std::string> split_csv_line(const std::string& line, const std::string& where) {
  std::vector<std::string> cells(1);
  size_t i = 0;
  while (i < line.size()) {
    char c = line[i++];
    if (c == ',') {
      cells.emplace_back();
    } else if (c == '"' && cells.back().empty()) {
      for (;;) {
        if (i >= line.size()) fail<IOError>("CsvLog: ", where, ": unterminated quoted field");
        char q = line[i++];
        if (q != '"') {
          cells.back() += q;
        } else if (i < line.size() && line[i] == '"') {
          cells.back() += '"';
          ++i;
        } else {
          break;
        }
      }
      if (i < line.size() && line[i] != ',') fail<IOError>("CsvLog: ", where, ": text after a closing quote");
    } else {
      cells.back() += c;
    }
  }
  return cells;
}

std::optional<double> parse_cell(const std::string& cell, const std::string& where, const std::string& column) {
  if (cell.empty()) return std::nullopt;
  double value = 0;
  auto [end, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), value);
  if (ec != std::errc() || end != cell.data() + cell.size())
    fail<IOError>("CsvLog: ", where, ": column \"", column, "\": \"", cell, "\" is not a number");
  return value;
}

}  // namespace

CsvLog::CsvLog(std::string path) : path_(std::move(path)) {}

CsvLog CsvLog::resume(std::string path, size_t keep_rows) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail<IOError>("CsvLog::resume: cannot open ", path, ": ", std::strerror(errno));
  CsvLog log(path);
  std::string line;
  size_t line_no = 0;
  // Reads the next line without its line break ("\n" or "\r\n"); false at the end.
  auto next_line = [&] {
    if (!std::getline(in, line)) return false;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return true;
  };
  auto where = [&] { return path + ": line " + std::to_string(line_no); };
  if (!next_line() || line.empty()) fail<IOError>("CsvLog::resume: ", path, ": no header line");
  log.columns_ = split_csv_line(line, where());
  for (size_t c = 0; c < log.columns_.size(); ++c)
    if (std::count(log.columns_.begin(), log.columns_.end(), log.columns_[c]) > 1)
      fail<IOError>("CsvLog::resume: ", where(), ": column \"", log.columns_[c], "\" appears twice in the header");
  // Rows after keep_rows are dropped unread: the last one may be half written by a run that
  // was stopped while appending it.
  while (log.rows_.size() < keep_rows && next_line()) {
    std::vector<std::string> cells = split_csv_line(line, where());
    if (cells.size() != log.columns_.size())
      fail<IOError>("CsvLog::resume: ", where(), ": ", cells.size(), " cells, the header has ", log.columns_.size());
    std::vector<std::optional<double>> row;
    for (size_t c = 0; c < cells.size(); ++c) row.push_back(parse_cell(cells[c], where(), log.columns_[c]));
    log.rows_.push_back(std::move(row));
  }
  if (log.rows_.size() < keep_rows)
    fail<IOError>("CsvLog::resume: ", path, " holds ", log.rows_.size(), " rows, the checkpoint needs ", keep_rows);
  log.rewrite();
  return log;
}

void CsvLog::log(const NamedValues& row) {
  CAJAL_CHECK(!row.empty(), ValueError, "CsvLog::log: ", path_, ": the row has no values");
  size_t known_columns = columns_.size();
  std::vector<std::optional<double>> cells(columns_.size());
  for (size_t i = 0; i < row.size(); ++i) {
    const std::string& key = row[i].first;
    CAJAL_CHECK(!key.empty(), ValueError, "CsvLog::log: ", path_, ": a key is empty");
    CAJAL_CHECK(key.find_first_of("\r\n") == std::string::npos, ValueError, "CsvLog::log: ", path_, ": key \"", key,
                "\" holds a line break");
    for (size_t j = 0; j < i; ++j)
      CAJAL_CHECK(row[j].first != key, ValueError, "CsvLog::log: ", path_, ": key \"", key, "\" appears twice in the row");
    size_t column = std::find(columns_.begin(), columns_.end(), key) - columns_.begin();
    if (column == columns_.size()) {
      columns_.push_back(key);
      cells.emplace_back();
    }
    cells[column] = row[i].second;
  }
  for (auto& old_row : rows_) old_row.resize(columns_.size());
  rows_.push_back(std::move(cells));
  if (columns_.size() != known_columns)
    rewrite();
  else
    append_last_row();
}

std::string CsvLog::header_line() const {
  std::string line;
  for (size_t c = 0; c < columns_.size(); ++c) {
    if (c) line += ',';
    line += csv_field(columns_[c]);
  }
  return line + "\n";
}

std::string CsvLog::row_line(const std::vector<std::optional<double>>& row) const {
  std::string line;
  for (size_t c = 0; c < row.size(); ++c) {
    if (c) line += ',';
    if (row[c]) line += format_shortest(*row[c]);
  }
  return line + "\n";
}

void CsvLog::rewrite() const {
  std::string text = header_line();
  for (const auto& row : rows_) text += row_line(row);
  write_file_atomically(path_, {text}, "CsvLog");
}

void CsvLog::append_last_row() const {
  std::string line = row_line(rows_.back());
  std::FILE* f = std::fopen(path_.c_str(), "ab");
  if (!f) fail<IOError>("CsvLog: cannot open ", path_, " to append: ", std::strerror(errno));
  // fsync'ed (once an epoch, cheap beside a checkpoint's two): the epoch's checkpoint, fsync'ed
  // too, is written after this row (the trainer calls checkpoint writers last), and a resume
  // needs every row its epochs_done counts, so after a power loss the row must be on disk if
  // the checkpoint is.
  bool written = std::fwrite(line.data(), 1, line.size(), f) == line.size() && std::fflush(f) == 0 &&
                 ::fsync(::fileno(f)) == 0;
  int err = errno;
  if (std::fclose(f) != 0 && written) {
    written = false;
    err = errno;
  }
  if (!written) fail<IOError>("CsvLog: cannot append to ", path_, ": ", std::strerror(err));
}

}  // namespace cajal
