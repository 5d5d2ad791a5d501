// `cajal quantize RUN [--calibration N] [--method minmax|percentile|mse] [--output FILE]`:
// int8 post-training quantization of a trained run (compress/quantized_model.h).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cajal/cli/args.h"
#include "cajal/cli/commands.h"
#include "cajal/cli/compress_run.h"
#include "cajal/cli/config.h"
#include "cajal/cli/data_config.h"
#include "cajal/cli/inputs.h"
#include "cajal/cli/model_file.h"
#include "cajal/compress/quantized_model.h"
#include "cajal/io/npy.h"
#include "cajal/metrics/metrics.h"
#include "cajal/ops/shape.h"

namespace cajal::cli {

namespace {

compress::RangeMethod method_of(const std::string& name) {
  if (name == "minmax") return compress::RangeMethod::minmax;
  if (name == "percentile") return compress::RangeMethod::percentile;
  if (name == "mse") return compress::RangeMethod::mse;
  fail<UsageError>("cajal quantize: --method must be minmax, percentile or mse, got '", name, "'");
}

}  // namespace

int quantize_command(const std::vector<std::string>& argv) {
  Args args = parse_args(argv, "quantize",
                         {"--calibration", "--method", "--percentile", "--output", "--calibration-out", "--qat-epochs", "--set"});
  if (args.positional.size() != 1) fail<UsageError>("cajal quantize: expected one run folder (cajal quantize RUN)");
  std::string run = args.positional[0];
  while (run.size() > 1 && run.back() == '/') run.pop_back();
  if (args.value("--qat-epochs")) {
    // Quantization-aware training: `cajal train RUN/config.yaml` from RUN's weights with
    // quantize_aware on, into its own run folder (RUN_qat).
    for (const char* option : {"--calibration", "--method", "--percentile", "--calibration-out"})
      if (args.value(option)) fail<UsageError>("cajal quantize: ", option, " is for post-training quantization, not --qat-epochs");
    if (!std::filesystem::is_regular_file(run + "/config.yaml"))
      fail<IOError>(run, ": not a run folder of `cajal train` (no config.yaml); quantization-aware training continues a trained run");
    const int64_t epochs = int_option(args, "quantize", "--qat-epochs", 1, 1);
    std::vector<std::string> train = {run + "/config.yaml", "--set", "init_from=" + run, "--set", "replace_head=false",
                                      "--set", "quantize_aware=true", "--set", "epochs=" + std::to_string(epochs),
                                      "--output", args.value("--output").value_or(run + "_qat")};
    for (const std::string& set : args.all("--set")) train.insert(train.end(), {"--set", set});
    return train_command(train);
  }
  if (!args.all("--set").empty()) fail<UsageError>("cajal quantize: --set is for --qat-epochs (the training's settings)");
  const int64_t calibration = int_option(args, "quantize", "--calibration", 1000, 1);
  compress::ObserverOptions observer{.method = method_of(args.value("--method").value_or("minmax"))};
  if (auto p = args.value("--percentile")) {
    auto value = models::parse_float(*p);
    if (!value) fail<UsageError>("cajal quantize: --percentile must be a number, got '", *p, "'");
    observer.percentile = *value;
  }
  if (!std::filesystem::is_regular_file(run + "/config.yaml"))
    fail<IOError>(run, ": not a run folder of `cajal train` (no config.yaml); cajal quantize calibrates on the run's training data");
  LoadedModel model = load_model(run);
  if (!model.info.quantized.empty()) fail<ValueError>(model.path, ": already quantized (", model.info.quantized, ")");
  if (!model.info.classification || model.info.input.per_step)
    fail<ValueError>(model.path, ": cajal quantize takes classifiers of images or feature rows");
  const RunConfig config = load_config(run + "/config.yaml");
  const Prepared data = prepare_data(config.data, config.seed);
  if (data.train->size() == 0) fail<ValueError>(run, ": the training split is empty: no calibration data");

  // Calibration: the first examples of the training split, as training saw them (normalized).
  const auto [calibration_inputs, calibration_targets] = first_examples(*data.train, calibration);
  if (auto path = args.value("--calibration-out")) save_npy(calibration_inputs, *path);
  std::vector<Tensor> batches;
  for (int64_t begin = 0; begin < calibration_inputs.size(0); begin += 100)
    batches.push_back(calibration_inputs.narrow(0, begin, std::min<int64_t>(100, calibration_inputs.size(0) - begin)));
  auto start = std::chrono::steady_clock::now();
  auto quantized = compress::quantize_model(*model.module, model.info.input.shape, batches, observer);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  ModelInfo info = model.info;
  info.quantized = "int8";
  info.metrics.clear();
  const std::string method = args.value("--method").value_or("minmax");
  std::printf("calibrated on %lld training examples (%s ranges) in %.2f s\n", static_cast<long long>(calibration_inputs.size(0)),
              method.c_str(), seconds);
  if (data.test) {
    const double float_accuracy = dataset_accuracy(*model.module, *data.test);
    const double int8_accuracy = dataset_accuracy(*quantized, *data.test);
    std::printf("test accuracy: float32 %.4f, int8 %.4f (%+.2f points; %lld examples)\n", float_accuracy, int8_accuracy,
                100 * (int8_accuracy - float_accuracy), static_cast<long long>(data.test->size()));
    info.metrics.emplace_back("test_accuracy", format_number(int8_accuracy));
    info.metrics.emplace_back("float_test_accuracy", format_number(float_accuracy));
  }
  info.metrics.emplace_back("calibration_examples", std::to_string(calibration_inputs.size(0)));
  const std::string out = args.value("--output").value_or(run + "/model_int8.safetensors");
  save_model(*quantized, info, out);
  const auto float_bytes = std::filesystem::file_size(model.path), int8_bytes = std::filesystem::file_size(out);
  std::printf("wrote %s: %.1f KB (float32 %s: %.1f KB, %.2fx smaller)\n", out.c_str(), int8_bytes / 1e3, model.path.c_str(),
              float_bytes / 1e3, static_cast<double>(float_bytes) / static_cast<double>(int8_bytes));
  return 0;
}

}  // namespace cajal::cli
