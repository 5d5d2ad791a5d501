#include "cajal/models/options.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "cajal/core/error.h"
#include "cajal/models/suggest.h"

namespace cajal::models {

std::string OptionValue::text() const {
  if (!is_list) return items.empty() ? "" : items[0];
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
  return out + "]";
}

std::optional<int64_t> parse_int(const std::string& text) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data() + (text.starts_with('+') ? 1 : 0), end, value);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  return value;
}

std::optional<double> parse_float(const std::string& text) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0]))) return std::nullopt;
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size()) return std::nullopt;
  return value;
}

std::optional<bool> parse_bool(const std::string& text) {
  std::string lower = text;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower == "true" || lower == "yes" || lower == "on") return true;
  if (lower == "false" || lower == "no" || lower == "off") return false;
  return std::nullopt;
}

void Options::set(const std::string& name, OptionValue value) {
  for (auto& [key, existing] : values_) {
    if (key == name) {
      existing = std::move(value);
      return;
    }
  }
  values_.emplace_back(name, std::move(value));
}

bool Options::contains(const std::string& name) const {
  return std::any_of(values_.begin(), values_.end(), [&](const auto& entry) { return entry.first == name; });
}

const OptionValue* Options::find(const std::string& name) {
  if (std::find(known_.begin(), known_.end(), name) == known_.end()) known_.push_back(name);
  for (const auto& [key, value] : values_) {
    if (key == name) return &value;
  }
  return nullptr;
}

void Options::fail(const std::string& name, const std::string& what) const {
  cajal::fail<ValueError>(owner_, ": option '", name, "' ", what);
}

// Reads option `name` with `parse` (text -> optional value), or takes the fallback.
template <typename T, typename Parse>
static T read_scalar(Options& options, const OptionValue* value, const std::string& name,
                     const std::optional<T>& fallback, const char* type, Parse parse) {
  if (!value) {
    if (!fallback) options.fail(name, std::string("is required (") + type + ")");
    return *fallback;
  }
  if (value->is_list || value->items.size() != 1) {
    options.fail(name, std::string("must be ") + type + ", got the list " + value->text());
  }
  std::optional<T> parsed = parse(value->items[0]);
  if (!parsed) options.fail(name, std::string("must be ") + type + ", got '" + value->items[0] + "'");
  return *parsed;
}

int64_t Options::get_int(const std::string& name, std::optional<int64_t> fallback) {
  return read_scalar<int64_t>(*this, find(name), name, fallback, "an integer", parse_int);
}

double Options::get_float(const std::string& name, std::optional<double> fallback) {
  auto finite = [](const std::string& text) -> std::optional<double> {
    std::optional<double> v = parse_float(text);
    return v && std::isfinite(*v) ? v : std::nullopt;
  };
  return read_scalar<double>(*this, find(name), name, fallback, "a number", finite);
}

bool Options::get_bool(const std::string& name, std::optional<bool> fallback) {
  return read_scalar<bool>(*this, find(name), name, fallback, "true or false", parse_bool);
}

std::string Options::get_string(const std::string& name, std::optional<std::string> fallback,
                                const std::vector<std::string>& choices) {
  auto any = [](const std::string& text) -> std::optional<std::string> { return text; };
  std::string value = read_scalar<std::string>(*this, find(name), name, fallback, "a string", any);
  if (!choices.empty() && std::find(choices.begin(), choices.end(), value) == choices.end()) {
    fail(name, "has no value '" + value + "'" + suggest(value, choices));
  }
  return value;
}

// Reads a list option element by element with `parse`.
template <typename T, typename Parse>
static std::vector<T> read_list(Options& options, const OptionValue* value, const std::string& name,
                                const std::optional<std::vector<T>>& fallback, const char* type, Parse parse) {
  if (!value) {
    if (!fallback) options.fail(name, std::string("is required (a list of ") + type + ")");
    return *fallback;
  }
  std::vector<T> out;
  for (const std::string& item : value->items) {
    std::optional<T> parsed = parse(item);
    if (!parsed) options.fail(name, std::string("must be a list of ") + type + ", got " + value->text());
    out.push_back(*parsed);
  }
  return out;
}

std::vector<int64_t> Options::get_ints(const std::string& name, std::optional<std::vector<int64_t>> fallback) {
  return read_list<int64_t>(*this, find(name), name, fallback, "integers", parse_int);
}

std::vector<double> Options::get_floats(const std::string& name, std::optional<std::vector<double>> fallback) {
  return read_list<double>(*this, find(name), name, fallback, "numbers", parse_float);
}

void Options::check_unused() const {
  for (const auto& [name, value] : values_) {
    if (std::find(known_.begin(), known_.end(), name) == known_.end()) {
      cajal::fail<ValueError>(owner_, ": unknown option '", name, "'", suggest(name, known_));
    }
  }
}

}  // namespace cajal::models
