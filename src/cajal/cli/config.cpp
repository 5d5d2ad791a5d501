#include "cajal/cli/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <fstream>
#include <sstream>

#include "cajal/cli/data_config.h"
#include "cajal/cli/safe_yaml.h"
#include "cajal/cli/yaml_options.h"
#include "cajal/core/error.h"
#include "cajal/io/input_file.h"
#include "cajal/models/registry.h"

namespace cajal::cli {

namespace {


// ---- overrides ------------------------------------------------------------------------

// Applies "a.b.c=value" to the YAML tree. A section written in short form ("loss:
// cross_entropy") becomes a map with that name ({name: cross_entropy}) to take the key.
void apply_override(YAML::Node root, const std::string& assignment) {
  size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    fail<ValueError>("--set ", assignment, ": expected KEY=VALUE, e.g. optimizer.lr=0.01");
  }
  std::vector<std::string> keys;
  std::stringstream path(assignment.substr(0, eq));
  for (std::string key; std::getline(path, key, '.');) {
    if (key.empty()) fail<ValueError>("--set ", assignment, ": empty key in '", assignment.substr(0, eq), "'");
    keys.push_back(key);
  }
  if (assignment[eq - 1] == '.') fail<ValueError>("--set ", assignment, ": empty key in '", assignment.substr(0, eq), "'");
  YAML::Node value = load_yaml(assignment.substr(eq + 1), "--set " + assignment);
  YAML::Node node = root;
  for (size_t i = 0; i + 1 < keys.size(); ++i) {
    YAML::Node child = node[keys[i]];
    if (!child.IsDefined() || child.IsNull()) {
      node[keys[i]] = YAML::Node(YAML::NodeType::Map);
    } else if (child.IsScalar() && i == 0 && (keys[0] == "loss" || keys[0] == "optimizer" || keys[0] == "schedule")) {
      YAML::Node named(YAML::NodeType::Map);
      named["name"] = child.Scalar();
      node[keys[i]] = named;
    } else if (!child.IsMap()) {
      fail<ValueError>("--set ", assignment, ": '", keys[i], "' is not a section of settings");
    }
    YAML::Node next = node[keys[i]];
    node.reset(next);
  }
  node[keys.back()] = value;
}

// ---- sections ---------------------------------------------------------------------------

SplitFiles read_split(models::Options& data, const std::string& key, const std::string& reader, bool required) {
  if (!data.contains(key)) {
    if (required) data.fail(key, "is required");
    data.find(key);  // known, so that its absence is not a typo elsewhere
    return {};
  }
  SplitFiles files;
  if (reader == "csv" || reader == "image_folder" || reader == "text" || reader == "series") {
    files.path = data.get_string(key);
    if (files.path.empty()) data.fail(key, "needs a path");
  } else {
    if (!data.is_map(key)) {
      data.fail(key, "needs {inputs: FILE, targets: FILE} for the " + reader + " reader");
    }
    models::Options pair = data.get_map(key);
    files.inputs = pair.get_string("inputs");
    files.targets = pair.get_string("targets");
    pair.check_unused();
  }
  return files;
}

DataConfig read_data(models::Options data, uint64_t seed) {
  DataConfig cfg;
  cfg.reader = data.get_string("reader", std::nullopt, {"idx", "csv", "npy", "image_folder", "text", "series"});
  cfg.train = read_split(data, "train", cfg.reader, true);
  cfg.test = read_split(data, "test", cfg.reader, false);
  if (cfg.reader == "csv") {
    cfg.label_column = data.get_string("label_column", "-1");
    cfg.labels = data.get_string("labels", "indices", {"indices", "names", "values"});
    cfg.ignore_columns = data.get_strings("ignore_columns", std::vector<std::string>{});
    cfg.reweigh = data.get_string("reweigh", "");
    if (!cfg.reweigh.empty() && std::find(cfg.ignore_columns.begin(), cfg.ignore_columns.end(), cfg.reweigh) == cfg.ignore_columns.end())
      data.fail("reweigh", "names column '" + cfg.reweigh + "', which must also be in data.ignore_columns (the sensitive attribute is read as text, not used as a feature)");
    if (!cfg.reweigh.empty() && cfg.labels == "values") data.fail("reweigh", "needs class labels, not values (regression)");
  }
  if (cfg.reader == "image_folder") {
    cfg.channels = data.get_int("channels", 3);
    if (cfg.channels != 1 && cfg.channels != 3) data.fail("channels", "must be 1 or 3");
    std::vector<int64_t> size = data.get_ints("image_size", std::vector<int64_t>{0});
    if (size.size() == 1) size.push_back(size[0]);
    if (size.size() != 2 || size[0] < 0 || size[1] < 0) data.fail("image_size", "must be one size or [height, width]");
    cfg.image_size = {size[0], size[1]};
  }
  if (cfg.reader == "text" || cfg.reader == "series") read_sequence_data(data, cfg);
  cfg.validation_split = data.get_float("validation_split", 0.0);
  if (cfg.validation_split < 0 || cfg.validation_split >= 1) data.fail("validation_split", "must be in [0, 1)");
  int64_t split_seed = data.get_int("split_seed", static_cast<int64_t>(seed));
  cfg.split_seed = static_cast<uint64_t>(split_seed);
  // normalize: true (statistics of the training split) or {mean: [...], std: [...]}.
  if (data.is_map("normalize")) {
    models::Options stats = data.get_map("normalize");
    cfg.normalize = true;
    cfg.mean = stats.get_floats("mean");
    cfg.std = stats.get_floats("std");
    if (cfg.mean.size() != cfg.std.size()) stats.fail("std", "must have as many values as mean");
    for (double s : cfg.std) {
      if (s <= 0) stats.fail("std", "values must be positive");
    }
    // Inputs are normalized in float32, where 1e39 is infinity.
    for (const auto& [key, values] : {std::pair{"mean", &cfg.mean}, std::pair{"std", &cfg.std}})
      for (double v : *values)
        if (std::abs(v) > std::numeric_limits<float>::max()) {
          char text[32];
          std::snprintf(text, sizeof text, "%g", v);
          stats.fail(key, std::string("value ") + text + " is out of range for float32 (at most 3.4e+38 in magnitude)");
        }
    stats.check_unused();
  } else {
    cfg.normalize = data.get_bool("normalize", cfg.reader == "series");
  }
  for (models::Options& transform : data.get_maps("transforms")) cfg.transforms.push_back(read_transform(transform));
  cfg.num_classes = data.get_int("num_classes", 0);
  if (cfg.num_classes < 0) data.fail("num_classes", "must not be negative");
  cfg.classes = data.get_ints("classes", std::vector<int64_t>{});
  for (int64_t c : cfg.classes)
    if (c < 0) data.fail("classes", "lists class " + std::to_string(c) + "; classes are labels 0 and up");
  cfg.per_class = data.get_int("per_class", 0);
  if (cfg.per_class < 0) data.fail("per_class", "must not be negative (0: every example)");
  if (data.contains("class_names")) {
    if (cfg.reader != "idx" && cfg.reader != "npy") {
      data.fail("class_names", "is for the idx and npy readers (a CSV table names its classes in its label column, "
                               "with labels: names; an image folder by its sub-folders)");
    }
    cfg.class_names = data.get_strings("class_names");
    for (size_t k = 0; k < cfg.class_names.size(); ++k) {
      if (cfg.class_names[k].empty()) data.fail("class_names", "has an empty name (class " + std::to_string(k) + ")");
      for (size_t j = 0; j < k; ++j)
        if (cfg.class_names[j] == cfg.class_names[k]) data.fail("class_names", "names two classes '" + cfg.class_names[k] + "'");
    }
  }
  data.check_unused();
  return cfg;
}


// A component given as a name ("loss: mse") or a map with a name ({name: mse, ...}).
models::Options component(models::Options& root, const std::string& key) {
  if (root.is_map(key)) return root.get_map(key);
  models::Options named(root.owner() + ": " + key, "key");
  if (root.contains(key)) named.set("name", models::OptionValue::scalar(root.get_string(key)));
  else root.find(key);
  return named;
}

CallbacksConfig read_callbacks(models::Options callbacks) {
  CallbacksConfig cfg;
  if (callbacks.contains("early_stopping")) {
    models::Options es = callbacks.get_map("early_stopping");
    train::EarlyStoppingOptions o;
    o.monitor = es.get_string("monitor", "");  // "": val_loss, or loss without a validation split
    o.mode = es.get_string("mode", o.monitor.find("acc") != std::string::npos ? "max" : "min", {"min", "max"});
    o.patience = es.get_int("patience", o.patience);
    o.min_delta = es.get_float("min_delta", 0.0);
    o.restore_best_weights = es.get_bool("restore_best_weights", false);
    if (o.patience < 1) es.fail("patience", "must be at least 1");
    es.check_unused();
    cfg.early_stopping = o;
  } else {
    callbacks.find("early_stopping");
  }
  models::Options ck = callbacks.get_map("checkpoint");
  cfg.checkpoint.monitor = ck.get_string("monitor", "");  // as early stopping's
  cfg.checkpoint.mode =
      ck.get_string("mode", cfg.checkpoint.monitor.find("acc") != std::string::npos ? "max" : "min", {"min", "max"});
  cfg.checkpoint.every_n_steps = ck.get_int("every_n_steps", 0);
  ck.check_unused();
  models::Options clip = callbacks.get_map("grad_clip");
  if (clip.contains("max_norm")) cfg.clip_grad_norm = clip.get_float("max_norm");
  cfg.clip_grad_value = clip.get_float("value", 0.0);
  if (cfg.clip_grad_norm.value_or(0) < 0 || cfg.clip_grad_value < 0) clip.fail("max_norm", "and value must not be negative");
  clip.check_unused();
  callbacks.check_unused();
  return cfg;
}

// More loading threads than this only wait on each other (and each reserves a stack).
constexpr int64_t kMaxWorkers = 64;

int64_t at_least(models::Options& root, const std::string& key, int64_t fallback, int64_t minimum) {
  int64_t value = root.get_int(key, fallback);
  if (value < minimum) root.fail(key, "must be at least " + std::to_string(minimum) + ", got " + std::to_string(value));
  return value;
}

RunConfig read_run(const YAML::Node& yaml, const std::string& name) {
  models::Options root = to_options(yaml, name);
  RunConfig cfg;
  cfg.path = name;
  cfg.seed = static_cast<uint64_t>(at_least(root, "seed", 0, 0));
  cfg.epochs = at_least(root, "epochs", 10, 1);
  cfg.batch_size = at_least(root, "batch_size", 64, 1);
  cfg.num_workers = at_least(root, "num_workers", 2, 0);
  if (cfg.num_workers > kMaxWorkers) {
    root.fail("num_workers", "must be at most " + std::to_string(kMaxWorkers) + " (threads loading batches), got " +
                                 std::to_string(cfg.num_workers));
  }
  std::string stem = std::filesystem::path(name).stem().string();
  cfg.output = root.get_string("output", "runs/" + (stem.empty() ? std::string("run") : stem));
  cfg.task = root.get_string("task", "supervised", {"supervised", "vae", "gan", "maml", "protonet", "simclr", "autoencoder"});
  if (!root.contains("data")) root.fail("data", "is required (where the examples are)");
  if (!root.contains("model")) root.fail("model", "is required (preset or layers)");
  cfg.optimizer = read_optimizer(component(root, "optimizer"));
  if (cfg.task == "maml") {
    // Tasks are drawn, not read: the loop counts meta-iterations, not epochs of a dataset.
    for (const char* key : {"loss", "schedule", "callbacks", "epochs", "batch_size"})
      if (root.contains(key)) root.fail(key, "is not used by task maml (see meta: iterations, meta_batch)");
    cfg.meta = read_meta_config(root.get_map("data"), root.get_map("model"), root.get_map("meta"), root.get_map("evaluation"));
    root.check_unused();
    return cfg;
  }
  cfg.data = read_data(root.get_map("data"), cfg.seed);
  if (cfg.task == "protonet") {
    for (const char* key : {"loss", "schedule", "callbacks", "epochs", "batch_size"})
      if (root.contains(key)) root.fail(key, "is not used by task protonet (see few_shot: episodes, ways, shots, queries)");
    cfg.few_shot = read_few_shot_config(root.get_map("model"), root.get_map("few_shot"));
    root.check_unused();
    return cfg;
  }
  if (cfg.task == "simclr" || cfg.task == "autoencoder") {
    for (const char* key : {"loss", "schedule", "callbacks"})
      if (root.contains(key)) root.fail(key, "is not used by task " + cfg.task + " (it brings its own loss)");
    if (cfg.task == "simclr" && cfg.data.transforms.empty())
      root.fail("data", "needs transforms for task simclr: they make the two views of each image");
    cfg.model = read_model(root.get_map("model"));
    if (cfg.task == "simclr") cfg.simclr = read_simclr_config(root.get_map("simclr"));
    else cfg.autoencoder = read_autoencoder_config(root.get_map("autoencoder"));
    root.check_unused();
    return cfg;
  }
  if (cfg.task == "supervised") {
    cfg.transfer = read_transfer(root);
    cfg.prune = read_prune(root);
    cfg.distill = read_distill(root);
    cfg.quantize_aware = root.get_bool("quantize_aware", false);
    models::Options distributed = root.get_map("distributed");
    cfg.distributed.bucket_mb = distributed.get_float("bucket_mb", 25.0);
    if (!(cfg.distributed.bucket_mb > 0)) distributed.fail("bucket_mb", "must be positive");
    cfg.distributed.sync_batchnorm = distributed.get_bool("sync_batchnorm", false);
    distributed.check_unused();
    cfg.model = read_model(root.get_map("model"));
    cfg.loss = read_loss(component(root, "loss"));
    cfg.schedule = read_schedule(component(root, "schedule"));
    cfg.callbacks = read_callbacks(root.get_map("callbacks"));
  } else {
    // Generative models bring their own losses; their loop has no schedule or callbacks yet.
    for (const char* key : {"loss", "schedule", "callbacks"})
      if (root.contains(key)) root.fail(key, "is not used by task " + cfg.task + " (its loss is the model's own)");
    if (cfg.data.normalize) root.fail("data", "normalize must be false for task " + cfg.task + ": it models pixels in [0, 1]");
    cfg.generative = read_generative_model(root.get_map("model"), cfg.task);
    cfg.evaluation = read_evaluation(root.get_map("evaluation"));
  }
  root.check_unused();
  return cfg;
}

std::string emit(const YAML::Node& node) {
  YAML::Emitter out;
  out << node;
  return out.c_str();
}

}  // namespace


RunConfig parse_config(const std::string& yaml, const std::string& name, const std::vector<std::string>& overrides) {
  YAML::Node root = parse_yaml(yaml, name);
  for (const std::string& assignment : overrides) apply_override(root, assignment);
  RunConfig cfg = read_run(root, name);
  cfg.text = emit(root) + "\n";
  return cfg;
}

RunConfig load_config(const std::string& path, const std::vector<std::string>& overrides) {
  refuse_special_file(path);
  std::ifstream file(path);
  if (!file) {
    fail<IOError>(path, ": cannot open the config file (",
                  std::filesystem::exists(path) ? "not readable" : "no such file", ")");
  }
  std::stringstream text;
  text << file.rdbuf();
  return parse_config(text.str(), path, overrides);
}


GenerativeConfig parse_generative_config(const std::string& yaml, const std::string& task, const std::string& name) {
  YAML::Node node = parse_yaml(yaml, name);
  return read_generative_model(to_options(node, name + ": model"), task);
}

std::string model_config_yaml(const std::string& config_yaml) {
  YAML::Node model = YAML::Load(config_yaml)["model"];
  YAML::Emitter out;
  out.SetMapFormat(YAML::Flow);
  out.SetSeqFormat(YAML::Flow);
  out << model;
  return out.c_str();
}

}  // namespace cajal::cli
