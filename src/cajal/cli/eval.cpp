// `cajal eval MODEL_OR_RUN [--data CONFIG.yaml|PATH] [--labels PATH] [--label-column C]`
#include <algorithm>
#include <cstdio>
#include <iostream>

#include "cajal/cli/args.h"
#include "cajal/cli/commands.h"
#include "cajal/cli/generative_model.h"
#include "cajal/cli/generative_run.h"
#include "cajal/cli/inputs.h"
#include "cajal/cli/probability_scores.h"
#include "cajal/metrics/metrics.h"
#include "cajal/ops/shape.h"

namespace cajal::cli {

int eval_command(const std::vector<std::string>& argv) {
  Args args = parse_args(argv, "eval", {"--data", "--labels", "--label-column", "--batch-size", "--samples", "--sample-labels"});
  if (args.positional.size() != 1) fail<UsageError>("cajal eval: expected one model file or run folder");
  const std::string task = model_file_task(args.positional[0]);
  if (task == "vae" || task == "gan") {
    for (const char* option : {"--data", "--labels", "--label-column"})
      if (args.value(option)) fail<UsageError>("cajal eval: ", option, " is for classifiers; a generative run is judged on its own test split");
    if (task == "vae" && args.value("--samples")) fail<UsageError>("cajal eval: --samples judges images by a GAN run's classifier");
    return eval_generative(args.positional[0], args.value("--samples").value_or(""), args.value("--sample-labels").value_or(""));
  }
  for (const char* option : {"--samples", "--sample-labels"})
    if (args.value(option)) fail<UsageError>("cajal eval: ", option, " is for GAN runs (task: gan)");
  LoadedModel model = load_model(args.positional[0]);
  if (model.info.input.per_step) fail<ValueError>(model.path, ": a language model: sample from it with `cajal generate`");
  std::string what;
  data::DatasetPtr dataset = eval_dataset(model, args.value("--data").value_or(""), args.value("--labels").value_or(""),
                                          args.value("--label-column").value_or(""), what);
  // Every example at once: evaluation sets fit in memory, and metrics want them all.
  TensorList inputs, targets;
  for (int64_t i = 0; i < dataset->size(); ++i) {
    data::Example example = dataset->get(i);
    inputs.push_back(example.input);
    targets.push_back(example.target);
  }
  int64_t batch_size = models::parse_int(args.value("--batch-size").value_or("256")).value_or(0);
  if (batch_size < 1) fail<UsageError>("cajal eval: --batch-size must be a positive integer");
  Tensor outputs = run_model(*model.module, stack(inputs), batch_size);
  Tensor target = stack(targets);

  std::cout << "model " << model.path << " on " << what << " (" << dataset->size() << " examples)\n";
  auto print = [](const std::string& name, double value) {
    char line[160];
    std::snprintf(line, sizeof line, "%-20s %.4f\n", name.c_str(), value);
    std::cout << line;
  };
  if (model.info.classification) {
    metrics::PrecisionRecallF1 scores = metrics::precision_recall_f1(outputs, target);
    ProbabilityScores probability = probability_scores(class_probabilities(model.info, outputs), target);
    print("accuracy", metrics::accuracy(outputs, target));
    print("log loss", probability.log_loss);
    if (probability.class_without_examples < 0) print(probability.roc_auc_name, probability.roc_auc);
    else std::cout << probability.roc_auc_name << ": undefined, class '"
                   << class_name(model.info, probability.class_without_examples) << "' has no examples\n";
    print("precision (macro)", scores.macro.precision);
    print("recall (macro)", scores.macro.recall);
    print("f1 (macro)", scores.macro.f1);
    // Per class, by name, as scikit-learn's classification_report.
    size_t width = 5;
    for (int64_t k = 0; k < outputs.size(1); ++k) width = std::max(width, class_name(model.info, k).size());
    char line[256];
    std::snprintf(line, sizeof line, "\n%-*s %9s %9s %9s %9s\n", static_cast<int>(width), "class", "precision", "recall", "f1",
                  "support");
    std::cout << line;
    for (int64_t k = 0; k < outputs.size(1); ++k) {
      std::snprintf(line, sizeof line, "%-*s %9.4f %9.4f %9.4f %9lld\n", static_cast<int>(width), class_name(model.info, k).c_str(),
                    scores.precision[k].item<double>(), scores.recall[k].item<double>(), scores.f1[k].item<double>(),
                    static_cast<long long>(scores.support[k].item<int64_t>()));
      std::cout << line;
    }
  } else {
    Tensor predictions = outputs.reshape(target.shape());
    print("mse", metrics::mean_squared_error(predictions, target));
    print("rmse", metrics::root_mean_squared_error(predictions, target));
    print("mae", metrics::mean_absolute_error(predictions, target));
    print("r2", metrics::r2_score(predictions, target));
  }
  return 0;
}

}  // namespace cajal::cli
