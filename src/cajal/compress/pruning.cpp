#include "cajal/compress/pruning.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "cajal/autograd/grad_mode.h"
#include "cajal/nn/conv.h"
#include "cajal/nn/linear.h"
#include "cajal/ops/creation.h"
#include "cajal/train/trainer.h"

namespace cajal::compress {

namespace {

void check_sparsity(double sparsity) {
  if (!(sparsity >= 0 && sparsity < 1)) fail<ValueError>("pruning: sparsity must be in [0, 1), got ", sparsity);
}

// The magnitudes of all elements of `weights`, one list, tensor after tensor.
std::vector<double> magnitudes(const std::vector<Tensor>& weights) {
  std::vector<double> all;
  for (const Tensor& w : weights) {
    if (!w.is_floating_point()) fail<DTypeError>("pruning: weights must be floating point, got ", w.dtype());
    for (double v : w.contiguous().to_vector<double>()) all.push_back(std::fabs(v));
  }
  return all;
}

// Zeroes in `keep` the `count` entries of `values[begin, end)` with the smallest values
// (ties by position, so the count is exact).
void prune_smallest(const std::vector<double>& values, size_t begin, size_t end, int64_t count, std::vector<float>& keep) {
  std::vector<size_t> order(end - begin);
  std::iota(order.begin(), order.end(), begin);
  auto smaller = [&](size_t a, size_t b) { return values[a] < values[b] || (values[a] == values[b] && a < b); };
  std::nth_element(order.begin(), order.begin() + count, order.end(), smaller);
  for (int64_t i = 0; i < count; ++i) keep[order[i]] = 0;
}

}  // namespace

std::vector<std::pair<std::string, Tensor>> prunable_weights(const nn::Module& model) {
  std::vector<std::pair<std::string, Tensor>> weights;
  for (const auto& [path, module] : model.named_modules()) {
    const Tensor* weight = nullptr;
    if (auto m = std::dynamic_pointer_cast<nn::LinearImpl>(module)) weight = &m->weight();
    else if (auto m = std::dynamic_pointer_cast<nn::Conv2dImpl>(module)) weight = &m->weight();
    else if (auto m = std::dynamic_pointer_cast<nn::Conv1dImpl>(module)) weight = &m->weight();
    else if (auto m = std::dynamic_pointer_cast<nn::ConvTranspose2dImpl>(module)) weight = &m->weight();
    if (weight) weights.emplace_back(path.empty() ? "weight" : path + ".weight", *weight);
  }
  return weights;
}

std::vector<Tensor> magnitude_masks(const std::vector<Tensor>& weights, double sparsity, PruningScope scope) {
  check_sparsity(sparsity);
  const std::vector<double> all = magnitudes(weights);
  std::vector<float> keep(all.size(), 1.0f);
  if (scope == PruningScope::global) {
    prune_smallest(all, 0, all.size(), static_cast<int64_t>(std::nearbyint(sparsity * static_cast<double>(all.size()))), keep);
  } else {
    size_t begin = 0;
    for (const Tensor& w : weights) {
      const size_t end = begin + static_cast<size_t>(w.numel());
      prune_smallest(all, begin, end, static_cast<int64_t>(std::nearbyint(sparsity * static_cast<double>(w.numel()))), keep);
      begin = end;
    }
  }
  std::vector<Tensor> masks;
  size_t begin = 0;
  for (const Tensor& w : weights) {
    std::vector<float> part(keep.begin() + begin, keep.begin() + begin + w.numel());
    masks.push_back(from_vector(part, w.sizes()).to(w.dtype()));
    begin += static_cast<size_t>(w.numel());
  }
  return masks;
}

void apply_masks(const std::vector<Tensor>& weights, const std::vector<Tensor>& masks) {
  if (weights.size() != masks.size())
    fail<ValueError>("apply_masks: ", weights.size(), " weights but ", masks.size(), " masks");
  NoGradGuard no_grad;
  for (size_t i = 0; i < weights.size(); ++i) {
    Tensor w = weights[i];
    w.mul_(masks[i]);
  }
}

double sparsity_of(const std::vector<Tensor>& weights) {
  int64_t zeros = 0, total = 0;
  for (const Tensor& w : weights) {
    for (double v : w.contiguous().to_vector<double>()) zeros += v == 0;
    total += w.numel();
  }
  return total ? static_cast<double>(zeros) / static_cast<double>(total) : 0.0;
}

double polynomial_sparsity(double initial, double final, int64_t step, int64_t begin, int64_t end) {
  if (step <= begin) return initial;
  if (step >= end) return final;
  const double left = 1.0 - static_cast<double>(step - begin) / static_cast<double>(end - begin);
  return final + (initial - final) * left * left * left;
}

PruningCallback::PruningCallback(const nn::Module& model, PruningOptions options)
    : weights_(prunable_weights(model)), options_(options) {
  check_sparsity(options.sparsity);
  if (weights_.empty()) fail<ValueError>("pruning: the model has no convolution or linear weights to prune");
  if (options.gradual && !(options.ramp > 0 && options.ramp <= 1))
    fail<ValueError>("pruning: ramp must be in (0, 1], got ", options.ramp);
  if (options.every < 1) fail<ValueError>("pruning: every must be at least 1 step, got ", options.every);
}

int64_t PruningCallback::total_steps() const {
  const train::TrainingState& s = trainer().state();
  return s.epochs * s.batches_per_epoch;
}

void PruningCallback::prune_to(double sparsity) {
  std::vector<Tensor> weights;
  for (const auto& [name, w] : weights_) weights.push_back(w);
  masks_ = magnitude_masks(weights, sparsity, options_.scope);
  target_ = sparsity;
  apply_masks(weights, masks_);
}

void PruningCallback::on_train_begin() {
  if (masks_.empty()) prune_to(options_.gradual ? 0.0 : options_.sparsity);  // else restored from a checkpoint
}

void PruningCallback::on_batch_end(int64_t step, const train::Logs& logs) {
  if (options_.gradual && step % options_.every == 0) {
    const auto end = static_cast<int64_t>(std::ceil(options_.ramp * static_cast<double>(total_steps())));
    const double s = polynomial_sparsity(0.0, options_.sparsity, step, 0, std::max<int64_t>(end, 1));
    if (s > target_) {
      prune_to(s);
      return;
    }
  }
  std::vector<Tensor> weights;
  for (const auto& [name, w] : weights_) weights.push_back(w);
  apply_masks(weights, masks_);
}

NamedTensors PruningCallback::state_dict() const {
  NamedTensors state;
  for (size_t i = 0; i < masks_.size(); ++i) state.emplace_back(weights_[i].first, masks_[i]);
  state.emplace_back("target_sparsity", from_vector(std::vector<double>{target_}));
  return state;
}

void PruningCallback::load_state_dict(const NamedTensors& state) {
  masks_.clear();
  if (state.empty()) return;
  for (const auto& weight : weights_) {
    const std::string& name = weight.first;
    const Tensor& w = weight.second;
    auto it = std::find_if(state.begin(), state.end(), [&](const auto& entry) { return entry.first == name; });
    if (it == state.end() || it->second.sizes() != w.sizes())
      fail<ValueError>("pruning: the checkpoint has no mask of shape ", w.sizes(), " for ", name);
    masks_.push_back(it->second.to(w.dtype()));
  }
  for (const auto& [name, value] : state)
    if (name == "target_sparsity") target_ = value.item();
}

}  // namespace cajal::compress
