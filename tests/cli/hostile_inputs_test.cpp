// Inputs made by an attacker (issue 11): small files that expand or declare gigabytes,
// devices and pipes where files belong, keys given twice, and settings that exhaust threads.
// Each bomb runs the built `cajal` within kMemoryMiB of address space and kSeconds: it must be
// refused early, with one line naming the file and the problem, not run out of memory or time.
#include <sys/stat.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <limits>

#include "cajal/cli/config.h"
#include "cajal/cli/model_file.h"
#include "cajal/io/safetensors.h"
#include "program.h"
#include "support/test_support.h"

namespace cajal {
namespace {

constexpr int kMemoryMiB = 512;
constexpr int kSeconds = 5;

// Nine levels of nine aliases of the level below, as `key: value` entries of a flow map:
// 9^9 (387 million) values in under 1 KB.
std::string alias_bomb_entries() {
  std::string entries = "a0: &a0 {k0: lol, k1: lol, k2: lol, k3: lol, k4: lol, k5: lol, k6: lol, k7: lol, k8: lol}";
  for (int level = 1; level < 9; ++level) {
    entries += ", a" + std::to_string(level) + ": &a" + std::to_string(level) + " {";
    for (int k = 0; k < 9; ++k) entries += (k ? ", k" : "k") + std::to_string(k) + ": *a" + std::to_string(level - 1);
    entries += "}";
  }
  return entries;
}

std::string config_error(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  return test::error_message<Error>([&] { cli::parse_config(yaml, "config.yaml", overrides); });
}

const char* kTable = "data: {reader: csv, train: table.csv}\nmodel: {preset: mlp, options: {hidden: [4]}}\nepochs: 1\n";

class HostileInputs : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::temp_dir(); }

  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  void write(const std::string& name, const std::string& bytes) const {
    std::ofstream(path(name), std::ios::binary) << bytes;
  }
  test::ProgramResult run(const std::string& args) const { return test::cajal_within(dir_, args, kMemoryMiB, kSeconds); }

  // A model file as `cajal train` writes one: an MLP on [1, 8, 8] inputs with 2 classes, its
  // metadata entries replaced by `replaced`.
  void write_model(const std::string& name, const SafetensorsMetadata& replaced = {}) const {
    cli::ModelInfo info;
    info.model_yaml = "{preset: mlp, options: {hidden: [4]}}";
    info.input.shape = {1, 8, 8};
    info.input.num_classes = 2;
    nn::ModulePtr model = cli::build_model(cli::parse_model_config(info.model_yaml, "model"), info.input);
    cli::save_model(*model, info, path(name));
    SafetensorsMetadata metadata = load_safetensors_metadata(path(name));
    for (const auto& [key, value] : replaced) metadata[key] = value;
    save_safetensors(load_safetensors(path(name)), path(name), metadata);
  }

  std::string dir_;
};

// ------------------------------------------------------------------ YAML

TEST_F(HostileInputs, ConfigAliasBombIsRefusedBeforeExpanding) {
  write("bomb.yaml", "{" + alias_bomb_entries() + ", data: {reader: csv, train: table.csv}, model: {preset: mlp}}\n");
  test::expect_failure(run("train bomb.yaml"), 1,
                       {"bomb.yaml:1:", "aliases stand for more than 10000 values (an alias bomb?)"});
}

TEST_F(HostileInputs, ModelMetadataAliasBombIsRefusedBeforeExpanding) {
  write_model("bomb.safetensors", {{"cajal.model", "{preset: mlp, options: {" + alias_bomb_entries() + "}}"}});
  test::expect_failure(run("info bomb.safetensors"), 1,
                       {"bomb.safetensors: metadata cajal.model:1:", "aliases stand for more than 10000 values"});
}

TEST(HostileYaml, AliasesWithinTheBudgetStillWork) {
  cli::RunConfig cfg = cli::parse_config(
      "data: {reader: csv, train: &table t.csv, test: *table}\nmodel: {preset: mlp, options: {hidden: &h [16, 8]}}\n",
      "config.yaml");
  EXPECT_EQ(cfg.data.test.path, "t.csv");
  EXPECT_EQ(cfg.model.options.values().at(0).second.text(), "[16, 8]");
}

TEST(HostileYaml, DuplicateKeysAreRefusedWithTheirLine) {
  EXPECT_EQ(config_error(std::string(kTable) + "epochs: 3\n"), "config.yaml:4:1: duplicate key 'epochs' (first given on line 3)");
  EXPECT_EQ(config_error("data: {reader: csv, train: a.csv, train: b.csv}\n"),
            "config.yaml:1:35: duplicate key 'train' (first given on line 1)");
  EXPECT_EQ(config_error(kTable, {"model.options={hidden: [4], hidden: [8]}"}),
            "--set model.options={hidden: [4], hidden: [8]}:1:15: duplicate key 'hidden' (first given on line 1)");
  // The same key in two maps is no duplicate.
  EXPECT_EQ(cli::parse_config("data: {reader: csv, train: t.csv}\nmodel: {preset: mlp}\n"
                              "optimizer: {name: sgd, lr: 0.1}\nschedule: {name: step, step_size: 2}\n",
                              "config.yaml")
                .schedule.name,
            "step");
}

// ------------------------------------------------------------------ threads

TEST(HostileSettings, NumWorkersIsCapped) {
  EXPECT_EQ(config_error(kTable, {"num_workers=1000"}),
            "config.yaml: key 'num_workers' must be at most 64 (threads loading batches), got 1000");
  EXPECT_EQ(cli::parse_config(kTable, "config.yaml", {"num_workers=64"}).num_workers, 64);
}

// Each thread reserves a stack of `ulimit -s`: at 1 GiB each, 64 workers cannot fit 2 GiB of
// address space, and the loader must say so (and join the workers that started) instead of
// terminating with joinable threads.
TEST_F(HostileInputs, WorkerThreadsThatCannotStartAreAnError) {
#ifdef CAJAL_TEST_UNDER_ASAN
  GTEST_SKIP() << "threads are made to fail through ulimit -v, which an AddressSanitizer build cannot start under";
#endif
  write("table.csv", "x,label\n0.5,0\n1.5,1\n2.5,0\n3.5,1\n");
  write("workers.yaml", std::string(kTable) + "num_workers: 64\n");
  test::ProgramResult r =
      test::run_cajal(dir_, "ulimit -s 1048576 && ulimit -v 2097152 && exec timeout -s KILL 10 env ", "train workers.yaml");
  test::expect_failure(r, 1, {"DataLoader: could not start worker thread ", " of 64 (", "); use fewer num_workers"});
}

// ------------------------------------------------------------------ size bombs

// Gzip members of 1 MiB of zeros each: zlib reads concatenated members as one stream, so a
// 2 MB file inflates to 2 GiB.
std::string gzip_member(const std::string& data) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 9, Z_DEFLATED, 31, 9, Z_DEFAULT_STRATEGY), Z_OK);  // 31: a gzip wrapper
  std::string out(deflateBound(&z, data.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

TEST_F(HostileInputs, GzipIdxLongerThanItsHeaderStopsEarly) {
  const std::string header_and_pixel("\0\0\x08\x03\0\0\0\x01\0\0\0\x01\0\0\0\x01\x7f", 17);  // uint8 [1, 1, 1]
  std::string bomb = gzip_member(header_and_pixel);
  const std::string zeros = gzip_member(std::string(1 << 20, '\0'));
  for (int i = 0; i < 2048; ++i) bomb += zeros;
  write("bomb-images.idx.gz", bomb);
  write("labels.idx", std::string("\0\0\x08\x01\0\0\0\x01\x00", 9));
  write("idx.yaml", "data: {reader: idx, train: {inputs: bomb-images.idx.gz, targets: labels.idx}}\nmodel: {preset: mlp}\n");
  test::expect_failure(run("train idx.yaml"), 1,
                       {"bomb-images.idx.gz: header declares uint8 [1, 1, 1] (1 bytes) but the file has more than 65537 "
                        "data bytes"});
}

// A PNG header (signature, IHDR, IEND) for a gray image of width x height.
std::string png_header(uint32_t width, uint32_t height) {
  auto chunk = [](const std::string& type, const std::string& data) {
    std::string body = type + data;
    auto be32 = [](uint32_t v) { return std::string{char(v >> 24), char(v >> 16), char(v >> 8), char(v)}; };
    const uLong crc = crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()));
    return be32(static_cast<uint32_t>(data.size())) + body + be32(static_cast<uint32_t>(crc));
  };
  auto be32 = [](uint32_t v) { return std::string{char(v >> 24), char(v >> 16), char(v >> 8), char(v)}; };
  return std::string("\x89PNG\r\n\x1a\n", 8) + chunk("IHDR", be32(width) + be32(height) + std::string("\x08\0\0\0\0", 5)) +
         chunk("IEND", "");
}

// The header alone decides: these files hold no pixels, so nothing was decoded.
TEST_F(HostileInputs, ImagesLargerThanTheCapAreRefusedFromTheirHeader) {
  write_model("model.safetensors");
  write("huge.png", png_header(26000, 26000));
  test::expect_failure(run("predict model.safetensors --input huge.png"), 1,
                       {"read_image: huge.png: 26000 x 26000 pixels is larger than cajal decodes (at most 16384 pixels "
                        "per side and 33554432 in all)"});
  write("wide.png", png_header(16384, 8192));  // each side within the cap, 2^27 pixels in all
  test::expect_failure(run("predict model.safetensors --input wide.png"), 1, {"wide.png: 16384 x 8192 pixels is larger"});
}

TEST_F(HostileInputs, ModelLargerThanItsFileIsRefusedBeforeBuilding) {
  write_model("big.safetensors", {{"cajal.model", "{preset: mlp, options: {hidden: [10000000]}}"}});
  test::expect_failure(run("info big.safetensors"), 1,
                       {"big.safetensors: metadata cajal.model describes a model larger than the ",
                        "-byte file's weights could be (wrong metadata?)"});
  write_model("fits.safetensors");
  EXPECT_EQ(run("info fits.safetensors").code, 0);
}

TEST_F(HostileInputs, SafetensorsWithTooManyTensorsIsRefused) {
  std::string header = "{";
  for (int i = 0; i <= 65536; ++i)
    header += (i ? ",\"t" : "\"t") + std::to_string(i) + "\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}";
  header += "}";
  std::string length(8, '\0');
  for (int i = 0; i < 8; ++i) length[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  write("many.safetensors", length + header);
  test::ProgramResult r = run("info many.safetensors");
  test::expect_failure(r, 1, {"many.safetensors: header: lists more than 65536 tensors, the most cajal reads"});
  EXPECT_LT(r.err.size(), 300u);
}

// ------------------------------------------------------------------ special files

TEST_F(HostileInputs, DevicesPipesAndFoldersAreNotInputFiles) {
  write("zero.yaml", "data: {reader: csv, train: /dev/zero}\nmodel: {preset: mlp}\n");
  test::expect_failure(run("train zero.yaml"), 1,
                       {"load_csv: /dev/zero: not a regular file (a device, pipe or socket); cajal reads its inputs from files"});
  ASSERT_EQ(mkfifo(path("pipe.yaml").c_str(), 0600), 0);  // opening it would wait for a writer
  test::expect_failure(run("train pipe.yaml"), 1, {"pipe.yaml: not a regular file (a device, pipe or socket)"});
  std::filesystem::create_directory(path("folder.csv"));
  write("folder.yaml", "data: {reader: csv, train: folder.csv}\nmodel: {preset: mlp}\n");
  test::expect_failure(run("train folder.yaml"), 1, {"load_csv: folder.csv: not a regular file (a folder)"});
  write_model("model.safetensors");
  test::expect_failure(run("predict model.safetensors --input /dev/zero"), 1, {"/dev/zero: not a regular file"});
}

}  // namespace
}  // namespace cajal
