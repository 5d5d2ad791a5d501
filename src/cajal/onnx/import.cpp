// Reading an .onnx file into a GraphModule: parse with ONNX's protobuf classes, check with
// onnx::checker, convert initializers and attributes to cajal tensors, look each node's
// operator up in the table; forward then runs the nodes in the file's (topological) order.
#include "cajal/onnx/import.h"

#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

#include "cajal/autograd/grad_mode.h"
#include "cajal/io/input_file.h"
#include "cajal/kernels/cpu/conv_onednn.h"
#include "cajal/onnx/fast_inference.h"
#include "cajal/onnx/import_ops.h"
#include "cajal/ops/creation.h"

namespace cajal::onnx {

namespace fs = std::filesystem;

// ------------------------------------------------------------------ nodes and helpers

std::string Node::where() const { return op_type + " node '" + name + "'"; }

const NodeAttribute* Node::find(const std::string& attribute, NodeAttribute::Kind kind) const {
  auto it = attributes.find(attribute);
  if (it == attributes.end()) return nullptr;
  if (it->second.kind != kind) fail<IOError>(where(), ": attribute ", attribute, " has the wrong type");
  return &it->second;
}

int64_t Node::get_int(const std::string& attribute, int64_t fallback) const {
  const NodeAttribute* a = find(attribute, NodeAttribute::Kind::Int);
  return a ? a->i : fallback;
}

double Node::get_float(const std::string& attribute, double fallback) const {
  const NodeAttribute* a = find(attribute, NodeAttribute::Kind::Float);
  return a ? a->f : fallback;
}

std::string Node::get_string(const std::string& attribute, const std::string& fallback) const {
  const NodeAttribute* a = find(attribute, NodeAttribute::Kind::String);
  return a ? a->s : fallback;
}

std::vector<int64_t> Node::get_ints(const std::string& attribute, const std::vector<int64_t>& fallback) const {
  const NodeAttribute* a = find(attribute, NodeAttribute::Kind::Ints);
  return a ? a->ints : fallback;
}

std::vector<double> Node::get_floats(const std::string& attribute) const {
  const NodeAttribute* a = find(attribute, NodeAttribute::Kind::Floats);
  return a ? a->floats : std::vector<double>{};
}

void Node::unsupported(const std::string& what) const { fail<UnsupportedError>(where(), ": ", what, " is not supported"); }

const Tensor& optional_input(const TensorList& inputs, size_t index) {
  static const Tensor undefined;
  return index < inputs.size() ? inputs[index] : undefined;
}

std::vector<int64_t> int_values(const Tensor& t) {
  if (t.dim() > 1) fail<ShapeError>("expected a 1-D tensor of integers, got shape ", t.sizes());
  if (t.is_floating_point()) fail<DTypeError>("expected a tensor of integers, got ", dtype_name(t.dtype()));
  return t.to_vector<int64_t>();
}

double scalar_value(const Tensor& t) {
  if (t.numel() != 1) fail<ShapeError>("expected a one-element tensor, got shape ", t.sizes());
  return t.item<double>();
}

int64_t onnx_axis(const Node& node, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= std::max<int64_t>(rank, 1))
    fail<IndexError>(node.where(), ": axis ", axis, " is out of range for a tensor of rank ", rank);
  return axis < 0 ? axis + rank : axis;
}

DType dtype_from_onnx(int32_t onnx_type, const std::string& where) {
  using P = ::onnx::TensorProto;
  switch (onnx_type) {
    case P::FLOAT: return DType::f32;
    case P::DOUBLE: return DType::f64;
    case P::INT64: return DType::i64;
    case P::INT32: return DType::i32;
    case P::UINT8: return DType::u8;
    case P::BOOL: return DType::boolean;
    case P::BFLOAT16: return DType::bf16;
    default: break;
  }
  std::string name = P::DataType_IsValid(onnx_type) ? P::DataType_Name(static_cast<P::DataType>(onnx_type)) : std::to_string(onnx_type);
  fail<UnsupportedError>(where, ": data type ", name, " is not supported (cajal has float32, float64, int64, int32, uint8, bool, bfloat16)");
}

const OpTable& op_table() {
  static const OpTable table = [] {
    OpTable t;
    register_elementwise_ops(t);
    register_reduce_ops(t);
    register_shape_ops(t);
    register_nn_ops(t);
    register_rnn_ops(t);
    register_resize_ops(t);
    register_detection_ops(t);
    register_quantize_ops(t);
    register_signal_ops(t);
    register_text_ops(t);
    register_training_ops(t);
    return t;
  }();
  return table;
}

std::vector<std::string> supported_operators() {
  std::vector<std::string> names;
  for (const auto& [name, entry] : op_table()) names.push_back(name);
  return names;
}

namespace {

// ------------------------------------------------------------------ tensors

std::string read_file(const std::string& path, const std::string& what) {
  refuse_special_file(path, what + ": ");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail<IOError>(path, ": cannot open ", what);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) fail<IOError>(path, ": read error");
  return bytes.str();
}

// numel of `dims`, refusing negative dims and products that overflow int64.
int64_t checked_numel(const google::protobuf::RepeatedField<int64_t>& dims, const std::string& where) {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0) fail<IOError>(where, ": negative dimension ", d);
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d) fail<IOError>(where, ": dimensions overflow");
    n *= d;
  }
  return n;
}

// Moves an external-data tensor's bytes into its raw_data. `location` must be a relative
// path that stays inside the model's folder once symbolic links are resolved, and
// offset + length must lie in the file. Done before onnx::checker runs, so the checker (which
// would look for the file relative to the working folder) sees every tensor's data inline.
void inline_external_data(::onnx::TensorProto& proto, const std::string& model_dir, const std::string& where) {
  if (proto.data_location() != ::onnx::TensorProto::EXTERNAL) return;
  std::string location;
  uint64_t offset = 0;
  std::optional<uint64_t> length;
  for (const auto& entry : proto.external_data()) {
    auto number = [&](const std::string& text) {
      if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos || text.size() > 18)
        fail<IOError>(where, ": external data ", entry.key(), " is not a number: ", text);
      return static_cast<uint64_t>(std::stoull(text));
    };
    if (entry.key() == "location") location = entry.value();
    else if (entry.key() == "offset") offset = number(entry.value());
    else if (entry.key() == "length") length = number(entry.value());
  }
  if (location.empty()) fail<IOError>(where, ": external data without a location");
  fs::path relative(location);
  const fs::path folder = fs::weakly_canonical(fs::path(model_dir));
  const fs::path file = fs::weakly_canonical(folder / relative);
  auto [end, rest] = std::mismatch(folder.begin(), folder.end(), file.begin(), file.end());
  if (relative.is_absolute() || end != folder.end() || rest == file.end())
    fail<IOError>(where, ": external data location '", location, "' is outside the model's folder ", folder.string());
  refuse_special_file(file.string(), where + ": ");
  std::ifstream in(file, std::ios::binary);
  if (!in) fail<IOError>(where, ": cannot open external data file ", file.string());
  const int64_t count = checked_numel(proto.dims(), where);
  const uint64_t expected = static_cast<uint64_t>(count) * dtype_size(dtype_from_onnx(proto.data_type(), where));
  const uint64_t size = fs::file_size(file);
  const uint64_t bytes = length.value_or(expected);
  if (bytes != expected) fail<IOError>(where, ": external data length ", bytes, " does not match the tensor's ", expected, " bytes");
  if (offset > size || bytes > size - offset)
    fail<IOError>(where, ": external data ", offset, "+", bytes, " runs past the end of ", file.string(), " (", size, " bytes)");
  std::string data(bytes, '\0');
  in.seekg(static_cast<std::streamoff>(offset));
  in.read(data.data(), static_cast<std::streamsize>(bytes));
  if (!in) fail<IOError>(where, ": cannot read external data from ", file.string());
  proto.set_raw_data(std::move(data));
  proto.clear_external_data();
  proto.set_data_location(::onnx::TensorProto::DEFAULT);
}

// Copies `count` values of a typed field into t (whose element type may be narrower).
template <typename Field>
void copy_typed(const Field& field, const Tensor& t, int64_t count, const std::string& where) {
  if (field.size() != count) fail<IOError>(where, ": holds ", field.size(), " values, its shape needs ", count);
  dispatch(t.dtype(), [&]<typename T>() {
    T* out = t.data_ptr<T>();
    for (int64_t k = 0; k < count; ++k) {
      if constexpr (std::is_same_v<T, bf16>) {
        uint16_t bits = static_cast<uint16_t>(field.Get(static_cast<int>(k)));  // bfloat16 bits in int32_data
        std::memcpy(&out[k], &bits, 2);
      } else {
        out[k] = static_cast<T>(field.Get(static_cast<int>(k)));
      }
    }
  });
}

// A cajal tensor with a TensorProto's values (held inline: see inline_external_data).
Tensor tensor_from_proto(const ::onnx::TensorProto& proto, const std::string& where) {
  using P = ::onnx::TensorProto;
  if (proto.has_segment()) fail<UnsupportedError>(where, ": segmented tensors are not supported");
  DType dtype = dtype_from_onnx(proto.data_type(), where);
  const int64_t count = checked_numel(proto.dims(), where);
  if (count > std::numeric_limits<int64_t>::max() / 8) fail<IOError>(where, ": too many elements");
  const uint64_t bytes = static_cast<uint64_t>(count) * dtype_size(dtype);
  // Every source of the values is checked against `bytes` before the tensor is allocated,
  // so a file cannot make cajal allocate more than the data it holds.
  const std::string* raw = nullptr;
  if (proto.has_raw_data()) {
    raw = &proto.raw_data();
    if (raw->size() != bytes) fail<IOError>(where, ": raw_data holds ", raw->size(), " bytes, its shape needs ", bytes);
  }
  auto typed_count = [&]() -> int64_t {
    switch (proto.data_type()) {
      case P::FLOAT: return proto.float_data_size();
      case P::DOUBLE: return proto.double_data_size();
      case P::INT64: return proto.int64_data_size();
      default: return proto.int32_data_size();
    }
  };
  if (!raw && typed_count() != count) fail<IOError>(where, ": holds ", typed_count(), " values, its shape needs ", count);
  Dims shape(proto.dims().begin(), proto.dims().end());
  Tensor t = empty(shape, {.dtype = dtype});
  if (raw) {
    if (dtype == DType::boolean) {
      // A bool byte other than 0 or 1 is undefined behaviour in C++: each byte is tested instead.
      bool* b = t.data_ptr<bool>();
      const auto* src = reinterpret_cast<const uint8_t*>(raw->data());
      for (int64_t k = 0; k < count; ++k) b[k] = src[k] != 0;
    } else if (bytes > 0) {
      std::memcpy(t.raw_data(), raw->data(), bytes);  // ONNX stores little-endian, as x86 and ARM do
    }
    return t;
  }
  switch (proto.data_type()) {
    case P::FLOAT: copy_typed(proto.float_data(), t, count, where); break;
    case P::DOUBLE: copy_typed(proto.double_data(), t, count, where); break;
    case P::INT64: copy_typed(proto.int64_data(), t, count, where); break;
    default: copy_typed(proto.int32_data(), t, count, where); break;
  }
  return t;
}

// ------------------------------------------------------------------ the graph

NodeAttribute attribute_from_proto(const ::onnx::AttributeProto& proto, const std::string& where) {
  using A = ::onnx::AttributeProto;
  NodeAttribute a;
  switch (proto.type()) {
    case A::FLOAT: a.kind = NodeAttribute::Kind::Float; a.f = proto.f(); break;
    case A::INT: a.kind = NodeAttribute::Kind::Int; a.i = proto.i(); break;
    case A::STRING: a.kind = NodeAttribute::Kind::String; a.s = proto.s(); break;
    case A::TENSOR: a.kind = NodeAttribute::Kind::Tensor; a.t = tensor_from_proto(proto.t(), where + " attribute " + proto.name()); break;
    case A::FLOATS: a.kind = NodeAttribute::Kind::Floats; a.floats.assign(proto.floats().begin(), proto.floats().end()); break;
    case A::INTS: a.kind = NodeAttribute::Kind::Ints; a.ints.assign(proto.ints().begin(), proto.ints().end()); break;
    case A::STRINGS: a.kind = NodeAttribute::Kind::Strings; a.strings.assign(proto.strings().begin(), proto.strings().end()); break;
    default: a.kind = NodeAttribute::Kind::Other; break;  // graphs, sparse tensors: no supported op reads them
  }
  return a;
}

ValueInfo value_info_from_proto(const ::onnx::ValueInfoProto& proto, const std::string& where) {
  if (!proto.type().has_tensor_type()) fail<UnsupportedError>(where, " '", proto.name(), "': only tensor values are supported (not sequences, maps or optionals)");
  const auto& type = proto.type().tensor_type();
  ValueInfo info;
  info.name = proto.name();
  info.dtype = dtype_from_onnx(type.elem_type(), where + " '" + proto.name() + "'");
  info.has_shape = type.has_shape();
  for (const auto& d : type.shape().dim()) {
    info.shape.push_back(d.has_dim_value() ? d.dim_value() : -1);
    info.dim_params.push_back(d.has_dim_param() ? d.dim_param() : "");
  }
  return info;
}

// The operator domains the importer runs: ONNX's default one ("" or "ai.onnx") and the
// training operators of "ai.onnx.preview.training" (optimizer steps written as a graph).
constexpr const char* kTrainingDomain = "ai.onnx.preview.training";

// The opset version the model imports for each domain ("ai.onnx" filed under ""). The default
// domain's must be in 1..kMaxImportOpset (UnsupportedError); other domains are checked per node.
std::map<std::string, int64_t> opsets_of(const ::onnx::ModelProto& model, const std::string& path) {
  std::map<std::string, int64_t> opsets;
  for (const auto& entry : model.opset_import()) opsets[entry.domain() == "ai.onnx" ? "" : entry.domain()] = entry.version();
  if (auto it = opsets.find(""); it != opsets.end() && (it->second < 1 || it->second > kMaxImportOpset))
    fail<UnsupportedError>(path, ": opset ", it->second, " is outside the supported range 1 to ", kMaxImportOpset);
  return opsets;
}

Node node_from_proto(const ::onnx::NodeProto& proto, const std::map<std::string, int64_t>& opsets, size_t index) {
  Node node;
  node.op_type = proto.op_type();
  node.name = proto.name().empty() ? "#" + std::to_string(index) : proto.name();
  node.inputs.assign(proto.input().begin(), proto.input().end());
  node.outputs.assign(proto.output().begin(), proto.output().end());
  const std::string domain = proto.domain() == "ai.onnx" ? "" : proto.domain();
  if (!domain.empty() && domain != kTrainingDomain)
    fail<UnsupportedError>(node.where(), ": operator domain '", domain, "' is not supported (only ONNX's default one and ", kTrainingDomain, ")");
  auto opset = opsets.find(domain);
  if (opset == opsets.end()) fail<IOError>(node.where(), ": the model imports no opset of the node's domain '", domain, "'");
  const ::onnx::OpSchema* schema = ::onnx::OpSchemaRegistry::Schema(node.op_type, static_cast<int>(opset->second), domain);
  auto entry = op_table().find(node.op_type);
  if (!schema || entry == op_table().end()) fail<UnsupportedError>("unsupported operator ", node.where());
  node.version = schema->since_version();
  if (node.version < entry->second.min_version)
    fail<UnsupportedError>(node.where(), ": version ", node.version, " of ", node.op_type, " (opset ", opset->second,
                           ") is not supported; cajal implements version ", entry->second.min_version, " and later");
  for (const auto& a : proto.attribute()) node.attributes[a.name()] = attribute_from_proto(a, node.where());
  return node;
}

std::shared_ptr<Graph> graph_from_model(::onnx::ModelProto& model, const std::string& path) {
  const std::map<std::string, int64_t> opsets = opsets_of(model, path);
  std::string model_dir = fs::path(path).parent_path().string();
  if (model_dir.empty()) model_dir = ".";
  for (auto& init : *model.mutable_graph()->mutable_initializer())
    inline_external_data(init, model_dir, path + ": initializer '" + init.name() + "'");
  for (auto& node : *model.mutable_graph()->mutable_node())
    for (auto& a : *node.mutable_attribute())
      if (a.has_t()) inline_external_data(*a.mutable_t(), model_dir, path + ": node '" + node.name() + "' attribute " + a.name());
  try {
    ::onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    fail<IOError>(path, ": not a valid ONNX model: ", e.what());
  }
  const ::onnx::GraphProto& g = model.graph();
  auto graph = std::make_shared<Graph>();
  std::set<std::string> initializer_names;
  for (const auto& init : g.initializer()) {
    std::string where = path + ": initializer '" + init.name() + "'";
    Tensor t = tensor_from_proto(init, where);
    initializer_names.insert(init.name());
    (t.is_floating_point() ? graph->initializers : graph->constants).emplace_back(init.name(), t);
  }
  if (g.sparse_initializer_size() > 0) fail<UnsupportedError>(path, ": sparse initializers are not supported");
  // Before IR version 4 initializers were also listed as graph inputs (with a default value).
  for (const auto& input : g.input()) {
    if (!initializer_names.count(input.name())) graph->inputs.push_back(value_info_from_proto(input, path + ": graph input"));
  }
  for (const auto& output : g.output()) graph->outputs.push_back(value_info_from_proto(output, path + ": graph output"));
  // Every value a node reads, and every graph output, must be computed before: the checker
  // does not ensure it for every model (a damaged name slips through), and forward relies on it.
  std::set<std::string> defined = initializer_names;
  for (const ValueInfo& input : graph->inputs) defined.insert(input.name);
  for (int k = 0; k < g.node_size(); ++k) {
    Node node = node_from_proto(g.node(k), opsets, static_cast<size_t>(k));
    for (const std::string& name : node.inputs)
      if (!name.empty() && !defined.count(name)) fail<IOError>(path, ": ", node.where(), " reads '", name, "', which nothing before it computes");
    defined.insert(node.outputs.begin(), node.outputs.end());
    graph->runs.push_back(op_table().at(node.op_type).run);
    graph->nodes.push_back(std::move(node));
  }
  for (const ValueInfo& output : graph->outputs)
    if (!defined.count(output.name)) fail<IOError>(path, ": graph output '", output.name, "' is computed by no node");
  // Free each intermediate value after its last reader, so a deep network holds only the
  // activations still needed (graph outputs are kept to the end).
  std::unordered_map<std::string, size_t> last_use;
  for (size_t k = 0; k < graph->nodes.size(); ++k)
    for (const std::string& name : graph->nodes[k].inputs) last_use[name] = k;
  for (const ValueInfo& output : graph->outputs) last_use.erase(output.name);
  graph->frees.resize(graph->nodes.size());
  for (const auto& [name, k] : last_use)
    if (!name.empty()) graph->frees[k].push_back(name);
  // Activations that may overwrite their input: it is an intermediate value this node reads
  // last, and only as its first input (forward also checks at run time that nothing shares it).
  graph->in_place.assign(graph->nodes.size(), 0);
  for (size_t k = 0; k < graph->nodes.size(); ++k) {
    const Node& node = graph->nodes[k];
    if ((node.op_type != "Relu" && node.op_type != "Clip") || node.inputs.empty() || node.inputs[0].empty()) continue;
    auto last = last_use.find(node.inputs[0]);
    bool read_once = std::count(node.inputs.begin(), node.inputs.end(), node.inputs[0]) == 1;
    graph->in_place[k] = last != last_use.end() && last->second == k && read_once;
  }
  return graph;
}

// A module that only holds parameters: the "layer1", "0", "conv1" of "layer1.0.conv1.weight".
class ParameterGroup : public nn::Module {
 public:
  std::string name() const override { return "ParameterGroup"; }
  // Registers `value` under the dotted `path`, creating the groups on the way.
  Tensor add(const std::string& path, const Tensor& value) {
    size_t dot = path.find('.');
    if (dot == std::string::npos) return register_parameter(path, value);
    std::string head = path.substr(0, dot);
    for (const auto& [name, child] : named_children()) {
      if (name == head) return static_cast<ParameterGroup&>(*child).add(path.substr(dot + 1), value);
    }
    return register_module(head, std::make_shared<ParameterGroup>())->add(path.substr(dot + 1), value);
  }
  // True when `path` can be registered: no component empty, none both a parameter and a group.
  bool fits(const std::string& path) const {
    size_t dot = path.find('.');
    std::string head = path.substr(0, dot);
    if (head.empty()) return false;
    for (const auto& [name, t] : named_parameters(false))
      if (name == head) return false;
    if (dot == std::string::npos) {
      for (const auto& [name, child] : named_children())
        if (name == head) return false;
      return true;
    }
    for (const auto& [name, child] : named_children())
      if (name == head) return static_cast<const ParameterGroup&>(*child).fits(path.substr(dot + 1));
    return !path.substr(dot + 1).empty();
  }
};

}  // namespace

// ------------------------------------------------------------------ GraphModule

GraphModule::GraphModule(std::shared_ptr<const Graph> graph)
    : graph_(std::move(graph)),
      fast_plan_(std::make_shared<const FastPlan>(plan_fast_inference(*graph_))),
      inference_cache_(std::make_shared<InferenceCache>()) {
  // A ParameterGroup's registration logic, applied to this module through a temporary
  // group whose children and parameters are moved here.
  auto root = std::make_shared<ParameterGroup>();
  for (const auto& [onnx_name, value] : graph_->initializers) {
    // Names that cannot nest (an empty component, a name that is also another's prefix)
    // are registered flat, their dots replaced by underscores.
    std::string path = onnx_name;
    if (!root->fits(path)) {
      std::replace(path.begin(), path.end(), '.', '_');
      while (!root->fits(path)) path += "_";
    }
    parameters_.emplace_back(onnx_name, root->add(path, value));
  }
  for (const auto& [name, t] : root->named_parameters(false)) register_parameter(name, t);
  for (const auto& [name, child] : root->named_children()) add_child(name, child);
  eval();
}

std::string GraphModule::extra_repr() const {
  std::ostringstream os;
  os << "inputs=" << graph_->inputs.size() << ", outputs=" << graph_->outputs.size() << ", nodes=" << graph_->nodes.size();
  return os.str();
}

const std::vector<ValueInfo>& GraphModule::inputs() const { return graph_->inputs; }
const std::vector<ValueInfo>& GraphModule::outputs() const { return graph_->outputs; }

Tensor GraphModule::forward(const Tensor& input) {
  if (graph_->inputs.size() != 1 || graph_->outputs.size() != 1)
    fail<ValueError>("GraphModule: forward(Tensor) needs a graph with one input and one output; this one has ",
                     graph_->inputs.size(), " and ", graph_->outputs.size(), ": call forward(TensorList)");
  return forward(TensorList{input})[0];
}

namespace {

// Checks a run-time input against its declaration; `dims` collects the sizes of named dims.
void check_input(const ValueInfo& info, const Tensor& t, std::map<std::string, int64_t>& dims) {
  if (!t.defined()) fail<ValueError>("GraphModule: input '", info.name, "' is undefined");
  if (t.dtype() != info.dtype)
    fail<DTypeError>("GraphModule: input '", info.name, "' must be ", dtype_name(info.dtype), ", got ", dtype_name(t.dtype()));
  if (!info.has_shape) return;
  auto declared = [&] {
    std::ostringstream os;
    os << "[";
    for (size_t k = 0; k < info.shape.size(); ++k)
      os << (k ? ", " : "") << (info.shape[k] >= 0 ? std::to_string(info.shape[k]) : info.dim_params[k].empty() ? "?" : info.dim_params[k]);
    return os.str() + "]";
  };
  bool ok = t.dim() == static_cast<int64_t>(info.shape.size());
  for (size_t k = 0; ok && k < info.shape.size(); ++k) {
    int64_t size = t.size(static_cast<int64_t>(k));
    if (info.shape[k] >= 0) ok = size == info.shape[k];
    else if (!info.dim_params[k].empty()) ok = dims.emplace(info.dim_params[k], size).first->second == size;
  }
  if (!ok) fail<ShapeError>("GraphModule: input '", info.name, "' has shape ", t.sizes(), ", the model expects ", declared());
}

// Rethrows an op's error with the node that raised it in front (unless the message already
// starts with it), keeping its class, so a ShapeError inside the graph is still a ShapeError.
[[noreturn]] void rethrow_with_node(const Error& e, const Node& node) {
  std::string what = e.what();
  std::string message = what.starts_with(node.where()) ? what : node.where() + ": " + what;
  if (dynamic_cast<const ShapeError*>(&e)) throw ShapeError(message);
  if (dynamic_cast<const DTypeError*>(&e)) throw DTypeError(message);
  if (dynamic_cast<const IndexError*>(&e)) throw IndexError(message);
  if (dynamic_cast<const IOError*>(&e)) throw IOError(message);
  if (dynamic_cast<const ValueError*>(&e)) throw ValueError(message);
  throw Error(message);
}

// Whether a value can be overwritten: held only by forward's map of values and the node's
// argument list (so by no other name, graph input or parameter) and sharing its storage
// with no other tensor (no view of it exists).
bool private_value(const Tensor& t) {
  return t.defined() && t.impl_ptr().use_count() == 2 && t.impl()->storage.use_count() == 1 && !t.requires_grad();
}

}  // namespace

TensorList GraphModule::forward(const TensorList& inputs) {
  const Graph& g = *graph_;
  if (inputs.size() != g.inputs.size())
    fail<ValueError>("GraphModule: the model takes ", g.inputs.size(), " inputs, got ", inputs.size());
  GraphValues values;
  std::map<std::string, int64_t> named_dims;
  for (size_t k = 0; k < inputs.size(); ++k) {
    check_input(g.inputs[k], inputs[k], named_dims);
    values.set(g.inputs[k].name, inputs[k]);
  }
  for (const auto& [name, t] : g.constants) values.set(name, t);
  for (const auto& [name, t] : parameters_) values.set(name, t);
  const bool fast = fast_inference_ && !autograd::GradMode::enabled() && kernels::onednn::available();
  TensorList args;
  auto run_node = [&](size_t k) {
    const Node& node = g.nodes[k];
    args.clear();
    for (const std::string& name : node.inputs) args.push_back(name.empty() ? Tensor() : values.tensor(name));
    TensorList results;
    if (g.in_place[k] && !autograd::GradMode::enabled() && private_value(args[0]) && run_activation_in_place(node, args))
      results = {args[0]};
    else
      results = g.runs[k](node, args);
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      if (node.outputs[o].empty()) continue;
      if (o >= results.size() || !results[o].defined()) node.unsupported("output " + std::to_string(o));
      values.set(node.outputs[o], results[o]);
    }
  };
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    size_t failing = k;  // the node an error names
    try {
      if (!fast) {
        run_node(k);
      } else if (!fast_plan_->in_group[k] && !run_fast(g, *fast_plan_, k, values, *inference_cache_)) {
        // A group oneDNN cannot run (shapes, dtypes): its nodes one by one.
        const std::vector<size_t> nodes = fast_plan_->group_at[k] ? fast_plan_->groups[*fast_plan_->group_at[k]].nodes() : std::vector<size_t>{k};
        for (size_t m : nodes) run_node(failing = m);
      }
    } catch (const UnsupportedError&) {
      throw;  // already names the node
    } catch (const Error& e) {
      rethrow_with_node(e, g.nodes[failing]);
    }
    for (const std::string& name : (fast ? fast_plan_->frees : g.frees)[k]) values.erase(name);
  }
  TensorList outputs;
  for (const ValueInfo& output : g.outputs) outputs.push_back(values.tensor(output.name));
  return outputs;
}

// ------------------------------------------------------------------ files

namespace {

::onnx::ModelProto parse_model(const std::string& path) {
  std::string bytes = read_file(path, "ONNX model");
  ::onnx::ModelProto model;
  if (!model.ParseFromString(bytes)) fail<IOError>(path, ": not an ONNX model (the protobuf does not parse; truncated or damaged?)");
  if (!model.has_graph()) fail<IOError>(path, ": not an ONNX model (no graph)");
  return model;
}

}  // namespace

std::shared_ptr<GraphModule> load(const std::string& path) {
  ::onnx::ModelProto model = parse_model(path);
  return std::make_shared<GraphModule>(graph_from_model(model, path));
}

std::vector<std::string> read_op_types(const std::string& path) {
  const ::onnx::ModelProto model = parse_model(path);  // kept alive: the loop reads inside it
  std::vector<std::string> types;
  for (const auto& node : model.graph().node()) types.push_back(node.op_type());
  return types;
}

Tensor load_tensor(const std::string& path) {
  std::string bytes = read_file(path, "ONNX tensor");
  ::onnx::TensorProto proto;
  if (!proto.ParseFromString(bytes)) fail<IOError>(path, ": not an ONNX TensorProto");
  std::string folder = fs::path(path).parent_path().string();
  inline_external_data(proto, folder.empty() ? "." : folder, path);
  return tensor_from_proto(proto, path);
}

}  // namespace cajal::onnx
