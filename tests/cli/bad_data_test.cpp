// Bad data, not bad code (issue 11): data files that cannot be right, given to `cajal train`
// and `cajal eval`. Each must end in one line naming the file and the row, column or example,
// and an exit code of 1; a failure inside the DataLoader's workers must not hang the program
// (each run is killed after kSeconds). docs/reliability.md lists these cases.
#include <filesystem>
#include <fstream>

#include "cajal/core/tensor.h"
#include "cajal/io/npy.h"
#include "cajal/io/png.h"
#include "cajal/ops/creation.h"
#include "program.h"
#include "support/test_support.h"

namespace fs = std::filesystem;

namespace cajal {
namespace {

constexpr int kMemoryMiB = 2048;
constexpr int kSeconds = 30;

// A table of 2 features and labels 0 and 1; one epoch of a small MLP on it.
const char* kTableConfig =
    "data: {reader: csv, train: good.csv}\nmodel: {preset: mlp, options: {hidden: [4]}}\n"
    "epochs: 1\nnum_workers: 0\noutput: run\n";
const char* kGoodTable = "a,b,label\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n2,1,0\n4,3,1\n";

class BadData : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::temp_dir(); }

  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  void write(const std::string& name, const std::string& text) const {
    fs::create_directories(fs::path(path(name)).parent_path());
    std::ofstream(path(name), std::ios::binary) << text;
  }
  // A gray PNG of height x width pixels.
  void write_png(const std::string& name, int64_t height, int64_t width) const {
    const std::vector<uint8_t> pixels(static_cast<size_t>(height * width), 128);
    write(name, encode_png(pixels, height, width, 1));
  }
  test::ProgramResult run(const std::string& args) const { return test::cajal_within(dir_, args, kMemoryMiB, kSeconds); }

  // Trains the table model into run/ (for eval).
  void train_table_model() {
    write("good.csv", kGoodTable);
    write("table.yaml", kTableConfig);
    const test::ProgramResult trained = run("train table.yaml");
    ASSERT_EQ(trained.code, 0) << trained.err;
  }

  std::string dir_;
};

TEST_F(BadData, CsvTablesThatCannotBeRead) {
  train_table_model();
  struct Case {
    const char* file;
    const char* contents;
    const char* says;
  };
  const std::vector<Case> cases = {
      {"ragged-short.csv", "a,b,label\n1,2,0\n3,4\n", "ragged-short.csv:3: 2 fields, expected 3 (as the header)"},
      {"ragged-long.csv", "a,b,label\n1,2,0\n3,4,1,9\n", "ragged-long.csv:3: 4 fields, expected 3 (as the header)"},
      {"word.csv", "a,b,label\n1,2,0\n3,four,1\n", "word.csv:3:2: 'four' in column 'b' is not a number"},
      {"infinite.csv", "a,b,label\ninf,2,0\n3,4,1\n", "infinite.csv:2:1: 'inf' in column 'a' is not a finite number"},
      {"missing.csv", "a,b,label\n1,nan,0\n3,4,1\n", "missing.csv:2:2: missing value in column 'b'"},
      {"empty.csv", "", "load_csv: empty.csv: no data rows"},
      {"header-only.csv", "a,b,label\n", "load_csv: header-only.csv: no data rows"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.file);
    write(c.file, c.contents);
    test::expect_failure(run(std::string("train table.yaml --set data.train=") + c.file + " --set output=other"), 1,
                         {std::string("table.yaml: ") + c.says});
    test::expect_failure(run(std::string("eval run --data ") + c.file), 1, {c.says});
  }
  // A label beyond the model's classes, in a file eval is given.
  write("label-5.csv", "a,b,label\n1,2,0\n3,4,5\n");
  test::expect_failure(run("eval run --data label-5.csv"), 1,
                       {"label-5.csv: label 5 of example 1 is out of range for the 2 classes of training (0 to 1)"});
  EXPECT_FALSE(fs::exists(path("other")));  // no run started
}

// NaN or infinity in a .npy file (the CSV reader refuses them cell by cell, above): named with
// the file, the example and the element, before training or evaluating.
TEST_F(BadData, NonFiniteNumbersInNpyFiles) {
  train_table_model();
  Tensor inputs = tensor({1.f, 2.f, 3.f, 4.f, 5.f, std::nanf(""), 7.f, 8.f}, {4, 2});
  save_npy(inputs, path("x.npy"));
  save_npy(tensor({0, 1, 0, 1}), path("y.npy"));
  write("npy.yaml", "data: {reader: npy, train: {inputs: x.npy, targets: y.npy}}\nmodel: {preset: mlp}\nepochs: 1\n");
  const char* says = "x.npy: example 2 has nan at element 1 of its 2 inputs; the data must be finite numbers (no NaN or infinity)";
  test::expect_failure(run("train npy.yaml"), 1, {std::string("npy.yaml: ") + says});
  test::expect_failure(run("eval run --data x.npy --labels y.npy"), 1, {says});
  // Regression targets: infinity.
  save_npy(tensor({1.f, 2.f, 3.f, 4.f}, {2, 2}), path("x2.npy"));
  save_npy(tensor({0.5f, -INFINITY}), path("y2.npy"));
  test::expect_failure(run("train npy.yaml --set data.train.inputs=x2.npy --set data.train.targets=y2.npy --set loss=mse"), 1,
                       {"npy.yaml: y2.npy: example 1 has -inf at element 0 of its 1 targets"});
}

TEST_F(BadData, EmptyIdxAndNpyFiles) {
  write("empty.idx", "");
  write("idx.yaml", "data: {reader: idx, train: {inputs: empty.idx, targets: empty.idx}}\nmodel: {preset: mlp}\n");
  test::expect_failure(run("train idx.yaml"), 1, {"empty.idx"});
  save_npy(zeros({0, 2}), path("none.npy"));
  save_npy(zeros({0}, {.dtype = DType::i64}), path("no-labels.npy"));
  write("npy.yaml", "data: {reader: npy, train: {inputs: none.npy, targets: no-labels.npy}}\nmodel: {preset: mlp}\n");
  test::expect_failure(run("train npy.yaml"), 1, {"npy.yaml: data.train (no-labels.npy): no examples"});
}

// Images of two sizes cannot be batched: the two files and their sizes are named, and
// data.image_size resizes them (as eval does to the model's input size).
TEST_F(BadData, ImagesOfMixedSizes) {
  write_png("images/a_cat/1.png", 4, 4);
  write_png("images/a_cat/2.png", 4, 4);
  write_png("images/b_dog/3.png", 6, 5);
  write("images.yaml", "data: {reader: image_folder, train: images, channels: 1}\nmodel: {preset: mlp, options: {hidden: [4]}}\n"
                       "epochs: 1\nnum_workers: 0\noutput: run\n");
  test::expect_failure(run("train images.yaml"), 1,
                       {"images.yaml: images of different sizes: ", "images/a_cat/1.png is 4 x 4 pixels (height x width), ",
                        "images/b_dog/3.png is 6 x 5; set data.image_size (e.g. [4, 4]) to resize every image to one size"});
  const test::ProgramResult resized = run("train images.yaml --set data.image_size=[4,4]");
  ASSERT_EQ(resized.code, 0) << resized.err;
  const test::ProgramResult eval = run("eval run --data images");
  EXPECT_EQ(eval.code, 0) << eval.err;
  EXPECT_NE(eval.out.find("(3 examples)"), std::string::npos) << eval.out;
}

// An image that passes the header check but cannot be decoded fails inside the DataLoader,
// in the training thread (num_workers 0) or in workers: one line names the example and the
// file, and the program ends (within kSeconds) with its workers joined.
TEST_F(BadData, ImageThatFailsInTheLoaderIsNamed) {
  write_png("images/a_cat/1.png", 4, 4);
  write_png("images/b_dog/3.png", 4, 4);
  write_png("images/b_dog/4.png", 4, 4);
  const std::string png = encode_png(std::vector<uint8_t>(16 * 16, 7), 16, 16, 1);
  write("images/a_cat/2.png", png.substr(0, png.find("IDAT") + 10));  // the header intact, the pixels cut
  write("images.yaml", "data: {reader: image_folder, train: images, channels: 1, image_size: [4, 4], normalize: false}\n"
                       "model: {preset: mlp, options: {hidden: [4]}}\nepochs: 1\noutput: run\n");
  for (int workers : {0, 1, 3}) {
    SCOPED_TRACE(workers);
    test::expect_failure(run("train images.yaml --set num_workers=" + std::to_string(workers)), 1,
                         {"DataLoader: example 1: read_image: ", "images/a_cat/2.png: cannot decode the image: "});
  }
}

// Fewer examples than one batch: one short batch per epoch, and metrics that are numbers.
TEST_F(BadData, DatasetSmallerThanOneBatchTrains) {
  write("good.csv", kGoodTable);
  write("table.yaml", kTableConfig);
  const test::ProgramResult trained = run("train table.yaml --set batch_size=64 --set epochs=2");
  ASSERT_EQ(trained.code, 0) << trained.err;
  EXPECT_NE(trained.out.find("note: training has 6 example(s), fewer than one batch (batch_size 64)"), std::string::npos)
      << trained.out;
  const std::string metrics = test::read_file(path("run/metrics.csv"));
  EXPECT_EQ(metrics.find("nan"), std::string::npos) << metrics;
  EXPECT_EQ(std::count(metrics.begin(), metrics.end(), '\n'), 3) << metrics;  // the header and 2 epochs
}

}  // namespace
}  // namespace cajal
