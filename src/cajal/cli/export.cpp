// `cajal export MODEL_OR_RUN [--format onnx] [--output FILE] [--opset N]`
#include <filesystem>
#include <iostream>

#include "cajal/cli/args.h"
#include "cajal/cli/commands.h"
#include "cajal/cli/model_file.h"
#include "cajal/models/suggest.h"
#include "cajal/onnx/export.h"
#include "cajal/ops/creation.h"

namespace cajal::cli {

int export_command(const std::vector<std::string>& argv) {
  Args args = parse_args(argv, "export", {"--format", "--output", "--opset"});
  if (args.positional.size() != 1) fail<UsageError>("cajal export: expected one model file or run folder");
  std::string format = args.value("--format").value_or("onnx");
  if (format != "onnx") fail<UsageError>("cajal export: unknown format '", format, "' (the one format is onnx)");
  std::optional<int64_t> opset = models::parse_int(args.value("--opset").value_or(std::to_string(onnx::kMaxOpset)));
  if (!opset) fail<UsageError>("cajal export: --opset must be an integer, got '", *args.value("--opset"), "'");

  LoadedModel model = load_model(args.positional[0]);
  const ModelInfo& info = model.info;
  // Beside the weights: RUN/model.safetensors gives RUN/model.onnx.
  std::string output = args.value("--output").value_or(std::filesystem::path(model.path).replace_extension(".onnx").string());

  // The graph takes what `cajal predict` reads (images scaled to [0, 1], feature rows, token
  // ids) and does what predict does next: the normalization of training, the model, and for
  // a classifier the softmax. A language model gives its scores per step, as `cajal
  // generate` reads them.
  onnx::ExportOptions options{.opset = *opset, .mean = info.mean, .std = info.std};
  options.output_name = info.input.per_step ? "logits" : info.classification ? "probabilities" : "predictions";
  options.softmax = info.classification && !info.input.per_step;
  Dims example_shape{1};
  for (int64_t size : info.input.shape) example_shape.push_back(size);
  onnx::export_model(*model.module, zeros(example_shape, {.dtype = info.input.dtype}), output, options);

  std::cout << "cajal export: wrote " << output << " (ONNX opset " << *opset << "): input '" << options.input_name
            << "' " << dtype_name(info.input.dtype) << " [batch";
  for (int64_t size : info.input.shape) std::cout << ", " << size;
  std::cout << "], output '" << options.output_name << "'\n";
  return 0;
}

}  // namespace cajal::cli
