#include "cajal/models/options.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "cajal/core/error.h"
#include "cajal/models/suggest.h"

namespace cajal::models {

OptionValue OptionValue::scalar(std::string text) { return {Kind::scalar, {std::move(text)}, {}}; }
OptionValue OptionValue::list(std::vector<std::string> items) { return {Kind::list, std::move(items), {}}; }
OptionValue OptionValue::map(Options options) { return {Kind::map, {}, {std::move(options)}}; }
OptionValue OptionValue::map_list(std::vector<Options> maps) { return {Kind::map_list, {}, std::move(maps)}; }

static std::string map_text(const Options& options) {
  std::string out = "{";
  for (const auto& [name, value] : options.values()) out += (out.size() > 1 ? ", " : "") + name + ": " + value.text();
  return out + "}";
}

std::string OptionValue::text() const {
  std::string out;
  switch (kind) {
    case Kind::scalar: return items.at(0);
    case Kind::map: return map_text(maps.at(0));
    case Kind::list:
      for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
      break;
    case Kind::map_list:
      for (const Options& map : maps) out += (out.empty() ? "" : ", ") + map_text(map);
      break;
  }
  return "[" + out + "]";
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
  cajal::fail<ValueError>(owner_, ": ", word_, " '", name, "' ", what);
}

// Reads option `name` with `parse` (text -> optional value), or takes the fallback.
template <typename T, typename Parse>
static T read_scalar(Options& options, const OptionValue* value, const std::string& name,
                     const std::optional<T>& fallback, const char* type, Parse parse) {
  if (!value) {
    if (!fallback) options.fail_missing(name, type);
    return *fallback;
  }
  if (value->kind != OptionValue::Kind::scalar) {
    options.fail(name, std::string("must be ") + type + ", got " + value->text());
  }
  std::optional<T> parsed = parse(value->items[0]);
  if (!parsed) options.fail(name, std::string("must be ") + type + ", got '" + value->items[0] + "'");
  return *parsed;
}

int64_t Options::get_int(const std::string& name, std::optional<int64_t> fallback) {
  return read_scalar<int64_t>(*this, find(name), name, fallback, "an integer", parse_int);
}

// Numbers must be finite: "1e999" parses as infinity, "nan" as NaN, and neither is any setting's value.
double Options::get_float(const std::string& name, std::optional<double> fallback) {
  const double value = read_scalar<double>(*this, find(name), name, fallback, "a number", parse_float);
  if (!std::isfinite(value)) fail(name, "must be a finite number, got '" + find(name)->text() + "'");
  return value;
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
    if (!fallback) options.fail_missing(name, std::string("a list of ") + type);
    return *fallback;
  }
  if (value->kind == OptionValue::Kind::map || value->kind == OptionValue::Kind::map_list) {
    options.fail(name, std::string("must be a list of ") + type + ", got " + value->text());
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
  std::vector<double> values = read_list<double>(*this, find(name), name, fallback, "numbers", parse_float);
  for (double value : values)
    if (!std::isfinite(value)) fail(name, "must be a list of finite numbers, got " + find(name)->text());
  return values;
}

std::vector<std::string> Options::get_strings(const std::string& name, std::optional<std::vector<std::string>> fallback) {
  return read_list<std::string>(*this, find(name), name, fallback, "names",
                                [](const std::string& item) { return std::optional<std::string>(item); });
}

bool Options::is_map(const std::string& name) const {
  for (const auto& [key, value] : values_) {
    if (key == name) return value.kind == OptionValue::Kind::map;
  }
  return false;
}

std::string Options::child_owner(const std::string& name) const {
  // Nested names join with dots after the first colon: "config.yaml: callbacks.early_stopping".
  return owner_ + (owner_.find(": ") == std::string::npos ? ": " : ".") + name;
}

Options Options::get_map(const std::string& name) {
  const OptionValue* value = find(name);
  if (!value) return Options(child_owner(name), word_);
  if (value->kind != OptionValue::Kind::map) fail(name, "must be a map of settings, got " + value->text());
  Options map = value->maps[0];
  map.set_owner(child_owner(name), word_);
  return map;
}

std::vector<Options> Options::get_maps(const std::string& name) {
  const OptionValue* value = find(name);
  if (!value) return {};
  bool empty_list = value->kind == OptionValue::Kind::list && value->items.empty();
  if (value->kind != OptionValue::Kind::map_list && !empty_list) {
    fail(name, "must be a list of maps, got " + value->text());
  }
  std::vector<Options> maps = value->maps;
  for (size_t i = 0; i < maps.size(); ++i) maps[i].set_owner(child_owner(name) + "[" + std::to_string(i) + "]", word_);
  return maps;
}

void Options::fail_missing(const std::string& name, const std::string& what) const {
  for (const auto& [key, value] : values_) {
    bool unknown = std::find(known_.begin(), known_.end(), key) == known_.end();
    if (unknown && suggest(key, {name}).starts_with("; did you mean")) {
      cajal::fail<ValueError>(owner_, ": unknown ", word_, " '", key, "'", suggest(key, {name}));
    }
  }
  fail(name, "is required (" + what + ")");
}

void Options::check_unused() const {
  for (const auto& [name, value] : values_) {
    if (std::find(known_.begin(), known_.end(), name) == known_.end()) {
      cajal::fail<ValueError>(owner_, ": unknown ", word_, " '", name, "'", suggest(name, known_));
    }
  }
}

}  // namespace cajal::models
