// nn::save / nn::load. Oracle: PyTorch. A cajal model's weights file loads into the same
// torch model (load_state_dict, strict) and gives the same outputs; a torch model's
// state_dict, written by hand as safetensors, loads into the cajal model and gives torch's
// outputs (tests/reference/safetensors_reference.py, no safetensors package).
#include "cajal/nn/conv.h"
#include "cajal/nn/nn.h"
#include "support/test_support.h"

namespace cajal {
namespace {

// A module with a float parameter, an integer buffer and a child: state_dict names
// "weight", "steps", "head.weight", "head.bias".
struct TinyImpl : nn::Module {
  TinyImpl() {
    weight = register_parameter("weight", full({2, 3}, 0.5f));
    steps = register_buffer("steps", scalar_tensor(3, DType::i64));
    head = register_module("head", nn::Linear(3, 2).ptr());
  }
  std::string name() const override { return "Tiny"; }
  Tensor weight, steps;
  std::shared_ptr<nn::LinearImpl> head;
};
CAJAL_MODULE(Tiny);

std::vector<std::string> names_of(const NamedTensors& tensors) {
  std::vector<std::string> names;
  for (const auto& [name, t] : tensors) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

// The same names with bit-identical values.
void expect_same_state(const NamedTensors& got, const NamedTensors& want) {
  ASSERT_EQ(names_of(got), names_of(want));
  for (const auto& [name, w] : want)
    for (const auto& [n, g] : got)
      if (n == name) {
        EXPECT_EQ(g.dtype(), w.dtype()) << name;
        EXPECT_TRUE(test::all_close(g, w, 0, 0)) << name;
      }
}

// The reference script's MODELS: name, cajal model, input shape.
struct TestModel {
  std::string name;
  nn::Sequential model;
  Dims input_shape;
};
std::vector<TestModel> test_models() {
  return {{"mlp", nn::Sequential(nn::Linear(5, 8), nn::ReLU(), nn::Linear(8, 3)), {4, 5}},
          {"cnn",
           nn::Sequential(nn::Conv2d(2, 4, 3, {.padding = 1}), nn::BatchNorm2d(4), nn::ReLU(), nn::Flatten(),
                          nn::Linear(4 * 5 * 5, 3)),
           {2, 2, 5, 5}}};
}

}  // namespace

TEST(Serialize, SavesTheStateDictUnderItsNames) {
  std::string path = test::temp_dir() + "/tiny.safetensors";
  Tiny tiny;
  nn::save(tiny, path, {{"epoch", "4"}});
  expect_same_state(load_safetensors(path), tiny->state_dict());
  EXPECT_EQ(load_safetensors_metadata(path), (SafetensorsMetadata{{"epoch", "4"}, {"format", "pt"}}));
  nn::save(tiny, path, {{"format", "mine"}});  // a given format is kept
  EXPECT_EQ(load_safetensors_metadata(path), (SafetensorsMetadata{{"format", "mine"}}));
}

TEST(Serialize, LoadCopiesIntoTheModulesOwnTensors) {
  std::string path = test::temp_dir() + "/mlp.safetensors";
  nn::Sequential a = test_models()[0].model, b = test_models()[0].model;  // different random weights
  nn::save(a, path);
  TensorList held = b->parameters();  // what an optimizer holds
  std::vector<void*> data;
  std::vector<uint32_t> versions;
  for (const Tensor& p : held) {
    data.push_back(p.raw_data());
    versions.push_back(p.version());
  }
  nn::LoadResult result = nn::load(b, path);
  EXPECT_TRUE(result.all_matched()) << result.to_string();
  EXPECT_EQ(result.to_string(), "all keys matched");
  expect_same_state(b->state_dict(), a->state_dict());
  TensorList now = b->parameters();
  for (size_t i = 0; i < held.size(); ++i) {
    EXPECT_TRUE(now[i].is_same(held[i]));
    EXPECT_EQ(held[i].raw_data(), data[i]);
    EXPECT_GT(held[i].version(), versions[i]);  // an in-place write, as torch's load_state_dict
    EXPECT_TRUE(held[i].requires_grad());
    EXPECT_TRUE(held[i].is_leaf());
  }
  // Training still works on the loaded parameters.
  b->forward(ones({2, 5})).sum().backward();
  for (const Tensor& p : held) EXPECT_TRUE(p.grad().defined());
}

// A file for Tiny with one of each problem: "weight" has another shape, "steps" is float,
// "head.bias" is missing, "extra" is unexpected; "head.weight" matches.
std::string problem_file(const std::string& dir) {
  std::string path = dir + "/problems.safetensors";
  save_safetensors({{"weight", full({3, 2}, 7.0f)},
                    {"steps", scalar_tensor(9.0, DType::f32)},
                    {"head.weight", full({2, 3}, 2.0f)},
                    {"extra", zeros({1})}},
                   path);
  return path;
}

TEST(Serialize, StrictLoadListsEveryProblemAndChangesNothing) {
  std::string path = problem_file(test::temp_dir());
  Tiny tiny;
  NamedTensors before;
  for (const auto& [name, t] : tiny->state_dict()) before.emplace_back(name, t.clone());
  test::expect_error<IOError>([&] { nn::load(tiny, path); },
                              {"nn::load: ", path, ": the file does not match the module: ", "missing keys: head.bias",
                               "unexpected keys: extra",
                               "mismatched: weight (shape [3, 2] in the file, [2, 3] in the module), "
                               "steps (float32 in the file, int64 in the module (only floating dtypes convert))"});
  expect_same_state(tiny->state_dict(), before);
}

// A file of a million stray names once made a 13.9 MB error line: each list names 8 keys.
TEST(Serialize, KeyListsAreCappedInMessages) {
  std::string path = test::temp_dir() + "/strays.safetensors";
  NamedTensors strays;
  for (char c = 'a'; c <= 't'; ++c) strays.emplace_back(std::string(1, c), zeros({0}));  // 20 names
  save_safetensors(strays, path);
  Tiny tiny;
  const std::string message = test::error_message<IOError>([&] { nn::load(tiny, path); });
  EXPECT_NE(message.find("unexpected keys: a, b, c, d, e, f, g, h and 12 more"), std::string::npos) << message;
  EXPECT_EQ(message.find(", i"), std::string::npos) << message;
}

TEST(Serialize, NonStrictLoadsWhatMatchesAndReportsTheRest) {
  std::string path = problem_file(test::temp_dir());
  Tiny tiny;
  Tensor bias_before = tiny->head->bias().clone();
  nn::LoadResult r = nn::load(tiny, path, /*strict=*/false);
  EXPECT_EQ(r.missing_keys, std::vector<std::string>{"head.bias"});
  EXPECT_EQ(r.unexpected_keys, std::vector<std::string>{"extra"});
  ASSERT_EQ(r.mismatched_keys.size(), 2u);
  EXPECT_EQ(r.mismatched_keys[0].first, "weight");
  EXPECT_EQ(r.mismatched_keys[1].first, "steps");
  EXPECT_FALSE(r.all_matched());
  EXPECT_TRUE(test::all_close(tiny->head->weight(), full({2, 3}, 2.0f), 0, 0));  // loaded
  EXPECT_TRUE(test::all_close(tiny->weight, full({2, 3}, 0.5f), 0, 0));           // untouched
  EXPECT_EQ(tiny->steps.item<int64_t>(), 3);
  EXPECT_TRUE(test::all_close(tiny->head->bias(), bias_before, 0, 0));
}

TEST(Serialize, FloatingDTypesConvert) {
  std::string path = test::temp_dir() + "/f64.safetensors";
  Tensor w = tensor({0.1, -1.0 / 3, 2.5, 1e-8, 7.0, -0.0}, {2, 3});
  save_safetensors({{"weight", w},
                    {"steps", scalar_tensor(11, DType::i64)},
                    {"head.weight", full({2, 3}, 1.5f).to(DType::bf16)},
                    {"head.bias", tensor({1.0f, 2.0f})}},
                   path);
  Tiny tiny;
  nn::load(tiny, path);
  EXPECT_EQ(tiny->weight.dtype(), DType::f32);
  EXPECT_TRUE(test::all_close(tiny->weight, w.to(DType::f32), 0, 0));
  EXPECT_EQ(tiny->steps.item<int64_t>(), 11);
  EXPECT_TRUE(test::all_close(tiny->head->weight(), full({2, 3}, 1.5f), 0, 0));
}

TEST(Serialize, BadFilesAreIOErrors) {
  std::string dir = test::temp_dir();
  Tiny tiny;
  test::expect_error<IOError>([&] { nn::load(tiny, dir + "/none.safetensors"); }, {dir + "/none.safetensors", "cannot read"});
}

// ---------------------------------------------------------------- PyTorch interop

// cajal's models (after two training-mode passes, which move batch-norm statistics) saved and
// loaded into the torch models; torch's eval-mode outputs must equal cajal's.
TEST(Serialize, CajalModelsRunInPyTorch) {
  std::string dir = test::temp_dir(), names;
  std::vector<TestModel> models = test_models();
  std::vector<Tensor> inputs;
  test::NormalSampler normal(5);
  for (TestModel& m : models) {
    for (int step = 0; step < 2; ++step) m.model->forward(normal(m.input_shape));
    m.model->eval();
    nn::save(m.model, dir + "/cajal_" + m.name + ".safetensors");
    inputs.push_back(normal(m.input_shape));
    save_npy(inputs.back(), dir + "/x_" + m.name + ".npy");
    names += " " + m.name;
  }
  std::string output;
  ASSERT_TRUE(test::run_reference("safetensors_reference.py", "model_check " + dir + names, &output)) << output;
  NoGradGuard no_grad;
  for (size_t i = 0; i < models.size(); ++i)
    EXPECT_TRUE(test::all_close(models[i].model->forward(inputs[i]),
                                load_npy(dir + "/torch_logits_" + models[i].name + ".npy"), 1e-5, 1e-5))
        << models[i].name;
}

// torch models' state_dicts written by the script and loaded into cajal's models; cajal's
// eval-mode outputs must equal torch's.
TEST(Serialize, PyTorchModelsRunInCajal) {
  std::string dir = test::temp_dir();
  ASSERT_TRUE(test::run_reference("safetensors_reference.py", "model_write " + dir + " mlp cnn"));
  for (TestModel& m : test_models()) {
    SCOPED_TRACE(m.name);
    std::string path = dir + "/torch_" + m.name + ".safetensors";
    nn::load(m.model, path);
    expect_same_state(m.model->state_dict(), load_safetensors(path));
    m.model->eval();
    NoGradGuard no_grad;
    Tensor logits = m.model->forward(load_npy(dir + "/x_" + m.name + ".npy"));
    EXPECT_TRUE(test::all_close(logits, load_npy(dir + "/torch_logits_" + m.name + ".npy"), 1e-5, 1e-5));
  }
}

}  // namespace cajal
