// `cajal prune RUN --sparsity S [--structured] ...`: fine-tunes a pruned copy of a run, as
// `cajal train` with the run's own config, init_from RUN and a prune section.
#include <filesystem>

#include "cajal/cli/args.h"
#include "cajal/cli/commands.h"
#include "cajal/models/options.h"

namespace cajal::cli {

int prune_command(const std::vector<std::string>& argv) {
  Args args = parse_args(argv, "prune", {"--sparsity", "--scope", "--schedule", "--epochs", "--set", "--output"},
                         {"--structured"});
  if (args.positional.size() != 1) fail<UsageError>("cajal prune: expected one run folder (cajal prune RUN --sparsity 0.8)");
  std::string run = args.positional[0];
  while (run.size() > 1 && run.back() == '/') run.pop_back();
  const std::string config = run + "/config.yaml";
  if (!std::filesystem::is_regular_file(config))
    fail<IOError>(run, ": not a run folder of `cajal train` (no config.yaml); cajal prune fine-tunes a trained run");
  const auto sparsity = args.value("--sparsity");
  if (!sparsity) fail<UsageError>("cajal prune: --sparsity is required (e.g. --sparsity 0.8 prunes 80%)");
  const auto value = models::parse_float(*sparsity);
  if (!value || !(*value >= 0 && *value < 1))
    fail<UsageError>("cajal prune: --sparsity must be a number in [0, 1) (0.8 prunes 80%), got '", *sparsity, "'");
  const bool structured = args.has_flag("--structured");
  const int64_t epochs = int_option(args, "prune", "--epochs", 2, 1);

  std::vector<std::string> train = {config,
                                    "--set", "init_from=" + run,
                                    "--set", "replace_head=false",
                                    "--set", "prune.sparsity=" + *sparsity,
                                    "--set", std::string("prune.structured=") + (structured ? "true" : "false"),
                                    "--set", "epochs=" + std::to_string(epochs),
                                    "--output", args.value("--output").value_or(run + (structured ? "_channels" : "_pruned"))};
  for (const char* option : {"--scope", "--schedule"})
    if (auto v = args.value(option)) train.insert(train.end(), {"--set", std::string("prune.") + (option + 2) + "=" + *v});
  for (const std::string& set : args.all("--set")) train.insert(train.end(), {"--set", set});
  return train_command(train);
}

}  // namespace cajal::cli
