#include "cajal/onnx/export.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include "cajal/autograd/grad_mode.h"
#include "cajal/core/error.h"
#include "cajal/io/atomic_file.h"
#include "cajal/onnx/exporter.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/reduce.h"

namespace cajal::onnx {

namespace {

const EmitterTable& emitters() {
  static const EmitterTable table = [] {
    EmitterTable t;
    add_layer_emitters(t);
    add_sequence_emitters(t);
    return t;
  }();
  return table;
}

// A graph input or output: its element type, and its shape with dim 0 named "batch" when
// the batch is dynamic.
void describe(::onnx::ValueInfoProto& info, const std::string& name, const Tensor& example, bool dynamic_batch) {
  info.set_name(name);
  ::onnx::TypeProto_Tensor* type = info.mutable_type()->mutable_tensor_type();
  type->set_elem_type(onnx_element_type(example.dtype()));
  ::onnx::TensorShapeProto* shape = type->mutable_shape();
  for (int64_t d = 0; d < example.dim(); ++d) {
    if (d == 0 && dynamic_batch) shape->add_dim()->set_dim_param("batch");
    else shape->add_dim()->set_dim_value(example.size(d));
  }
}

// (x - mean) / std along dim 1, as cli's normalize_batch computes it (float32).
Value normalize(Exporter& g, const Value& x, const std::vector<double>& mean, const std::vector<double>& std) {
  const int64_t channels = x.example.dim() > 1 ? x.example.size(1) : 0;
  const int64_t given = static_cast<int64_t>(mean.size());
  if (mean.size() != std.size() || (given != 1 && given != channels)) {
    fail<ValueError>("export_model: normalization with ", mean.size(), " means and ", std.size(),
                     " standard deviations for inputs of shape ", x.example.shape(), " (expected 1 or ", channels, " of each)");
  }
  Dims shape(static_cast<size_t>(x.example.dim()), 1);  // [1, C, 1, ...]: broadcasts along dim 1
  shape[1] = given;
  Tensor m = from_vector(mean).to(DType::f32).reshape(shape), s = from_vector(std).to(DType::f32).reshape(shape);
  std::string centered = g.node("Sub", {x.name, g.constant(m)});
  return {g.node("Div", {centered, g.constant(s)}), (x.example - m) / s};
}

// Gives `value` the graph output's name where it is made and used. A value that is the graph
// input itself (a module that changes nothing) is first copied by an Identity.
void name_output(::onnx::GraphProto& graph, Exporter& g, const std::string& value, const std::string& name) {
  const std::string made = value == graph.input(0).name() ? g.node("Identity", {value}) : value;
  for (::onnx::NodeProto& node : *graph.mutable_node()) {
    for (std::string& input : *node.mutable_input()) {
      if (input == made) input = name;
    }
    for (std::string& output : *node.mutable_output()) {
      if (output == made) output = name;
    }
  }
}

// Puts the module in eval mode for the export and back in its mode afterwards (also when
// the export fails).
class EvalMode {
 public:
  explicit EvalMode(nn::Module& module) : module_(module), training_(module.is_training()) { module.eval(); }
  ~EvalMode() { module_.train(training_); }
  EvalMode(const EvalMode&) = delete;
  EvalMode& operator=(const EvalMode&) = delete;

 private:
  nn::Module& module_;
  bool training_;
};

}  // namespace

void export_model(nn::Module& module, const Tensor& example_input, const std::string& path, const ExportOptions& options) {
  if (options.opset < kMinOpset || options.opset > kMaxOpset) {
    fail<ValueError>("export_model: opset ", options.opset, " is not supported; the ONNX exporter writes opsets ",
                     kMinOpset, " to ", kMaxOpset);
  }
  check_defined("export_model", example_input);
  if (example_input.dim() < 1) fail<ShapeError>("export_model: the example input needs a batch dim, got a 0-d tensor");
  NoGradGuard no_grad;
  EvalMode eval(module);

  ::onnx::ModelProto model;
  model.set_ir_version(8);  // the IR of ONNX 1.12, which reads opsets up to 17
  model.set_producer_name("cajal");
  ::onnx::OperatorSetIdProto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(options.opset);
  ::onnx::GraphProto& graph = *model.mutable_graph();
  graph.set_name(module.name());

  Exporter g(graph, module, options.opset, emitters());
  describe(*graph.add_input(), options.input_name, example_input, options.dynamic_batch);
  Value x{options.input_name, example_input};
  if (!options.mean.empty() || !options.std.empty()) x = normalize(g, x, options.mean, options.std);
  Value y = g.emit(module, x);
  if (options.softmax) y = {g.node("Softmax", {y.name}, {{"axis", -1}}), softmax(y.example, -1)};
  name_output(graph, g, y.name, options.output_name);
  describe(*graph.add_output(), options.output_name, y.example, options.dynamic_batch);

  // The checker and strict shape inference are ONNX's own; a failure here is an exporter bug,
  // reported before a broken file reaches anyone.
  try {
    ::onnx::checker::check_model(model);
    ::onnx::shape_inference::InferShapes(model, ::onnx::OpSchemaRegistry::Instance(),
                                         ::onnx::ShapeInferenceOptions(/*check_type=*/true, /*strict_mode=*/1));
  } catch (const std::exception& e) {
    fail<ValueError>("export_model: the exported graph of ", module.name(), " fails ONNX's checker: ", e.what());
  }
  std::string bytes;
  if (!model.SerializeToString(&bytes)) fail<IOError>("export_model: cannot serialize the ONNX model for ", path);
  write_file_atomically(path, {std::span<const char>(bytes.data(), bytes.size())}, "export_model");
}

}  // namespace cajal::onnx
