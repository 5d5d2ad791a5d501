// TensorBoard event files. Oracles: the CRC-32C test vectors of RFC 3720, and an independent
// reader (tests/reference/tensorboard_reference.py: its own bitwise CRC-32C, Google's protobuf
// library decoding the records, numpy.histogram) that checks every record, tag, step and value.
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "cajal/io/npy.h"
#include "cajal/io/tensorboard.h"
#include "support/test_support.h"

using namespace cajal;
namespace fs = std::filesystem;

namespace {

std::span<const char> bytes_of(const std::string& s) { return {s.data(), s.size()}; }

double unix_now() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }

struct ScalarCase {
  std::string tag;
  int64_t step;
  double value;
};

// tensorboard_reference.py's SCALARS.
const std::vector<ScalarCase> kScalars = {
    {"loss/train", 0, 2.302585092994046},
    {"loss/train", 1, 0.0},
    {"loss/train", 2, -0.0},
    {"loss/val", 1, 0.1},
    {"accuracy", 2, 1e-40},
    {"accuracy", 3, 3.4e38},
    {"special/nan", 4, std::numeric_limits<double>::quiet_NaN()},
    {"special/inf", 5, std::numeric_limits<double>::infinity()},
    {"special/-inf", 6, -std::numeric_limits<double>::infinity()},
    {"big step", (int64_t{1} << 40) + 7, 42.0},
    {"negative step", -3, -1.5},
    {"unicode/na\u00efve \u2713 \U0001f9e0", 7, 0.25},
    {"long/" + std::string(200, 'x'), 8, 123456.789},
};

size_t file_size(const std::string& path) { return fs::file_size(path); }

}  // namespace

TEST(Crc32c, MatchesRfc3720Vectors) {
  // RFC 3720 appendix B.4, and the usual check value of "123456789".
  std::string zeros(32, '\0'), ones(32, '\xff'), ascending(32, 0), descending(32, 0);
  for (int i = 0; i < 32; ++i) {
    ascending[i] = static_cast<char>(i);
    descending[i] = static_cast<char>(31 - i);
  }
  EXPECT_EQ(crc32c(bytes_of(zeros)), 0x8A9136AAu);
  EXPECT_EQ(crc32c(bytes_of(ones)), 0x62A8AB43u);
  EXPECT_EQ(crc32c(bytes_of(ascending)), 0x46DD794Eu);
  EXPECT_EQ(crc32c(bytes_of(descending)), 0x113FDB5Cu);
  EXPECT_EQ(crc32c(bytes_of("123456789")), 0xE3069283u);
  EXPECT_EQ(crc32c({}), 0u);
}

TEST(Crc32c, MaskRotatesAndOffsets) {
  EXPECT_EQ(masked_crc32c({}), 0xa282ead8u);
  EXPECT_EQ(masked_crc32c(bytes_of("123456789")), 0xc78ab0e5u);  // ((c >> 15) | (c << 17)) + 0xa282ead8, c = 0xE3069283
}

TEST(SummaryWriter, WritesWhatAnIndependentReaderReads) {
  std::string root = test::temp_dir(), logdir = root + "/run/tb", histdir = root + "/hist";
  fs::create_directories(histdir);
  // The histograms' values, saved for the reference script.
  Tensor ramp = make_tensor({1000}, DType::f32);
  for (int64_t i = 0; i < 1000; ++i) ramp.data_ptr<float>()[i] = std::fmod(i * 0.37f, 17.0f) - 8.0f;
  test::NormalSampler normal(7);
  std::vector<std::tuple<std::string, int64_t, std::string, Tensor, int64_t>> histograms = {
      {"weights/ramp", 10, "ramp", ramp, 30},
      {"weights/normal", 11, "normal", normal({20, 25}), 7},
      {"weights/constant", 12, "constant", full({4, 5}, 3.25, {.dtype = DType::f64}), 5},
      {"weights/single", 13, "single", tensor({-2.0}), 1},
  };
  double t0 = unix_now();
  {
    SummaryWriter writer(logdir);  // creates run/tb
    for (const ScalarCase& s : kScalars) writer.add_scalar(s.tag, s.value, s.step);
    for (const auto& [tag, step, name, values, bins] : histograms) {
      writer.add_histogram(tag, values, step, bins);
      save_npy(values, histdir + "/" + name + ".npy");
    }
    EXPECT_TRUE(fs::path(writer.path()).filename().string().starts_with("events.out.tfevents.")) << writer.path();
    writer.close();
  }
  double t1 = unix_now();
  char times[64];
  std::snprintf(times, sizeof times, "%.6f %.6f", t0, t1);
  std::string out;
  EXPECT_TRUE(test::run_reference("tensorboard_reference.py", "check " + logdir + " " + histdir + " " + times, &out)) << out;
}

TEST(SummaryWriter, FlushHandsRecordsToTheFile) {
  std::string dir = test::temp_dir();
  SummaryWriter writer(dir);
  writer.flush();
  size_t version_only = file_size(writer.path());
  EXPECT_GT(version_only, 16u);  // the file_version record: 12 bytes of header, 4 of CRC, the Event
  writer.add_scalar("loss", 1.0, 1);
  writer.flush();
  // One scalar record: 16 bytes of framing and an Event of wall_time (9 bytes), step (2) and
  // a summary (2) holding a value (2) of tag "loss" (6) and simple_value (5).
  EXPECT_EQ(file_size(writer.path()), version_only + 16 + 9 + 2 + 2 + 2 + 6 + 5);
}

TEST(SummaryWriter, EachWriterHasItsOwnFile) {
  std::string dir = test::temp_dir();
  SummaryWriter a(dir), b(dir);
  EXPECT_NE(a.path(), b.path());
  a.close();
  b.close();
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 2);
}

TEST(SummaryWriter, Errors) {
  std::string dir = test::temp_dir();
  {
    std::ofstream(dir + "/plain_file") << "x";
  }
  test::expect_error<IOError>([&] { SummaryWriter w(dir + "/plain_file/logs"); }, {"SummaryWriter", "plain_file/logs"});

  SummaryWriter writer(dir + "/tb");
  test::expect_error<ValueError>([&] { writer.add_scalar("", 1.0, 0); }, {"add_scalar", "tag is empty"});
  test::expect_error<ValueError>([&] { writer.add_scalar("bad\xff", 1.0, 0); }, {"add_scalar", "not valid UTF-8"});
  test::expect_error<DTypeError>([&] { writer.add_histogram("h", tensor({1, 2, 3}), 0); }, {"add_histogram", "\"h\"", "int64"});
  test::expect_error<ValueError>([&] { writer.add_histogram("h", empty({0}), 0); }, {"add_histogram", "no values"});
  test::expect_error<ValueError>([&] { writer.add_histogram("h", tensor({1.0f, 2.0f}), 0, 0); }, {"add_histogram", "bins", "0"});
  test::expect_error<ValueError>([&] { writer.add_histogram("h", tensor({1.0, std::nan(""), 2.0}), 5); },
                                 {"add_histogram", "\"h\"", "step 5", "element 1", "not finite"});
  writer.close();
  writer.close();  // closing twice is harmless
  test::expect_error<ValueError>([&] { writer.add_scalar("loss", 1.0, 0); }, {"add_scalar", writer.path(), "closed", "\"loss\""});
}
