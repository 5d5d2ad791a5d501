// Inputs made by an attacker (issue 11): YAML alias bombs, keys given twice, and settings
// that exhaust threads.
// Each bomb runs the built `cajal` within kMemoryMiB of address space and kSeconds: it must be
// refused early, with one line naming the file and the problem, not run out of memory or time.
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
  write("table.csv", "x,label\n0.5,0\n1.5,1\n2.5,0\n3.5,1\n");
  write("workers.yaml", std::string(kTable) + "num_workers: 64\n");
  test::ProgramResult r =
      test::run_cajal(dir_, "ulimit -s 1048576 && ulimit -v 2097152 && exec timeout -s KILL 10 env ", "train workers.yaml");
  test::expect_failure(r, 1, {"DataLoader: could not start worker thread ", " of 64 (", "); use fewer num_workers"});
}

}  // namespace
}  // namespace cajal
