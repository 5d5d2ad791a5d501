#include "cajal/cli/args.h"

#include <algorithm>

#include "cajal/core/error.h"
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

Args parse_args(const std::vector<std::string>& argv, const std::string& command,
                const std::vector<std::string>& valued, std::vector<std::string> flags) {
  flags.push_back("--help");
  Args args;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& word = argv[i];
    if (!word.starts_with("-") || word == "-") {
      args.positional.push_back(word);
      continue;
    }
    if (word == "-h") {
      args.flags.push_back("--help");
      continue;
    }
    size_t eq = word.find('=');
    std::string name = word.substr(0, eq);
    if (std::find(valued.begin(), valued.end(), name) != valued.end()) {
      if (eq != std::string::npos) {
        args.values[name].push_back(word.substr(eq + 1));
      } else if (i + 1 < argv.size()) {
        args.values[name].push_back(argv[++i]);
      } else {
        fail<UsageError>("cajal ", command, ": ", name, " needs a value");
      }
    } else if (std::find(flags.begin(), flags.end(), name) != flags.end() && eq == std::string::npos) {
      args.flags.push_back(name);
    } else {
      std::vector<std::string> known = valued;
      known.insert(known.end(), flags.begin(), flags.end());
      fail<UsageError>("cajal ", command, ": unknown option '", name, "'", models::suggest(name, known));
    }
  }
  return args;
}

}  // namespace cajal::cli
