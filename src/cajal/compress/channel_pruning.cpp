#include "cajal/compress/channel_pruning.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>

#include "cajal/autograd/grad_mode.h"
#include "cajal/nn/container.h"
#include "cajal/nn/conv.h"
#include "cajal/nn/linear.h"
#include "cajal/nn/norm.h"
#include "cajal/nn/serialize.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/shape.h"

namespace cajal::compress {

namespace {

// Layers that act on each channel alone: pruning a channel before them prunes it after them.
const std::set<std::string> kPerChannel = {"ReLU",    "LeakyReLU", "ELU",       "GELU",    "SiLU",    "Mish",
                                           "SELU",    "Tanh",      "Sigmoid",   "MaxPool2d", "AvgPool2d",
                                           "AdaptiveAvgPool2d",    "Dropout",   "Dropout2d", "Identity"};

bool is_norm(const nn::ModulePtr& m) { return std::dynamic_pointer_cast<nn::BatchNormImpl>(m) != nullptr; }

// The weight of a Conv2d (groups 1) or Linear layer; undefined for any other module.
Tensor weight_of(const nn::ModulePtr& m) {
  if (auto linear = std::dynamic_pointer_cast<nn::LinearImpl>(m)) return linear->weight();
  if (auto conv = std::dynamic_pointer_cast<nn::Conv2dImpl>(m)) return conv->options().groups == 1 ? conv->weight() : Tensor();
  return {};
}

// A prunable layer and what its outputs pass through to the next weighted layer.
struct Cut {
  size_t producer = 0;
  std::vector<size_t> norms;
  size_t consumer = 0;
  int64_t features_per_channel = 1;  // > 1 when a flatten lies between
};

nn::SequentialImpl& as_chain(nn::Module& model) {
  auto* chain = dynamic_cast<nn::SequentialImpl*>(&model);
  if (!chain) {
    fail<ValueError>("structured pruning works on a chain of layers (a Sequential: the mlp, lenet5 and cnn presets or a "
                     "layers: model), not on a ", model.name());
  }
  return *chain;
}

std::vector<Cut> find_cuts(const nn::SequentialImpl& chain) {
  const auto children = chain.named_children();
  std::vector<Cut> cuts;
  for (size_t i = 0; i < children.size(); ++i) {
    Tensor w = weight_of(children[i].second);
    if (!w.defined()) continue;
    Cut cut;
    cut.producer = i;
    bool flattened = false;
    size_t j = i + 1;
    for (; j < children.size(); ++j) {
      const nn::ModulePtr& m = children[j].second;
      if (is_norm(m)) cut.norms.push_back(j);
      else if (m->name() == "Flatten") flattened = true;
      else if (!kPerChannel.count(m->name())) break;
    }
    if (j == children.size()) continue;
    Tensor next = weight_of(children[j].second);
    if (!next.defined()) continue;
    const int64_t channels = w.size(0), inputs = next.size(1);
    if (inputs % channels != 0 || (!flattened && inputs != channels)) continue;
    cut.consumer = j;
    cut.features_per_channel = inputs / channels;
    cuts.push_back(cut);
  }
  if (cuts.empty()) {
    fail<ValueError>("structured pruning: the model has no layer to prune (a Conv2d or Linear layer whose outputs reach "
                     "another through batch norm, activations, pooling, dropout or flatten only)");
  }
  return cuts;
}

// The indices of the `keep` channels with the largest L1 norms (ties: the first), ascending.
std::vector<int64_t> strongest_channels(const Tensor& weight, int64_t keep) {
  const int64_t channels = weight.size(0);
  const std::vector<double> values = weight.contiguous().to(DType::f64).to_vector<double>();
  const size_t per = values.size() / static_cast<size_t>(channels);
  std::vector<double> norm(channels, 0.0);
  for (int64_t c = 0; c < channels; ++c)
    for (size_t k = 0; k < per; ++k) norm[c] += std::fabs(values[c * per + k]);
  std::vector<int64_t> order(channels);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return norm[a] > norm[b]; });
  order.resize(keep);
  std::sort(order.begin(), order.end());
  return order;
}

Tensor index_tensor(const std::vector<int64_t>& indices) { return from_vector(indices, {static_cast<int64_t>(indices.size())}); }

// The feature indices a flatten makes of channel indices: each channel's block of `per`.
std::vector<int64_t> expand(const std::vector<int64_t>& channels, int64_t per) {
  std::vector<int64_t> features;
  for (int64_t c : channels)
    for (int64_t k = 0; k < per; ++k) features.push_back(c * per + k);
  return features;
}

Tensor select(const Tensor& t, int64_t dim, const std::vector<int64_t>* keep) {
  return keep ? index_select(t, dim, index_tensor(*keep)).contiguous() : t.detach().clone();
}

// A new Conv2d or Linear layer like `m` with only the outputs `out` and inputs `in` (null: all).
nn::ModulePtr shrink_weighted(const nn::ModulePtr& m, const std::vector<int64_t>* out, const std::vector<int64_t>* in) {
  NamedTensors state;
  nn::ModulePtr shrunk;
  Tensor weight = select(select(weight_of(m), 0, out), 1, in), bias;
  if (auto linear = std::dynamic_pointer_cast<nn::LinearImpl>(m)) {
    if (linear->bias().defined()) bias = select(linear->bias(), 0, out);
    shrunk = nn::Linear(weight.size(1), weight.size(0), {.bias = bias.defined()}).ptr();
  } else {
    auto conv = std::dynamic_pointer_cast<nn::Conv2dImpl>(m);
    if (conv->bias().defined()) bias = select(conv->bias(), 0, out);
    shrunk = nn::Conv2d(weight.size(1), weight.size(0), {weight.size(2), weight.size(3)}, conv->options()).ptr();
  }
  state.emplace_back("weight", weight);
  if (bias.defined()) state.emplace_back("bias", bias);
  nn::load_state_dict(*shrunk, state);
  shrunk->train(m->is_training());
  return shrunk;
}

nn::ModulePtr shrink_norm(const nn::ModulePtr& m, const std::vector<int64_t>& keep) {
  auto norm = std::dynamic_pointer_cast<nn::BatchNormImpl>(m);
  nn::BatchNormOptions options{.eps = norm->eps, .momentum = norm->momentum, .affine = norm->affine,
                               .track_running_stats = norm->track_running_stats};
  const auto n = static_cast<int64_t>(keep.size());
  nn::ModulePtr shrunk;
  if (norm->name() == "BatchNorm1d") shrunk = nn::BatchNorm1d(n, options).ptr();
  else shrunk = nn::BatchNorm2d(n, options).ptr();
  NamedTensors state;
  for (const auto& [name, value] : norm->named_parameters(false)) state.emplace_back(name, select(value, 0, &keep));
  for (const auto& [name, value] : norm->named_buffers(false))
    state.emplace_back(name, value.dim() == 0 ? value.clone() : select(value, 0, &keep));
  nn::load_state_dict(*shrunk, state);
  shrunk->train(m->is_training());
  return shrunk;
}

// Rebuilds every layer the cuts touch, cut k keeping the producer's channels kept[k].
void apply_cuts(nn::SequentialImpl& chain, const std::vector<Cut>& cuts, const std::vector<std::vector<int64_t>>& kept) {
  NoGradGuard no_grad;
  const auto children = chain.named_children();
  std::map<size_t, std::vector<int64_t>> outputs, inputs;
  for (size_t k = 0; k < cuts.size(); ++k) {
    outputs[cuts[k].producer] = kept[k];
    inputs[cuts[k].consumer] = expand(kept[k], cuts[k].features_per_channel);
    for (size_t n : cuts[k].norms) chain.replace(children[n].first, shrink_norm(children[n].second, kept[k]));
  }
  for (size_t i = 0; i < children.size(); ++i) {
    auto out = outputs.find(i), in = inputs.find(i);
    if (out == outputs.end() && in == inputs.end()) continue;
    chain.replace(children[i].first, shrink_weighted(children[i].second, out == outputs.end() ? nullptr : &out->second,
                                                     in == inputs.end() ? nullptr : &in->second));
  }
}

}  // namespace

LayerWidths prune_channels(nn::Module& model, double fraction) {
  if (!(fraction >= 0 && fraction < 1)) fail<ValueError>("structured pruning: sparsity must be in [0, 1), got ", fraction);
  nn::SequentialImpl& chain = as_chain(model);
  const std::vector<Cut> cuts = find_cuts(chain);
  const auto children = chain.named_children();
  std::vector<std::vector<int64_t>> kept;
  LayerWidths widths;
  for (const Cut& cut : cuts) {
    const Tensor w = weight_of(children[cut.producer].second);
    const int64_t channels = w.size(0);
    const int64_t keep = std::max<int64_t>(1, channels - static_cast<int64_t>(std::nearbyint(fraction * static_cast<double>(channels))));
    kept.push_back(strongest_channels(w, keep));
    widths.emplace_back(children[cut.producer].first, keep);
  }
  apply_cuts(chain, cuts, kept);
  return widths;
}

void resize_channels(nn::Module& model, const LayerWidths& widths) {
  nn::SequentialImpl& chain = as_chain(model);
  const std::vector<Cut> cuts = find_cuts(chain);
  const auto children = chain.named_children();
  std::vector<Cut> chosen;
  std::vector<std::vector<int64_t>> kept;
  for (const auto& entry : widths) {
    const std::string& name = entry.first;
    const int64_t width = entry.second;
    auto cut = std::find_if(cuts.begin(), cuts.end(), [&](const Cut& c) { return children[c.producer].first == name; });
    if (cut == cuts.end()) fail<ValueError>("resize_channels: layer '", name, "' is not a prunable layer of this model");
    const int64_t channels = weight_of(children[cut->producer].second).size(0);
    if (width < 1 || width > channels)
      fail<ValueError>("resize_channels: layer '", name, "' has ", channels, " outputs; cannot keep ", width);
    std::vector<int64_t> first(width);
    std::iota(first.begin(), first.end(), 0);
    chosen.push_back(*cut);
    kept.push_back(first);
  }
  apply_cuts(chain, chosen, kept);
}

}  // namespace cajal::compress
