#pragma once
// The mean of repeated measurements (episodes, tasks, seeds) with the half-width of its 95%
// confidence interval, 1.96 * s / sqrt(n) with s the sample standard deviation (the normal
// approximation few-shot papers report, fine for the hundreds of episodes they average).
#include <vector>

namespace cajal::metrics {

struct MeanEstimate {
  double mean = 0, ci95 = 0;
};

// ValueError for an empty list; one value has a ci95 of 0.
MeanEstimate mean_with_ci95(const std::vector<double>& values);

}  // namespace cajal::metrics
