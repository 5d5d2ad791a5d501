#pragma once
// ONNX import: an .onnx file becomes a Module whose forward runs the graph on cajal's ops.
//
//   auto model = cajal::onnx::load("resnet18.onnx");
//   Tensor logits = model->forward(images);             // one input, one output
//   TensorList outs = model->forward({ids, mask});      // several of either
//
// Float initializers become the module's parameters, named as in the file (PyTorch's
// "layer1.0.conv1.weight" is a child "layer1", "0", "conv1" and a parameter "weight"), so
// an imported model fine-tunes with any optimizer and saves as safetensors. Integer
// initializers (shapes, indices) stay constants of the graph. Every node runs a
// differentiable cajal op, so backward works through the whole graph.
//
// The file is read with ONNX's own protobuf classes and checked with onnx::checker before
// anything runs. This header includes no protobuf: the graph is kept in cajal's own form.
#include <memory>
#include <string>
#include <vector>

#include "cajal/core/error.h"
#include "cajal/nn/module.h"

namespace cajal::onnx {

// The model uses something the importer does not implement: an operator, an operator
// version, an attribute value or a data type. The message names it and the node.
class UnsupportedError : public ValueError {
  using ValueError::ValueError;
};

// The newest opset of the default ONNX domain the importer reads (ONNX 1.12's); models of
// opset 1 up to it import, each operator at the version in force at the model's opset.
constexpr int64_t kMaxImportOpset = 17;

struct Graph;      // the imported graph (onnx/import_ops.h)
struct FastPlan;        // how inference runs it on oneDNN (onnx/fast_inference.h)
struct InferenceCache;  // what that keeps between calls (same file)

// A declared graph input or output: its name, element type and shape, with -1 for a
// dynamic dim (named by dim_params, "" where the file gives no name).
struct ValueInfo {
  std::string name;
  DType dtype = DType::f32;
  std::vector<int64_t> shape;
  std::vector<std::string> dim_params;
  bool has_shape = false;  // false: the file declares no shape, any shape is taken
};

class GraphModule : public nn::Module {
 public:
  explicit GraphModule(std::shared_ptr<const Graph> graph);
  std::string name() const override { return "GraphModule"; }
  std::string extra_repr() const override;

  // A graph with one input and one output.
  Tensor forward(const Tensor& input) override;
  // Inputs in the order of inputs(); returns the outputs in the order of outputs(). Each
  // input's dtype and the fixed dims of its declared shape are checked (a ShapeError or
  // DTypeError names the input); a dim the file names (dim_param "batch") must be the same
  // wherever the name appears.
  TensorList forward(const TensorList& inputs);

  const std::vector<ValueInfo>& inputs() const;
  const std::vector<ValueInfo>& outputs() const;

  // When nothing records gradients (NoGradGuard) and cajal has oneDNN, forward runs
  // convolutions, pools and what follows them (batch norm, a residual Add, Relu, Clip) on
  // oneDNN's blocked layouts, fused, with weights reordered once per version; the results
  // agree with the usual run to float rounding. False runs every node as usual.
  void set_fast_inference(bool enabled) { fast_inference_ = enabled; }
  // Which nodes that runs together (for tests and tools; the type is in onnx/fast_inference.h).
  const FastPlan& fast_plan() const { return *fast_plan_; }

 private:
  std::shared_ptr<const Graph> graph_;
  std::shared_ptr<const FastPlan> fast_plan_;
  std::shared_ptr<InferenceCache> inference_cache_;
  bool fast_inference_ = true;
  // The graph's float initializers by their ONNX names: handles to the registered parameters.
  std::vector<std::pair<std::string, Tensor>> parameters_;
};

// Reads an .onnx file: parses it, runs onnx::checker, converts initializers (raw_data, typed
// fields, external data files inside the model's folder) and resolves every node to an op.
// IOError for a file that is not a valid model; UnsupportedError for what cajal does not run.
std::shared_ptr<GraphModule> load(const std::string& path);

// Reads one serialized onnx TensorProto (the input_0.pb / output_0.pb files of ONNX's test
// cases). IOError when it is not one; UnsupportedError for a data type cajal lacks.
Tensor load_tensor(const std::string& path);

// The op types of a model file's nodes, in order ("Conv", "Relu", ...), read without
// importing it (so also for models the importer refuses). IOError when it does not parse.
std::vector<std::string> read_op_types(const std::string& path);

// The operators the importer implements (ONNX op_type names, default domain), sorted.
std::vector<std::string> supported_operators();

}  // namespace cajal::onnx
