// Compression from the command line, on synthetic 8x8 images of four classes: `cajal prune`
// (unstructured and structured) writes runs whose model files hold what they say and that
// `cajal eval` runs; a distilled student trains from a teacher run; bad requests are one line.
#include <algorithm>
#include <filesystem>
#include <sstream>

#include "cajal/io/safetensors.h"
#include "program.h"
#include "support/test_support.h"

namespace fs = std::filesystem;

namespace cajal {
namespace {

const char* kBase = R"(data:
  reader: idx
  train: {inputs: train-images.idx, targets: train-labels.idx}
  test: {inputs: test-images.idx, targets: test-labels.idx}
  class_names: [top left, top right, bottom left, bottom right]
model: {preset: cnn, options: {channels: [8, 16], hidden: 16}}
optimizer: {name: adam, lr: 0.01}
epochs: 3
batch_size: 16
num_workers: 0
output: runs/base
)";

// Trains the base run once for every test of the suite.
class CompressProgram : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(test::temp_dir());
    test::write_squares(*dir_, "train", 400, 5);
    test::write_squares(*dir_, "test", 200, 6);
    test::write_text(*dir_ + "/base.yaml", kBase);
    test::ProgramResult r = test::cajal(*dir_, "train base.yaml");
    ASSERT_EQ(r.code, 0) << r.out << r.err;
  }
  static const std::string& dir() { return *dir_; }
  static std::string* dir_;
};
std::string* CompressProgram::dir_ = nullptr;

double test_accuracy(const std::string& out) {
  const size_t at = out.find("test accuracy ");
  return at == std::string::npos ? -1 : std::stod(out.substr(at + 14));
}

TEST_F(CompressProgram, UnstructuredPruningKeepsItsZeros) {
  test::ProgramResult r = test::cajal(dir(), "prune runs/base --sparsity 0.8 --epochs 2");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  // round(0.8 * 2312) = 1850 of the 2312 conv and linear weights.
  EXPECT_NE(r.out.find("80.02% of the convolution and linear weights are zero"), std::string::npos) << r.out;
  EXPECT_GT(test_accuracy(r.out), 0.9) << r.out;
  // The file's conv and linear weights: 80% zeros, counted independently of the trainer.
  int64_t zeros = 0, total = 0;
  for (const auto& [name, t] : load_safetensors(dir() + "/runs/base_pruned/model.safetensors")) {
    if (!name.ends_with(".weight") || t.dim() < 2) continue;
    for (float v : t.to_vector<float>()) zeros += v == 0.0f;
    total += t.numel();
  }
  EXPECT_EQ(zeros, static_cast<int64_t>(std::nearbyint(0.8 * static_cast<double>(total))));
  r = test::cajal(dir(), "eval runs/base_pruned");
  EXPECT_EQ(r.code, 0) << r.err;
}

TEST_F(CompressProgram, StructuredPruningShrinksTheModelFile) {
  test::ProgramResult r = test::cajal(dir(), "prune runs/base --sparsity 0.5 --structured --epochs 2");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("kept: 0=4 4=8 9=8"), std::string::npos) << r.out;
  EXPECT_GT(test_accuracy(r.out), 0.9) << r.out;
  const std::string file = dir() + "/runs/base_channels/model.safetensors";
  EXPECT_EQ(load_safetensors_metadata(file).at("cajal.pruned_widths"), "{\"0\": 4, \"4\": 8, \"9\": 8}");
  for (const auto& [name, t] : load_safetensors(file)) {
    if (name == "0.weight") {
      EXPECT_EQ(t.sizes(), (Dims{4, 1, 3, 3}));
    }
    if (name == "4.weight") {
      EXPECT_EQ(t.sizes(), (Dims{8, 4, 3, 3}));
    }
    if (name == "9.weight") {
      EXPECT_EQ(t.sizes(), (Dims{8, 8 * 2 * 2}));
    }
    if (name == "12.weight") {
      EXPECT_EQ(t.sizes(), (Dims{4, 8}));
    }
  }
  // eval rebuilds the pruned shape from the metadata and gives the accuracy training printed.
  r = test::cajal(dir(), "eval runs/base_channels");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("accuracy"), std::string::npos) << r.out;
}

TEST_F(CompressProgram, DistilledStudentLearnsFromATeacher) {
  const std::string student = std::string(kBase) + "distill: {teacher: runs/base, temperature: 4, alpha: 0.9}\n";
  test::write_text(dir() + "/student.yaml", student);
  test::ProgramResult r = test::cajal(dir(), "train student.yaml --set model.options.channels=[2,4] --output runs/student");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("distillation: teacher"), std::string::npos) << r.out;
  EXPECT_GT(test_accuracy(r.out), 0.8) << r.out;
  // A student that normalizes its inputs while the teacher did not: the teacher still gets
  // pixels as it saw them (with only its soft targets, alpha 1, the student learns from them).
  r = test::cajal(dir(), "train student.yaml --set data.normalize=true --set distill.alpha=1 --output runs/student_normalized");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_GT(test_accuracy(r.out), 0.8) << r.out;
}

TEST_F(CompressProgram, QuantizedModelIsSmallerAndAgrees) {
  test::ProgramResult r = test::cajal(dir(), "quantize runs/base --calibration 100 --method percentile");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("calibrated on 100 training examples (percentile ranges)"), std::string::npos) << r.out;
  const std::string file = dir() + "/runs/base/model_int8.safetensors";
  EXPECT_EQ(load_safetensors_metadata(file).at("cajal.quantized"), "int8");
  EXPECT_LT(fs::file_size(file) * 2, fs::file_size(dir() + "/runs/base/model.safetensors"));  // headers weigh on so small a model
  // eval and predict run the int8 file; its accuracy is the float model's on these easy squares.
  r = test::cajal(dir(), "eval runs/base/model_int8.safetensors");
  ASSERT_EQ(r.code, 0) << r.err;
  const size_t at = r.out.find("accuracy");
  ASSERT_NE(at, std::string::npos) << r.out;
  EXPECT_GT(std::stod(r.out.substr(r.out.find_first_of("0123456789", at))), 0.9) << r.out;
  r = test::cajal(dir(), "predict runs/base/model_int8.safetensors --input test-images.idx");
  EXPECT_EQ(r.code, 0) << r.err;
  r = test::cajal(dir(), "quantize runs/base/model_int8.safetensors");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("not a run folder"), std::string::npos) << r.err;
  r = test::cajal(dir(), "quantize runs/base --method histogram");
  EXPECT_NE(r.err.find("--method must be minmax, percentile or mse"), std::string::npos) << r.err;
}

TEST_F(CompressProgram, QuantizationAwareTrainingWritesBothModels) {
  test::ProgramResult r = test::cajal(dir(), "quantize runs/base --qat-epochs 1");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("quantization-aware training"), std::string::npos) << r.out;
  const size_t at = r.out.find("int8 model (quantization-aware training): test accuracy ");
  ASSERT_NE(at, std::string::npos) << r.out;
  EXPECT_GT(std::stod(r.out.substr(at + 56)), 0.9) << r.out;
  // The float weights load as the preset; the int8 file as an int8 model.
  EXPECT_EQ(test::cajal(dir(), "eval runs/base_qat").code, 0);
  EXPECT_EQ(load_safetensors_metadata(dir() + "/runs/base_qat/model_int8.safetensors").at("cajal.quantized"), "int8");
  r = test::cajal(dir(), "eval runs/base_qat/model_int8.safetensors");
  EXPECT_EQ(r.code, 0) << r.err;
  r = test::cajal(dir(), "quantize runs/base --qat-epochs 1 --method mse");
  EXPECT_NE(r.err.find("--method is for post-training quantization"), std::string::npos) << r.err;
}

TEST_F(CompressProgram, CajalInferPredictsAsCajalPredicts) {
  // The first test image as .npy, raw pixels in [0, 1] (cajal-infer normalizes as training did).
  test::ProgramResult r = test::cajal(dir(), "predict runs/base --input test-images.idx");
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string first_row = r.out.substr(r.out.find('\n') + 1, r.out.find('\n', r.out.find('\n') + 1) - r.out.find('\n') - 1);
  const std::string label = first_row.substr(first_row.find(',') + 1, first_row.find(',', first_row.find(',') + 1) - first_row.find(',') - 1);
  std::string command = "cd '" + dir() + "' && /usr/bin/python3 -c \"import numpy as np; d = open('test-images.idx', 'rb').read(); "
                        "np.save('one.npy', (np.frombuffer(d, np.uint8, offset=16)[:64].reshape(1, 1, 8, 8) / 255).astype(np.float32))\"";
  ASSERT_EQ(std::system(command.c_str()), 0);
  r = test::cajal(dir(), "quantize runs/base --calibration 100 --output runs/base/infer_int8.safetensors");
  ASSERT_EQ(r.code, 0) << r.err;
  for (const std::string model : {"runs/base", "runs/base/infer_int8.safetensors"}) {
    command = "cd '" + dir() + "' && '" CAJAL_INFER "' " + model + " one.npy > infer.txt 2> infer_err.txt";
    ASSERT_EQ(std::system(command.c_str()), 0) << test::read_file(dir() + "/infer_err.txt");
    const std::string out = test::read_file(dir() + "/infer.txt");
    EXPECT_EQ(out.substr(0, out.find('\t')), label) << model << ": " << out << " vs " << first_row;
    if (model == "runs/base") {  // the float model: the same probability as the full program's
      double best = 0;
      std::stringstream cells(first_row.substr(first_row.find(',', first_row.find(',') + 1) + 1));
      for (std::string cell; std::getline(cells, cell, ',');) best = std::max(best, std::stod(cell));
      EXPECT_NEAR(std::stod(out.substr(out.find('\t') + 1)), best, 1e-4) << out << " vs " << first_row;
    }
  }
  command = "cd '" + dir() + "' && '" CAJAL_INFER "' base.yaml one.npy > infer.txt 2> infer_err.txt";
  EXPECT_NE(std::system(command.c_str()), 0);
  const std::string err = test::read_file(dir() + "/infer_err.txt");
  EXPECT_EQ(err.rfind("cajal-infer: error: ", 0), 0u) << err;
  EXPECT_EQ(err.find('\n'), err.size() - 1) << err;
}

TEST_F(CompressProgram, BadRequestsAreOneLine) {
  // `cajal ARGS` fails with one line on stderr that says `what`.
  auto expect_one_line = [&](const std::string& args, const std::string& what) {
    const test::ProgramResult r = test::cajal(dir(), args);
    EXPECT_NE(r.code, 0) << args;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << args << ": " << r.err;
    EXPECT_NE(r.err.find(what), std::string::npos) << args << ": " << r.err;
  };
  expect_one_line("prune runs/base --sparsity 1.5", "--sparsity must be a number in [0, 1)");
  expect_one_line("prune runs/nothing --sparsity 0.5", "not a run folder");
  expect_one_line("train base.yaml --set prune.sparsity=-0.2 --output runs/bad", "'sparsity' must be in [0, 1)");
  // A teacher that knows other classes than the student's data.
  test::write_text(dir() + "/renamed.yaml", std::string(kBase) + "distill: {teacher: runs/base}\n");
  expect_one_line("train renamed.yaml --set data.class_names=[a,b,c,d] --output runs/renamed",
                  "the teacher's classes (top left, ...) are not the data's (a, ...)");
  expect_one_line("train renamed.yaml --set data.classes=[0,1] --output runs/renamed",
                  "the teacher has 4 classes, the student's data 2");
}

}  // namespace
}  // namespace cajal
