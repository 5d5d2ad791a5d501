// IDX reader against files NumPy wrote (raw and gzipped) and against the real
// Fashion-MNIST files parsed by hand in NumPy (tests/reference/data_idx_reference.py).
#include <filesystem>
#include <fstream>

#include "cajal/data/idx.h"
#include "support/test_support.h"

namespace cajal {
namespace {

using data::load_idx_pair;
using data::read_idx;

class IdxFiles : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = test::temp_dir();
    written_ = test::run_reference("data_idx_reference.py", "write " + dir_);
  }
  void SetUp() override { ASSERT_TRUE(written_); }
  static std::string path(const std::string& name) { return dir_ + "/" + name; }
  static inline std::string dir_;
  static inline bool written_ = false;
};

TEST_F(IdxFiles, EveryTypeCodeRawAndGzipped) {
  for (const char* name : {"images", "labels", "int8", "int16", "int32", "float32", "float64", "empty"}) {
    SCOPED_TRACE(name);
    const Tensor expected = load_npy(path(std::string(name) + ".npy"));
    for (const std::string suffix : {".idx", ".idx.gz"}) {
      const Tensor got = read_idx(path(name + suffix));
      EXPECT_EQ(got.dtype(), expected.dtype()) << suffix;
      EXPECT_TRUE(test::all_close(got, expected, 0, 0)) << suffix;
    }
  }
}

TEST_F(IdxFiles, PairScaledAndRaw) {
  const Tensor images = load_npy(path("images.npy"));  // uint8 [5, 4, 3]
  const Tensor labels = load_npy(path("labels.npy"));

  auto scaled = std::dynamic_pointer_cast<const data::TensorDataset>(load_idx_pair(path("images.idx.gz"), path("labels.idx")));
  ASSERT_TRUE(scaled);
  EXPECT_EQ(scaled->size(), 5);
  EXPECT_EQ(scaled->inputs().sizes(), Dims({5, 1, 4, 3}));
  EXPECT_EQ(scaled->inputs().dtype(), DType::f32);
  EXPECT_EQ(scaled->targets().dtype(), DType::i64);
  EXPECT_EQ(scaled->targets().to_vector<int64_t>(), (std::vector<int64_t>{3, 0, 9, 9, 1}));
  const data::Example third = scaled->get(2);
  EXPECT_EQ(third.target.item<int64_t>(), 9);
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 3; ++j) EXPECT_EQ(third.input.at<float>({0, i, j}), images.at<uint8_t>({2, i, j}) / 255.0f);

  auto raw = std::dynamic_pointer_cast<const data::TensorDataset>(
      load_idx_pair(path("images.idx"), path("labels.idx.gz"), {.scale = false}));
  EXPECT_TRUE(test::all_close(raw->inputs(), images, 0, 0));

  // EMNIST stores images transposed.
  auto transposed = std::dynamic_pointer_cast<const data::TensorDataset>(
      load_idx_pair(path("images.idx"), path("labels.idx"), {.scale = false, .transpose = true}));
  EXPECT_TRUE(test::all_close(transposed->inputs(), images.transpose(1, 2), 0, 0));
}

TEST_F(IdxFiles, BrokenFilesNameTheFileAndTheProblem) {
  test::expect_error<IOError>([] { read_idx(path("bad_magic.idx")); }, {"bad_magic.idx", "magic"});
  test::expect_error<IOError>([] { read_idx(path("bad_type.idx")); }, {"bad_type.idx", "type code 0x0A"});
  test::expect_error<IOError>([] { read_idx(path("truncated.idx")); },
                              {"truncated.idx", "uint8 [5, 4, 3]", "60 bytes", "53 data bytes", "truncated"});
  test::expect_error<IOError>([] { read_idx(path("trailing.idx")); }, {"trailing.idx", "62 data bytes"});
  test::expect_error<IOError>([] { read_idx(path("short_header.idx")); }, {"short_header.idx", "truncated header"});
  test::expect_error<IOError>([] { read_idx(path("huge_dims.idx")); }, {"huge_dims.idx", "more than the file holds"});
  test::expect_error<IOError>([] { read_idx(path("truncated.idx.gz")); }, {"truncated.idx.gz", "gzip"});
  test::expect_error<IOError>([] { read_idx(path("missing.idx")); }, {"missing.idx", "no such file"});
  test::expect_error<IOError>([] { load_idx_pair(path("images.idx"), path("four_labels.idx")); },
                              {"5 images in", "images.idx", "4 labels in", "four_labels.idx"});
  test::expect_error<IOError>([] { load_idx_pair(path("labels.idx"), path("labels.idx")); },
                              {"labels.idx", "expected uint8 images [N, H, W]"});
}

// The real data, when the Debian package dataset-fashion-mnist is installed.
// Found by fuzz/idx_fuzz (UBSan: signed overflow in contiguous_strides): nine dims, one of
// them 0, the others 0x40404040, so no bytes are declared but the strides overflow int64.
TEST(IdxFuzzFindings, ZeroSizedShapeWithHugeDimsIsRefused) {
  const unsigned char bytes[] = {0x00, 0x00, 0x08, 0x09, 0x40, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40,
                                 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x04, 0x06, 0x05, 0x07};
  std::string path = test::temp_dir() + "/strides-overflow-idx";
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes), sizeof bytes);
  test::expect_error<Error>([&] { data::read_idx(path); }, {"strides-overflow-idx"});
}

TEST(FashionMnist, CountsLabelsAndPixelsMatchNumPy) {
  const std::string source = "/usr/share/datasets/fashion-mnist";
  if (!std::filesystem::exists(source + "/train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const std::string dir = test::temp_dir();
  ASSERT_TRUE(test::run_reference("data_idx_reference.py", "fashion " + source + " " + dir));

  for (const auto& [split, count] : {std::pair<std::string, int64_t>{"train", 60000}, {"t10k", 10000}}) {
    SCOPED_TRACE(split);
    const std::string images_path = source + "/" + split + "-images-idx3-ubyte.gz";
    const std::string labels_path = source + "/" + split + "-labels-idx1-ubyte.gz";
    const Tensor images = read_idx(images_path);
    const Tensor labels = read_idx(labels_path);
    ASSERT_EQ(images.sizes(), Dims({count, 28, 28}));
    ASSERT_EQ(labels.sizes(), Dims({count}));
    EXPECT_EQ(labels.to(DType::i64).min().item<int64_t>(), 0);
    EXPECT_EQ(labels.to(DType::i64).max().item<int64_t>(), 9);
    EXPECT_TRUE(test::all_close(labels.to(DType::i64), load_npy(dir + "/" + split + "_labels.npy"), 0, 0));
    EXPECT_EQ(images.to(DType::i64).sum().item<int64_t>(), load_npy(dir + "/" + split + "_pixel_sum.npy").item<int64_t>());
    const Tensor picks = load_npy(dir + "/" + split + "_picks.npy");
    const Tensor picked = load_npy(dir + "/" + split + "_picked_images.npy");
    EXPECT_TRUE(test::all_close(index_select(images, 0, picks), picked, 0, 0));
  }

  // The dataset a training run uses: float [N, 1, 28, 28] in [0, 1], int64 labels.
  auto test_set = std::dynamic_pointer_cast<const data::TensorDataset>(
      load_idx_pair(source + "/t10k-images-idx3-ubyte.gz", source + "/t10k-labels-idx1-ubyte.gz"));
  ASSERT_EQ(test_set->size(), 10000);
  const Tensor picked = load_npy(dir + "/t10k_picked_scaled.npy");
  const data::Example last = test_set->get(9999);
  EXPECT_TRUE(test::all_close(last.input, picked[3].unsqueeze(0), 0, 0));
  EXPECT_EQ(last.target.item<int64_t>(), load_npy(dir + "/t10k_labels.npy")[9999].item<int64_t>());
}

}  // namespace
}  // namespace cajal
