#pragma once
// Tasks for learning from little: an Episode is one small task, a support set to adapt on
// and a query set to judge the adaptation by (few-shot classification, meta-learning).
//
// SinusoidTasks: the regression tasks of Finn et al. 2017 (MAML, section 5.1), each a sine
// wave y = A sin(x - phase) with A ~ U[0.1, 5], phase ~ U[0, pi], x ~ U[-5, 5].
#include <cstdint>
#include <utility>
#include <vector>

#include "cajal/core/generator.h"
#include "cajal/core/tensor.h"

namespace cajal::data {

struct Episode {
  Tensor support_input, support_target;
  Tensor query_input, query_target;
};

struct SinusoidOptions {
  double amplitude_min = 0.1, amplitude_max = 5.0;
  double phase_min = 0.0, phase_max = 3.141592653589793;
  double x_min = -5.0, x_max = 5.0;
};

struct Sinusoid {
  double amplitude = 1, phase = 0;
  Tensor operator()(const Tensor& x) const;  // amplitude * sin(x - phase)
};

class SinusoidTasks {
 public:
  // ValueError when a range is empty or reversed, or the amplitude is negative.
  explicit SinusoidTasks(const SinusoidOptions& options = {});
  Sinusoid draw_task(Generator& gen) const;
  // n points of `task` with x uniform in the range: input [n, 1], target [n, 1], float32.
  std::pair<Tensor, Tensor> draw_points(const Sinusoid& task, int64_t n, Generator& gen) const;
  // A new task with `support` and `query` points drawn independently.
  Episode draw_episode(int64_t support, int64_t query, Generator& gen) const;
  const SinusoidOptions& options() const { return options_; }

 private:
  SinusoidOptions options_;
};

}  // namespace cajal::data

namespace cajal::data {

// N-way K-shot episodes drawn from a labelled set, for few-shot classification: each
// episode picks `ways` of the allowed classes, then `shots` support and `queries` query
// examples of each, all distinct. Targets are episode labels 0..ways-1 in the order the
// classes were picked; support and query are grouped by class.
struct EpisodeOptions {
  int64_t ways = 5, shots = 1, queries = 15;
};

class EpisodeSampler {
 public:
  // inputs [N, ...], labels [N] (integers); `classes` lists the classes episodes draw from
  // (empty: every label present). ValueError when a class has fewer than shots + queries
  // examples (naming the class and both counts), or there are fewer classes than ways.
  EpisodeSampler(Tensor inputs, Tensor labels, std::vector<int64_t> classes, EpisodeOptions options);
  Episode draw(Generator& gen) const;
  const std::vector<int64_t>& classes() const { return classes_; }
  const EpisodeOptions& options() const { return options_; }

 private:
  Tensor inputs_;
  std::vector<int64_t> classes_;
  std::vector<std::vector<int64_t>> members_;  // the example indices of each class, as classes_
  EpisodeOptions options_;
};

}  // namespace cajal::data
