#pragma once
// Command-line arguments of one subcommand: positionals, options with a value
// ("--set k=v" or "--set=k=v", repeatable) and flags ("--help"), parsed by CLI11 (which
// stays inside args.cpp).
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cajal/core/error.h"

namespace cajal::cli {

// A wrong command line (unknown option, missing argument): `cajal` exits with code 2.
class UsageError : public ValueError {
  using ValueError::ValueError;
};

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::vector<std::string>> values;  // "--set" -> every value given
  std::vector<std::string> flags;                           // "--help", ...

  bool has_flag(const std::string& flag) const;
  // The last value of `option`, or nullopt.
  std::optional<std::string> value(const std::string& option) const;
  std::vector<std::string> all(const std::string& option) const;
};

// The integer value of `option`, `fallback` when it is not given; a UsageError naming
// `command` when it is not an integer >= minimum.
int64_t int_option(const Args& args, const std::string& command, const std::string& option, int64_t fallback, int64_t minimum);

// Parses `argv` (the words after the subcommand). `valued`: the options that take a value;
// `flags`: those that do not ("--help" is always one). An unknown option, or one missing its
// value, is a UsageError naming `command` and suggesting the nearest option.
Args parse_args(const std::vector<std::string>& argv, const std::string& command,
                const std::vector<std::string>& valued, std::vector<std::string> flags = {});

}  // namespace cajal::cli
