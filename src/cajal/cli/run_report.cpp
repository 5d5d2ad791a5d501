#include "cajal/cli/run_report.h"

#include <cstdio>

#include "cajal/cli/model_file.h"
#include "cajal/cli/probability_scores.h"
#include "cajal/data/image.h"
#include "cajal/io/report.h"
#include "cajal/metrics/classification.h"
#include "cajal/metrics/roc_auc.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/reduce.h"

namespace cajal::cli {

namespace {

// Up to `limit` test images the model got wrong, with their confidence.
std::vector<ReportExample> misclassified(const data::Dataset& raw, const Tensor& probabilities, const Tensor& predicted,
                                         const Tensor& targets, size_t limit) {
  std::vector<ReportExample> out;
  if (raw.size() == 0) return out;
  Dims shape = raw.get(0).input.shape();
  if (shape.size() != 3 || (shape[0] != 1 && shape[0] != 3)) return out;  // not images
  const int64_t* pred = predicted.data_ptr<int64_t>();
  const int64_t* truth = targets.data_ptr<int64_t>();
  for (int64_t i = 0; i < targets.numel() && out.size() < limit; ++i) {
    if (pred[i] == truth[i]) continue;
    ReportExample example{.height = shape[1], .width = shape[2], .channels = shape[0], .pixels = data::to_hwc_bytes(raw.get(i).input)};
    example.true_class = truth[i];
    example.predicted_class = pred[i];
    example.confidence = probabilities[i][pred[i]].item<float>();
    out.push_back(std::move(example));
  }
  return out;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> summary_metrics(const RunSummary& summary) {
  std::vector<std::pair<std::string, std::string>> metrics;
  const auto& history = summary.trainer->history();
  metrics.emplace_back("epochs", std::to_string(history.size()));
  metrics.emplace_back("train_seconds", format_number(summary.seconds));
  if (!history.empty()) {
    for (const auto& [name, value] : history.back()) metrics.emplace_back(name, format_number(value));
  }
  for (const auto& [name, value] : summary.test) metrics.emplace_back("test_" + name, format_number(value));
  for (const auto& [name, value] : summary.data->baselines) metrics.emplace_back(name, format_number(value));
  return metrics;
}

void write_run_report(const RunSummary& summary, data::DataLoader* test_loader, const std::string& path) {
  const Prepared& data = *summary.data;
  ReportData report;
  report.title = "cajal: " + summary.config->path;
  report.run_info = {{"config", summary.config->path},
                     {"model", summary.config->model.describe()},
                     {"parameters", std::to_string(summary.trainer->model()->num_parameters())},
                     {"training examples", std::to_string(data.train->size())},
                     {"epochs", std::to_string(summary.trainer->history().size())},
                     {"training time", format_number(summary.seconds) + " s"}};
  for (const auto& [name, value] : summary.test) report.run_info.emplace_back("test " + name, format_number(value));
  for (const auto& [name, value] : data.baselines) report.run_info.emplace_back(name, format_number(value));
  int64_t epoch = 0;
  for (const train::Logs& logs : summary.trainer->history()) {
    NamedValues row{{"epoch", static_cast<double>(++epoch)}};
    for (const auto& entry : logs) row.push_back(entry);
    report.history.push_back(row);
  }
  if (test_loader && data.classification && !data.input.per_step) {  // not per-step scores (language models)
    int64_t classes = data.input.num_classes;
    Tensor outputs = summary.trainer->predict(*test_loader);
    Tensor predicted = outputs.argmax(1).contiguous();
    std::vector<int64_t> labels;
    for (int64_t i = 0; i < data.test->size(); ++i) labels.push_back(data.test->get(i).target.item<int64_t>());
    Tensor targets = from_vector(labels);
    for (int64_t k = 0; k < classes; ++k) {
      report.class_names.push_back(k < static_cast<int64_t>(data.class_names.size()) ? data.class_names[k] : std::to_string(k));
    }
    Tensor confusion = metrics::confusion_matrix(predicted, targets, classes).contiguous();
    const int64_t* counts = confusion.data_ptr<int64_t>();
    for (int64_t t = 0; t < classes; ++t) report.confusion.emplace_back(counts + t * classes, counts + (t + 1) * classes);
    metrics::PrecisionRecallF1 scores = metrics::precision_recall_f1_from_confusion(confusion);
    for (int64_t k = 0; k < classes; ++k) {
      report.class_metrics.push_back({scores.precision[k].item<double>(), scores.recall[k].item<double>(),
                                      scores.f1[k].item<double>(), scores.support[k].item<int64_t>()});
    }
    Tensor probabilities = outputs.softmax(1);
    ProbabilityScores probability = probability_scores(probabilities, targets);
    report.run_info.emplace_back("test log loss", format_number(probability.log_loss));
    if (probability.class_without_examples < 0) {
      report.run_info.emplace_back(std::string("test ") + probability.roc_auc_name, format_number(probability.roc_auc));
      if (classes == 2) {
        metrics::RocCurve curve = metrics::roc_curve(probabilities.select(1, 1), targets);
        report.roc_false_positive_rate = curve.false_positive_rate;
        report.roc_true_positive_rate = curve.true_positive_rate;
        report.roc_auc = probability.roc_auc;
      }
    }
    report.misclassified = misclassified(*data.test_raw, probabilities, predicted, targets, 32);
  }
  write_report(report, path);
}

}  // namespace cajal::cli
