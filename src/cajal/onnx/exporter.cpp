#include "cajal/onnx/exporter.h"

#include <onnx/onnx_pb.h>

#include "cajal/core/error.h"
#include "cajal/ops/creation.h"

namespace cajal::onnx {

namespace {

// `tensor`'s values as an ONNX tensor named `name`, its bytes copied as they lie in memory
// (ONNX's raw_data is little-endian, as the x86 and ARM machines cajal runs on).
void to_tensor_proto(const Tensor& tensor, const std::string& name, ::onnx::TensorProto& proto) {
  Tensor values = tensor.contiguous();
  proto.set_name(name);
  proto.set_data_type(onnx_element_type(values.dtype()));
  for (int64_t size : values.shape()) proto.add_dims(size);
  proto.set_raw_data(values.raw_data(), values.numel() * values.element_size());
}

void set_attribute(::onnx::NodeProto& node, const Attribute& attribute) {
  ::onnx::AttributeProto* a = node.add_attribute();
  a->set_name(attribute.name);
  std::visit(
      [a](const auto& value) {
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, int64_t>) {
          a->set_type(::onnx::AttributeProto::INT);
          a->set_i(value);
        } else if constexpr (std::is_same_v<T, double>) {
          a->set_type(::onnx::AttributeProto::FLOAT);  // ONNX attributes are float32
          a->set_f(static_cast<float>(value));
        } else if constexpr (std::is_same_v<T, std::string>) {
          a->set_type(::onnx::AttributeProto::STRING);
          a->set_s(value);
        } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
          a->set_type(::onnx::AttributeProto::INTS);
          for (int64_t v : value) a->add_ints(v);
        } else {
          a->set_type(::onnx::AttributeProto::STRINGS);
          for (const std::string& s : value) a->add_strings(s);
        }
      },
      attribute.data);
}

}  // namespace

int32_t onnx_element_type(DType dtype) {
  switch (dtype) {
    case DType::f32: return ::onnx::TensorProto::FLOAT;
    case DType::f64: return ::onnx::TensorProto::DOUBLE;
    case DType::i64: return ::onnx::TensorProto::INT64;
    case DType::i32: return ::onnx::TensorProto::INT32;
    case DType::u8: return ::onnx::TensorProto::UINT8;
    case DType::i8: return ::onnx::TensorProto::INT8;
    case DType::boolean: return ::onnx::TensorProto::BOOL;
    case DType::bf16: return ::onnx::TensorProto::BFLOAT16;
  }
  fail<DTypeError>("export_model: no ONNX element type for ", dtype_name(dtype));
}

Exporter::Exporter(::onnx::GraphProto& graph, nn::Module& root, int64_t opset, const EmitterTable& emitters)
    : graph_(graph), opset_(opset), emitters_(emitters) {
  // The same names as root.state_dict()'s, whose tensors are detached copies of the handles.
  for (const auto& [name, tensor] : root.named_parameters()) tensor_names_[tensor.impl()] = name;
  for (const auto& [name, tensor] : root.named_buffers()) tensor_names_[tensor.impl()] = name;
  for (const auto& [path, module] : root.named_modules()) module_paths_[module.get()] = path;
}

Value Exporter::emit(nn::Module& module, const Value& x) {
  const std::string& path = module_paths_.at(&module);  // every module emitted is the root's
  auto emitter = emitters_.find(std::type_index(typeid(module)));
  if (emitter == emitters_.end()) {
    fail<ValueError>("export_model: cannot export ", path.empty() ? "the root module" : "module '" + path + "'", " (",
                     module.name(), "): the ONNX exporter has no emitter for this module type (docs/onnx.md lists the supported ones)");
  }
  // Node names start with the module's path, so a node in the exported graph points back at
  // the module that made it.
  std::string outer = scope_;
  scope_ = path;
  std::string output = emitter->second(*this, module, x);
  scope_ = outer;
  return {output, module.forward(x.example)};
}

Value Exporter::emit_child(nn::Module& parent, const std::string& name, const Value& x) {
  for (const auto& [child_name, child] : parent.named_children()) {
    if (child_name == name) return emit(*child, x);
  }
  fail<ValueError>("export_model: ", parent.name(), " has no child module '", name, "'");
}

std::string Exporter::fresh_name(const std::string& op) {
  return (scope_.empty() ? "" : scope_ + "/") + op + "_" + std::to_string(nodes_++);
}

std::vector<std::string> Exporter::node(const std::string& op, const std::vector<std::string>& inputs, int64_t outputs,
                                        const std::vector<Attribute>& attributes) {
  ::onnx::NodeProto* node = graph_.add_node();
  node->set_op_type(op);
  node->set_name(fresh_name(op));
  for (const std::string& input : inputs) node->add_input(input);
  std::vector<std::string> names;
  for (int64_t i = 0; i < outputs; ++i) {
    names.push_back(outputs == 1 ? node->name() : node->name() + ":" + std::to_string(i));
    node->add_output(names.back());
  }
  for (const Attribute& attribute : attributes) set_attribute(*node, attribute);
  return names;
}

std::string Exporter::node(const std::string& op, const std::vector<std::string>& inputs,
                           const std::vector<Attribute>& attributes) {
  return node(op, inputs, 1, attributes)[0];
}

std::string Exporter::parameter(const Tensor& tensor) {
  auto name = tensor_names_.find(tensor.impl());
  if (name == tensor_names_.end()) {
    fail<ValueError>("export_model: a tensor of shape ", tensor.shape(), " used by ", scope_.empty() ? "the root module" : scope_,
                     " is not a parameter or buffer of the exported module");
  }
  if (initializers_.insert(name->second).second) to_tensor_proto(tensor, name->second, *graph_.add_initializer());
  return name->second;
}

std::string Exporter::constant(const Tensor& tensor) {
  ::onnx::NodeProto* node = graph_.add_node();
  node->set_op_type("Constant");
  node->set_name(fresh_name("Constant"));
  node->add_output(node->name());
  ::onnx::AttributeProto* value = node->add_attribute();
  value->set_name("value");
  value->set_type(::onnx::AttributeProto::TENSOR);
  to_tensor_proto(tensor, "", *value->mutable_t());
  return node->name();
}

std::string Exporter::ints(const std::vector<int64_t>& values) { return constant(from_vector(values)); }

std::string Exporter::scalar(double value) { return constant(scalar_tensor(value, DType::f32)); }

}  // namespace cajal::onnx
