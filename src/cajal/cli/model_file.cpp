#include "cajal/cli/model_file.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "cajal/cli/safe_yaml.h"
#include "cajal/core/allocation_budget.h"
#include "cajal/core/error.h"
#include "cajal/compress/quantized_model.h"
#include "cajal/io/safetensors.h"
#include "cajal/nn/init.h"
#include "cajal/nn/serialize.h"
#ifndef CAJAL_INFERENCE_ONLY
#include "cajal/onnx/import.h"
#endif

namespace cajal::cli {

namespace {

template <typename T>
std::string flow_list(const std::vector<T>& values) {
  YAML::Emitter out;
  out.SetSeqFormat(YAML::Flow);
  out << values;
  return out.c_str();
}

// A metadata entry parsed as a YAML list of T; an IOError names the file and key.
template <typename T>
std::vector<T> read_list(const SafetensorsMetadata& metadata, const std::string& key, const std::string& path) {
  auto it = metadata.find(key);
  if (it == metadata.end()) return {};
  YAML::Node list = load_yaml(it->second, path + ": metadata " + key);
  try {
    return list.as<std::vector<T>>();
  } catch (const YAML::Exception&) {
    fail<IOError>(path, ": metadata ", key, " is not a list: ", it->second);
  }
}

// What a model may take beyond 4 times its file's size while it is built.
constexpr uint64_t kModelBudgetSlack = 1 << 20;
// A structurally pruned model is built at full width before it shrinks: what its file may
// make it take beyond that (a lying file cannot make it take more).
constexpr uint64_t kPrunedModelSlack = 256ull << 20;
// An int8 file's float model, built for its structure, is 4 times the weights' bytes.
constexpr uint64_t kQuantizedFactor = 4;

// {"0": 16, "4": 32}: the pruned layers' names and widths, in the model's order.
std::string widths_yaml(const compress::LayerWidths& widths) {
  YAML::Emitter out;
  out << YAML::Flow << YAML::BeginMap;
  for (const auto& [name, width] : widths) out << YAML::Key << YAML::DoubleQuoted << name << YAML::Value << width;
  out << YAML::EndMap;
  return out.c_str();
}

compress::LayerWidths read_widths(const SafetensorsMetadata& metadata, const std::string& path) {
  auto it = metadata.find("cajal.pruned_widths");
  if (it == metadata.end()) return {};
  YAML::Node map = load_yaml(it->second, path + ": metadata cajal.pruned_widths");
  compress::LayerWidths widths;
  try {
    if (!map.IsMap()) throw YAML::Exception(YAML::Mark::null_mark(), "not a map");
    for (const auto& entry : map) widths.emplace_back(entry.first.as<std::string>(), entry.second.as<int64_t>());
  } catch (const YAML::Exception&) {
    fail<IOError>(path, ": metadata cajal.pruned_widths is not a map of layer names to widths: ", it->second);
  }
  return widths;
}

const std::string& required(const SafetensorsMetadata& metadata, const std::string& key, const std::string& path) {
  auto it = metadata.find(key);
  if (it == metadata.end()) {
    fail<IOError>(path, ": not a cajal model file (no '", key, "' in its metadata; `cajal train` writes model.safetensors)");
  }
  return it->second;
}

// The model a config section describes, unchecked.
nn::ModulePtr construct_model(const ModelConfig& config, const models::ModelInput& input) {
  return config.preset.empty() ? models::build_layers(config.layers, input.shape, nullptr, "model.layers", input.num_classes).ptr()
                               : models::make_model(config.preset, config.options, input);
}

void check_built_model(nn::Module& model, const ModelConfig& config, const models::ModelInput& input) {
  models::check_model(model, input, config.preset.empty() ? "model.layers" : "model '" + config.preset + "'");
}

#ifndef CAJAL_INFERENCE_ONLY
// An imported ONNX model and what its graph says about its inputs and outputs.
LoadedModel load_onnx_model(const std::string& path) {
  LoadedModel loaded;
  loaded.path = path;
  auto graph = onnx::load(path);
  loaded.module = graph;
  ModelInfo& info = loaded.info;
  info.model_yaml = "{onnx: " + std::filesystem::path(path).filename().string() + "}";
  if (graph->inputs().size() != 1 || graph->outputs().size() != 1)
    fail<ValueError>(path, ": the model has ", graph->inputs().size(), " inputs and ", graph->outputs().size(),
                     " outputs; cajal predict and eval run models with one of each");
  const onnx::ValueInfo& input = graph->inputs()[0];
  const onnx::ValueInfo& output = graph->outputs()[0];
  if (!input.has_shape || input.shape.size() < 2)
    fail<ValueError>(path, ": input '", input.name, "' must declare a shape [batch, ...]");
  for (size_t k = 1; k < input.shape.size(); ++k)
    if (input.shape[k] < 1) fail<ValueError>(path, ": input '", input.name, "' must have fixed sizes after the batch dim");
  info.input.shape = Dims(input.shape.begin() + 1, input.shape.end());
  if (input.dtype != DType::f32 && input.dtype != DType::i64)
    fail<ValueError>(path, ": input '", input.name, "' is ", dtype_name(input.dtype), "; cajal feeds float32 values or int64 token ids");
  info.input.dtype = input.dtype;
  if (!output.has_shape || output.shape.size() != 2 || output.shape[1] < 1)
    fail<ValueError>(path, ": output '", output.name, "' must have the shape [batch, outputs]");
  info.input.num_classes = output.shape[1];
  info.classification = output.name != "predictions";
  info.outputs_probabilities = output.name == "probabilities";
  graph->eval();
  return loaded;
}

#endif

}  // namespace

nn::ModulePtr build_model(const ModelConfig& config, const models::ModelInput& input, const compress::LayerWidths& pruned_widths) {
  nn::ModulePtr model = construct_model(config, input);
  if (!pruned_widths.empty()) compress::resize_channels(*model, pruned_widths);
  check_built_model(*model, config, input);
  return model;
}

void save_model(const nn::Module& model, const ModelInfo& info, const std::string& path) {
  SafetensorsMetadata metadata;
  metadata["cajal.model"] = info.model_yaml;
  metadata["cajal.input_shape"] = flow_list(info.input.shape.vec());
  metadata["cajal.outputs"] = std::to_string(info.input.num_classes);
  metadata["cajal.task"] = !info.task.empty()        ? info.task
                           : info.input.per_step    ? "language_model"
                           : info.classification    ? "classification"
                                                    : "regression";
  if (info.input.dtype != DType::f32) metadata["cajal.input_dtype"] = dtype_name(info.input.dtype);
  if (!info.class_names.empty()) metadata["cajal.classes"] = flow_list(info.class_names);
  if (!info.mean.empty()) {
    metadata["cajal.normalize_mean"] = flow_list(info.mean);
    metadata["cajal.normalize_std"] = flow_list(info.std);
  }
  if (!info.pruned_widths.empty()) metadata["cajal.pruned_widths"] = widths_yaml(info.pruned_widths);
  if (!info.quantized.empty()) metadata["cajal.quantized"] = info.quantized;
  for (const auto& [name, value] : info.metrics) metadata["metrics." + name] = value;
  nn::save(model, path, metadata);
}

std::string model_file_path(const std::string& path_or_run) {
  std::string path = path_or_run;
  if (std::filesystem::is_directory(path)) path = (std::filesystem::path(path) / "model.safetensors").string();
  if (!std::filesystem::exists(path)) {
    fail<IOError>(path, ": no such file", path == path_or_run ? "" : " (is it a run folder of `cajal train`?)");
  }
  return path;
}

ModelInfo read_model_info(const std::string& path) {
  SafetensorsMetadata metadata = load_safetensors_metadata(path);
  ModelInfo info;
  info.model_yaml = required(metadata, "cajal.model", path);
  std::vector<int64_t> shape = read_list<int64_t>(metadata, "cajal.input_shape", path);
  info.input.shape = Dims(shape.begin(), shape.end());
  auto outputs = models::parse_int(required(metadata, "cajal.outputs", path));
  if (!outputs || *outputs < 1 || shape.empty()) fail<IOError>(path, ": malformed cajal.outputs or cajal.input_shape metadata");
  info.input.num_classes = *outputs;
  info.task = required(metadata, "cajal.task", path);
  info.classification = info.task == "classification" || info.task == "language_model";
  info.input.per_step = info.task == "language_model";
  if (auto dtype = metadata.find("cajal.input_dtype"); dtype != metadata.end()) {
    if (dtype->second != dtype_name(DType::i64)) fail<IOError>(path, ": unsupported cajal.input_dtype ", dtype->second);
    info.input.dtype = DType::i64;
  }
  info.class_names = read_list<std::string>(metadata, "cajal.classes", path);
  info.mean = read_list<double>(metadata, "cajal.normalize_mean", path);
  info.std = read_list<double>(metadata, "cajal.normalize_std", path);
  // Inputs are divided by std: 0 or a non-finite number would turn every probability into NaN.
  if (info.mean.size() != info.std.size())
    fail<IOError>(path, ": metadata cajal.normalize_mean has ", info.mean.size(), " values, cajal.normalize_std ", info.std.size());
  for (size_t k = 0; k < info.std.size(); ++k) {
    if (!std::isfinite(info.mean[k])) fail<IOError>(path, ": metadata cajal.normalize_mean[", k, "] is ", info.mean[k], ", not a finite number");
    if (!(std::isfinite(info.std[k]) && info.std[k] > 0))
      fail<IOError>(path, ": metadata cajal.normalize_std[", k, "] is ", info.std[k], ", not a positive finite number");
  }
  info.pruned_widths = read_widths(metadata, path);
  if (auto q = metadata.find("cajal.quantized"); q != metadata.end()) {
    if (q->second != "int8") fail<IOError>(path, ": unknown cajal.quantized '", q->second, "' (int8 is the one cajal writes)");
    info.quantized = q->second;
  }
  for (const auto& [key, value] : metadata) {
    if (key.starts_with("metrics.")) info.metrics.emplace_back(key.substr(8), value);
  }
  return info;
}

LoadedModel load_model(const std::string& path_or_run) {
#ifndef CAJAL_INFERENCE_ONLY
  if (path_or_run.ends_with(".onnx")) return load_onnx_model(path_or_run);
#else
  if (path_or_run.ends_with(".onnx")) fail<ValueError>(path_or_run, ": this inference-only build reads cajal model files, not ONNX");
#endif
  LoadedModel loaded;
  loaded.path = model_file_path(path_or_run);
  const std::string& path = loaded.path;
  loaded.info = read_model_info(path);
  ModelInfo& info = loaded.info;
  if (info.task == "vae" || info.task == "gan") {
    fail<ValueError>(path, ": a generative model (task ", info.task, "): draw images from it with `cajal sample`, judge it with `cajal eval`");
  }
  if (info.task != "classification" && info.task != "regression" && info.task != "language_model")
    fail<IOError>(path, ": unknown cajal.task '", info.task, "'");
  ModelConfig config = parse_model_config(info.model_yaml, path + ": metadata cajal.model");
  {
    // The file holds the model's weights, so their bytes bound the model's (4 times: a file
    // may store bfloat16, and building makes a few temporaries). Metadata declaring more is
    // refused before the memory is taken.
    const uint64_t file_bytes = std::filesystem::file_size(path);
    AllocationBudget budget(4 * file_bytes * (info.quantized.empty() ? 1 : kQuantizedFactor) + kModelBudgetSlack +
                                (info.pruned_widths.empty() ? 0 : kPrunedModelSlack),
                            detail::concat(path, ": metadata cajal.model describes a model larger than the ", file_bytes,
                                           "-byte file's weights could be (wrong metadata?)"));
    nn::init::SkipInitGuard every_weight_comes_from_the_file;  // nn::load below is strict
    loaded.module = construct_model(config, info.input);
    try {
      if (!info.pruned_widths.empty()) compress::resize_channels(*loaded.module, info.pruned_widths);
    } catch (const ValueError& e) {
      fail<IOError>(path, ": metadata cajal.pruned_widths does not fit the model: ", e.what());
    }
  }
  check_built_model(*loaded.module, config, info.input);
  if (!info.quantized.empty()) {
    try {
      loaded.module = std::make_shared<compress::QuantizedSequentialImpl>(*loaded.module, info.input.shape);
    } catch (const ValueError& e) {
      fail<IOError>(path, ": metadata cajal.model describes a model with no int8 form: ", e.what());
    }
  }
  nn::load(*loaded.module, path);
  loaded.module->eval();
  return loaded;
}

Tensor class_probabilities(const ModelInfo& info, const Tensor& outputs) {
  return info.outputs_probabilities ? outputs : outputs.softmax(1);
}

std::string class_name(const ModelInfo& info, int64_t k) {
  if (k >= 0 && k < static_cast<int64_t>(info.class_names.size())) return info.class_names[static_cast<size_t>(k)];
  return std::to_string(k);
}

std::string format_number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", value);
  return text;
}

}  // namespace cajal::cli
