#pragma once
// The exporter's workbench (internal to onnx/): the graph being written and the table of
// emitters, one per module type.
//
// An emitter writes the ONNX nodes of one module's forward pass. It receives the module and
// its input `x` (the name of an ONNX value plus what cajal computes for it on the example
// input) and returns the name of the value that holds the module's output:
//
//   std::string emit_relu(Exporter& g, nn::Module&, const Value& x) { return g.node("Relu", {x.name}); }
//
// Exporter::emit looks the emitter up by the module's exact type, runs it and pairs its
// result with the module's own forward on the example, so every value a container passes on
// carries a real example: static sizes (a sequence length, a Reshape target) are read from it.
// The protobuf classes stay in the .cpp files: this header only names ::onnx::GraphProto.
#include <cstdint>
#include <string>
#include <typeindex>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

#include "cajal/core/tensor.h"
#include "cajal/nn/module.h"

namespace onnx {
class GraphProto;
}

namespace cajal::onnx {

// A value of the graph: its name and its example (the module's forward on the example input).
struct Value {
  std::string name;
  Tensor example;
};

// A node attribute: an integer, a float, a string or a list of either.
struct Attribute {
  using Data = std::variant<int64_t, double, std::string, std::vector<int64_t>, std::vector<std::string>>;
  Attribute(std::string name, int value) : name(std::move(name)), data(int64_t{value}) {}
  Attribute(std::string name, int64_t value) : name(std::move(name)), data(value) {}
  Attribute(std::string name, double value) : name(std::move(name)), data(value) {}
  Attribute(std::string name, const char* value) : name(std::move(name)), data(std::string(value)) {}
  Attribute(std::string name, std::string value) : name(std::move(name)), data(std::move(value)) {}
  Attribute(std::string name, std::vector<int64_t> values) : name(std::move(name)), data(std::move(values)) {}
  Attribute(std::string name, std::vector<std::string> values) : name(std::move(name)), data(std::move(values)) {}
  std::string name;
  Data data;
};

// ONNX's TensorProto::DataType code of a cajal dtype.
int32_t onnx_element_type(DType dtype);

class Exporter;
using Emitter = std::string (*)(Exporter& g, nn::Module& module, const Value& x);
using EmitterTable = std::unordered_map<std::type_index, Emitter>;

// Adds `emitter` for modules whose type is exactly M (a subclass needs an entry of its own:
// it may override forward, and exporting its base's graph would be silently wrong).
template <typename M>
void add_emitter(EmitterTable& table, Emitter emitter) {
  table[std::type_index(typeid(M))] = emitter;
}

// The emitters of onnx/export_layers.cpp and onnx/export_sequence.cpp.
void add_layer_emitters(EmitterTable& table);
void add_sequence_emitters(EmitterTable& table);

class Exporter {
 public:
  // Writes into `graph`. Parameters and buffers of `root` become initializers named as in
  // root.state_dict(); modules are named by their path from `root` in error messages.
  Exporter(::onnx::GraphProto& graph, nn::Module& root, int64_t opset, const EmitterTable& emitters);

  int64_t opset() const { return opset_; }

  // The nodes of `module` applied to x, and its output. An Error names the module's path and
  // type when no emitter knows the type.
  Value emit(nn::Module& module, const Value& x);
  // emit() for the child `name` of `parent` (containers and models with fixed children).
  Value emit_child(nn::Module& parent, const std::string& name, const Value& x);

  // Adds a node of `op` (an ONNX operator type) and returns the name of its output.
  std::string node(const std::string& op, const std::vector<std::string>& inputs,
                   const std::vector<Attribute>& attributes = {});
  // The same for operators with several outputs (Split, LSTM): returns their names.
  std::vector<std::string> node(const std::string& op, const std::vector<std::string>& inputs, int64_t outputs,
                                const std::vector<Attribute>& attributes = {});

  // The initializer holding `tensor`, a parameter or buffer of the root module, under its
  // state_dict name (added on first use).
  std::string parameter(const Tensor& tensor);
  // A Constant node holding `tensor` (values the exporter makes: shapes, indices, masks).
  std::string constant(const Tensor& tensor);
  // Constant int64 vector (Reshape shapes, Slice bounds, Unsqueeze axes) and float32 scalar.
  std::string ints(const std::vector<int64_t>& values);
  std::string scalar(double value);

 private:
  std::string fresh_name(const std::string& op);

  ::onnx::GraphProto& graph_;
  int64_t opset_;
  const EmitterTable& emitters_;
  std::unordered_map<const TensorImpl*, std::string> tensor_names_;  // the root's state_dict
  std::unordered_map<const nn::Module*, std::string> module_paths_;  // "" for the root
  std::unordered_set<std::string> initializers_;                     // names added so far
  std::string scope_;  // the path of the module being emitted: node names start with it
  int64_t nodes_ = 0;
};

}  // namespace cajal::onnx
