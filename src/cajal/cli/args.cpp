#include "cajal/cli/args.h"

#include <CLI/CLI.hpp>

#include <algorithm>

#include "cajal/core/error.h"
#include "cajal/models/options.h"
#include "cajal/models/suggest.h"

namespace cajal::cli {

bool Args::has_flag(const std::string& flag) const {
  return std::find(flags.begin(), flags.end(), flag) != flags.end();
}

std::optional<std::string> Args::value(const std::string& option) const {
  auto it = values.find(option);
  if (it == values.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::vector<std::string> Args::all(const std::string& option) const {
  auto it = values.find(option);
  return it == values.end() ? std::vector<std::string>{} : it->second;
}

// CLI11 does the parsing ("--set k=v" and "--set=k=v", repeats, positionals between options);
// its errors become UsageErrors in cajal's words.
Args parse_args(const std::vector<std::string>& argv, const std::string& command,
                const std::vector<std::string>& valued, std::vector<std::string> flags) {
  flags.push_back("--help");
  Args args;
  CLI::App app;
  app.set_help_flag();  // --help is one of `flags`: each command prints its own
  app.allow_extras();   // unknown options come back, to be named with the nearest known one
  app.add_option("positional", args.positional);
  for (const std::string& name : valued) app.add_option(name, args.values[name])->allow_extra_args(false);
  std::vector<CLI::Option*> flag_options;
  for (const std::string& name : flags) flag_options.push_back(app.add_flag(name == "--help" ? "-h,--help" : name));
  std::vector<std::string> reversed(argv.rbegin(), argv.rend());  // CLI11 takes its words last first
  try {
    app.parse(reversed);
  } catch (const CLI::ArgumentMismatch& e) {
    // "--set: 1 required TEXT missing": an option at the end, or followed by another option.
    std::string message = e.what();
    for (const std::string& name : valued)
      if (message.starts_with(name + ":")) fail<UsageError>("cajal ", command, ": ", name, " needs a value");
    fail<UsageError>("cajal ", command, ": ", message);
  } catch (const CLI::ParseError& e) {
    fail<UsageError>("cajal ", command, ": ", e.what());
  }
  for (const std::string& word : app.remaining()) {
    if (!word.starts_with("-")) continue;
    std::string name = word.substr(0, word.find('='));
    std::vector<std::string> known = valued;
    known.insert(known.end(), flags.begin(), flags.end());
    fail<UsageError>("cajal ", command, ": unknown option '", name, "'", models::suggest(name, known));
  }
  for (size_t i = 0; i < flags.size(); ++i)
    if (flag_options[i]->count() > 0) args.flags.push_back(flags[i]);
  for (auto it = args.values.begin(); it != args.values.end();) it = it->second.empty() ? args.values.erase(it) : std::next(it);
  return args;
}

int64_t int_option(const Args& args, const std::string& command, const std::string& option, int64_t fallback, int64_t minimum) {
  auto text = args.value(option);
  if (!text) return fallback;
  auto value = models::parse_int(*text);
  if (!value || *value < minimum)
    fail<UsageError>("cajal ", command, ": ", option, " must be an integer >= ", minimum, ", got '", *text, "'");
  return *value;
}

}  // namespace cajal::cli
