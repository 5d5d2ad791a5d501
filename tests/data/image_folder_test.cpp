// Image reader and image folders against PIL's decoding and torch's bilinear resize of
// files PIL wrote at test time (tests/reference/data_image_reference.py).
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "cajal/data/image.h"
#include "cajal/data/image_folder.h"
#include "cajal/data/loader.h"
#include "support/test_support.h"

namespace cajal {
namespace {

class ImageFolder : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = test::temp_dir();
    written_ = test::run_reference("data_image_reference.py", dir_);
    std::ifstream list(dir_ + "/files.txt");
    for (std::string line; std::getline(list, line);) files_.push_back(line);
  }
  void SetUp() override { ASSERT_TRUE(written_); }
  static Tensor expected(size_t k, const std::string& kind) {
    return load_npy(dir_ + "/expected_" + std::to_string(k) + "_" + kind + ".npy");
  }
  static bool is_jpeg(size_t k) { return files_[k].ends_with(".jpg"); }
  static inline std::string dir_;
  static inline std::vector<std::string> files_;
  static inline bool written_ = false;
};

TEST_F(ImageFolder, ClassesFilesAndLabelsInSortedOrder) {
  const auto folder = data::load_image_folder(dir_ + "/root");
  EXPECT_EQ(folder->classes(), (std::vector<std::string>{"a_cat", "b_dog"}));
  ASSERT_EQ(folder->size(), static_cast<int64_t>(files_.size()));  // notes.txt is not an image
  const std::vector<int64_t> labels = load_npy(dir_ + "/labels.npy").to_vector<int64_t>();
  for (size_t k = 0; k < files_.size(); ++k) {
    EXPECT_EQ(folder->file(k), files_[k]);
    EXPECT_EQ(folder->label(k), labels[k]);
    EXPECT_EQ(folder->get(k).target.item<int64_t>(), labels[k]);
    EXPECT_EQ(folder->get(k).target.dtype(), DType::i64);
  }
}

TEST_F(ImageFolder, DecodedPixelsMatchPil) {
  const auto rgb = data::load_image_folder(dir_ + "/root");
  const auto gray = data::load_image_folder(dir_ + "/root", {.channels = 1});
  for (size_t k = 0; k < files_.size(); ++k) {
    SCOPED_TRACE(files_[k]);
    // PNG and BMP are lossless: the same bytes. JPEG decoders differ by a few levels.
    const double exact = is_jpeg(k) ? 4.0 / 255 : 0.0;
    EXPECT_TRUE(test::all_close(rgb->get(k).input, expected(k, "rgb"), 0, exact));
    // Color to gray: stb weighs (77 R + 150 G + 29 B) / 256, PIL (299 R + 587 G + 114 B) / 1000.
    EXPECT_TRUE(test::all_close(gray->get(k).input, expected(k, "gray"), 0, exact + 1.01 / 255));
  }
  const size_t gray_png = 2;  // stored gray: no conversion, exact
  ASSERT_TRUE(files_[gray_png].ends_with("gray.png"));
  EXPECT_TRUE(test::all_close(gray->get(gray_png).input, expected(gray_png, "gray"), 0, 0));
}

TEST_F(ImageFolder, ResizedLikeTorchBilinearAndBatched) {
  const auto folder = data::load_image_folder(dir_ + "/root", {.height = 4, .width = 6});
  std::vector<data::Example> examples;
  for (size_t k = 0; k < files_.size(); ++k) {
    SCOPED_TRACE(files_[k]);
    examples.push_back(folder->get(k));
    EXPECT_EQ(examples.back().input.sizes(), Dims({3, 4, 6}));
    EXPECT_TRUE(test::all_close(examples.back().input, expected(k, "resized"), 1e-6, is_jpeg(k) ? 4.0 / 255 : 1e-7));
  }
  const data::Batch batch = data::collate(examples);
  EXPECT_EQ(batch.input.sizes(), Dims({static_cast<int64_t>(files_.size()), 3, 4, 6}));
  EXPECT_EQ(batch.target.to_vector<int64_t>(), load_npy(dir_ + "/labels.npy").to_vector<int64_t>());

  // Workers decode concurrently and deliver the same batch.
  data::DataLoader loader(folder, {.batch_size = static_cast<int64_t>(files_.size()), .num_workers = 3, .prefetch = 1});
  int64_t batches = 0;
  for (data::Batch& loaded : loader) {
    ++batches;
    EXPECT_TRUE(test::all_close(loaded.input, batch.input, 0, 0));
  }
  EXPECT_EQ(batches, 1);
}

TEST_F(ImageFolder, ErrorsNameTheFolderOrFile) {
  test::expect_error<IOError>([] { data::load_image_folder(dir_ + "/broken"); }, {"bad.png", "not a readable PNG"});
  test::expect_error<IOError>([] { data::load_image_folder(dir_ + "/no_images"); },
                              {"no_images/cls", "no PNG, JPEG or BMP files for class 'cls'"});
  test::expect_error<IOError>([] { data::load_image_folder(dir_ + "/absent"); }, {"absent", "no such folder"});
  test::expect_error<IOError>([] { data::load_image_folder(dir_ + "/root/a_cat"); }, {"a_cat", "no class sub-folders"});
  test::expect_error<IOError>([] { data::read_image(dir_ + "/broken/cls/bad.png", 3); }, {"bad.png", "cannot decode"});
  // A PNG cut short after its header: readable as an image at load time, not decodable; the
  // reason is stb_image's in words, not its internal code.
  for (const std::string& file : files_) {
    if (!file.ends_with(".png")) continue;
    std::ifstream in(file, std::ios::binary);
    std::string bytes(std::istreambuf_iterator<char>(in), {});
    const std::string cut = dir_ + "/cut.png";
    std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.find("IDAT") + 10);
    test::expect_error<IOError>([&] { data::read_image(cut, 3); },
                                {"read_image: ", cut, ": cannot decode the image: Corrupt PNG (a damaged or truncated PNG, "
                                 "JPEG or BMP file)"});
    break;
  }
  test::expect_error<ValueError>([] { data::load_image_folder(dir_ + "/root", {.channels = 2}); }, {"channels must be 1 or 3"});
  test::expect_error<ValueError>([] { data::load_image_folder(dir_ + "/root", {.height = 4}); }, {"4x0"});
  // Images of different sizes cannot be batched without resizing; the error names the example.
  const auto unresized = data::load_image_folder(dir_ + "/root");
  test::expect_error<ShapeError>([&] { data::collate({unresized->get(0), unresized->get(1)}); },
                                 {"collate: example 1 has input shape [3, 9, 11] but example 0 has [3, 4, 4]"});
  // Each file's size as its header states it, for a check before loading (`cajal train`
  // names the two files that differ).
  EXPECT_EQ(unresized->image_info(0).height, 4);
  EXPECT_EQ(unresized->image_info(0).width, 4);
  EXPECT_EQ(unresized->image_info(1).height, 9);
  EXPECT_EQ(unresized->image_info(1).width, 11);
}

// fuzz/image_fuzz found three ways Debian's stb_image misread a JPEG: a Huffman table whose 16
// counts add up to more than 256 codes (it wrote past a 257-entry array, UBSan); a scan using a
// table no DHT segment defined (decoded from uninitialised memory); a marker inside the
// entropy-coded data, after which its bit count went negative and it shifted by 36 (UBSan).
// JPEGs are decoded by libjpeg-turbo since: each file is refused with the reason, by
// read_image and read_image_info alike, and under the sanitizers without a report.
std::string from_hex(const std::string& hex) {
  std::string bytes;
  for (size_t i = 0; i < hex.size(); i += 2) bytes += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return bytes;
}

// A progressive JPEG rereads its coefficients at every scan, so scans are capped: exactly
// kMaxJpegScans decode, one more is refused with the reason.
TEST(ImageFuzzFindings, ProgressiveScansAreCapped) {
  const std::string dir = test::temp_dir();
  ASSERT_TRUE(test::run_reference("jpeg_scans_reference.py", dir));
  EXPECT_EQ(data::read_image(dir + "/at_cap.jpg", 3).sizes(), (Dims{3, 16, 16}));
  test::expect_error<IOError>([&] { data::read_image(dir + "/over_cap.jpg", 3); },
                              {"over_cap.jpg", "more than 1000 progressive scans"});
}

TEST(ImageFuzzFindings, JpegsStbMisreadAreRefused) {
  std::string too_many_codes = "\xFF\xD8\xFF\xC4";
  too_many_codes += '\0';
  too_many_codes += static_cast<char>(2 + 17);  // segment length: itself, the class/id byte and 16 counts
  too_many_codes += '\0';                       // table class 0, id 0
  too_many_codes += std::string(16, '\x11');    // 16 x 17 = 272 codes
  too_many_codes += "\xFF\xD9";
  // A scan header (one component, DC and AC table 0) after a DC table only.
  std::string undefined_table = "\xFF\xD8\xFF\xC4";
  undefined_table += std::string("\x00\x14\x00\x01", 4) + std::string(16, '\0');
  undefined_table += std::string("\xFF\xDA\x00\x08\x01\x01\x00\x00\x3F\x00", 10) + "\x55\xFF\xD9";
  const std::string marker_in_scan = from_hex(
      "ffd8ffe000104a46494600010100000100010089504e474300080606070605080707070909080a0c140d0c0b0b0c1912"
      "130f141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffdb0043010909"
      "090c0b0c180d0d1832211c21323232323232323232323232323232323232323232323232323232323232323232323232"
      "3232323232323232323232323232ffc00011080004000c03012200021101031101ffc4001f0000010501010101010100"
      "000000000000000102030405060708090a0bffc400b5100002010303020403050504040000017d010203000000010020"
      "0800000000c0000000c40e0000c40e0000000000000000000024191919ff1a1a1aff191b1bff1c1c1cff1d1d1dff1e1e"
      "1eff1f1fdcdc494a535455565758595a636465666768696a737475767778797a838485868788898a9293949596979899"
      "9aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3ffff619003e8f208d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1"
      "f2f3f4f5f6f7f8f9faffc4001f0100030101010101010101010000000000000102030405060708090a0bffc400b51100"
      "020102040403040705040400010277000102031104052130061241510761711322328108144291a1b1c109233352f015"
      "6272d10a162434e125f11718191a262728292a35363738393a434445466048494a535455565758595a63a16566676869"
      "6a737475767778797a82838485868727898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4"
      "c5c6c7c8c9cad2d3d4d5d6d7d8d9dae2e3e4e5e6a0e8e9eaf2f3f4f5f6f7f8f9faffda000c03010002110311003f00f1"
      "d4b0b7fee5ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
      "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
      "ffffffffffffffffffffffffffffffffffff4e2c2df1f728a2803fffd9");
  const std::string path = test::temp_dir() + "/finding.jpg";
  for (const auto& [bytes, reason] : {std::pair{too_many_codes, "Bogus Huffman table definition"},
                                      std::pair{undefined_table, "SOS before SOF"},
                                      std::pair{marker_in_scan, "Quantization table 0x00 was not defined"}}) {
    std::ofstream(path, std::ios::binary) << bytes;
    test::expect_error<IOError>([&] { data::read_image(path, 3); }, {"finding.jpg", "cannot decode the JPEG: ", reason});
    test::expect_error<IOError>([&] { data::read_image(path, 1); }, {"finding.jpg", reason});
  }
  // read_image_info reads the header only: the table error is in it, the others are not.
  std::ofstream(path, std::ios::binary) << too_many_codes;
  test::expect_error<IOError>([&] { data::read_image_info(path); }, {"finding.jpg", "Bogus Huffman table definition"});
  // stb took fill bytes before the start of image (FF FF D8); libjpeg does not: not an image.
  std::ofstream(path, std::ios::binary) << "\xFF" + too_many_codes;
  test::expect_error<IOError>([&] { data::read_image(path, 3); }, {"finding.jpg", "cannot decode the image"});
}

// fuzz/image_fuzz: 8 x 8 PNGs whose IDAT chunk declares 2 GB (7c000017) and 1.36 GB
// (51000017); stb_image asked for that much before finding the data missing.
TEST(ImageFuzzFindings, PngChunkDeclaringGigabytesIsRefusedBeforeAllocating) {
  const std::vector<std::string> files_in_hex = {
      "89504e470d0a1a0a0000000d4948445200000008000000080800000000e164e1577c00001749444154789c6364608100"
      "46052883851406e3ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
      "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff88920000450000494e44ae626082",
      "89504e470d0a1a0a0000000d4948445200000008000000080800000000e10100005100001749444154789c6364608100"
      "46052883851406e303280300475802989b2588920000000049454e44ae626082"};
  const std::string path = test::temp_dir() + "/bomb.png";
  for (const std::string& hex : files_in_hex) {
    std::ofstream(path, std::ios::binary) << from_hex(hex);
    test::expect_error<IOError>([&] { data::read_image(path, 1); },
                                {"bomb.png", "corrupt image: decoding it would take more than the", "its 64 pixels"});
  }
}

// fuzz/image_fuzz: an 8 x 8 PNG whose first IDAT chunk is empty; stb_image copied it to a null
// pointer (UBSan).
TEST(ImageFuzzFindings, PngWithAnEmptyFirstImageChunkIsRefused) {
  const std::string hex =
      "89504e470d0a1a0a0000000d4948445200000008000000080800000000e1ffffff0000000049444154789c6364608100"
      "46052883851406e303280300475802989b2588920000000049454e44ae426082";
  const std::string path = test::temp_dir() + "/empty_idat.png";
  std::ofstream(path, std::ios::binary) << from_hex(hex);
  test::expect_error<IOError>([&] { data::read_image(path, 1); },
                              {"empty_idat.png", "corrupt PNG: its first image data chunk (IDAT) is empty"});
}

}  // namespace
}  // namespace cajal

namespace cajal {
namespace {

// write_png: read back by read_image (whose decoding the tests above check against PIL), the
// values come back rounded to 8 bits; out-of-range values are clamped.
TEST(ImageWrite, PngRoundTripsThroughEightBits) {
  const std::string path = test::temp_dir() + "/written.png";
  for (int64_t channels : {1, 3}) {
    SCOPED_TRACE(channels);
    Tensor image = rand({channels, 5, 7});
    data::write_png(image, path);
    EXPECT_TRUE(test::all_close(data::read_image(path, channels), round(image * 255.0) / 255.0, 0, 1e-6));
  }
  data::write_png(tensor({-1.f, 2.f}, {1, 1, 2}), path);
  EXPECT_TRUE(test::all_close(data::read_image(path, 1), tensor({0.f, 1.f}, {1, 1, 2})));
  test::expect_error<ShapeError>([&] { data::write_png(zeros({2, 4, 4}), path); }, {"write_png", "written.png", "C 1 or 3"});
}

// image_grid: images row by row, padding of the background around each.
TEST(ImageWrite, GridTilesImagesRowByRow) {
  Tensor images = arange(0, 5, 1, DType::f32).reshape({5, 1, 1, 1}).expand({5, 1, 2, 3}).contiguous();
  Tensor grid = data::image_grid(images, 3, 1, -1.0);
  EXPECT_EQ(grid.sizes(), Dims({1, 2 * 3 + 1, 3 * 4 + 1}));
  EXPECT_EQ(grid.at<float>({0, 0, 0}), -1.f);                 // padding
  EXPECT_EQ(grid.at<float>({0, 1, 1}), 0.f);                  // image 0 at row 0, column 0
  EXPECT_EQ(grid.at<float>({0, 2, 3 + 1 + 1 + 2}), 1.f);      // image 1's last pixel
  EXPECT_EQ(grid.at<float>({0, 4, 4 + 1}), 4.f);              // image 4 at row 1, column 1
  EXPECT_EQ(grid.at<float>({0, 4, 2 * 4 + 1}), -1.f);         // no sixth image
}

}  // namespace
}  // namespace cajal
