// ONNX import against PyTorch: torchvision's ResNet-18, MobileNetV2 and a small ViT, and the
// PyTorch twins of cajal's presets, exported by torch.onnx.export (opset 17) in
// tests/reference/onnx_import_reference.py, imported here and run on the inputs PyTorch ran.
// Then the importer's own behaviour: parameters, several inputs and outputs, the three ways
// a tensor's values are stored, fine-tuning, and one clear error for each kind of bad input.
#include <filesystem>
#include <fstream>
#include <set>

#include "cajal/models/registry.h"
#include "cajal/onnx/export.h"
#include "cajal/kernels/cpu/conv_onednn.h"
#include "cajal/onnx/fast_inference.h"
#include "cajal/onnx/import.h"
#include "cajal/onnx/import_ops.h"
#include "cajal/optim/sgd.h"
#include "support/test_support.h"

namespace cajal {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kModels = {"resnet18", "mobilenet_v2", "vit", "mlp", "lenet5", "cnn", "resnet20", "layers",
                                          "char_lstm", "char_transformer", "rnn_classifier_gru", "rnn_classifier_lstm",
                                          "lstm_forecaster", "volumes"};

// One run of the reference script for the whole file (it starts torch once).
class OnnxImport : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = test::temp_dir() + "/models";
    fs::create_directories(dir_);
    std::string cases;
    for (const std::string& name : kModels) cases += " " + name;
    ok_ = test::run_reference("onnx_import_reference.py", dir_ + cases + " two_in_two_out fixtures", &log_);
  }
  void SetUp() override { ASSERT_TRUE(ok_) << log_; }
  static std::string path(const std::string& name) { return dir_ + "/" + name; }

  static inline std::string dir_, log_;
  static inline bool ok_ = false;
};

// Float32 end to end, with cajal's and PyTorch's kernels summing in different orders
// (oneDNN's blocked convolutions and GEMMs against PyTorch's): each layer differs by a few
// ulp (~1e-7 relative), and 20-odd layers of outputs of order 1 stay well inside 1e-4.
constexpr double kTol = 1e-4;

TEST_F(OnnxImport, ModelsFromPyTorchGiveItsOutputs) {
  for (const std::string& name : kModels) {
    SCOPED_TRACE(name);
    auto model = onnx::load(path(name + ".onnx"));
    Tensor input = load_npy(path(name + "_input.npy"));  // batch 3: the export traced batch 2
    Tensor expected = load_npy(path(name + "_output.npy"));
    Tensor before = input.clone();
    NoGradGuard no_grad;  // lets Relu and Clip run in place on intermediate values
    EXPECT_TRUE(test::all_close(model->forward(input), expected, kTol, kTol));
    EXPECT_TRUE(test::all_close(input, before, 0, 0)) << "forward overwrote its input";
    EXPECT_TRUE(test::all_close(model->forward(input), expected, kTol, kTol)) << "a second forward differs";
  }
}

// cajal's own exporter and importer agree: every kind of preset written by
// onnx::export_model (opset 17, and 13, where LayerNormalization is written out in other
// operators) imports and gives the preset's outputs. Float32 both ways, so 1e-5.
TEST(OnnxRoundTrip, CajalPresetsComeBackTheSame) {
  const models::ModelInput images{.shape = {1, 28, 28}, .num_classes = 10};
  const models::ModelInput tokens{.shape = {12}, .num_classes = 20, .dtype = DType::i64, .per_step = true};
  Generator gen(3);
  const Tensor image_batch = rand({3, 1, 28, 28}, {}, &gen), token_batch = randint(0, 20, {3, 12}, {.dtype = DType::i64}, &gen);
  struct Case {
    std::string preset;
    models::ModelInput input;
    Tensor batch;
    int64_t opset;
  };
  std::string dir = test::temp_dir();
  for (const Case& c : {Case{"mlp", images, image_batch, 17}, Case{"cnn", images, image_batch, 17}, Case{"resnet", images, image_batch, 17},
                        Case{"rnn_classifier", images, image_batch, 17}, Case{"char_lstm", tokens, token_batch, 17},
                        Case{"char_transformer", tokens, token_batch, 17}, Case{"char_transformer", tokens, token_batch, 13}}) {
    SCOPED_TRACE(c.preset + " opset " + std::to_string(c.opset));
    manual_seed(11);
    nn::ModulePtr model = models::make_model(c.preset, models::Options(), c.input);
    model->eval();
    std::string file = dir + "/" + c.preset + "_" + std::to_string(c.opset) + ".onnx";
    onnx::export_model(*model, c.batch.narrow(0, 0, 1), file, {.opset = c.opset});
    NoGradGuard no_grad;
    EXPECT_TRUE(test::all_close(onnx::load(file)->forward(c.batch), model->forward(c.batch), 1e-5, 1e-5));
  }
}

// Inference on oneDNN's blocked layouts, fused (onnx/fast_inference.h), against the usual
// node-by-node run of the same model: the same outputs for every model (and both agree
// with PyTorch, above).
TEST_F(OnnxImport, FastInferenceGivesTheUsualRunsOutputs) {
  if (!kernels::onednn::available()) GTEST_SKIP() << "built without oneDNN";
  NoGradGuard no_grad;
  for (const std::string& name : kModels) {
    SCOPED_TRACE(name);
    auto model = onnx::load(path(name + ".onnx"));
    Tensor input = load_npy(path(name + "_input.npy"));
    Tensor fast = model->forward(input);
    model->set_fast_inference(false);
    EXPECT_TRUE(test::all_close(fast, model->forward(input), 1e-5, 1e-5));
  }
}

// Which nodes run as one oneDNN convolution: every Conv, with the Relu (ResNet) or Clip
// (MobileNetV2's ReLU6) and the residual Add that follow it alone. In a ResNet block with a
// downsampling convolution, both convolutions feed the Add: the first claims it, the
// downsampling one (which runs in between and reads another value) stays alone.
TEST_F(OnnxImport, FastInferenceFusesWhatFollowsEachConvolution) {
  struct Expected {
    std::string model;
    size_t groups, with_add, with_activation;
  };
  for (const Expected& e : {Expected{"resnet18", 20, 8, 17}, Expected{"mobilenet_v2", 52, 10, 35}}) {
    SCOPED_TRACE(e.model);
    auto model = onnx::load(path(e.model + ".onnx"));
    const onnx::FastPlan& plan = model->fast_plan();
    EXPECT_EQ(plan.groups.size(), e.groups);
    EXPECT_EQ(std::count_if(plan.groups.begin(), plan.groups.end(), [](const onnx::ConvGroup& g) { return g.add.has_value(); }),
              static_cast<std::ptrdiff_t>(e.with_add));
    EXPECT_EQ(std::count_if(plan.groups.begin(), plan.groups.end(), [](const onnx::ConvGroup& g) { return g.activation.has_value(); }),
              static_cast<std::ptrdiff_t>(e.with_activation));
    size_t members = 0;
    for (const onnx::ConvGroup& g : plan.groups) members += g.nodes().size() - 1;
    EXPECT_EQ(static_cast<size_t>(std::count(plan.in_group.begin(), plan.in_group.end(), 1)), members);
  }
}

// Every path of fast inference on a graph made for it (onnx_import_reference.py,
// fast_paths.onnx): a group whose Add broadcasts runs node by node, a convolution read by a
// pool and by Sigmoid (which gets a plain tensor), a blocked map as a graph output, Conv +
// Clip with uneven padding and stride, average pools with and without counted padding.
TEST_F(OnnxImport, FastInferenceTakesEveryPathToTheUsualRunsOutputs) {
  if (!kernels::onednn::available()) GTEST_SKIP() << "built without oneDNN";
  auto model = onnx::load(path("fast_paths.onnx"));
  const onnx::FastPlan& plan = model->fast_plan();
  ASSERT_EQ(plan.groups.size(), 3u);
  EXPECT_TRUE(plan.groups[0].add && plan.groups[0].activation);    // conv1 + broadcast Add + Relu
  EXPECT_FALSE(plan.groups[1].add || plan.groups[1].activation);   // conv2: two readers
  EXPECT_TRUE(plan.groups[2].activation && !plan.groups[2].add);   // conv3 + Clip
  Generator gen(2);
  Tensor x = randn({2, 16, 8, 8}, {}, &gen);
  NoGradGuard no_grad;
  TensorList fast = model->forward(TensorList{x});
  model->set_fast_inference(false);
  TensorList usual = model->forward(TensorList{x});
  ASSERT_EQ(fast.size(), 2u);
  for (size_t k = 0; k < 2; ++k) {
    SCOPED_TRACE(k);
    EXPECT_EQ(fast[k].sizes(), usual[k].sizes());
    EXPECT_TRUE(test::all_close(fast[k], usual[k], 1e-5, 1e-5));
  }
}

// The weights oneDNN keeps reordered, and the batch norms folded into convolutions, follow
// every change: after a training step, and after a batch norm's statistics are overwritten,
// fast inference still gives what the usual run gives, and not what it gave before.
TEST_F(OnnxImport, FastInferenceSeesEveryChangeOfTheWeights) {
  if (!kernels::onednn::available()) GTEST_SKIP() << "built without oneDNN";
  auto fast_and_usual = [](onnx::GraphModule& model, const Tensor& input) {
    NoGradGuard no_grad;
    model.set_fast_inference(true);
    Tensor fast = model.forward(input);
    model.set_fast_inference(false);
    Tensor usual = model.forward(input);
    model.set_fast_inference(true);
    return std::pair{fast, usual};
  };
  auto resnet = onnx::load(path("resnet18.onnx"));
  Tensor images = load_npy(path("resnet18_input.npy"));
  auto [before, unused] = fast_and_usual(*resnet, images);
  optim::SGD sgd(resnet->parameters(), {.lr = 0.05});
  Tensor loss = cross_entropy(resnet->forward(images), tensor({3, 7, 1}));
  loss.backward();
  sgd.step();
  auto [after, usual] = fast_and_usual(*resnet, images);
  EXPECT_TRUE(test::all_close(after, usual, 1e-5, 1e-5));
  EXPECT_FALSE(test::all_close(after, before, 1e-3, 1e-3)) << "the step changed nothing the test can see";

  // cajal's cnn preset exports Conv, BatchNormalization, Relu: folded into one convolution.
  manual_seed(5);
  nn::ModulePtr cnn = models::make_model("cnn", models::Options(), {.shape = {1, 28, 28}, .num_classes = 10});
  cnn->eval();
  const std::string file = test::temp_dir() + "/cnn_bn.onnx";
  Tensor x = rand({4, 1, 28, 28});
  onnx::export_model(*cnn, x.narrow(0, 0, 1), file);
  auto imported = onnx::load(file);
  ASSERT_GT(std::count_if(imported->fast_plan().groups.begin(), imported->fast_plan().groups.end(),
                          [](const onnx::ConvGroup& g) { return g.batch_norm.has_value(); }),
            0);
  auto [first, first_usual] = fast_and_usual(*imported, x);
  EXPECT_TRUE(test::all_close(first, first_usual, 1e-5, 1e-5));
  for (const auto& [name, t] : imported->named_parameters())
    if (name.ends_with("running_var")) {
      NoGradGuard no_grad;
      Tensor(t).mul_(4.0);
    }
  auto [second, second_usual] = fast_and_usual(*imported, x);
  EXPECT_TRUE(test::all_close(second, second_usual, 1e-5, 1e-5));
  EXPECT_FALSE(test::all_close(second, first, 1e-3, 1e-3)) << "the new statistics changed nothing the test can see";
}

TEST_F(OnnxImport, InitializersBecomeNamedParameters) {
  auto model = onnx::load(path("resnet20.onnx"));
  std::map<std::string, Tensor> params;
  for (const auto& [name, t] : model->named_parameters()) params[name] = t;
  // The classifier keeps PyTorch's names; the exporter folded batch norm into each
  // convolution, whose weights it renamed "onnx::Conv_<n>" (a name with no dot, kept as is).
  ASSERT_TRUE(params.count("fc.weight"));
  EXPECT_EQ(params["fc.weight"].sizes(), Dims({10, 64}));
  EXPECT_TRUE(params["fc.weight"].requires_grad());
  EXPECT_EQ(params.size(), 2u + 2 * 21);  // fc's two, and a weight and bias for each of the 21 convolutions
  // The ONNX name "block.w" is a child "block" holding "w"; names that cannot nest stay flat.
  // Printed as PyTorch prints a module: the graph's size, then the parameter groups.
  EXPECT_TRUE(model->to_string().starts_with("GraphModule(\n  inputs=1, outputs=1, nodes=")) << model->to_string();
  auto nested = onnx::load(path("nested_names.onnx"));
  std::set<std::string> names;
  for (const auto& [name, t] : nested->named_parameters()) names.insert(name);
  EXPECT_EQ(names, (std::set<std::string>{"block.w", "block_w_scale", "block_"}));
  Tensor x = test::iota({2, 3});
  Tensor w = load_npy(path("weights.npy"));
  EXPECT_TRUE(test::all_close(nested->forward(x), (x + w) * w - w));
}

TEST_F(OnnxImport, ImportedResNet18FineTunes) {
  auto model = onnx::load(path("resnet18.onnx"));
  model->train();
  Tensor images = load_npy(path("resnet18_input.npy"));
  Tensor labels = tensor({3, 7, 1});
  optim::SGD sgd(model->parameters(), {.lr = 0.002});
  std::vector<double> losses;
  for (int step = 0; step < 6; ++step) {
    sgd.zero_grad();
    Tensor loss = cross_entropy(model->forward(images), labels);
    loss.backward();
    for (const auto& [name, p] : model->named_parameters()) ASSERT_TRUE(p.grad().defined()) << name;
    sgd.step();
    losses.push_back(loss.item<double>());
  }
  EXPECT_LT(losses.back(), 0.5 * losses.front()) << "losses " << ::testing::PrintToString(losses);
}

TEST_F(OnnxImport, SeveralInputsAndOutputs) {
  auto model = onnx::load(path("two_in_two_out.onnx"));
  ASSERT_EQ(model->inputs().size(), 2u);
  EXPECT_EQ(model->inputs()[1].name, "b");
  EXPECT_EQ(model->inputs()[0].dim_params[0], "batch");
  EXPECT_EQ(model->outputs()[1].name, "product");
  Tensor a = load_npy(path("two_in_two_out_a.npy")), b = load_npy(path("two_in_two_out_b.npy"));
  TensorList outs = model->forward(TensorList{a, b});
  ASSERT_EQ(outs.size(), 2u);
  EXPECT_TRUE(test::all_close(outs[0], load_npy(path("two_in_two_out_sum.npy")), 1e-6, 1e-6));
  EXPECT_TRUE(test::all_close(outs[1], load_npy(path("two_in_two_out_product.npy"))));
  test::expect_error<ValueError>([&] { model->forward(a); }, {"one input and one output", "forward(TensorList)"});
  test::expect_error<ValueError>([&] { model->forward(TensorList{a}); }, {"takes 2 inputs, got 1"});
  // The batch is named "batch" in both inputs, so it must be the same in both.
  test::expect_error<ShapeError>([&] { model->forward(TensorList{a, b.slice(0, 0, 2)}); }, {"input 'b'", "[batch, 4]"});
}

TEST_F(OnnxImport, RawTypedAndExternalDataReadTheSame) {
  Tensor x = test::iota({2, 3});
  Tensor expected = x + load_npy(path("weights.npy"));
  for (const char* name : {"raw_data", "typed_data", "external_data"}) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(test::all_close(onnx::load(path(std::string(name) + ".onnx"))->forward(x), expected, 0, 0));
  }
}

TEST_F(OnnxImport, LoadTensorReadsATensorProto) {
  EXPECT_TRUE(test::all_close(onnx::load_tensor(path("weights.pb")), load_npy(path("weights.npy")), 0, 0));
  test::expect_error<IOError>([&] { onnx::load_tensor(path("weights.npy")); }, {"weights.npy"});
}

TEST_F(OnnxImport, ReadOpTypesListsTheNodes) {
  std::vector<std::string> types = onnx::read_op_types(path("resnet20.onnx"));
  EXPECT_EQ(types.front(), "Conv");
  EXPECT_EQ(std::count(types.begin(), types.end(), "Conv"), 21);
  EXPECT_EQ(onnx::read_op_types(path("unsupported_op.onnx")), std::vector<std::string>{"Bernoulli"});
}

TEST(OnnxOperators, TheTableListsWhatIsImplemented) {
  std::vector<std::string> ops = onnx::supported_operators();
  EXPECT_TRUE(std::is_sorted(ops.begin(), ops.end()));
  for (const char* op : {"Conv", "Gemm", "LSTM", "GRU", "RNN", "LayerNormalization", "Softmax", "Gather", "Slice"})
    EXPECT_NE(std::find(ops.begin(), ops.end(), op), ops.end()) << op;
  EXPECT_EQ(std::find(ops.begin(), ops.end(), "Bernoulli"), ops.end());
}

// ------------------------------------------------------------------ bad input

std::string bytes_of(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& file, const std::string& bytes) {
  std::ofstream(file, std::ios::binary) << bytes;
}

TEST_F(OnnxImport, TruncatedFileIsAnIOError) {
  std::string bytes = bytes_of(path("lenet5.onnx"));
  for (size_t keep : {size_t{0}, size_t{5}, bytes.size() / 2, bytes.size() - 1}) {
    SCOPED_TRACE(keep);
    write_bytes(path("truncated.onnx"), bytes.substr(0, keep));
    test::expect_error<IOError>([&] { onnx::load(path("truncated.onnx")); }, {"truncated.onnx"});
  }
}

// A flipped bit may leave a valid protobuf (a changed weight, a renamed value) or not;
// either way the loader and the forward pass must end in a cajal::Error or a result. The
// flips go where the structure is: protobuf writes a model's fields in field-number order,
// so the nodes come first, the weights in the middle and the inputs, outputs and opset last.
TEST_F(OnnxImport, BitFlipsEndInAnErrorOrAResult) {
  std::string bytes = bytes_of(path("lenet5.onnx"));
  Tensor input = load_npy(path("lenet5_input.npy"));
  std::vector<size_t> positions;
  for (size_t k = 0; k < 48; ++k) positions.push_back(k * 37 % 1500);
  for (size_t k = 0; k < 48; ++k) positions.push_back(bytes.size() - 1 - k * 5);
  int refused = 0;
  for (size_t k = 0; k < positions.size(); ++k) {
    std::string flipped = bytes;
    flipped[positions[k]] = static_cast<char>(flipped[positions[k]] ^ (1 << (k % 8)));
    write_bytes(path("flipped.onnx"), flipped);
    try {
      NoGradGuard no_grad;
      onnx::load(path("flipped.onnx"))->forward(input);
    } catch (const Error&) {
      ++refused;
    }
  }
  EXPECT_GT(refused, 10);  // the flips did reach the structure
}

TEST_F(OnnxImport, UnsupportedOperatorNamesItAndTheNode) {
  test::expect_error<onnx::UnsupportedError>([&] { onnx::load(path("unsupported_op.onnx")); },
                                             {"unsupported operator", "Bernoulli", "'coin'"});
}

TEST_F(OnnxImport, OpsetOutsideTheRangeIsRefused) {
  test::expect_error<onnx::UnsupportedError>([&] { onnx::load(path("opset18.onnx")); },
                                             {"opset18.onnx", "opset 18", "1 to 17"});
}

TEST_F(OnnxImport, InputOfAnotherShapeOrDtypeIsRefusedAtRunTime) {
  auto model = onnx::load(path("lenet5.onnx"));
  test::expect_error<ShapeError>([&] { model->forward(zeros({1, 2, 28, 28})); },
                                 {"input 'input'", "[1, 2, 28, 28]", "[batch, 1, 28, 28]"});
  test::expect_error<DTypeError>([&] { model->forward(zeros({1, 1, 28, 28}, {.dtype = DType::f64})); },
                                 {"input 'input'", "float32", "float64"});
}

TEST_F(OnnxImport, WeightsOfTheWrongShapeAreAShapeError) {
  auto model = onnx::load(path("lstm_bad_weights.onnx"));
  test::expect_error<ShapeError>([&] { model->forward(zeros({5, 1, 3})); },
                                 {"LSTM node 'lstm'", "W must have shape [1, 8, 3], got [1, 6, 3]"});
}

TEST_F(OnnxImport, IndicesOfTheWrongRankAreAShapeError) {
  auto model = onnx::load(path("scatternd_scalar_indices.onnx"));
  test::expect_error<ShapeError>([&] { model->forward(zeros({2, 3})); }, {"ScatterND node 'scatter'", "do not fit"});
}

TEST_F(OnnxImport, ExternalDataOutsideTheModelFolderIsRefused) {
  test::expect_error<IOError>([&] { onnx::load(path("external_outside.onnx")); },
                              {"'../outside.bin'", "outside the model's folder"});
}

TEST_F(OnnxImport, MissingFileIsAnIOError) {
  test::expect_error<IOError>([&] { onnx::load(path("no_such.onnx")); }, {"no_such.onnx"});
}

}  // namespace
}  // namespace cajal
