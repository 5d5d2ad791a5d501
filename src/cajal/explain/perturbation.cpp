// The perturbation methods, which need no gradient: occlusion (hide a window, see the score
// drop) and permutation importance (shuffle a column, see the score drop).
#include <algorithm>

#include "cajal/autograd/grad_mode.h"
#include "cajal/core/error.h"
#include "cajal/core/generator.h"
#include "cajal/explain/attribution.h"
#include "cajal/explain/attribution_checks.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/random.h"
#include "cajal/ops/reduce.h"
#include "cajal/ops/shape.h"

namespace cajal::explain {

namespace {

// The window at `start` in every example of `t` [B, ...]: a view, so writing to it writes to t.
Tensor window_of(const Tensor& t, const Dims& start, const Dims& window) {
  Tensor view = t;
  for (size_t d = 0; d < window.size(); ++d) view = view.narrow(static_cast<int64_t>(d) + 1, start[d], window[d]);
  return view;
}

// Every position of the window in an example of shape `example`, row-major: along dim d the
// window starts at 0, stride, 2 stride, ... while it fits.
std::vector<Dims> window_starts(const Dims& example, const Dims& window, const Dims& strides) {
  std::vector<Dims> starts;
  Dims start(example.size(), 0);
  while (true) {
    starts.push_back(start);
    int64_t d = static_cast<int64_t>(example.size()) - 1;  // advance like an odometer
    while (d >= 0 && start[d] + strides[d] + window[d] > example[d]) start[d--] = 0;
    if (d < 0) return starts;
    start[d] += strides[d];
  }
}

}  // namespace

Tensor occlusion(const ModelFunction& model, const Tensor& inputs, const Tensor& targets, const OcclusionOptions& options) {
  detail::check_batch("occlusion", inputs, targets);
  const Dims example(inputs.sizes().begin() + 1, inputs.sizes().end());
  const Dims& window = options.window;
  const Dims strides = options.strides.empty() ? window : options.strides;
  CAJAL_CHECK(window.size() == example.size() && strides.size() == example.size(), ShapeError,
              "occlusion: the window and strides need one size per dim of an example ", example, "; got window ", window,
              " and strides ", strides);
  for (size_t d = 0; d < example.size(); ++d) {
    CAJAL_CHECK(window[d] >= 1 && window[d] <= example[d], ShapeError, "occlusion: the window ", window,
                " does not fit in an example ", example, " (each size must be in 1..the example's)");
    CAJAL_CHECK(strides[d] >= 1, ValueError, "occlusion: strides must be >= 1; got ", strides);
  }
  CAJAL_CHECK(options.windows_per_batch >= 1, ValueError, "occlusion: windows_per_batch must be >= 1; got ",
              options.windows_per_batch);

  NoGradGuard no_grad;
  const Tensor x = inputs.detach();
  const int64_t batch = x.size(0);
  const Tensor full_scores = target_scores(model(x), targets);
  Tensor total = zeros_like(x);                       // the sum of the drops credited to each element
  Tensor covered = zeros_like(x.narrow(0, 0, 1));     // how many windows covered each element
  const std::vector<Dims> starts = window_starts(example, window, strides);
  for (size_t first = 0; first < starts.size(); first += options.windows_per_batch) {
    const size_t count = std::min(starts.size() - first, static_cast<size_t>(options.windows_per_batch));
    TensorList occluded;  // count copies of the batch, one per window position
    for (size_t k = first; k < first + count; ++k) {
      Tensor copy = x.clone();
      window_of(copy, starts[k], window).fill_(options.baseline);
      occluded.push_back(copy);
    }
    const Tensor scores = target_scores(model(cat(occluded)), repeat(targets, {static_cast<int64_t>(count)}));
    for (size_t k = first; k < first + count; ++k) {
      const Tensor drop = full_scores - scores.narrow(0, static_cast<int64_t>(k - first) * batch, batch);
      window_of(total, starts[k], window).add_(drop.reshape(detail::per_example_shape(x)));
      window_of(covered, starts[k], window).add_(1);
    }
  }
  return total / maximum(covered, 1);  // the mean drop; 0 where no window reached
}

PermutationImportance permutation_importance(const ScoreFunction& score, const Tensor& features, int64_t repeats,
                                             uint64_t seed) {
  CAJAL_CHECK(features.defined() && features.dim() == 2, ShapeError,
              "permutation_importance: features must be a table [N, F]; got ", features.defined() ? features.sizes() : Dims{});
  CAJAL_CHECK(repeats >= 1, ValueError, "permutation_importance: repeats must be >= 1; got ", repeats);
  const Tensor x = features.detach();
  const int64_t rows = x.size(0), columns = x.size(1);
  PermutationImportance result;
  result.baseline = score(x);
  Generator gen(seed);
  std::vector<double> drops;
  for (int64_t f = 0; f < columns; ++f) {
    for (int64_t r = 0; r < repeats; ++r) {
      const Tensor order = randperm(rows, &gen);
      Tensor shuffled = x.clone();
      shuffled.select(1, f).copy_(index_select(x.select(1, f), 0, order));
      drops.push_back(result.baseline - score(shuffled));
    }
  }
  result.importances = from_vector<double>(drops, {columns, repeats}, TensorOptions{.dtype = DType::f64});
  result.mean = result.importances.mean({1});
  result.std = var(result.importances, {1}, /*unbiased=*/false).sqrt();
  return result;
}

}  // namespace cajal::explain
