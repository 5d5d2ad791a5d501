#include "cajal/cli/model_config.h"

#include "cajal/cli/safe_yaml.h"
#include "cajal/cli/yaml_options.h"
#include "cajal/core/error.h"
#include "cajal/models/registry.h"

namespace cajal::cli {

namespace {

models::OptionValue to_value(const YAML::Node& node, const std::string& owner) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar: return models::OptionValue::scalar(node.Scalar());
    case YAML::NodeType::Map: return models::OptionValue::map(to_options(node, owner));
    case YAML::NodeType::Sequence: {
      std::vector<std::string> items;
      std::vector<models::Options> maps;
      for (const YAML::Node& element : node) {
        if (element.IsScalar()) {
          items.push_back(element.Scalar());
        } else if (element.IsMap()) {
          maps.push_back(to_options(element, owner));
        } else {
          fail<ValueError>(owner, ": line ", node.Mark().line + 1, ": a list must hold values or maps");
        }
      }
      if (!items.empty() && !maps.empty()) {
        fail<ValueError>(owner, ": line ", node.Mark().line + 1, ": a list must hold only values or only maps");
      }
      return maps.empty() ? models::OptionValue::list(items) : models::OptionValue::map_list(maps);
    }
    default: return models::OptionValue::scalar("");  // `key:` with nothing after it
  }
}

}  // namespace

models::Options to_options(const YAML::Node& map, const std::string& owner) {
  models::Options options(owner, "key");
  for (const auto& entry : map) {
    if (!entry.first.IsScalar()) fail<ValueError>(owner, ": line ", entry.first.Mark().line + 1, ": keys must be names");
    options.set(entry.first.Scalar(), to_value(entry.second, owner));
  }
  return options;
}

YAML::Node parse_yaml(const std::string& text, const std::string& name) {
  YAML::Node root = load_yaml(text, name);
  if (!root.IsMap()) fail<ValueError>(name, ": expected a map of settings (key: value lines)");
  return root;
}

ModelConfig read_model(models::Options model) {
  ModelConfig cfg;
  bool has_layers = model.contains("layers");
  if (has_layers == model.contains("preset")) {
    std::string presets;
    for (const std::string& name : models::preset_names()) presets += (presets.empty() ? "" : ", ") + name;
    fail<ValueError>(model.owner(), ": give either 'preset' (", presets, ") or 'layers' (a list)");
  }
  if (has_layers) {
    for (models::Options& layer : model.get_maps("layers")) {
      std::string type = layer.get_string("type");
      cfg.layers.push_back({type, layer});
    }
    if (cfg.layers.empty()) model.fail("layers", "is an empty list");
  } else {
    cfg.preset = model.get_string("preset");
    cfg.options = model.get_map("options");
  }
  model.check_unused();
  return cfg;
}

std::string ModelConfig::describe() const {
  return preset.empty() ? std::to_string(layers.size()) + " layers" : preset;
}

ModelConfig parse_model_config(const std::string& yaml, const std::string& name) {
  YAML::Node node = parse_yaml(yaml, name);
  return read_model(to_options(node, name + ": model"));
}

}  // namespace cajal::cli
