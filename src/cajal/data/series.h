#pragma once
// Time series for forecasting: one column of a CSV table, cut into windows whose targets are
// the values that follow.
//
//   std::vector<double> sunspots = data::read_series("sunspots.csv", "SUNACTIVITY");
//   data::SeriesWindows w = data::series_windows(sunspots, {.window = 20, .validation = 0.15, .test = 0.15});
//   w.train->get(0);  // input float32 [20, 1]: values 0..19 (normalized); target float32 [1]: value 20
//
// The series is split in time order: the first part trains, the next validates, the last
// tests. Normalization uses the training part's mean and standard deviation only, so nothing
// of the later parts leaks into training.
#include <cstdint>
#include <string>
#include <vector>

#include "cajal/data/dataset.h"

namespace cajal::data {

// How read_series treats an empty or "NA"/"nan" cell: an IOError naming the line, or the
// value linearly interpolated between its neighbours (missing values at either end take the
// nearest value).
enum class MissingValues { error, interpolate };

// The values of `column` (its header name, quotes removed) in file order. Errors are IOErrors
// "path:line: ..." (an unknown column lists the header's names).
std::vector<double> read_series(const std::string& path, const std::string& column,
                                MissingValues missing = MissingValues::error);

struct SeriesWindowOptions {
  int64_t window = 12;     // past values per example
  int64_t horizon = 1;     // future values to predict
  double validation = 0;   // fractions of the series, in time order after the training part
  double test = 0;
  bool normalize = true;   // (x - mean) / std with the training part's statistics
};

// Example t (a time index): input values[t - window, t) as [window, 1], target values[t,
// t + horizon) as [horizon]. A part [begin, end) of the series holds the examples whose
// targets all lie in it (t >= begin, t + horizon <= end, t >= window): the inputs of the
// first validation and test examples reach back into the part before, as they would when
// forecasting. The parts' sizes are round(fraction * length), training takes the rest.
struct SeriesWindows {
  DatasetPtr train, val, test;  // val and test are null when their fraction is 0
  double mean = 0, std = 1;     // the normalization applied (0 and 1 without it)
  int64_t train_end = 0, val_end = 0;  // training part [0, train_end), validation [train_end, val_end), test after
};
SeriesWindows series_windows(const std::vector<double>& values, const SeriesWindowOptions& options);

// The mean squared error of the naive forecast (every future value equals the last input
// value) over a dataset of series_windows, in its units: what a forecaster must beat.
double naive_forecast_mse(const Dataset& windows);

}  // namespace cajal::data
