#pragma once
// Options: the named settings of a model, a layer or a whole config file, e.g.
// {hidden: [256, 128], dropout: 0.2}, read by name and type by the code that uses them.
//
// Values stay text until read, so one type serves YAML, `--set key=value` and model files'
// metadata alike, and a wrong type is reported where it is read, with the option's name:
//   "model 'mlp': option 'dropout' must be a number, got 'high'".
// A reader asks for every option it knows; check_unused() then reports the first option no
// one asked for, with the nearest known name: "model 'mlp': unknown option 'hiden'; did you
// mean 'hidden'?". Values may nest (a config's sections are maps of options), and each
// nested map checks its own names.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace cajal::models {

class Options;

// One option's value: a scalar ("0.25"), a list of scalars ("[256, 128]"), a map of
// options ({lr: 0.1}) or a list of maps ([{type: relu}, ...]).
struct OptionValue {
  enum class Kind { scalar, list, map, map_list };
  Kind kind = Kind::scalar;
  std::vector<std::string> items;  // scalar: exactly one; list: the elements
  std::vector<Options> maps;       // map: exactly one; map_list: the elements

  static OptionValue scalar(std::string text);
  static OptionValue list(std::vector<std::string> items);
  static OptionValue map(Options options);
  static OptionValue map_list(std::vector<Options> maps);
  // As written in a config: "0.25", "[256, 128]", "{lr: 0.1}".
  std::string text() const;
};

class Options {
 public:
  // `owner` starts every error message: "model 'mlp'", "model.layers[3] (conv2d)",
  // "config.yaml"; `word` names the entries in them ("option", or "key" in a config file).
  Options() : Options("options") {}
  explicit Options(std::string owner, std::string word = "option")
      : owner_(std::move(owner)), word_(std::move(word)) {}

  // Adds or replaces an option.
  void set(const std::string& name, OptionValue value);
  bool contains(const std::string& name) const;
  bool empty() const { return values_.empty(); }
  const std::vector<std::pair<std::string, OptionValue>>& values() const { return values_; }
  const std::string& owner() const { return owner_; }
  // Renames the owner; its entries are then called `word` ("option" or "key").
  void set_owner(std::string owner, std::string word = "option") {
    owner_ = std::move(owner);
    word_ = std::move(word);
  }

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
  // A list of names; a scalar counts as a list of one.
  std::vector<std::string> get_strings(const std::string& name, std::optional<std::vector<std::string>> fallback = std::nullopt);
  // Whether `name` holds a map (some settings take a short scalar form or a map).
  bool is_map(const std::string& name) const;
  // A nested map (empty when absent), named "<owner>: <name>" in errors, or
  // "<owner>.<name>" when this map is itself nested.
  Options get_map(const std::string& name);
  // A list of maps (empty when absent), the element i named like get_map's with "[i]".
  std::vector<Options> get_maps(const std::string& name);

  // The value as given (null when absent), for options of more than one form.
  const OptionValue* find(const std::string& name);

  // A ValueError: "<owner>: option '<name>' <what>" (or "key" for a config file's keys).
  [[noreturn]] void fail(const std::string& name, const std::string& what) const;
  // The error for a required option that is absent: an unknown option close to its name is
  // reported as the typo it probably is, else "<name> is required (<what>)".
  [[noreturn]] void fail_missing(const std::string& name, const std::string& what) const;
  // Throws a ValueError for the first option that no get_* call asked for.
  void check_unused() const;

 private:

  // The owner of a nested map under `name`.
  std::string child_owner(const std::string& name) const;

  std::string owner_;
  std::string word_;
  std::vector<std::pair<std::string, OptionValue>> values_;
  std::vector<std::string> known_;
};

// Text to numbers, the whole text or nothing (no trailing characters): nullopt on failure.
std::optional<int64_t> parse_int(const std::string& text);
std::optional<double> parse_float(const std::string& text);
std::optional<bool> parse_bool(const std::string& text);

}  // namespace cajal::models
