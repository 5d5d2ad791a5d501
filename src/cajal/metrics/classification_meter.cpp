#include "cajal/metrics/classification_meter.h"

#include "cajal/ops/creation.h"

namespace cajal::metrics {

ClassificationMeter::ClassificationMeter(int64_t num_classes, double zero_division)
    : num_classes_(num_classes), zero_division_(zero_division) {
  if (num_classes < 1) fail<ValueError>("ClassificationMeter: num_classes must be at least 1, got ", num_classes);
  detail::check_zero_division("ClassificationMeter", zero_division);
  reset();
}

void ClassificationMeter::update(const Tensor& outputs, const Tensor& targets, std::optional<double> mean_loss) {
  const char* metric = "ClassificationMeter.update";
  if (with_loss_ && *with_loss_ != mean_loss.has_value())
    fail<ValueError>(metric, ": a batch loss was ", *with_loss_ ? "given for earlier batches but not for this one"
                                                                : "not given for earlier batches but is for this one",
                     " (give it for every batch or for none)");
  detail::LabelPairs pairs = detail::read_label_pairs(metric, outputs, targets, num_classes_);
  detail::add_confusion_counts(pairs, confusion_.data());
  auto batch_size = static_cast<int64_t>(pairs.truth.size());
  count_ += batch_size;
  with_loss_ = mean_loss.has_value();
  if (mean_loss) loss_sum_.add(*mean_loss * static_cast<double>(batch_size));
}

ClassificationReport ClassificationMeter::compute() const {
  if (count_ == 0) fail<ValueError>("ClassificationMeter.compute: empty input (no samples were given to update)");
  ClassificationReport r;
  r.count = count_;
  int64_t correct = 0;
  for (int64_t c = 0; c < num_classes_; ++c) correct += confusion_[static_cast<size_t>(c * num_classes_ + c)];
  r.accuracy = static_cast<double>(correct) / static_cast<double>(count_);
  if (*with_loss_) r.loss = loss_sum_.value() / static_cast<double>(count_);
  r.confusion_matrix = from_vector(confusion_, {num_classes_, num_classes_});
  r.scores = precision_recall_f1_from_confusion(r.confusion_matrix, zero_division_);
  return r;
}

void ClassificationMeter::reset() {
  confusion_.assign(static_cast<size_t>(num_classes_ * num_classes_), 0);
  count_ = 0;
  with_loss_.reset();
  loss_sum_ = {};
}

}  // namespace cajal::metrics
