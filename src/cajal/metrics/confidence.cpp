#include "cajal/metrics/confidence.h"

#include <cmath>

#include "cajal/core/error.h"

namespace cajal::metrics {

MeanEstimate mean_with_ci95(const std::vector<double>& values) {
  if (values.empty()) fail<ValueError>("mean_with_ci95: no values");
  const auto n = static_cast<double>(values.size());
  double sum = 0;
  for (double v : values) sum += v;
  const double mean = sum / n;
  double squares = 0;
  for (double v : values) squares += (v - mean) * (v - mean);
  const double sd = values.size() > 1 ? std::sqrt(squares / (n - 1)) : 0;
  return {mean, 1.96 * sd / std::sqrt(n)};
}

}  // namespace cajal::metrics
