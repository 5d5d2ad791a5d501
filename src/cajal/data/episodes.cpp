// Sinusoid regression tasks (Finn et al. 2017).
#include "cajal/data/episodes.h"

#include <cmath>
#include <vector>

#include "cajal/ops/creation.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/shape.h"

namespace cajal::data {

Tensor Sinusoid::operator()(const Tensor& x) const { return sin(x - phase) * amplitude; }

SinusoidTasks::SinusoidTasks(const SinusoidOptions& options) : options_(options) {
  auto check_range = [](const char* what, double low, double high) {
    if (!(std::isfinite(low) && std::isfinite(high) && low <= high))
      fail<ValueError>("sinusoid tasks: the ", what, " range [", low, ", ", high, "] is empty or not finite");
  };
  check_range("amplitude", options.amplitude_min, options.amplitude_max);
  check_range("phase", options.phase_min, options.phase_max);
  check_range("x", options.x_min, options.x_max);
  if (options.amplitude_min < 0) fail<ValueError>("sinusoid tasks: amplitude_min must be >= 0, got ", options.amplitude_min);
}

Sinusoid SinusoidTasks::draw_task(Generator& gen) const {
  Sinusoid task;
  task.amplitude = options_.amplitude_min + (options_.amplitude_max - options_.amplitude_min) * gen.next_double();
  task.phase = options_.phase_min + (options_.phase_max - options_.phase_min) * gen.next_double();
  return task;
}

std::pair<Tensor, Tensor> SinusoidTasks::draw_points(const Sinusoid& task, int64_t n, Generator& gen) const {
  if (n < 1) fail<ValueError>("sinusoid tasks: a set needs at least one point, got ", n);
  std::vector<float> x(static_cast<size_t>(n)), y(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const double xi = options_.x_min + (options_.x_max - options_.x_min) * gen.next_double();
    x[static_cast<size_t>(i)] = static_cast<float>(xi);
    y[static_cast<size_t>(i)] = static_cast<float>(task.amplitude * std::sin(xi - task.phase));
  }
  return {from_vector(x, {n, 1}), from_vector(y, {n, 1})};
}

Episode SinusoidTasks::draw_episode(int64_t support, int64_t query, Generator& gen) const {
  const Sinusoid task = draw_task(gen);
  auto [sx, sy] = draw_points(task, support, gen);
  auto [qx, qy] = draw_points(task, query, gen);
  return {sx, sy, qx, qy};
}

}  // namespace cajal::data

namespace cajal::data {

EpisodeSampler::EpisodeSampler(Tensor inputs, Tensor labels, std::vector<int64_t> classes, EpisodeOptions options)
    : inputs_(std::move(inputs)), options_(options) {
  if (options.ways < 1 || options.shots < 1 || options.queries < 1)
    fail<ValueError>("episodes: ways, shots and queries must be at least 1, got ", options.ways, ", ", options.shots, ", ",
                     options.queries);
  if (labels.dim() != 1 || labels.size(0) != inputs_.size(0))
    fail<ShapeError>("episodes: labels must be [N] for inputs of N examples, got ", labels.sizes(), " for ", inputs_.sizes());
  const Tensor label_values = labels.to(DType::i64).contiguous();
  const int64_t* label = label_values.data_ptr<int64_t>();
  const int64_t n = label_values.numel();
  if (classes.empty()) {
    std::vector<bool> present;
    for (int64_t i = 0; i < n; ++i) {
      if (label[i] < 0) fail<ValueError>("episodes: label ", label[i], " of example ", i, " is negative");
      if (static_cast<size_t>(label[i]) >= present.size()) present.resize(static_cast<size_t>(label[i]) + 1, false);
      present[static_cast<size_t>(label[i])] = true;
    }
    for (size_t c = 0; c < present.size(); ++c)
      if (present[c]) classes.push_back(static_cast<int64_t>(c));
  }
  classes_ = std::move(classes);
  members_.resize(classes_.size());
  for (int64_t i = 0; i < n; ++i)
    for (size_t c = 0; c < classes_.size(); ++c)
      if (label[i] == classes_[c]) members_[c].push_back(i);
  if (static_cast<int64_t>(classes_.size()) < options.ways)
    fail<ValueError>("episodes: ", options.ways, "-way episodes need ", options.ways, " classes, only ", classes_.size(),
                     " are allowed");
  const int64_t needed = options.shots + options.queries;
  for (size_t c = 0; c < classes_.size(); ++c)
    if (static_cast<int64_t>(members_[c].size()) < needed)
      fail<ValueError>("episodes: an episode asks for ", options.shots, " shots + ", options.queries, " queries = ", needed,
                       " examples of class ", classes_[c], ", which has ", members_[c].size());
}

namespace {

// k distinct indices of [0, n), by a partial Fisher-Yates shuffle.
std::vector<int64_t> choose(int64_t n, int64_t k, Generator& gen) {
  std::vector<int64_t> pool(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) pool[static_cast<size_t>(i)] = i;
  for (int64_t i = 0; i < k; ++i) {
    const auto j = i + static_cast<int64_t>(gen.next_u64() % static_cast<uint64_t>(n - i));
    std::swap(pool[static_cast<size_t>(i)], pool[static_cast<size_t>(j)]);
  }
  pool.resize(static_cast<size_t>(k));
  return pool;
}

}  // namespace

Episode EpisodeSampler::draw(Generator& gen) const {
  const std::vector<int64_t> picked = choose(static_cast<int64_t>(classes_.size()), options_.ways, gen);
  std::vector<int64_t> support, query, support_labels, query_labels;
  for (int64_t way = 0; way < options_.ways; ++way) {
    const std::vector<int64_t>& members = members_[static_cast<size_t>(picked[static_cast<size_t>(way)])];
    const std::vector<int64_t> chosen = choose(static_cast<int64_t>(members.size()), options_.shots + options_.queries, gen);
    for (int64_t i = 0; i < options_.shots + options_.queries; ++i) {
      const int64_t index = members[static_cast<size_t>(chosen[static_cast<size_t>(i)])];
      (i < options_.shots ? support : query).push_back(index);
      (i < options_.shots ? support_labels : query_labels).push_back(way);
    }
  }
  const auto count = [](const std::vector<int64_t>& v) { return static_cast<int64_t>(v.size()); };
  return {index_select(inputs_, 0, from_vector(support, {count(support)})), from_vector(support_labels, {count(support)}),
          index_select(inputs_, 0, from_vector(query, {count(query)})), from_vector(query_labels, {count(query)})};
}

}  // namespace cajal::data
