#pragma once
// The imported graph in cajal's own form (no protobuf) and the operator table that runs it.
// import.cpp fills a Graph from the file; each ops_<family>.cpp adds its operators to the
// table with a register_* function. Internal to onnx/: not part of the public headers.
#include <map>
#include <string>
#include <vector>

#include "cajal/onnx/import.h"

namespace cajal::onnx {

// One attribute of a node; `kind` says which field holds its value. (Not "Attribute": the
// exporter's Attribute, another type, lives in the same namespace.)
struct NodeAttribute {
  enum class Kind { Float, Int, String, Tensor, Floats, Ints, Strings, Other };
  Kind kind = Kind::Other;
  double f = 0;
  int64_t i = 0;
  std::string s;
  cajal::Tensor t;
  std::vector<double> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
};

struct Node {
  std::string op_type, name;
  int64_t version = 0;               // the operator version in force (its schema's since_version)
  std::vector<std::string> inputs;   // "" marks an omitted optional input
  std::vector<std::string> outputs;  // "" marks an unused optional output
  std::map<std::string, NodeAttribute> attributes;

  // "Conv node 'conv1'": how errors name the node.
  std::string where() const;
  bool has(const std::string& attribute) const { return attributes.count(attribute) > 0; }
  // Attribute values; the fallback when absent. A present attribute of another kind is an IOError.
  int64_t get_int(const std::string& attribute, int64_t fallback) const;
  double get_float(const std::string& attribute, double fallback) const;
  std::string get_string(const std::string& attribute, const std::string& fallback) const;
  std::vector<int64_t> get_ints(const std::string& attribute, const std::vector<int64_t>& fallback = {}) const;
  std::vector<double> get_floats(const std::string& attribute) const;
  const NodeAttribute* find(const std::string& attribute, NodeAttribute::Kind kind) const;
  [[noreturn]] void unsupported(const std::string& what) const;
};

// Runs one node: its inputs (undefined for omitted optional ones) to its outputs.
using OpFunction = TensorList (*)(const Node& node, const TensorList& inputs);

struct OpEntry {
  OpFunction run;
  int64_t min_version;  // the oldest operator version implemented (older ones had other semantics)
};
using OpTable = std::map<std::string, OpEntry>;

// The operators of each family (ops_<family>.cpp).
void register_elementwise_ops(OpTable& table);
void register_reduce_ops(OpTable& table);
void register_shape_ops(OpTable& table);
void register_nn_ops(OpTable& table);
void register_rnn_ops(OpTable& table);
void register_resize_ops(OpTable& table);
void register_detection_ops(OpTable& table);
void register_quantize_ops(OpTable& table);
void register_signal_ops(OpTable& table);
void register_text_ops(OpTable& table);
void register_training_ops(OpTable& table);  // ai.onnx.preview.training
// All of them, built once.
const OpTable& op_table();

struct Graph {
  std::vector<ValueInfo> inputs, outputs;
  std::vector<std::pair<std::string, Tensor>> constants;     // integer initializers
  std::vector<std::pair<std::string, Tensor>> initializers;  // float ones: become parameters
  std::vector<Node> nodes;
  std::vector<OpFunction> runs;  // runs[k] executes nodes[k]
  // For each node, the values whose last reader it is: freed once it has run.
  std::vector<std::vector<std::string>> frees;
  // For each node, whether it is a Relu or Clip that may run in place (see forward).
  std::vector<char> in_place;
};

// Relu or Clip (float, min <= max) on the tensor in[0] itself: what GraphModule::forward
// runs instead of the node when recording is off and nothing else can see in[0] (the node
// is its last reader, no other value or view shares its storage). False: not done, run
// the node as usual.
bool run_activation_in_place(const Node& node, const TensorList& in);

// --- helpers shared by the op families ---

// The input at `index` or an undefined tensor when the node has fewer inputs.
const Tensor& optional_input(const TensorList& inputs, size_t index);
// The elements of a 1-D (or 0-D) integer tensor, e.g. a shape or axes input.
std::vector<int64_t> int_values(const Tensor& t);
// The single value of a one-element tensor as a double (a scalar input such as Clip's min).
double scalar_value(const Tensor& t);
// An ONNX axis (negative counts from the end) as a dim of a rank-`rank` tensor; IndexError
// naming the node when out of range.
int64_t onnx_axis(const Node& node, int64_t axis, int64_t rank);
// ONNX's TensorProto data type number as a cajal dtype; UnsupportedError for the others.
DType dtype_from_onnx(int32_t onnx_type, const std::string& where);

}  // namespace cajal::onnx
