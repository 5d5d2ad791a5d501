#include "cajal/models/generate.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "cajal/autograd/grad_mode.h"
#include "cajal/core/error.h"
#include "cajal/ops/creation.h"

namespace cajal::models {

namespace {

void check_options(double temperature, int64_t top_k) {
  if (!(temperature >= 0) || !std::isfinite(temperature))
    fail<ValueError>("sample_token: temperature must be a finite number >= 0, got ", temperature);
  if (top_k < 0) fail<ValueError>("sample_token: top_k must be >= 0 (0: all tokens), got ", top_k);
}

}  // namespace

int64_t sample_token(const Tensor& scores, double temperature, int64_t top_k, Generator& gen) {
  check_options(temperature, top_k);
  if (scores.dim() != 1 || scores.numel() == 0) fail<ShapeError>("sample_token: expects scores [V], got ", scores.shape());
  std::vector<double> s = scores.to(DType::f64).contiguous().to_vector<double>();
  const auto best = std::max_element(s.begin(), s.end());
  if (temperature == 0) return best - s.begin();

  // Tokens below the k-th highest score get probability 0.
  double threshold = -INFINITY;
  if (top_k > 0 && top_k < static_cast<int64_t>(s.size())) {
    std::vector<double> sorted = s;
    std::nth_element(sorted.begin(), sorted.begin() + (top_k - 1), sorted.end(), std::greater<double>());
    threshold = sorted[static_cast<size_t>(top_k - 1)];
  }
  // softmax(s / temperature) over the tokens kept, shifted by the maximum for stability.
  std::vector<double> weights(s.size(), 0.0);
  double total = 0;
  for (size_t v = 0; v < s.size(); ++v) {
    if (s[v] < threshold) continue;
    weights[v] = std::exp((s[v] - *best) / temperature);
    total += weights[v];
  }
  // The token where the running sum of weights passes u (the last one kept, should rounding
  // leave u at the very end).
  double u = gen.next_double() * total;
  int64_t chosen = 0;
  for (size_t v = 0; v < s.size(); ++v) {
    if (weights[v] == 0) continue;
    chosen = static_cast<int64_t>(v);
    u -= weights[v];
    if (u < 0) break;
  }
  return chosen;
}

Tensor generate_tokens(nn::Module& model, const Tensor& prompt, const SamplingOptions& options, Generator& gen) {
  check_options(options.temperature, options.top_k);
  if (prompt.dim() != 1 || prompt.numel() == 0 || prompt.dtype() != DType::i64)
    fail<ShapeError>("generate_tokens: the prompt must be int64 token ids [P] with P >= 1, got ",
                     dtype_name(prompt.dtype()), " ", prompt.shape());
  if (options.length < 0 || options.context < 0)
    fail<ValueError>("generate_tokens: length and context must be >= 0, got ", options.length, " and ", options.context);
  std::vector<int64_t> tokens = prompt.contiguous().to_vector<int64_t>();
  const size_t prompt_length = tokens.size();
  const bool was_training = model.is_training();
  model.eval();
  NoGradGuard no_grad;
  for (int64_t i = 0; i < options.length; ++i) {
    size_t start = options.context > 0 && tokens.size() > static_cast<size_t>(options.context)
                       ? tokens.size() - static_cast<size_t>(options.context)
                       : 0;
    std::vector<int64_t> window(tokens.begin() + static_cast<std::ptrdiff_t>(start), tokens.end());
    const auto steps = static_cast<int64_t>(window.size());
    Tensor scores = model.forward(from_vector(window, {1, steps}));
    if (scores.dim() != 3 || scores.size(0) != 1 || scores.size(1) != steps)
      fail<ShapeError>("generate_tokens: the model must return scores per step [1, ", steps, ", V] for tokens [1, ",
                       steps, "], got ", scores.shape());
    tokens.push_back(sample_token(scores[0][steps - 1], options.temperature, options.top_k, gen));
  }
  model.train(was_training);
  std::vector<int64_t> generated(tokens.begin() + static_cast<std::ptrdiff_t>(prompt_length), tokens.end());
  return from_vector(generated, {options.length});
}

}  // namespace cajal::models
