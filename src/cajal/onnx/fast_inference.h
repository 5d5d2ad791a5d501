#pragma once
// How an imported graph runs when nothing records gradients: convolutions, pools and what
// follows them on oneDNN's blocked feature maps (kernels/cpu/onednn_inference.h), the rest
// as usual. GraphModule::forward asks plan_fast_inference once per graph, then for each node
// whether run_fast did it. Internal to onnx/.
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "cajal/kernels/cpu/onednn_inference.h"
#include "cajal/onnx/import_ops.h"

namespace cajal::onnx {

// The values of a graph during forward: tensors, and feature maps in a oneDNN layout that
// are reordered into tensors when a node other than those run_fast takes asks for them.
class GraphValues {
 public:
  void set(const std::string& name, Tensor t);
  void set_map(const std::string& name, kernels::onednn::FeatureMap map);
  // The value as a tensor (a blocked map is reordered once, on first asking).
  const Tensor& tensor(const std::string& name);
  // The value as a feature map: a blocked map, or a contiguous 4-D float32 tensor; nullopt
  // for anything else.
  std::optional<kernels::onednn::FeatureMap> map(const std::string& name);
  bool blocked(const std::string& name) const { return maps_.count(name) > 0; }
  void erase(const std::string& name);

 private:
  std::unordered_map<std::string, Tensor> tensors_;
  std::unordered_map<std::string, kernels::onednn::FeatureMap> maps_;
};

// A convolution and what follows it that oneDNN runs as one primitive: the Conv node, then
// optionally a BatchNormalization, an Add (of the result and another value) and a Relu or
// Clip, each the only reader of the one before. The group runs at its last node, `anchor`.
struct ConvGroup {
  size_t conv = 0;
  std::optional<size_t> batch_norm, add, activation;
  size_t anchor = 0;
  std::vector<size_t> nodes() const;  // in graph order
};

struct FastPlan {
  std::vector<std::optional<size_t>> group_at;  // the group anchored at node k
  std::vector<char> in_group;                   // node k runs with a group (at its anchor)
  std::vector<ConvGroup> groups;
  // The values to free after node k: Graph::frees, with a group's moved to its anchor.
  std::vector<std::vector<std::string>> frees;
};

FastPlan plan_fast_inference(const Graph& g);

// What inference keeps between calls, one per model (thread-safe): weights in the layouts
// oneDNN chose, and for each group with a batch norm its convolution's weight and bias with
// the norm folded in, remade when any tensor they came from changes (storage or version).
struct InferenceCache {
  kernels::onednn::WeightCache weights;
  struct Folded {
    std::vector<std::pair<const void*, uint32_t>> sources;  // data pointers and versions
    std::vector<Tensor> held;                               // the sources, kept alive (pointers stay unique)
    Tensor weight, bias;
  };
  std::mutex mu;
  std::map<size_t, Folded> folded;  // by group
};

// Runs node k on feature maps when it can: a group's anchor (the whole group), or a pool,
// Relu, Clip or Add whose input is a blocked map. False: run it (a group: each of its nodes)
// as usual.
bool run_fast(const Graph& g, const FastPlan& plan, size_t k, GraphValues& values, InferenceCache& cache);

// oneDNN's view of a node (ops_nn.cpp): the geometry of a 2-D Conv on x with this weight, the
// window of a 2-D pool; nullopt when oneDNN cannot run it as ONNX defines it.
std::optional<kernels::ConvGeometry> conv2d_geometry(const Node& node, const Dims& x, const Dims& weight);
std::optional<kernels::onednn::PoolWindow> pool2d_window(const Node& node, const Dims& x);

}  // namespace cajal::onnx
