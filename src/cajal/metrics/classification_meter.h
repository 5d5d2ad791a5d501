#pragma once
// ClassificationMeter: classification metrics accumulated over the batches of a training or
// evaluation loop. Its results equal the functions of classification.h on the concatenated
// batches (it accumulates the confusion matrix, from which they are all computed).
//   metrics::ClassificationMeter meter(10);
//   for (auto& [x, y] : loader) {
//     Tensor logits = model->forward(x);
//     meter.update(logits, y, cross_entropy(logits, y).item());
//   }
//   metrics::ClassificationReport r = meter.compute();  // r.accuracy, r.loss, r.scores.macro.f1
#include <cstdint>
#include <optional>
#include <vector>

#include "cajal/core/tensor.h"
#include "cajal/metrics/classification.h"
#include "cajal/metrics/inputs.h"

namespace cajal::metrics {

struct ClassificationReport {
  int64_t count = 0;          // samples seen
  double accuracy = 0;
  std::optional<double> loss;  // mean loss per sample, when the updates gave batch losses
  Tensor confusion_matrix;     // int64 [C, C], rows = true class, columns = predicted
  PrecisionRecallF1 scores;    // per class, and macro / micro / weighted averages
};

class ClassificationMeter {
 public:
  // zero_division as in PrecisionRecallF1Options.
  explicit ClassificationMeter(int64_t num_classes, double zero_division = 0.0);

  // outputs: logits or probabilities [N, C] (their row maxima are the predictions) or class
  // indices [N]; targets: class indices [N]. mean_loss: the batch's mean loss, which enters the
  // average weighted by N; give it for every batch or for none.
  void update(const Tensor& outputs, const Tensor& targets, std::optional<double> mean_loss = std::nullopt);
  // Fails when no sample has been seen.
  ClassificationReport compute() const;
  void reset();

  int64_t num_classes() const { return num_classes_; }
  int64_t count() const { return count_; }

 private:
  int64_t num_classes_;
  double zero_division_;
  std::vector<int64_t> confusion_;  // row-major [C, C]
  int64_t count_ = 0;
  std::optional<bool> with_loss_;   // whether the updates give losses, set by the first one
  detail::CompensatedSum loss_sum_;  // mean loss times batch size, summed
};

}  // namespace cajal::metrics
