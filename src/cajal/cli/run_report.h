#pragma once
// The end of a training run: the metrics a model file records and the run's report.html.
#include <string>
#include <utility>
#include <vector>

#include "cajal/cli/config.h"
#include "cajal/cli/data_config.h"
#include "cajal/train/trainer.h"

namespace cajal::cli {

struct RunSummary {
  const RunConfig* config = nullptr;
  const Prepared* data = nullptr;
  train::Trainer* trainer = nullptr;
  double seconds = 0;  // training wall time
  train::Logs test{};  // "loss" (and "accuracy") on the test split; empty without one
};

// What model.safetensors records: epochs, train_seconds, the last epoch's metrics and the
// test split's (test_loss, test_accuracy), as text.
std::vector<std::pair<std::string, std::string>> summary_metrics(const RunSummary& summary);

// report.html: run facts, loss/accuracy charts, and for classification with a test split its
// log loss and ROC AUC, the confusion matrix, per-class scores, the ROC curve (two classes)
// and misclassified test images.
void write_run_report(const RunSummary& summary, data::DataLoader* test_loader, const std::string& path);

}  // namespace cajal::cli
