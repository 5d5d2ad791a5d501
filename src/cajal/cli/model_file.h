#pragma once
// Model files: the weights as safetensors (PyTorch's names, loadable by torch) plus what it
// takes to use them again, in the file's metadata:
//
//   cajal.model           the config's model section, one line of YAML: {preset: cnn, options: {...}}
//   cajal.input_shape     one example's shape: [1, 28, 28]
//   cajal.outputs         classes (or regression targets): 10
//   cajal.task            classification | regression | language_model (scores per step [N, T, V])
//                         | vae | gan (generative runs: cli/generative_model.h)
//   cajal.input_dtype     int64 for token ids (absent: float32)
//   cajal.classes         class names, when the data had them: [setosa, versicolor, virginica]
//                         (a language model's vocabulary: one character each)
//   cajal.normalize_mean  the input normalization training used (absent: none)
//   cajal.normalize_std
//   cajal.pruned_widths   a structurally pruned model's layers and the outputs each kept:
//                         {"0": 16, "4": 32} (compress/channel_pruning.h); absent: none
//   cajal.quantized       int8: the weights are int8 codes with their scales, the model an
//                         int8 inference chain (compress/quantized_model.h; `cajal quantize`)
//   metrics.<name>        results recorded at the end of training: metrics.test_accuracy
#include <string>
#include <utility>
#include <vector>

#include "cajal/cli/model_config.h"
#include "cajal/compress/channel_pruning.h"
#include "cajal/models/registry.h"
#include "cajal/nn/module.h"

namespace cajal::cli {

struct ModelInfo {
  std::string model_yaml;  // the model section
  models::ModelInput input;
  bool classification = true;
  std::vector<std::string> class_names;
  std::vector<double> mean, std;
  std::vector<std::pair<std::string, std::string>> metrics;  // name, value as text
  bool outputs_probabilities = false;  // the model ends in its own softmax (a classifier `cajal export` wrote)
  std::string task;  // vae | gan for generative models; empty: from classification and per_step
  compress::LayerWidths pruned_widths;  // structured pruning applied after building (empty: none)
  std::string quantized;                // "int8" for a quantized model; empty: float
};

// A model file's metadata, read and checked (IOErrors name the file and key); `task` is
// always filled in.
ModelInfo read_model_info(const std::string& path);

// RUN/model.safetensors for a run folder, else `path_or_run`; an IOError when it does not exist.
std::string model_file_path(const std::string& path_or_run);

// The model a config section describes, for `input`, checked on a batch of zeros; with
// `pruned_widths`, the layers named there shrunk to those widths (before the check).
nn::ModulePtr build_model(const ModelConfig& config, const models::ModelInput& input,
                          const compress::LayerWidths& pruned_widths = {});

// Writes weights and metadata (atomically).
void save_model(const nn::Module& model, const ModelInfo& info, const std::string& path);

struct LoadedModel {
  nn::ModulePtr module;  // in eval mode
  ModelInfo info;
  std::string path;  // the .safetensors file read
};
// Reads a model file, or RUN/model.safetensors when given a run folder; rebuilds the model
// from the metadata and loads the weights. IOErrors name the file and what is wrong; a
// generative run's file is a ValueError pointing to `cajal sample` and `cajal eval`.
// An .onnx file is imported (onnx/import.h) and described by its graph: one input, whose dims
// after the batch are the example shape (int64 inputs are token ids), and one output
// [batch, outputs]. The output's name says the task, as `cajal export` names it:
// "probabilities" (a classifier ending in softmax), "predictions" (regression); any other
// name is a classifier's scores (logits), as most exported classifiers give.
LoadedModel load_model(const std::string& path_or_run);

// A classifier's class probabilities from its outputs: a softmax, unless the model has its own.
Tensor class_probabilities(const ModelInfo& info, const Tensor& outputs);

// The class name of index k: class_names[k], or "k" without names.
std::string class_name(const ModelInfo& info, int64_t k);

// A metric or probability as the model file, report and predictions write it: 6 significant digits.
std::string format_number(double value);

}  // namespace cajal::cli
