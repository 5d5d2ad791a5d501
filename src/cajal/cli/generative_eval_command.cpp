// `cajal eval RUN` of a generative run: cli/generative_run.h.
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cajal/cli/data_config.h"
#include "cajal/cli/generative_eval.h"
#include "cajal/cli/generative_run.h"
#include "cajal/core/error.h"
#include "cajal/io/npy.h"

namespace cajal::cli {

int eval_generative(const std::string& run_or_file, const std::string& samples, const std::string& sample_labels) {
  LoadedGenerative loaded = load_generative_model(run_or_file, "eval");
  const std::string run = std::filesystem::path(loaded.path).parent_path().string();
  const std::string config_path = (run.empty() ? std::string(".") : run) + "/config.yaml";
  if (!std::filesystem::exists(config_path)) {
    fail<IOError>(config_path, ": no such file; `cajal eval` judges a generative model on its run's test split, which the run "
                               "folder's config.yaml names");
  }
  const RunConfig config = load_config(config_path);
  const Prepared data = prepare_data(config.data, config.seed);
  const data::Batch reference = whole_dataset(data.test ? *data.test : *data.train);
  const GenerativeModel& model = loaded.model;
  NamedValues metrics;
  if (!samples.empty()) {
    auto classifier = resolve_feature_classifier(run.empty() ? "." : run, config.evaluation, data.input.shape);
    if (!classifier) fail<ValueError>(config_path, ": no feature classifier to judge samples by: set evaluation.classifier");
    const Tensor images = load_npy(samples).to(DType::f32);
    if (images.dim() != 4 || images.size(0) < 2) fail<ValueError>(samples, ": expected images [N >= 2, C, H, W], got shape ", images.sizes());
    const Tensor labels = sample_labels.empty() ? Tensor() : load_npy(sample_labels).to(DType::i64);
    if (labels.defined() && (labels.dim() != 1 || labels.size(0) != images.size(0)))
      fail<ValueError>(sample_labels, ": expected one label per sample (", images.size(0), "), got shape ", labels.sizes());
    metrics = judge_samples(*classifier, images, labels, reference);
    std::cout << images.size(0) << " samples from " << samples << ", judged like those of " << loaded.path << "\n";
  } else if (model.vae) {
    metrics = evaluate_vae(model, reference, config.evaluation, config.seed);
  } else {
    auto classifier = resolve_feature_classifier(run.empty() ? "." : run, config.evaluation, data.input.shape);
    if (!classifier) {
      fail<ValueError>(config_path, ": no feature classifier to judge the GAN by: set evaluation.classifier to a classifier's model "
                                    "file or config (e.g. examples/fashion_mnist_cnn.yaml)");
    }
    metrics = evaluate_gan(model, *classifier, reference, config.evaluation, config.seed);
  }
  std::cout << "model " << loaded.path << " (" << model.config.describe() << ") on " << reference.input.size(0)
            << (data.test ? " test" : " training") << " images\n";
  for (const auto& [name, value] : metrics) {
    char line[160];
    std::snprintf(line, sizeof line, "%-20s %.4f\n", name.c_str(), value);
    std::cout << line;
  }
  return 0;
}

}  // namespace cajal::cli
