#include "cajal/metrics/regression.h"

#include <cmath>
#include <limits>
#include <vector>

namespace cajal::metrics {

namespace {

// Adds predictions and targets to `meter`, with `metric` naming errors.
void update_named(const char* metric, RegressionMeter& meter, const Tensor& predictions, const Tensor& targets) {
  std::vector<double> predicted = detail::read_values(metric, "predictions", predictions);
  std::vector<double> truth = detail::read_values(metric, "targets", targets);
  detail::check_lengths(metric, static_cast<int64_t>(predicted.size()), static_cast<int64_t>(truth.size()));
  for (size_t i = 0; i < truth.size(); ++i) meter.add(predicted[i], truth[i]);
}

// The metrics of all the data as one batch.
RegressionReport report_of(const char* metric, const Tensor& predictions, const Tensor& targets) {
  RegressionMeter meter;
  update_named(metric, meter, predictions, targets);
  return meter.compute();
}

}  // namespace

void RegressionMeter::update(const Tensor& predictions, const Tensor& targets) {
  update_named("RegressionMeter.update", *this, predictions, targets);
}

void RegressionMeter::add(double prediction, double target) {
  double error = target - prediction;
  squared_errors_.add(error * error);
  absolute_errors_.add(std::fabs(error));
  ++count_;
  // Welford: the deviation from the old mean times the deviation from the new one.
  double deviation = target - target_mean_;
  target_mean_ += deviation / static_cast<double>(count_);
  target_squared_deviations_ += deviation * (target - target_mean_);
}

RegressionReport RegressionMeter::compute() const {
  if (count_ == 0) fail<ValueError>("RegressionMeter.compute: empty input (no samples were given to update)");
  RegressionReport r;
  r.count = count_;
  auto n = static_cast<double>(count_);
  double sse = squared_errors_.value();
  r.mse = sse / n;
  r.rmse = std::sqrt(r.mse);
  r.mae = absolute_errors_.value() / n;
  if (count_ < 2) r.r2 = std::numeric_limits<double>::quiet_NaN();
  else if (sse == 0) r.r2 = 1.0;
  else if (target_squared_deviations_ == 0) r.r2 = 0.0;
  else r.r2 = 1.0 - sse / target_squared_deviations_;
  return r;
}

double mean_squared_error(const Tensor& predictions, const Tensor& targets) {
  return report_of("mean_squared_error", predictions, targets).mse;
}

double root_mean_squared_error(const Tensor& predictions, const Tensor& targets) {
  return report_of("root_mean_squared_error", predictions, targets).rmse;
}

double mean_absolute_error(const Tensor& predictions, const Tensor& targets) {
  return report_of("mean_absolute_error", predictions, targets).mae;
}

double r2_score(const Tensor& predictions, const Tensor& targets) {
  return report_of("r2_score", predictions, targets).r2;
}

}  // namespace cajal::metrics
