// `cajal info MODEL_OR_RUN`
#include <iostream>

#include "cajal/cli/args.h"
#include "cajal/cli/commands.h"
#include "cajal/cli/generative_model.h"
#include "cajal/cli/model_file.h"

namespace cajal::cli {

int info_command(const std::vector<std::string>& argv) {
  Args args = parse_args(argv, "info", {});
  if (args.positional.size() != 1) fail<UsageError>("cajal info: expected one model file or run folder");
  // A generative run's file holds a VAE or a GAN's pair, built from its own section.
  const std::string task = model_file_task(args.positional[0]);
  LoadedModel model;
  if (task == "vae" || task == "gan") {
    LoadedGenerative generative = load_generative_model(args.positional[0], "info");
    model = {.module = generative.model.module, .info = read_model_info(generative.path), .path = generative.path};
  } else {
    model = load_model(args.positional[0]);
  }
  const ModelInfo& info = model.info;
  std::cout << "file        " << model.path << "\n"
            << "model       " << info.model_yaml << "\n"
            << "task        "
            << (!info.task.empty()        ? info.task
                : info.input.per_step     ? "language_model"
                : info.classification     ? "classification"
                                          : "regression")
            << "\n"
            << "input       " << info.input.shape << " per example\n"
            << "outputs     " << info.input.num_classes << "\n";
  if (!info.class_names.empty()) {
    std::cout << "classes    ";  // comma-separated: names may hold spaces ("Ankle boot")
    for (size_t k = 0; k < info.class_names.size(); ++k) std::cout << (k ? ", " : " ") << info.class_names[k];
    std::cout << "\n";
  }
  if (!info.mean.empty()) {
    auto list = [](const std::vector<double>& values) {
      std::string out;
      for (double v : values) out += (out.empty() ? "" : ", ") + std::to_string(v);
      return "[" + out + "]";
    };
    std::cout << "normalize   mean " << list(info.mean) << ", std " << list(info.std) << "\n";
  }
  std::cout << "parameters  " << model.module->num_parameters() << " (" << model.module->num_parameters(true)
            << " trainable)\n\n"
            << model.module->to_string(true) << "\n";
  if (!info.metrics.empty()) {
    std::cout << "\nmetrics\n";
    for (const auto& [name, value] : info.metrics) std::cout << "  " << name << " " << value << "\n";
  }
  return 0;
}

}  // namespace cajal::cli
