#pragma once
// A config's model section, as configs and model files' metadata (cajal.model) hold it:
// {preset: cnn, options: {...}} or {layers: [...]}. Read by `cajal train` and by every
// program that loads a model file (cajal-infer included), so it stands apart from the
// rest of the config.
#include <string>
#include <vector>

#include "cajal/models/layers.h"
#include "cajal/models/options.h"

namespace cajal::cli {

struct ModelConfig {
  std::string preset;  // empty when the model is a list of layers
  models::Options options;
  std::vector<models::LayerSpec> layers;
  std::string describe() const;  // "cnn", "12 layers"
};

// The model section from its Options (either preset or layers; errors name the key).
ModelConfig read_model(models::Options model);

// A model section ({preset, options} or {layers}) from YAML text, as model files store it.
ModelConfig parse_model_config(const std::string& yaml, const std::string& name);

}  // namespace cajal::cli
