// `cajal eval MODEL_OR_RUN [--data CONFIG.yaml|PATH] [--labels PATH] [--label-column C]`
#include <cstdio>
#include <iostream>

#include "cajal/cli/args.h"
#include "cajal/cli/commands.h"
#include "cajal/cli/inputs.h"
#include "cajal/metrics/metrics.h"
#include "cajal/ops/loss.h"
#include "cajal/ops/shape.h"

namespace cajal::cli {

int eval_command(const std::vector<std::string>& argv) {
  Args args = parse_args(argv, "eval", {"--data", "--labels", "--label-column", "--batch-size"});
  if (args.positional.size() != 1) fail<UsageError>("cajal eval: expected one model file or run folder");
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
  auto print = [](const char* name, double value) {
    char line[80];
    std::snprintf(line, sizeof line, "%-18s %.4f\n", name, value);
    std::cout << line;
  };
  if (model.info.classification) {
    metrics::PrecisionRecallF1 scores = metrics::precision_recall_f1(outputs, target);
    print("accuracy", metrics::accuracy(outputs, target));
    print("loss", cross_entropy(outputs, target).item<float>());
    print("precision (macro)", scores.macro.precision);
    print("recall (macro)", scores.macro.recall);
    print("f1 (macro)", scores.macro.f1);
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
