// Rank correlation and parameter randomization for Adebayo et al.'s sanity checks.
#include "cajal/explain/sanity.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "cajal/core/error.h"
#include "cajal/core/generator.h"
#include "cajal/nn/init.h"
#include "cajal/nn/module.h"

namespace cajal::explain {

namespace {

std::vector<double> values_of(const Tensor& t, const char* name) {
  CAJAL_CHECK(t.defined(), ValueError, "spearman_correlation: ", name, " is undefined");
  std::vector<double> values = t.detach().to(DType::f64).contiguous().to_vector<double>();
  CAJAL_CHECK(std::none_of(values.begin(), values.end(), [](double v) { return std::isnan(v); }), ValueError,
              "spearman_correlation: ", name, " contains NaN, which has no rank");
  return values;
}

// The rank of each value, 1 for the smallest; tied values share the mean of the ranks they span.
std::vector<double> average_ranks(const std::vector<double>& values) {
  std::vector<size_t> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t i, size_t j) { return values[i] < values[j]; });
  std::vector<double> ranks(values.size());
  for (size_t first = 0; first < order.size();) {
    size_t last = first;  // [first, last] hold one value
    while (last + 1 < order.size() && values[order[last + 1]] == values[order[first]]) ++last;
    const double rank = (first + last) / 2.0 + 1;
    for (size_t k = first; k <= last; ++k) ranks[order[k]] = rank;
    first = last + 1;
  }
  return ranks;
}

double pearson(const std::vector<double>& x, const std::vector<double>& y) {
  const double n = static_cast<double>(x.size());
  const double mx = std::accumulate(x.begin(), x.end(), 0.0) / n, my = std::accumulate(y.begin(), y.end(), 0.0) / n;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  if (sxx == 0 || syy == 0) return std::numeric_limits<double>::quiet_NaN();
  return sxy / std::sqrt(sxx * syy);
}

}  // namespace

double spearman_correlation(const Tensor& a, const Tensor& b) {
  const std::vector<double> x = values_of(a, "a"), y = values_of(b, "b");
  CAJAL_CHECK(x.size() == y.size(), ValueError, "spearman_correlation: a has ", x.size(), " elements and b ", y.size(),
              "; the maps must have the same number");
  CAJAL_CHECK(x.size() >= 2, ValueError, "spearman_correlation: needs at least 2 elements; got ", x.size());
  return pearson(average_ranks(x), average_ranks(y));
}

void randomize_parameters(nn::Module& model, uint64_t seed, const std::string& from_layer) {
  const nn::Named<nn::ModulePtr> modules = model.named_modules();
  size_t first = 0;  // the first module redrawn
  if (!from_layer.empty()) {
    const nn::ModulePtr start = model.get_submodule(from_layer);
    while (modules[first].second != start) ++first;
  }
  Generator gen(seed);
  int64_t redrawn = 0;
  for (size_t m = first; m < modules.size(); ++m) {
    const nn::Named<Tensor> parameters = modules[m].second->named_parameters(/*recurse=*/false);
    double bound = 1;  // for the 1-D parameters: torch's bias bound, 1/sqrt(fan_in) of the module's weight
    for (const auto& [name, p] : parameters) {
      if (p.dim() >= 2) {
        bound = 1 / std::sqrt(static_cast<double>(nn::init::calculate_fan_in_and_fan_out(p).first));
        break;
      }
    }
    for (const auto& [name, p] : parameters) {
      if (p.dim() >= 2)
        nn::init::kaiming_uniform_(p, std::sqrt(5.0), nn::init::FanMode::FanIn, "leaky_relu", &gen);
      else
        nn::init::uniform_(p, -bound, bound, &gen);
      ++redrawn;
    }
  }
  CAJAL_CHECK(redrawn > 0, ValueError, "randomize_parameters: no module of ", model.name(),
              from_layer.empty() ? std::string() : " at or after '" + from_layer + "'", " holds a parameter");
}

}  // namespace cajal::explain
