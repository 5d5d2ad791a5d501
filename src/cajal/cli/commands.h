#pragma once
// The `cajal` subcommands. Each takes the words after its name and returns the exit code;
// errors are thrown (cajal::Error) for main() to print as one line.
#include <string>
#include <vector>

namespace cajal::cli {

struct Command {
  const char* name;
  const char* summary;  // one line for `cajal --help`
  const char* help;     // the text of `cajal <name> --help`
  int (*run)(const std::vector<std::string>& args);
};

int train_command(const std::vector<std::string>& args);
int eval_command(const std::vector<std::string>& args);
int predict_command(const std::vector<std::string>& args);
int info_command(const std::vector<std::string>& args);
int generate_command(const std::vector<std::string>& args);
int sample_command(const std::vector<std::string>& args);
int export_command(const std::vector<std::string>& args);
int prune_command(const std::vector<std::string>& args);
int quantize_command(const std::vector<std::string>& args);
int explain_command(const std::vector<std::string>& args);
int audit_command(const std::vector<std::string>& args);

// The commands in the order `cajal --help` lists them.
const std::vector<Command>& commands();

// Runs `cajal ARGS...` (argv without the program name): dispatches to a command, prints help,
// and turns every error into one line "cajal: error: ..." on stderr with exit code 1 (2 for
// a wrong command line).
int run_cli(const std::vector<std::string>& argv);

}  // namespace cajal::cli
