#include "cajal/data/series.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <optional>
#include <sstream>

#include "cajal/core/error.h"
#include "cajal/io/input_file.h"
#include "cajal/ops/creation.h"

namespace cajal::data {

namespace {

std::string trim(const std::string& s) {
  size_t first = s.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
}

// The comma-separated fields of a line, each trimmed; a field in double quotes may hold
// commas, and "" inside it stands for a quote.
std::vector<std::string> split_fields(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (c == '"' && quoted && i + 1 < line.size() && line[i + 1] == '"') {
      fields.back() += '"';
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  for (std::string& field : fields) field = trim(field);
  return fields;
}

// A number, or nullopt for a missing value ("", NA, nan, null); anything else is an IOError.
std::optional<double> parse_value(const std::string& field, const std::string& where) {
  std::string lower = field;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower.empty() || lower == "na" || lower == "nan" || lower == "null") return std::nullopt;
  double value = 0;
  const char* begin = field.data() + (field.front() == '+' ? 1 : 0);
  auto [end, error] = std::from_chars(begin, field.data() + field.size(), value);
  if (error != std::errc() || end != field.data() + field.size() || !std::isfinite(value))
    fail<IOError>(where, ": '", field, "' is not a number");
  return value;
}

// Fills the missing values between known ones on a straight line, and those at the ends
// with the nearest known value.
void interpolate(std::vector<std::optional<double>>& values, const std::string& path) {
  std::vector<size_t> known;
  for (size_t i = 0; i < values.size(); ++i)
    if (values[i]) known.push_back(i);
  if (known.empty()) fail<IOError>(path, ": the column has no values");
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i]) continue;
    auto after = std::lower_bound(known.begin(), known.end(), i);
    if (after == known.begin()) values[i] = values[*after];
    else if (after == known.end()) values[i] = values[known.back()];
    else {
      size_t a = *(after - 1), b = *after;
      double w = static_cast<double>(i - a) / static_cast<double>(b - a);
      values[i] = (1 - w) * *values[a] + w * *values[b];
    }
  }
}

// Examples t in [first, end - horizon] of the normalized series.
class SeriesDataset : public Dataset {
 public:
  SeriesDataset(std::shared_ptr<const std::vector<float>> values, int64_t first, int64_t last, int64_t window,
                int64_t horizon)
      : values_(std::move(values)), first_(first), count_(last - first + 1), window_(window), horizon_(horizon) {}
  int64_t size() const override { return count_; }
  Example get(int64_t index) const override {
    check_index(*this, index);
    const float* t = values_->data() + first_ + index;
    std::vector<float> input(t - window_, t), target(t, t + horizon_);
    return {from_vector(input, {window_, 1}), from_vector(target, {horizon_})};
  }
  std::string describe() const override {
    return detail::concat("SeriesWindows(", count_, " windows of ", window_, " values -> ", horizon_, ")");
  }

 private:
  std::shared_ptr<const std::vector<float>> values_;
  int64_t first_, count_, window_, horizon_;
};

}  // namespace

std::vector<double> read_series(const std::string& path, const std::string& column, MissingValues missing) {
  refuse_special_file(path);
  std::ifstream file(path, std::ios::binary);
  if (!file) fail<IOError>(path, ": cannot open the file");
  std::string line;
  int64_t number = 0;
  std::vector<std::string> header;
  while (header.empty() && std::getline(file, line)) {
    ++number;
    if (!trim(line).empty()) header = split_fields(line);
  }
  auto found = std::find(header.begin(), header.end(), column);
  if (found == header.end()) {
    std::string names;
    for (const std::string& name : header) names += (names.empty() ? "'" : ", '") + name + "'";
    fail<IOError>(path, ":", number, ": no column named '", column, "' (columns: ", names, ")");
  }
  const size_t index = static_cast<size_t>(found - header.begin());
  std::vector<std::optional<double>> values;
  while (std::getline(file, line)) {
    ++number;
    if (trim(line).empty()) continue;
    std::vector<std::string> fields = split_fields(line);
    std::string where = path + ":" + std::to_string(number);
    if (fields.size() != header.size())
      fail<IOError>(where, ": ", fields.size(), " fields, expected ", header.size(), " (as the header)");
    values.push_back(parse_value(fields[index], where));
    if (!values.back() && missing == MissingValues::error)
      fail<IOError>(where, ": missing value in column '", column, "' (missing: interpolate fills such gaps)");
  }
  if (values.empty()) fail<IOError>(path, ": no data rows");
  interpolate(values, path);
  std::vector<double> out;
  for (const std::optional<double>& v : values) out.push_back(*v);
  return out;
}

SeriesWindows series_windows(const std::vector<double>& values, const SeriesWindowOptions& options) {
  const auto length = static_cast<int64_t>(values.size());
  if (options.window < 1 || options.horizon < 1)
    fail<ValueError>("series_windows: window and horizon must be at least 1, got ", options.window, " and ",
                     options.horizon);
  if (options.validation < 0 || options.test < 0 || options.validation + options.test >= 1)
    fail<ValueError>("series_windows: validation and test must be non-negative fractions summing below 1, got ",
                     options.validation, " and ", options.test);
  SeriesWindows out;
  const int64_t val_size = std::llround(options.validation * static_cast<double>(length));
  const int64_t test_size = std::llround(options.test * static_cast<double>(length));
  out.train_end = length - val_size - test_size;
  out.val_end = length - test_size;

  if (options.normalize) {
    double sum = 0, squares = 0;
    for (int64_t i = 0; i < out.train_end; ++i) sum += values[static_cast<size_t>(i)];
    out.mean = sum / static_cast<double>(out.train_end);
    for (int64_t i = 0; i < out.train_end; ++i) {
      double d = values[static_cast<size_t>(i)] - out.mean;
      squares += d * d;
    }
    out.std = std::sqrt(squares / static_cast<double>(out.train_end));
    if (out.std == 0) out.std = 1;  // a constant training part: centered only
  }
  auto normalized = std::make_shared<std::vector<float>>();
  for (double v : values) normalized->push_back(static_cast<float>((v - out.mean) / out.std));

  // The examples of part [begin, end): targets t .. t + horizon - 1 within it, inputs before t.
  auto part = [&](int64_t begin, int64_t end, const char* name) -> DatasetPtr {
    int64_t first = std::max(begin, options.window), last = end - options.horizon;
    if (last < first)
      fail<ValueError>("series_windows: the ", name, " part (values ", begin, " to ", end - 1, " of ", length,
                       ") holds no example of window ", options.window, " and horizon ", options.horizon);
    return std::make_shared<SeriesDataset>(normalized, first, last, options.window, options.horizon);
  };
  out.train = part(0, out.train_end, "training");
  if (val_size > 0) out.val = part(out.train_end, out.val_end, "validation");
  if (test_size > 0) out.test = part(out.val_end, length, "test");
  return out;
}

double naive_forecast_mse(const Dataset& windows) {
  double sum = 0;
  int64_t count = 0;
  for (int64_t i = 0; i < windows.size(); ++i) {
    Example example = windows.get(i);
    double last = example.input.flatten(0).to_vector<float>().back();
    for (float v : example.target.to_vector<float>()) {
      sum += (v - last) * (v - last);
      ++count;
    }
  }
  if (count == 0) fail<ValueError>("naive_forecast_mse: the dataset is empty");
  return sum / static_cast<double>(count);
}

}  // namespace cajal::data
