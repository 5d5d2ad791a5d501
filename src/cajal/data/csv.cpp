#include "cajal/data/csv.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <sstream>

#include "cajal/io/input_file.h"
#include "cajal/ops/creation.h"

namespace cajal::data {

namespace {

std::string read_file(const std::string& path) {
  refuse_special_file(path, "load_csv: ");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail<IOError>("load_csv: ", path, ": cannot open file");
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

// The fields of one line. A field may be quoted ("a, b"), with "" standing for a quote.
std::vector<std::string> split_fields(std::string_view line, char delimiter, const std::string& where) {
  std::vector<std::string> fields;
  size_t i = 0;
  while (true) {
    std::string field;
    const size_t start = i;
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i < line.size() && line[i] == '"') {
      for (++i;; ++i) {
        if (i >= line.size()) fail<IOError>(where, ":", fields.size() + 1, ": unterminated quoted field");
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field += '"';
            ++i;
          } else {
            break;
          }
        } else {
          field += line[i];
        }
      }
      ++i;  // past the closing quote
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      if (i < line.size() && line[i] != delimiter)
        fail<IOError>(where, ":", fields.size() + 1, ": text after a closing quote");
    } else {
      const size_t end = std::min(line.find(delimiter, start), line.size());
      field = trim(line.substr(start, end - start));
      i = end;
    }
    fields.push_back(std::move(field));
    if (i >= line.size()) return fields;
    ++i;  // past the delimiter
  }
}

bool is_missing(std::string_view s) {
  std::string lower(s);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return lower.empty() || lower == "na" || lower == "n/a" || lower == "nan" || lower == "null" || lower == "?";
}

// A finite number, or an IOError at where (file:line:column) naming the column.
double parse_number(const std::string& field, const std::string& where, const std::string& column) {
  if (is_missing(field)) fail<IOError>(where, ": missing value in column '", column, "'");
  std::string_view text = field;
  if (text.front() == '+') text.remove_prefix(1);
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size())
    fail<IOError>(where, ": '", field, "' in column '", column, "' is not a number");
  if (!std::isfinite(value)) fail<IOError>(where, ": '", field, "' in column '", column, "' is not a finite number");
  return value;
}

// A number stored as float32 (features, regression targets): beyond float32's range it would
// become infinity, so it is an IOError at where naming the column.
float parse_float32(const std::string& field, const std::string& where, const std::string& column) {
  const double value = parse_number(field, where, column);
  if (std::abs(value) > std::numeric_limits<float>::max())
    fail<IOError>(where, ": '", field, "' in column '", column, "' is out of range for float32 (at most ",
                  std::numeric_limits<float>::max(), " in magnitude)");
  return static_cast<float>(value);
}

struct Line {
  int64_t number;  // from 1
  std::vector<std::string> fields;
};

// The non-blank lines after skip_lines, split into fields.
std::vector<Line> read_lines(const std::string& path, const CsvOptions& options) {
  const std::string text = read_file(path);
  std::vector<Line> lines;
  int64_t number = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = end + 1;
    ++number;
    if (number <= options.skip_lines || trim(line).empty()) continue;
    lines.push_back({number, split_fields(line, options.delimiter, path + ":" + std::to_string(number))});
  }
  return lines;
}

// The index of the column named `name` (`what`: "label", "ignored"); a ValueError listing the
// columns when there is none.
size_t column_index(const CsvOptions& options, const std::vector<std::string>& names, const std::string& name,
                    const std::string& what, const std::string& path) {
  if (!options.header) fail<ValueError>("load_csv: ", path, ": ", what, " column '", name, "' given by name, but the file has no header");
  const auto found = std::find(names.begin(), names.end(), name);
  if (found == names.end()) {
    std::ostringstream known;
    for (size_t k = 0; k < names.size(); ++k) known << (k ? ", " : "") << "'" << names[k] << "'";
    fail<ValueError>("load_csv: ", path, ": no column named '", name, "' (columns: ", known.str(), ")");
  }
  return static_cast<size_t>(found - names.begin());
}

size_t label_index(const CsvOptions& options, const std::vector<std::string>& names, const std::string& path) {
  const auto columns = static_cast<int64_t>(names.size());
  if (const auto* name = std::get_if<std::string>(&options.label_column)) return column_index(options, names, *name, "label", path);
  const int64_t index = std::get<int64_t>(options.label_column);
  const int64_t wrapped = index < 0 ? index + columns : index;
  if (wrapped < 0 || wrapped >= columns)
    fail<ValueError>("load_csv: ", path, ": label column index ", index, " is out of range for ", columns, " columns");
  return static_cast<size_t>(wrapped);
}

// Class names to indices: the given list, or the sorted distinct names.
std::map<std::string, int64_t> class_indices(const std::vector<std::string>& given,
                                             const std::vector<std::string>& found, const std::string& path) {
  std::vector<std::string> classes = given;
  if (classes.empty()) {
    classes = found;
    std::sort(classes.begin(), classes.end());
    classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
  }
  std::map<std::string, int64_t> indices;
  for (const std::string& name : classes)
    if (!indices.emplace(name, static_cast<int64_t>(indices.size())).second)
      fail<ValueError>("load_csv: ", path, ": class '", name, "' is listed twice in classes");
  return indices;
}

}  // namespace

CsvTable load_csv(const std::string& path, const CsvOptions& options) {
  if (options.skip_lines < 0) fail<ValueError>("load_csv: skip_lines must be non-negative, got ", options.skip_lines);
  std::vector<Line> lines = read_lines(path, options);
  if (lines.empty() || (options.header && lines.size() == 1)) fail<IOError>("load_csv: ", path, ": no data rows");

  CsvTable table;
  std::vector<std::string> names;
  if (options.header) {
    names = lines.front().fields;
    lines.erase(lines.begin());
  } else {
    for (size_t k = 0; k < lines.front().fields.size(); ++k) names.push_back("column " + std::to_string(k + 1));
  }
  const size_t label = label_index(options, names, path);
  std::vector<size_t> ignored;  // column indices, in the order of ignore_columns
  for (const std::string& name : options.ignore_columns) {
    const size_t k = column_index(options, names, name, "ignored", path);
    if (k == label) fail<ValueError>("load_csv: ", path, ": column '", name, "' is the label; it cannot also be ignored");
    if (std::find(ignored.begin(), ignored.end(), k) != ignored.end())
      fail<ValueError>("load_csv: ", path, ": column '", name, "' is ignored twice");
    ignored.push_back(k);
    table.ignored.emplace_back(name, std::vector<std::string>{});
  }
  const auto is_ignored = [&](size_t k) { return std::find(ignored.begin(), ignored.end(), k) != ignored.end(); };
  if (names.size() < 2 + ignored.size())
    fail<IOError>("load_csv: ", path, ": ", names.size() - ignored.size(), " column", ignored.empty() ? "" : " not ignored",
                  ", need features and a label");
  table.label_name = names[label];
  for (size_t k = 0; k < names.size(); ++k)
    if (k != label && !is_ignored(k)) table.feature_names.push_back(names[k]);

  const auto rows = static_cast<int64_t>(lines.size());
  const auto num_features = static_cast<int64_t>(table.feature_names.size());
  std::vector<float> features;
  features.reserve(static_cast<size_t>(rows * num_features));
  std::vector<double> label_values;  // Indices and Values
  std::vector<std::string> label_names;  // Names
  for (const Line& line : lines) {
    const std::string at = path + ":" + std::to_string(line.number);
    if (line.fields.size() != names.size())
      fail<IOError>(at, ": ", line.fields.size(), " fields, expected ", names.size(), options.header ? " (as the header)" : " (as the first row)");
    for (size_t k = 0; k < ignored.size(); ++k) table.ignored[k].second.push_back(line.fields[ignored[k]]);
    for (size_t k = 0; k < names.size(); ++k) {
      const std::string where = at + ":" + std::to_string(k + 1);
      if (is_ignored(k)) continue;
      if (k != label) {
        features.push_back(parse_float32(line.fields[k], where, names[k]));
      } else if (options.labels == CsvLabels::Names) {
        if (is_missing(line.fields[k])) fail<IOError>(where, ": missing label in column '", names[k], "'");
        label_names.push_back(line.fields[k]);
      } else {
        const double value = options.labels == CsvLabels::Values ? parse_float32(line.fields[k], where, names[k])
                                                                 : parse_number(line.fields[k], where, names[k]);
        if (options.labels == CsvLabels::Indices && (value < 0 || value != std::floor(value) || value > 1e15))
          fail<IOError>(where, ": label '", line.fields[k], "' in column '", names[k],
                        "' is not a class index (a non-negative integer); for class names or regression targets "
                        "choose labels = Names or Values");
        label_values.push_back(value);
      }
    }
  }

  table.features = from_vector(features, {rows, num_features});
  if (options.labels == CsvLabels::Names) {
    const std::map<std::string, int64_t> indices = class_indices(options.classes, label_names, path);
    std::vector<int64_t> targets;
    for (size_t r = 0; r < label_names.size(); ++r) {
      const auto found = indices.find(label_names[r]);
      if (found == indices.end())
        fail<IOError>(path, ":", lines[r].number, ":", label + 1, ": class '", label_names[r], "' is not among the ",
                      indices.size(), " given classes");
      targets.push_back(found->second);
    }
    table.classes.resize(indices.size());
    for (const auto& [name, index] : indices) table.classes[static_cast<size_t>(index)] = name;
    table.labels = from_vector(targets, {rows});
  } else if (options.labels == CsvLabels::Indices) {
    table.labels = from_vector(std::vector<int64_t>(label_values.begin(), label_values.end()), {rows});
  } else {
    table.labels = from_vector(std::vector<float>(label_values.begin(), label_values.end()), {rows});
  }
  table.dataset = tensor_dataset(table.features, table.labels);
  return table;
}

}  // namespace cajal::data
