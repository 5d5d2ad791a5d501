#include "cajal/onnx/fast_inference.h"

#include <algorithm>
#include <cfloat>
#include <cmath>

namespace cajal::onnx {

namespace onednn = kernels::onednn;

// ------------------------------------------------------------------ values

void GraphValues::set(const std::string& name, Tensor t) {
  maps_.erase(name);
  tensors_[name] = std::move(t);
}

void GraphValues::set_map(const std::string& name, onednn::FeatureMap map) {
  tensors_.erase(name);
  maps_[name] = std::move(map);
}

const Tensor& GraphValues::tensor(const std::string& name) {
  auto it = tensors_.find(name);
  if (it != tensors_.end()) return it->second;
  return tensors_[name] = maps_.at(name).to_plain();  // load checked that every name is defined
}

std::optional<onednn::FeatureMap> GraphValues::map(const std::string& name) {
  auto it = maps_.find(name);
  if (it != maps_.end()) return it->second;
  const Tensor& t = tensor(name);
  if (t.dtype() != DType::f32 || t.dim() != 4 || t.numel() == 0 || !t.is_contiguous()) return std::nullopt;
  return onednn::FeatureMap::of(t);
}

void GraphValues::erase(const std::string& name) {
  tensors_.erase(name);
  maps_.erase(name);
}

// ------------------------------------------------------------------ plan

std::vector<size_t> ConvGroup::nodes() const {
  std::vector<size_t> all{conv};
  for (const auto& member : {batch_norm, add, activation})
    if (member) all.push_back(*member);
  return all;
}

FastPlan plan_fast_inference(const Graph& g) {
  const size_t n = g.nodes.size();
  std::unordered_map<std::string, std::vector<size_t>> readers;  // a graph output is read by "node n"
  for (size_t k = 0; k < n; ++k)
    for (const std::string& name : g.nodes[k].inputs)
      if (!name.empty()) readers[name].push_back(k);
  for (const ValueInfo& output : g.outputs) readers[output.name].push_back(n);
  std::vector<char> claimed(n, 0);  // nodes in a group
  // The node that alone reads the first output of node k, if it is one of `ops` and reads it as its first input (or, for Add, either).
  auto only_reader = [&](size_t k, std::initializer_list<const char*> ops) -> std::optional<size_t> {
    const Node& node = g.nodes[k];
    if (node.outputs.size() != 1 || node.outputs[0].empty()) return std::nullopt;
    auto it = readers.find(node.outputs[0]);
    if (it == readers.end() || it->second.size() != 1 || it->second[0] == n) return std::nullopt;
    const Node& reader = g.nodes[it->second[0]];
    if (std::none_of(ops.begin(), ops.end(), [&](const char* op) { return reader.op_type == op; })) return std::nullopt;
    if (claimed[it->second[0]]) return std::nullopt;  // another convolution's group has it (both read one Add)
    if (reader.op_type != "Add" && reader.inputs[0] != node.outputs[0]) return std::nullopt;
    return it->second[0];
  };

  FastPlan plan;
  plan.group_at.assign(n, std::nullopt);
  plan.in_group.assign(n, 0);
  plan.frees = g.frees;
  for (size_t k = 0; k < n; ++k) {
    if (g.nodes[k].op_type != "Conv" || g.nodes[k].outputs.size() != 1) continue;
    ConvGroup group{.conv = k};
    size_t last = k;
    if (auto bn = only_reader(last, {"BatchNormalization"})) last = *(group.batch_norm = bn);
    if (auto add = only_reader(last, {"Add"})) last = *(group.add = add);
    if (auto act = only_reader(last, {"Relu", "Clip"})) last = *(group.activation = act);
    // The group's nodes run at its last: no other node in between may read (or overwrite in
    // place) what the convolution and the batch norm read.
    const std::vector<size_t> members = group.nodes();
    for (size_t m = k + 1; m < last; ++m) {
      if (std::count(members.begin(), members.end(), m)) continue;
      for (const std::string& name : g.nodes[m].inputs)
        for (size_t member : {k, group.batch_norm.value_or(k)})
          if (std::count(g.nodes[member].inputs.begin(), g.nodes[member].inputs.end(), name)) last = k;
    }
    if (last == k) group = ConvGroup{.conv = k};
    group.anchor = last;
    for (size_t member : group.nodes()) {
      claimed[member] = 1;
      if (member == last) continue;
      plan.in_group[member] = 1;
      auto& moved = plan.frees[member];
      plan.frees[last].insert(plan.frees[last].end(), moved.begin(), moved.end());
      moved.clear();
    }
    plan.group_at[last] = plan.groups.size();
    plan.groups.push_back(group);
  }
  return plan;
}

// ------------------------------------------------------------------ running

namespace {

struct EltwiseOp {
  onednn::Eltwise kind;
  float lo = 0, hi = 0;
};

// Relu, or Clip with its bounds (inputs since opset 11, attributes before); nullopt when the
// bounds are not scalars.
std::optional<EltwiseOp> eltwise_of(const Node& node, GraphValues& values) {
  if (node.op_type == "Relu") return EltwiseOp{onednn::Eltwise::Relu};
  EltwiseOp op{onednn::Eltwise::Clip, -FLT_MAX, FLT_MAX};
  if (node.version < 11) {
    op.lo = static_cast<float>(node.get_float("min", -FLT_MAX));
    op.hi = static_cast<float>(node.get_float("max", FLT_MAX));
    return op;
  }
  for (size_t i : {1, 2}) {
    if (node.inputs.size() <= i || node.inputs[i].empty()) continue;
    const Tensor& bound = values.tensor(node.inputs[i]);
    if (bound.numel() != 1) return std::nullopt;
    (i == 1 ? op.lo : op.hi) = static_cast<float>(scalar_value(bound));
  }
  if (!(op.lo <= op.hi)) return std::nullopt;  // ONNX then sets everything to max: the usual run does
  return op;
}

// A float32 vector of `size` values, or an undefined tensor.
Tensor channel_vector(GraphValues& values, const std::string& name, int64_t size) {
  const Tensor& t = values.tensor(name);
  return t.dtype() == DType::f32 && t.dim() == 1 && t.size(0) == size && t.is_contiguous() ? t : Tensor();
}

// The convolution's weight and bias with BatchNormalization (inference form) folded in:
// bn(conv(x, w) + b) = conv(x, w * s) + (b - mean) * s + beta, s = gamma / sqrt(var + eps)
// per output channel. Kept in the cache until one of the tensors changes.
bool fold_batch_norm(const Node& bn, GraphValues& values, size_t group, Tensor& weight, Tensor& bias, InferenceCache& cache) {
  const int64_t channels = weight.size(0);
  if (bn.inputs.size() != 5 || bn.get_int("training_mode", 0) != 0) return false;
  std::vector<Tensor> sources{weight};
  for (size_t i = 1; i < 5; ++i) sources.push_back(channel_vector(values, bn.inputs[i], channels));
  if (bias.defined()) sources.push_back(bias);
  std::vector<std::pair<const void*, uint32_t>> fingerprint;
  for (const Tensor& t : sources) {
    if (!t.defined()) return false;
    fingerprint.emplace_back(t.raw_data(), t.version());
  }
  std::lock_guard<std::mutex> lock(cache.mu);
  InferenceCache::Folded& folded = cache.folded[group];
  if (folded.sources != fingerprint) {
    const double eps = bn.get_float("epsilon", 1e-5);
    const float *gamma = sources[1].data_ptr<float>(), *beta = sources[2].data_ptr<float>(), *mean = sources[3].data_ptr<float>(),
                *var = sources[4].data_ptr<float>(), *b = bias.defined() ? bias.data_ptr<float>() : nullptr;
    Tensor w = weight.clone(), new_bias = make_tensor({channels}, DType::f32);
    const int64_t per_channel = w.numel() / channels;
    float* wp = w.data_ptr<float>();
    for (int64_t c = 0; c < channels; ++c) {
      const double s = gamma[c] / std::sqrt(static_cast<double>(var[c]) + eps);
      for (int64_t i = 0; i < per_channel; ++i) wp[c * per_channel + i] = static_cast<float>(wp[c * per_channel + i] * s);
      new_bias.data_ptr<float>()[c] = static_cast<float>(((b ? b[c] : 0.0) - mean[c]) * s + beta[c]);
    }
    folded = InferenceCache::Folded{std::move(fingerprint), sources, w, new_bias};
  }
  weight = folded.weight;
  bias = folded.bias;
  return true;
}

bool run_group(const Graph& g, const FastPlan& plan, const ConvGroup& group, GraphValues& values, InferenceCache& cache) {
  const Node& conv = g.nodes[group.conv];
  if (conv.inputs.size() < 2) return false;
  std::optional<onednn::FeatureMap> x = values.map(conv.inputs[0]);
  if (!x) return false;
  Tensor w = values.tensor(conv.inputs[1]);
  if (w.dtype() != DType::f32 || !w.is_contiguous()) return false;
  std::optional<kernels::ConvGeometry> geometry = conv2d_geometry(conv, x->sizes, w.sizes());
  if (!geometry) return false;
  Tensor bias;
  if (conv.inputs.size() > 2 && !conv.inputs[2].empty() &&
      !(bias = channel_vector(values, conv.inputs[2], geometry->out_channels)).defined())
    return false;
  onednn::ConvEpilogue epilogue;
  const size_t group_index = static_cast<size_t>(&group - plan.groups.data());
  if (group.batch_norm && !fold_batch_norm(g.nodes[*group.batch_norm], values, group_index, w, bias, cache)) return false;
  std::optional<onednn::FeatureMap> addend;
  if (group.add) {
    const Node& add = g.nodes[*group.add];
    const std::string& before = g.nodes[group.batch_norm.value_or(group.conv)].outputs[0];
    if (add.inputs.size() != 2) return false;
    addend = values.map(add.inputs[0] == before ? add.inputs[1] : add.inputs[0]);
    if (!addend || addend->sizes != Dims{geometry->batch, geometry->out_channels, geometry->out_size[0], geometry->out_size[1]})
      return false;
    epilogue.addend = &*addend;
  }
  if (group.activation) {
    std::optional<EltwiseOp> op = eltwise_of(g.nodes[*group.activation], values);
    if (!op) return false;
    epilogue.eltwise = op->kind;
    epilogue.lo = op->lo;
    epilogue.hi = op->hi;
  }
  values.set_map(g.nodes[group.anchor].outputs[0], onednn::conv(*geometry, *x, w, bias, epilogue, cache.weights));
  return true;
}

}  // namespace

bool run_fast(const Graph& g, const FastPlan& plan, size_t k, GraphValues& values, InferenceCache& cache) {
  if (plan.group_at[k]) return run_group(g, plan, plan.groups[*plan.group_at[k]], values, cache);
  const Node& node = g.nodes[k];
  if (node.inputs.empty() || node.outputs.size() != 1) return false;
  const std::string& output = node.outputs[0];
  if (node.op_type == "Add" && node.inputs.size() == 2 && (values.blocked(node.inputs[0]) || values.blocked(node.inputs[1]))) {
    const bool first_blocked = values.blocked(node.inputs[0]);
    std::optional<onednn::FeatureMap> a = values.map(node.inputs[first_blocked ? 0 : 1]), b = values.map(node.inputs[first_blocked ? 1 : 0]);
    if (!b || b->sizes != a->sizes) return false;
    values.set_map(output, onednn::add(*a, *b));
    return true;
  }
  if (!values.blocked(node.inputs[0])) return false;
  const onednn::FeatureMap x = *values.map(node.inputs[0]);
  if (node.op_type == "Relu" || node.op_type == "Clip") {
    std::optional<EltwiseOp> op = eltwise_of(node, values);
    if (!op) return false;
    values.set_map(output, onednn::eltwise(op->kind, op->lo, op->hi, x));
    return true;
  }
  if (node.op_type == "MaxPool" || node.op_type == "AveragePool" || node.op_type == "GlobalAveragePool" ||
      node.op_type == "GlobalMaxPool") {
    std::optional<onednn::PoolWindow> window = pool2d_window(node, x.sizes);
    if (!window) return false;
    values.set_map(output, onednn::pool(*window, x));
    return true;
  }
  return false;
}

}  // namespace cajal::onnx
