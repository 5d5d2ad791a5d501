#pragma once
// YAML trees as models::Options, for the readers of configs and model files (.cpp files
// only: this brings in yaml-cpp).
#include <yaml-cpp/yaml.h>

#include <string>

#include "cajal/models/options.h"

namespace cajal::cli {

// A YAML map as Options; errors name `owner` and the line.
models::Options to_options(const YAML::Node& map, const std::string& owner);

// `text` parsed safely (cli/safe_yaml.h); not a map is a ValueError naming `name`.
YAML::Node parse_yaml(const std::string& text, const std::string& name);

}  // namespace cajal::cli
