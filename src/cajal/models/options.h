#pragma once
// Options: the named settings of a model or a layer as a config file gives them, e.g.
// {hidden: [256, 128], dropout: 0.2}, read by name and type by the code that builds it.
//
// Values stay text until read, so one type serves YAML, `--set key=value` and model files'
// metadata alike, and a wrong type is reported where it is read, with the option's name:
//   "model 'mlp': option 'dropout' must be a number, got 'high'".
// A builder reads every option it knows; check_unused() then reports the first option no one
// asked for, with the nearest known name: "model 'mlp': unknown option 'hiden'; did you mean 'hidden'?".
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace cajal::models {

// One option's value: a scalar ("0.25") or a list of scalars ("[256, 128]").
struct OptionValue {
  std::vector<std::string> items;  // exactly one for a scalar
  bool is_list = false;

  static OptionValue scalar(std::string text) { return {{std::move(text)}, false}; }
  static OptionValue list(std::vector<std::string> items) { return {std::move(items), true}; }
  // As written in a config: "0.25", "[256, 128]".
  std::string text() const;
};

class Options {
 public:
  // `owner` starts every error message: "model 'mlp'", "model.layers[3] (conv2d)".
  explicit Options(std::string owner = "options") : owner_(std::move(owner)) {}

  // Adds or replaces an option.
  void set(const std::string& name, OptionValue value);
  bool contains(const std::string& name) const;
  bool empty() const { return values_.empty(); }
  const std::vector<std::pair<std::string, OptionValue>>& values() const { return values_; }
  const std::string& owner() const { return owner_; }
  void set_owner(std::string owner) { owner_ = std::move(owner); }

  // Typed reads; a missing option takes `fallback`, and is an error when there is none.
  int64_t get_int(const std::string& name, std::optional<int64_t> fallback = std::nullopt);
  double get_float(const std::string& name, std::optional<double> fallback = std::nullopt);
  // true/false (also yes/no, on/off, any case, as YAML 1.1 reads them).
  bool get_bool(const std::string& name, std::optional<bool> fallback = std::nullopt);
  // A string; when `choices` are given it must be one of them.
  std::string get_string(const std::string& name, std::optional<std::string> fallback = std::nullopt,
                         const std::vector<std::string>& choices = {});
  // A list of integers; a scalar counts as a list of one.
  std::vector<int64_t> get_ints(const std::string& name, std::optional<std::vector<int64_t>> fallback = std::nullopt);
  // A list of numbers; a scalar counts as a list of one.
  std::vector<double> get_floats(const std::string& name, std::optional<std::vector<double>> fallback = std::nullopt);

  // The value as given (null when absent), for options of more than one form.
  const OptionValue* find(const std::string& name);

  // A ValueError: "<owner>: option '<name>' <what>".
  [[noreturn]] void fail(const std::string& name, const std::string& what) const;
  // Throws a ValueError for the first option that no get_* call asked for.
  void check_unused() const;

 private:

  std::string owner_;
  std::vector<std::pair<std::string, OptionValue>> values_;
  std::vector<std::string> known_;
};

// Text to numbers, the whole text or nothing (no trailing characters): nullopt on failure.
std::optional<int64_t> parse_int(const std::string& text);
std::optional<double> parse_float(const std::string& text);
std::optional<bool> parse_bool(const std::string& text);

}  // namespace cajal::models
