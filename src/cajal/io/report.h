#pragma once
// report.html: one self-contained page that sums up a training run (no scripts, fonts or
// files from elsewhere, so it opens offline and can be mailed as is):
//   - a header with the run's facts (model, parameters, epochs, final metrics, wall time),
//   - line charts (inline SVG) of the history, e.g. loss and accuracy for train and validation,
//   - the confusion matrix as a heat map with the class names,
//   - a table of per-class precision, recall, F1 and support,
//   - the ROC curve of a binary task on the test split, with its area,
//   - a grid of misclassified test images (inline PNG) with their true and predicted labels,
//   - tables and sections of line and bar charts (explanations, fairness audits),
//   - for generative runs: warnings (a collapsing GAN), figures (sample grids per epoch,
//     reconstructions, latent walks) and scatter plots (a latent map coloured by class).
// A section whose data is empty is left out (a regression run has no confusion matrix).
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "cajal/io/csv_log.h"
#include "cajal/io/svg_plot.h"

namespace cajal {

struct ClassMetrics {
  double precision = 0, recall = 0, f1 = 0;
  int64_t support = 0;  // test samples of the class
};

// One test image the model got wrong.
struct ReportExample {
  int64_t height = 0, width = 0, channels = 1;  // channels: 1 (gray) or 3 (RGB)
  std::vector<uint8_t> pixels{};                // height * width * channels bytes, row-major, channels last
  int64_t true_class = 0, predicted_class = 0;
  double confidence = std::numeric_limits<double>::quiet_NaN();  // the predicted class's probability, shown when given
};

// A picture with a caption (a grid of samples, reconstructions beside their inputs).
struct ReportImage {
  int64_t height = 0, width = 0, channels = 1;
  std::vector<uint8_t> pixels{};  // as ReportExample's
  std::string caption = {};
};

// A titled section of pictures, drawn `scale` times their size (small images stay sharp).
struct ReportFigure {
  std::string title = {}, description = {};
  std::vector<ReportImage> images = {};
  int64_t scale = 2;
};

// A titled table of text (a surrogate model's rules, a fairness audit's groups).
struct ReportTable {
  std::string title = {}, description = {};
  std::vector<std::string> columns = {};
  std::vector<std::vector<std::string>> rows = {};  // each as many cells as columns
};

// A titled section of charts: line plots (per-group ROC curves) and bar charts.
struct ReportCharts {
  std::string title = {}, description = {};
  std::vector<LinePlot> plots = {};
  std::vector<BarChart> bars = {};
};

struct ReportData {
  std::string title = "cajal training report";
  // Facts shown in the header, in order: {"model", "cnn"}, {"parameters", "421,642"}, ...
  std::vector<std::pair<std::string, std::string>> run_info = {};

  // One row per epoch, as in metrics.csv. Each name in chart_metrics gets a chart whose
  // series are the columns named "<series>_<metric>" and "<metric>" itself: "val_loss" is the
  // series "val" of the "loss" chart, and "loss" is "train" when other series share the chart
  // (as the trainer names them: loss, accuracy, val_loss, val_accuracy). The x axis is the
  // "epoch" column, or the row number when there is none. A chart with no column is left out.
  std::vector<NamedValues> history = {};
  std::vector<std::string> chart_metrics = {"loss", "accuracy"};

  std::vector<std::string> class_names = {};
  // confusion[t][p]: test samples of true class t predicted as p (class_names.size() squared).
  std::vector<std::vector<int64_t>> confusion = {};
  std::vector<ClassMetrics> class_metrics = {};  // one per class, or none
  // A binary task's ROC curve on the test split: its points (false positive rate, true
  // positive rate) in [0, 1], and the area under it. No points: no ROC chart.
  std::vector<double> roc_false_positive_rate = {}, roc_true_positive_rate = {};
  double roc_auc = std::numeric_limits<double>::quiet_NaN();
  std::vector<ReportExample> misclassified = {};

  std::vector<std::string> warnings = {};  // shown first, highlighted (class="warning")
  std::vector<ReportFigure> figures = {};
  std::vector<ReportTable> tables = {};         // after the run's facts
  std::vector<ReportCharts> chart_sections = {};  // after the tables
  std::vector<LinePlot> scatter_plots = {};  // drawn with points_only under "Latent space"
};

// The page's HTML. Throws a ValueError naming the part of `data` whose sizes do not fit
// (a confusion matrix that is not classes x classes, a label out of range, an image whose
// pixel count is not height x width x channels, ROC rates of unequal counts or outside [0, 1]).
std::string render_report(const ReportData& data);

// Renders the page and writes it to `path` atomically.
void write_report(const ReportData& data, const std::string& path);

}  // namespace cajal
