#pragma once
// Transfer learning in a supervised config: start from another run's weights, freeze part of
// the model, give parts their own learning rate, put a fresh head on it.
//
//   init_from: runs/source            # a run folder or model file; loaded non-strict: every
//                                     # tensor whose name and shape fit loads, the rest is
//                                     # listed (a file where nothing fits is an error)
//   replace_head: {classes: 5}        # a fresh last Linear layer (after loading); classes
//                                     # defaults to, and must equal, the data's
//   freeze: ["0.*", "4.*"]            # parameters by name pattern (nn/parameter_patterns.h)
//   param_groups: [{match: "8.*", lr: 0.01, weight_decay: 0}]   # the first matching group
//                                     # wins; the rest keep the optimizer section's options
//
// Order: load, freeze, replace the head; so freeze: ["*"] with a replaced head is a linear
// probe (only the new head trains).
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "cajal/cli/optim_config.h"
#include "cajal/models/options.h"
#include "cajal/nn/module.h"

namespace cajal::cli {

struct ParamGroupConfig {
  std::string match;
  std::optional<double> lr, weight_decay;
};

struct TransferConfig {
  std::string init_from;
  bool replace_head = false;
  int64_t head_classes = 0;  // 0: the data's
  std::vector<std::string> freeze;
  std::vector<ParamGroupConfig> param_groups;
};

// Reads init_from, replace_head, freeze and param_groups from a config's top level.
TransferConfig read_transfer(models::Options& root);

// Applies `config` to a freshly built `model` for `classes` outputs, writing one line per
// step to `log`, and returns the optimizer's parameter groups (frozen parameters left out).
std::vector<ParamGroupRequest> prepare_transfer(const TransferConfig& config, nn::Module& model, int64_t classes,
                                                std::ostream& log);

}  // namespace cajal::cli
