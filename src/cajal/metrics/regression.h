#pragma once
// Regression metrics, as scikit-learn computes them (float64 results), as functions and as a
// streaming meter whose results equal the functions on the concatenated data. Arguments come
// in the order predictions, targets: floating [N] (or columns [N, 1]) with N > 0.
#include <cstdint>

#include "cajal/core/tensor.h"
#include "cajal/metrics/inputs.h"

namespace cajal::metrics {

struct RegressionReport {
  int64_t count = 0;  // samples seen
  double mse = 0;     // mean squared error
  double rmse = 0;    // its square root
  double mae = 0;     // mean absolute error
  // Coefficient of determination 1 - SSE / SST (SST: squared deviations of the targets from
  // their mean). With constant targets (SST = 0) it is 1 for perfect predictions and 0
  // otherwise; with one sample it is NaN: scikit-learn's r2_score in both cases.
  double r2 = 0;
};

// Accumulates over batches in a training loop:
//   metrics::RegressionMeter meter;
//   for (auto& [x, y] : loader) meter.update(model->forward(x), y);
//   double r2 = meter.compute().r2;
// Sums of errors are compensated (Neumaier) and the targets' mean and squared deviations are
// updated sample by sample (Welford), so long runs lose almost nothing to rounding, and
// constant targets give exactly SST = 0. How the data is split into batches does not change
// the results.
class RegressionMeter {
 public:
  void update(const Tensor& predictions, const Tensor& targets);
  // One sample.
  void add(double prediction, double target);
  // Fails when no sample has been seen.
  RegressionReport compute() const;
  void reset() { *this = RegressionMeter(); }
  int64_t count() const { return count_; }

 private:
  int64_t count_ = 0;
  detail::CompensatedSum squared_errors_;
  detail::CompensatedSum absolute_errors_;
  double target_mean_ = 0;
  double target_squared_deviations_ = 0;
};

double mean_squared_error(const Tensor& predictions, const Tensor& targets);
double root_mean_squared_error(const Tensor& predictions, const Tensor& targets);
double mean_absolute_error(const Tensor& predictions, const Tensor& targets);
double r2_score(const Tensor& predictions, const Tensor& targets);

}  // namespace cajal::metrics
