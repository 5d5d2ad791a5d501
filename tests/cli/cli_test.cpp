// The `cajal` program: config parsing and its errors (in process), then the built binary
// (CAJAL_CLI, passed by CMake): exit codes and one-line messages for bad inputs, and a small
// end-to-end run: train on synthetic IDX images, then info, predict and eval on its model.
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cajal/cli/args.h"
#include "cajal/cli/config.h"
#include "cajal/cli/data_config.h"
#include "cajal/cli/inputs.h"
#include "cajal/cli/probability_scores.h"
#include "cajal/data/dataset.h"
#include "cajal/io/npy.h"
#include "cajal/io/safetensors.h"
#include "program.h"
#include "support/test_support.h"

namespace fs = std::filesystem;

namespace cajal {
namespace {

// ------------------------------------------------------------------ config (in process)

const char* kConfig = R"(data:
  reader: csv
  train: train.csv
  label_column: species
  labels: names
  validation_split: 0.2
model:
  preset: mlp
  options: {hidden: [16, 8]}
optimizer: {name: sgd, lr: 0.1, momentum: 0.9}
schedule: {name: step, step_size: 2}
epochs: 3
)";

std::string config_error(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  return test::error_message<Error>([&] { cli::parse_config(yaml, "config.yaml", overrides); });
}

TEST(Config, ReadsEverySection) {
  cli::RunConfig cfg = cli::parse_config(kConfig, "config.yaml");
  EXPECT_EQ(cfg.data.reader, "csv");
  EXPECT_EQ(cfg.data.train.path, "train.csv");
  EXPECT_FALSE(cfg.data.test.given());
  EXPECT_EQ(cfg.data.label_column, "species");
  EXPECT_EQ(cfg.data.labels, "names");
  EXPECT_DOUBLE_EQ(cfg.data.validation_split, 0.2);
  EXPECT_EQ(cfg.model.preset, "mlp");
  EXPECT_EQ(cfg.model.options.values().at(0).second.text(), "[16, 8]");
  EXPECT_EQ(cfg.optimizer.name, "sgd");
  EXPECT_EQ(cfg.schedule.name, "step");
  EXPECT_EQ(cfg.loss.name, "auto");
  EXPECT_EQ(cfg.epochs, 3);
  EXPECT_EQ(cfg.batch_size, 64);             // defaults
  EXPECT_EQ(cfg.output, "runs/config");
  EXPECT_FALSE(cfg.callbacks.early_stopping);
}

TEST(Config, OverridesAreAppliedAndKept) {
  cli::RunConfig cfg = cli::parse_config(kConfig, "config.yaml",
                                         {"epochs=7", "model.options.hidden=[32]", "loss=cross_entropy", "loss.label_smoothing=0.1",
                                          "callbacks.early_stopping.patience=2", "data.test=test.csv"});
  EXPECT_EQ(cfg.epochs, 7);
  EXPECT_EQ(cfg.model.options.values().at(0).second.text(), "[32]");
  EXPECT_EQ(cfg.loss.name, "cross_entropy");  // the short form became {name: cross_entropy, label_smoothing: 0.1}
  ASSERT_TRUE(cfg.callbacks.early_stopping);
  EXPECT_EQ(cfg.callbacks.early_stopping->patience, 2);
  EXPECT_EQ(cfg.data.test.path, "test.csv");
  // The resolved text holds the overrides (it is what the run folder and checkpoints keep).
  cli::RunConfig again = cli::parse_config(cfg.text, "config.yaml");
  EXPECT_EQ(again.epochs, 7);
  EXPECT_EQ(again.data.test.path, "test.csv");
}

TEST(Config, TyposSuggestTheNearestKey) {
  std::string yaml = kConfig;
  EXPECT_EQ(config_error(std::string(yaml).replace(yaml.find("optimizer"), 9, "optimiser")),
            "config.yaml: unknown key 'optimiser'; did you mean 'optimizer'?");
  EXPECT_EQ(config_error(std::string(yaml).replace(yaml.find("reader"), 6, "readr")),
            "config.yaml: data: unknown key 'readr'; did you mean 'reader'?");
  EXPECT_EQ(config_error(yaml, {"optimizer.lrr=0.5"}), "config.yaml: optimizer: unknown key 'lrr'; did you mean 'lr'?");
  EXPECT_EQ(config_error(yaml, {"callbacks.early_stoping.patience=2"}),
            "config.yaml: callbacks: unknown key 'early_stoping'; did you mean 'early_stopping'?");
  EXPECT_EQ(config_error(yaml, {"optimizer.name=adamm"}),
            "config.yaml: optimizer: key 'name' has no value 'adamm'; did you mean 'adam'?");
  EXPECT_EQ(config_error(yaml, {"data.transforms=[{type: random_horizontal_flp}]"}),
            "config.yaml: data.transforms[0]: key 'type' has no value 'random_horizontal_flp'; did you mean "
            "'random_horizontal_flip'?");
  EXPECT_EQ(config_error(yaml, {"data.transforms=[{type: random_crop, paddin: 2}]"}),
            "config.yaml: data.transforms[0] (random_crop): unknown key 'paddin'; did you mean 'padding'?");
}

TEST(Config, WrongTypesNameTheKeyAndValue) {
  EXPECT_EQ(config_error(kConfig, {"epochs=ten"}), "config.yaml: key 'epochs' must be an integer, got 'ten'");
  EXPECT_EQ(config_error(kConfig, {"batch_size=0"}), "config.yaml: key 'batch_size' must be at least 1, got 0");
  EXPECT_EQ(config_error(kConfig, {"optimizer.lr=fast"}), "config.yaml: optimizer: key 'lr' must be a number, got 'fast'");
  EXPECT_EQ(config_error(kConfig, {"data.validation_split=[0.1]"}),
            "config.yaml: data: key 'validation_split' must be a number, got [0.1]");
  EXPECT_EQ(config_error(kConfig, {"data.validation_split=1.5"}), "config.yaml: data: key 'validation_split' must be in [0, 1)");
  EXPECT_EQ(config_error(kConfig, {"model.options=3"}), "config.yaml: model: key 'options' must be a map of settings, got 3");
  EXPECT_EQ(config_error(kConfig, {"data.reader=idx"}),
            "config.yaml: data: key 'train' needs {inputs: FILE, targets: FILE} for the idx reader");
  test::expect_error<ValueError>([] { cli::parse_config("data: [1, 2\nmodel: x\n", "config.yaml"); },
                                 {"config.yaml:", "invalid YAML"});
  EXPECT_EQ(config_error("- a\n- b\n"), "config.yaml: expected a map of settings (key: value lines)");
  EXPECT_EQ(config_error(kConfig, {"epochs"}), "--set epochs: expected KEY=VALUE, e.g. optimizer.lr=0.01");
  EXPECT_EQ(config_error(kConfig, {"epochs.x=1"}), "--set epochs.x=1: 'epochs' is not a section of settings");
  EXPECT_EQ(config_error("model: {preset: cnn}\n"), "config.yaml: key 'data' is required (where the examples are)");
  EXPECT_EQ(config_error(kConfig, {"model.layers=[{type: relu}]"}),
            "config.yaml: model: give either 'preset' (mlp, lenet5, cnn, resnet, char_lstm, char_transformer, rnn_classifier, lstm_forecaster) or 'layers' (a list)");
}

TEST(Config, ClassNamesForIdxAndNpyData) {
  const std::string idx = "data: {reader: idx, train: {inputs: a.idx, targets: b.idx}}\nmodel: {preset: cnn}\n";
  EXPECT_EQ(cli::parse_config(idx, "config.yaml", {"data.class_names=[T-shirt/top, Ankle boot]"}).data.class_names,
            (std::vector<std::string>{"T-shirt/top", "Ankle boot"}));
  EXPECT_TRUE(cli::parse_config(idx, "config.yaml").data.class_names.empty());
  EXPECT_EQ(config_error(idx, {"data.class_names=[cat, dog, cat]"}), "config.yaml: data: key 'class_names' names two classes 'cat'");
  EXPECT_EQ(config_error(idx, {"data.class_names=[cat, '']"}), "config.yaml: data: key 'class_names' has an empty name (class 1)");
  EXPECT_EQ(config_error(idx, {"data.class_names={cat: 1}"}), "config.yaml: data: key 'class_names' must be a list of names, got {cat: 1}");
  EXPECT_EQ(config_error(kConfig, {"data.class_names=[a, b, c]"}),
            "config.yaml: data: key 'class_names' is for the idx and npy readers (a CSV table names its classes in its label "
            "column, with labels: names; an image folder by its sub-folders)");
}

TEST(Config, ExamplesAreValid) {
  std::string examples = std::string(CAJAL_REFERENCE_DIR) + "/../../examples/";
  for (const char* name : {"fashion_mnist_cnn.yaml", "fashion_mnist_long.yaml", "fashion_mnist_resnet.yaml"}) {
    EXPECT_NO_THROW(cli::load_config(examples + name)) << name;
  }
  cli::RunConfig cnn = cli::load_config(examples + "fashion_mnist_cnn.yaml");
  EXPECT_EQ(cnn.model.preset, "cnn");
  EXPECT_EQ(cnn.batch_size, 128);
  EXPECT_EQ(cnn.data.class_names, (std::vector<std::string>{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                                                            "Shirt", "Sneaker", "Bag", "Ankle boot"}));
}

// ------------------------------------------------------------------ command lines (in process)

TEST(Args, ValuesFlagsAndPositionals) {
  cli::Args args = cli::parse_args({"--set", "a=1", "run.yaml", "--set=b=2", "-h", "--output", "-", "x"}, "train",
                                   {"--set", "--output"}, {"--quiet"});
  EXPECT_EQ(args.positional, (std::vector<std::string>{"run.yaml", "x"}));
  EXPECT_EQ(args.all("--set"), (std::vector<std::string>{"a=1", "b=2"}));  // in order, each one
  EXPECT_EQ(args.value("--output"), "-");
  EXPECT_EQ(args.value("--resume"), std::nullopt);
  EXPECT_TRUE(args.has_flag("--help"));  // -h is --help
  EXPECT_FALSE(args.has_flag("--quiet"));
  EXPECT_EQ(cli::parse_args({"--set", "x=-1", "--quiet"}, "train", {"--set"}, {"--quiet"}).value("--set"), "x=-1");
  auto usage_error = [](const std::vector<std::string>& argv) {
    return test::error_message<cli::UsageError>([&] { cli::parse_args(argv, "train", {"--set", "--resume"}); });
  };
  EXPECT_EQ(usage_error({"run.yaml", "--set"}), "cajal train: --set needs a value");
  EXPECT_EQ(usage_error({"run.yaml", "--reume", "last.ckpt"}), "cajal train: unknown option '--reume'; did you mean '--resume'?");
  EXPECT_EQ(usage_error({"--reume=last.ckpt"}), "cajal train: unknown option '--reume'; did you mean '--resume'?");
}

// ------------------------------------------------------------------ probability scores (in process)

TEST(ProbabilityScores, TwoClassesAndMore) {
  // Two classes: the area of class 1's probability (scikit-learn's documented example, 0.75).
  cli::ProbabilityScores two = cli::probability_scores(tensor({0.9, 0.1, 0.6, 0.4, 0.65, 0.35, 0.2, 0.8}, {4, 2}), tensor({0, 0, 1, 1}));
  EXPECT_STREQ(two.roc_auc_name, "ROC AUC");
  EXPECT_DOUBLE_EQ(two.roc_auc, 0.75);
  EXPECT_NEAR(two.log_loss, -(std::log(0.9) + std::log(0.6) + std::log(0.35) + std::log(0.8)) / 4, 1e-15);
  EXPECT_EQ(two.class_without_examples, -1);
  // Three classes, one-vs-rest: each class's probabilities separate it perfectly.
  Tensor three = tensor({0.8, 0.1, 0.1, 0.2, 0.7, 0.1, 0.1, 0.2, 0.7, 0.6, 0.3, 0.1}, {4, 3});
  cli::ProbabilityScores ovr = cli::probability_scores(three, tensor({0, 1, 2, 0}));
  EXPECT_STREQ(ovr.roc_auc_name, "ROC AUC (macro OvR)");
  EXPECT_DOUBLE_EQ(ovr.roc_auc, 1.0);
  // A class without examples leaves the area undefined, and says which.
  cli::ProbabilityScores missing = cli::probability_scores(three, tensor({0, 1, 1, 0}));
  EXPECT_EQ(missing.class_without_examples, 2);
  EXPECT_TRUE(std::isnan(missing.roc_auc));
  EXPECT_TRUE(std::isfinite(missing.log_loss));
}

// ------------------------------------------------------------------ the program

using test::cajal;
using test::expect_failure;
using test::read_file;
using test::write_idx;
using test::write_squares;
using test::write_text;
using Result = test::ProgramResult;

const char* kSquares = R"(data:
  reader: idx
  train: {inputs: train-images.idx, targets: train-labels.idx}
  test: {inputs: test-images.idx, targets: test-labels.idx}
  validation_split: 0.1
  normalize: true
model: {preset: cnn}
optimizer: {name: adam, lr: 0.003}
schedule: {name: onecycle}
epochs: 3
batch_size: 32
num_workers: 0
output: run
)";

class Program : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::temp_dir();
    write_squares(dir_, "train", 400, 1);
    write_squares(dir_, "test", 100, 2);
    write_text(dir_ + "/squares.yaml", kSquares);
  }
  std::string dir_;
};

TEST_F(Program, HelpAndUsage) {
  Result r = cajal(dir_, "--help");
  EXPECT_EQ(r.code, 0);
  for (const char* command : {"train", "eval", "predict", "info"}) {
    EXPECT_NE(r.out.find(command), std::string::npos);
    Result help = cajal(dir_, std::string(command) + " --help");
    EXPECT_EQ(help.code, 0) << command;
    EXPECT_TRUE(help.out.starts_with(std::string("usage: cajal ") + command)) << help.out;
  }
  expect_failure(cajal(dir_, "trian x.yaml"), 2, {"unknown command 'trian'; did you mean 'train'?"});
  expect_failure(cajal(dir_, "train squares.yaml --reume x"), 2, {"cajal train: unknown option '--reume'; did you mean '--resume'?"});
  expect_failure(cajal(dir_, "train"), 2, {"expected one config file"});
  expect_failure(cajal(dir_, "train squares.yaml --set"), 2, {"--set needs a value"});
  EXPECT_EQ(cajal(dir_, "").code, 2);
}

TEST_F(Program, BadInputsGetOneLineAndAnExitCode) {
  expect_failure(cajal(dir_, "train missing.yaml"), 1, {"missing.yaml: cannot open the config file (no such file)"});
  expect_failure(cajal(dir_, "train squares.yaml --set optimiser.lr=1"), 1,
                 {"squares.yaml: unknown key 'optimiser'; did you mean 'optimizer'?"});
  expect_failure(cajal(dir_, "train squares.yaml --set epochs=many"), 1, {"key 'epochs' must be an integer, got 'many'"});
  // Data: a missing file, a file that is not IDX, a label beyond num_classes.
  expect_failure(cajal(dir_, "train squares.yaml --set data.test.inputs=nope.idx"), 1, {"nope.idx: no such file"});
  expect_failure(cajal(dir_, "train squares.yaml --set data.train.inputs=squares.yaml"), 1, {"squares.yaml"});
  expect_failure(cajal(dir_, "train squares.yaml --set data.num_classes=3"), 1,
                 {"squares.yaml: data.train (train-labels.idx): label 3 of example", "is out of range for the 3 classes of training (0 to 2)"});
  // A loss that does not fit the targets says how to make them fit.
  expect_failure(cajal(dir_, "train squares.yaml --set loss=mse"), 1,
                 {"squares.yaml: loss 'mse' does not fit class labels; use loss: cross_entropy (or nll)"});
  write_text(dir_ + "/prices.csv", "rooms,price\n2,150\n3,210\n4,260\n5,330\n");
  write_text(dir_ + "/prices.yaml", "data: {reader: csv, train: prices.csv}\nmodel: {preset: mlp}\nloss: mse\n");
  expect_failure(cajal(dir_, "train prices.yaml"), 1,
                 {"prices.yaml: loss 'mse' does not fit class labels; to regress on the label column's numbers, set "
                  "data.labels: values (or use loss: cross_entropy)"});
  expect_failure(cajal(dir_, "train prices.yaml --set data.labels=values --set loss=cross_entropy"), 1,
                 {"prices.yaml: loss 'cross_entropy' does not fit target values; to classify, set data.labels: indices or "
                  "names (or use loss: mse, l1, smooth_l1 or huber)"});
  // Models: unknown option, unknown layer, layers that do not fit the images.
  expect_failure(cajal(dir_, "train squares.yaml --set model.options.dropuot=0.1"), 1,
                 {"model 'cnn': unknown option 'dropuot'; did you mean 'dropout'?"});
  expect_failure(cajal(dir_, "train squares.yaml --set 'model={layers: [{type: flatten}, {type: linaer, out: 4}]}'"), 1,
                 {"model.layers[1]: unknown layer type 'linaer'; did you mean 'linear'?"});
  expect_failure(cajal(dir_, "train squares.yaml --set 'model={layers: [{type: flatten}, {type: linear, in: 100, out: 4}]}'"), 1,
                 {"model.layers[1] (linear): expects 100 input features, got input of shape [N, 64]"});
  expect_failure(cajal(dir_, "train squares.yaml --set 'model={layers: [{type: flatten}, {type: linear, out: 5}]}'"), 1,
                 {"returns [N, 5] for a batch, but the data needs [N, 4]"});
  expect_failure(cajal(dir_, "train squares.yaml --set callbacks.checkpoint.monitor=val_accuracy --set data.validation_split=0"),
                 1, {"'val_accuracy' needs a validation split"});
  // Model files.
  expect_failure(cajal(dir_, "info nowhere.safetensors"), 1, {"nowhere.safetensors: no such file"});
  expect_failure(cajal(dir_, "info squares.yaml"), 1, {"squares.yaml"});
  EXPECT_FALSE(fs::exists(dir_ + "/run/model.safetensors"));  // nothing trained
}

// Data that cannot be right is refused before training, naming the file, the row and the value.
TEST_F(Program, DataThatCannotBeRightIsNamed) {
  // A test label outside the training labels' classes (the model would have had 100 outputs).
  std::vector<uint8_t> labels(100, 1);
  labels[7] = 99;
  write_idx(dir_ + "/odd-labels.idx", {100}, labels);
  expect_failure(cajal(dir_, "train squares.yaml --set data.test.targets=odd-labels.idx"), 1,
                 {"squares.yaml: data.test (odd-labels.idx): label 99 of example 7 is out of range for the 4 classes of "
                  "training (0 to 3)"});
  // A class index of 2e9 would ask for a 2e9-way output layer.
  write_text(dir_ + "/huge.csv", "a,b,label\n1,2,0\n3,4,2000000000\n5,6,1\n");
  write_text(dir_ + "/huge.yaml", "data: {reader: csv, train: huge.csv}\nmodel: {preset: mlp}\nnum_workers: 0\n");
  expect_failure(cajal(dir_, "train huge.yaml"), 1,
                 {"huge.yaml: data.train (huge.csv): label 2000000000 of example 1 would make 2000000001 classes, more "
                  "than the 1000000 cajal allows (labels are class indices 0 to N-1; for numbers to regress on, set "
                  "data.labels: values)"});
  // Numbers beyond float32 (a CSV cell) or any finite number (a config value).
  write_text(dir_ + "/far.csv", "a,b,label\n1,2,0\n3,1e39,1\n");
  expect_failure(cajal(dir_, "train huge.yaml --set data.train=far.csv"), 1,
                 {"far.csv:3:2: '1e39' in column 'b' is out of range for float32"});
  expect_failure(cajal(dir_, "train squares.yaml --set optimizer.lr=1e999"), 1,
                 {"squares.yaml: optimizer: key 'lr' must be a finite number, got '1e999'"});
  expect_failure(cajal(dir_, "train squares.yaml --set 'data.normalize={mean: [1e39], std: [1]}'"), 1,
                 {"squares.yaml: data.normalize: key 'mean' value 1e+39 is out of range for float32"});
  // A validation split that leaves one part empty.
  expect_failure(cajal(dir_, "train squares.yaml --set data.validation_split=0.0001"), 1,
                 {"squares.yaml: data.validation_split: 0.0001 of the 400 examples of data.train (train-labels.idx) leaves "
                  "no example for validation"});
  // An augmentation of images on a table.
  write_text(dir_ + "/small.csv", "a,b,label\n1,2,0\n3,4,1\n5,6,1\n");
  expect_failure(cajal(dir_, "train huge.yaml --set data.train=small.csv --set 'data.transforms=[{type: random_crop}]'"), 1,
                 {"huge.yaml: data.transforms: data.train (small.csv): random_crop needs images ([C, H, W] examples), got an "
                  "example of shape [2]"});
  EXPECT_FALSE(fs::exists(dir_ + "/run"));  // nothing started
  // A training part smaller than one batch trains, and says so.
  Result one = cajal(dir_, "train squares.yaml --set data.validation_split=0.9999 --set epochs=1");
  EXPECT_EQ(one.code, 0) << one.err;
  EXPECT_NE(one.out.find("\nnote: training has 1 example(s) (data.validation_split 0.9999 holds out 399 of 400), fewer "
                         "than one batch (batch_size 32)\n"), std::string::npos) << one.out;
}

// Rewrites a safetensors file with one metadata entry changed (as a forger would).
void set_metadata(const std::string& path, const std::string& key, const std::string& value) {
  SafetensorsMetadata metadata = load_safetensors_metadata(path);
  metadata[key] = value;
  save_safetensors(load_safetensors(path), path, metadata);
}

TEST_F(Program, RunFilesThatCannotBeRightAreRefused) {
  // Temporary files of a writer that was killed are removed when training starts; others stay.
  fs::create_directories(dir_ + "/run");
  for (const char* name : {"last.ckpt.tmp-999999999-0", "notes.tmp-1", "mine.tmp-1-2.txt"}) write_text(dir_ + "/run/" + name, "x");
  ASSERT_EQ(cajal(dir_, "train squares.yaml --set epochs=1").code, 0);
  EXPECT_FALSE(fs::exists(dir_ + "/run/last.ckpt.tmp-999999999-0"));
  EXPECT_TRUE(fs::exists(dir_ + "/run/notes.tmp-1"));
  EXPECT_TRUE(fs::exists(dir_ + "/run/mine.tmp-1-2.txt"));
  // Resuming into a folder without the run.
  expect_failure(cajal(dir_, "train squares.yaml --set epochs=2 --output elsewhere --resume run/last.ckpt"), 1,
                 {"elsewhere: holds no run to resume (no metrics.csv); --resume run/last.ckpt continues the run in its own "
                  "folder (its --output)"});
  // Control bytes of a name (or a file's contents) are escaped, not sent to the terminal.
  Result escaped = cajal(dir_, "info '\x1b[31mred\x07.safetensors'");
  expect_failure(escaped, 1, {"\\x1b[31mred\\x07.safetensors: no such file"});
  EXPECT_EQ(escaped.err.find('\x1b'), std::string::npos);
  // A checkpoint whose counters do not fit the data would skip an epoch and log NaN.
  fs::copy_file(dir_ + "/run/last.ckpt", dir_ + "/forged.ckpt");
  set_metadata(dir_ + "/forged.ckpt", "batches_done", "50");
  expect_failure(cajal(dir_, "train squares.yaml --set epochs=2 --resume forged.ckpt"), 1,
                 {"resume_from forged.ckpt: the checkpoint has batches_done 50, but an epoch of this data has 12 batches"});
  set_metadata(dir_ + "/forged.ckpt", "batches_done", "0");
  set_metadata(dir_ + "/forged.ckpt", "step", "7");
  expect_failure(cajal(dir_, "train squares.yaml --set epochs=2 --resume forged.ckpt"), 1,
                 {"resume_from forged.ckpt: the checkpoint's step 7 does not match its epochs_done 1 and batches_done 0 at "
                  "12 batches per epoch"});
  // Damaged files are reported by their checksums, not used.
  auto damage = [&](const std::string& name) {
    std::string bytes = read_file(dir_ + "/run/" + name);
    bytes[bytes.size() - 5] = static_cast<char>(bytes[bytes.size() - 5] ^ 0x10);  // a bit of the last tensor
    std::ofstream(dir_ + "/damaged-" + name, std::ios::binary) << bytes;
  };
  damage("model.safetensors");
  expect_failure(cajal(dir_, "predict damaged-model.safetensors --input test-images.idx"), 1,
                 {"damaged-model.safetensors is corrupt: checksum mismatch (tensor data)"});
  damage("last.ckpt");
  expect_failure(cajal(dir_, "train squares.yaml --set epochs=2 --resume damaged-last.ckpt"), 1,
                 {"damaged-last.ckpt is corrupt: checksum mismatch (tensor data)"});
  // A model file whose normalization divides by 0.
  fs::copy_file(dir_ + "/run/model.safetensors", dir_ + "/zero.safetensors");
  set_metadata(dir_ + "/zero.safetensors", "cajal.normalize_std", "[0]");
  expect_failure(cajal(dir_, "predict zero.safetensors --input test-images.idx"), 1,
                 {"zero.safetensors: metadata cajal.normalize_std[0] is 0, not a positive finite number"});
  set_metadata(dir_ + "/zero.safetensors", "cajal.normalize_std", "[.nan]");
  expect_failure(cajal(dir_, "predict zero.safetensors --input test-images.idx"), 1,
                 {"zero.safetensors: metadata cajal.normalize_std[0] is nan, not a positive finite number"});
}

// The first number after `key` in `text` (e.g. "test accuracy 0.9600").
double number_after(const std::string& text, const std::string& key) {
  size_t at = text.find(key);
  if (at == std::string::npos) return -1;
  return std::strtod(text.c_str() + at + key.size(), nullptr);
}

// scikit-learn's scores (tests/reference/cli_eval_reference.py) of a run's model on the data
// `cajal eval` reads for --data, --labels and --label-column: the model's probabilities are
// computed here, in process, from the same dataset and model. Returns the folder of results.
std::string sklearn_scores(const std::string& run, const std::string& data, const std::string& labels,
                           const std::string& label_column) {
  cli::LoadedModel model = cli::load_model(run);
  std::string what, dir = test::temp_dir();
  data::Batch batch = test::all_examples(*cli::eval_dataset(model, data, labels, label_column, what));
  save_npy(cli::run_model(*model.module, batch.input).softmax(1), dir + "/probabilities.npy");
  save_npy(batch.target, dir + "/targets.npy");
  EXPECT_TRUE(test::run_reference("cli_eval_reference.py", "scores " + dir));
  return dir;
}

double sklearn_value(const std::string& dir, const std::string& name) { return load_npy(dir + "/" + name + ".npy").item<double>(); }

TEST_F(Program, TrainsThenInfoPredictEval) {
  Result train = cajal(dir_, "train squares.yaml");
  ASSERT_EQ(train.code, 0) << train.out << train.err;
  for (const char* file : {"model.safetensors", "last.ckpt", "best.ckpt", "metrics.csv", "report.html", "config.yaml"}) {
    EXPECT_TRUE(fs::exists(dir_ + "/run/" + file)) << file;
  }
  bool events = false;
  for (const auto& entry : fs::directory_iterator(dir_ + "/run")) events |= entry.path().filename().string().starts_with("events.out.tfevents.");
  EXPECT_TRUE(events);
  std::string metrics = read_file(dir_ + "/run/metrics.csv");
  EXPECT_TRUE(metrics.starts_with("epoch,loss,accuracy,val_loss,val_accuracy,lr\n")) << metrics;
  EXPECT_EQ(std::count(metrics.begin(), metrics.end(), '\n'), 4);  // header + 3 epochs
  double accuracy = number_after(train.out, "test accuracy ");
  EXPECT_GE(accuracy, 0.9) << train.out;  // the squares are easy to tell apart

  // info: the architecture and its parameter count (the cnn on 8x8 images, 4 classes:
  // 320 + 64 + 18496 + 128 + (64*2*2*128 + 128) + (128*4 + 4)), and the recorded metrics.
  Result info = cajal(dir_, "info run");
  ASSERT_EQ(info.code, 0) << info.err;
  EXPECT_NE(info.out.find("(9): Linear(in_features=256, out_features=128, bias=True)"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("parameters  52420 (52420 trainable)"), std::string::npos) << info.out;
  EXPECT_NEAR(number_after(info.out, "test_accuracy "), accuracy, 1e-4);

  // predict: one row per test image; its labels agree with the test labels as often as
  // training said, and each row's probabilities sum to 1.
  Result predict = cajal(dir_, "predict run/model.safetensors --input test-images.idx --output predictions.csv");
  ASSERT_EQ(predict.code, 0) << predict.err;
  std::ifstream csv(dir_ + "/predictions.csv");
  std::string line;
  std::getline(csv, line);
  EXPECT_EQ(line, "input,label,p_0,p_1,p_2,p_3");
  std::ifstream labels(dir_ + "/test-labels.idx", std::ios::binary);
  labels.seekg(8);
  int rows = 0, correct = 0;
  while (std::getline(csv, line)) {
    std::vector<double> cells;
    std::stringstream row(line);
    for (std::string cell; std::getline(row, cell, ',');) cells.push_back(std::strtod(cell.c_str(), nullptr));
    ASSERT_EQ(cells.size(), 6u) << line;
    EXPECT_EQ(cells[0], rows);
    EXPECT_NEAR(cells[2] + cells[3] + cells[4] + cells[5], 1.0, 1e-5);
    correct += static_cast<int>(cells[1]) == labels.get();
    ++rows;
  }
  EXPECT_EQ(rows, 100);
  EXPECT_NEAR(correct / 100.0, accuracy, 1e-9);
  Result json = cajal(dir_, "predict run --input test-images.idx --output predictions.json");
  ASSERT_EQ(json.code, 0) << json.err;
  EXPECT_TRUE(read_file(dir_ + "/predictions.json").starts_with("[\n  {\"input\": \"0\", \"label\": \""));

  // eval on the run's own test split reports the same accuracy.
  Result eval = cajal(dir_, "eval run");
  ASSERT_EQ(eval.code, 0) << eval.err;
  EXPECT_NEAR(number_after(eval.out, "accuracy "), accuracy, 1e-4) << eval.out;
  // Four classes: the log loss and the one-vs-rest macro ROC AUC, printed to 4 decimals.
  std::string sklearn = sklearn_scores(dir_ + "/run", dir_ + "/test-images.idx", dir_ + "/test-labels.idx", "");
  EXPECT_NEAR(number_after(eval.out, "log loss "), sklearn_value(sklearn, "log_loss"), 5.01e-5) << eval.out;
  EXPECT_NEAR(number_after(eval.out, "ROC AUC (macro OvR) "), sklearn_value(sklearn, "roc_auc"), 5.01e-5) << eval.out;
  Result eval_files = cajal(dir_, "eval run --data test-images.idx --labels test-labels.idx");
  ASSERT_EQ(eval_files.code, 0) << eval_files.err;
  EXPECT_NEAR(number_after(eval_files.out, "accuracy "), accuracy, 1e-4) << eval_files.out;
  expect_failure(cajal(dir_, "eval run --data test-images.idx"), 2, {"needs --labels FILE"});
  // Inputs of the wrong shape: 28x28 images for a model of 8x8 ones.
  write_idx(dir_ + "/big.idx", {1, 28, 28}, std::vector<uint8_t>(784, 0));
  expect_failure(cajal(dir_, "predict run --input big.idx"), 1,
                 {"big.idx: examples have shape [1, 28, 28], but the model takes [1, 8, 8]"});
}

// A binary task: scikit-learn's breast-cancer table (malignant or benign tumours). `cajal eval`
// prints the ROC AUC and log loss scikit-learn computes from the same probabilities, and the
// report holds them and draws the ROC curve.
TEST_F(Program, BinaryTaskGetsRocAucLogLossAndCurve) {
  ASSERT_TRUE(test::run_reference("cli_eval_reference.py", "tables " + dir_));
  write_text(dir_ + "/cancer.yaml", R"(data: {reader: csv, train: cancer_train.csv, test: cancer_test.csv, label_column: diagnosis,
       labels: names, normalize: true}
model: {preset: mlp, options: {hidden: [16]}}
optimizer: {name: adam, lr: 0.01}
epochs: 5
batch_size: 32
num_workers: 0
output: cancer
)");
  Result train = cajal(dir_, "train cancer.yaml");
  ASSERT_EQ(train.code, 0) << train.err;
  Result eval = cajal(dir_, "eval cancer");
  ASSERT_EQ(eval.code, 0) << eval.err;
  std::string sklearn = sklearn_scores(dir_ + "/cancer", dir_ + "/cancer_test.csv", "", "diagnosis");
  double auc = sklearn_value(sklearn, "roc_auc"), log_loss = sklearn_value(sklearn, "log_loss");
  EXPECT_GT(auc, 0.95);  // a model that learned, so that the curve has many steps
  EXPECT_NEAR(number_after(eval.out, "ROC AUC "), auc, 5.01e-5) << eval.out;
  EXPECT_NEAR(number_after(eval.out, "log loss "), log_loss, 5.01e-5) << eval.out;
  EXPECT_EQ(eval.out.find("OvR"), std::string::npos) << eval.out;
  for (const char* name : {"\nbenign ", "\nmalignant "}) EXPECT_NE(eval.out.find(name), std::string::npos) << eval.out;  // per class

  // The report: the test split's ROC AUC and log loss (6 significant digits), and the ROC
  // curve with as many points as scikit-learn's roc_curve.
  std::string html = read_file(dir_ + "/cancer/report.html");
  EXPECT_NEAR(number_after(html, "<tr><th>test ROC AUC</th><td>"), auc, 1e-5) << html;
  EXPECT_NEAR(number_after(html, "<tr><th>test log loss</th><td>"), log_loss, 1e-5 * log_loss);
  EXPECT_NEAR(number_after(html, "aria-label=\"ROC curve (AUC "), auc, 5.01e-5);
  size_t curve = html.find("<polyline class=\"series\" data-series=\"model\"");
  ASSERT_NE(curve, std::string::npos) << html;
  std::string points = html.substr(html.find("points=\"", curve) + 8);
  points = points.substr(0, points.find('"'));
  EXPECT_EQ(std::count(points.begin(), points.end(), ','), load_npy(sklearn + "/roc_curve.npy").size(1));  // one "x,y" per point
}

TEST_F(Program, CsvTablesWithClassNames) {
  // Two features; the class is the sign pattern of (x, y), named by quadrant (points near an
  // axis left out, so that the classes are separated by a margin).
  const char* names[] = {"north", "east", "south", "west"};
  std::ostringstream train, test;
  train << "x,y,place\n";
  test << "x,y,place\n";
  uint32_t state = 3;
  auto uniform = [&] { return static_cast<double>((state = state * 1664525u + 1013904223u) >> 8) / (1 << 24) * 2 - 1; };
  std::vector<std::string> expected;
  for (int i = 0; i < 260;) {
    double x = uniform(), y = uniform();
    if (std::abs(x) < 0.15 || std::abs(y) < 0.15) continue;
    ++i;
    int k = (x > 0 ? 1 : 0) + (y > 0 ? 2 : 0);
    (i <= 200 ? train : test) << x << "," << y << "," << names[k] << "\n";
    if (i > 200) expected.push_back(names[k]);
  }
  write_text(dir_ + "/train.csv", train.str());
  write_text(dir_ + "/test.csv", test.str());
  write_text(dir_ + "/table.yaml", R"(data: {reader: csv, train: train.csv, test: test.csv, label_column: place, labels: names,
       normalize: true}
model: {preset: mlp, options: {hidden: [32]}}
optimizer: {name: adam, lr: 0.05}
epochs: 20
batch_size: 16
num_workers: 0
output: table
)");
  Result train_run = cajal(dir_, "train table.yaml");
  ASSERT_EQ(train_run.code, 0) << train_run.err;
  EXPECT_GE(number_after(train_run.out, "test accuracy "), 0.9) << train_run.out;
  // Class names come back from the model file; the label column is dropped from the input.
  Result predict = cajal(dir_, "predict table --input test.csv --label-column place");
  ASSERT_EQ(predict.code, 0) << predict.err;
  std::istringstream rows(predict.out);
  std::string line;
  std::getline(rows, line);
  EXPECT_EQ(line, "input,label,p_east,p_north,p_south,p_west");  // class k is the k-th name in sorted order
  int agree = 0;
  for (const std::string& name : expected) {
    std::getline(rows, line);
    agree += line.find("," + name + ",") != std::string::npos;
  }
  EXPECT_GE(agree, 54);  // 90% of 60
  Result info = cajal(dir_, "info table");
  EXPECT_NE(info.out.find("classes     east, north, south, west"), std::string::npos) << info.out;
}

// IDX labels are numbers; data.class_names names them in the model file, and so in eval's
// per-class scores, predict's labels and columns, info and the report's confusion matrix.
TEST_F(Program, IdxClassNamesReachEveryOutput) {
  const std::string named = "train squares.yaml --set epochs=1 --set 'data.class_names=[top left, top right, bottom left, bottom right]'";
  Result train = cajal(dir_, named);
  ASSERT_EQ(train.code, 0) << train.err;
  Result eval = cajal(dir_, "eval run");
  ASSERT_EQ(eval.code, 0) << eval.err;
  for (const char* name : {"\ntop left ", "\ntop right ", "\nbottom left ", "\nbottom right "})
    EXPECT_NE(eval.out.find(name), std::string::npos) << eval.out << " lacks " << name;
  Result predict = cajal(dir_, "predict run --input test-images.idx");
  ASSERT_EQ(predict.code, 0) << predict.err;
  EXPECT_TRUE(predict.out.starts_with("input,label,p_top left,p_top right,p_bottom left,p_bottom right\n0,")) << predict.out.substr(0, 200);
  std::string second_row = predict.out.substr(predict.out.find("\n1,") + 3);
  second_row = second_row.substr(0, second_row.find(','));
  EXPECT_TRUE(second_row == "top left" || second_row == "top right" || second_row == "bottom left" || second_row == "bottom right")
      << second_row;
  EXPECT_NE(cajal(dir_, "info run").out.find("classes     top left, top right, bottom left, bottom right"), std::string::npos)
      << cajal(dir_, "info run").out;
  std::string html = read_file(dir_ + "/run/report.html");
  EXPECT_NE(html.find("<th class=\"row-label\">bottom right</th>"), std::string::npos);

  // As many names as classes, else one line saying so.
  expect_failure(cajal(dir_, "train squares.yaml --set 'data.class_names=[a, b, c]'"), 1,
                 {"squares.yaml: data.class_names: 3 names for 4 classes (labels 0 to 3)"});
  expect_failure(cajal(dir_, "train squares.yaml --set 'data.class_names=[a, b, c, d]' --set data.num_classes=5"), 1,
                 {"squares.yaml: data.class_names: 4 names for 5 classes (data.num_classes)"});
}

// uint8 images stay uint8 in memory (a quarter of float32's size: most of the main job's peak
// memory was float32 copies of the training images) and reach training as float32
// (x / 255 - mean) / std, checked against the file's bytes.
TEST_F(Program, ImagesStayBytesInMemoryAndArriveNormalized) {
  std::string yaml = "data:\n  reader: idx\n  train: {inputs: " + dir_ + "/train-images.idx, targets: " + dir_ +
                     "/train-labels.idx}\n  normalize: true\nmodel: {preset: cnn}\n";
  cli::RunConfig cfg = cli::parse_config(yaml, "bytes.yaml");
  std::vector<std::string> names;
  auto raw = std::dynamic_pointer_cast<const data::TensorDataset>(cli::load_split(cfg.data, cfg.data.train, names));
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->inputs().dtype(), DType::u8);

  std::string bytes = read_file(dir_ + "/train-images.idx").substr(16);  // after the 4 + 3 * 4 header bytes
  ASSERT_EQ(bytes.size(), 400u * 64u);
  double sum = 0, sum_sq = 0;
  for (unsigned char b : bytes) sum += b / 255.0, sum_sq += (b / 255.0) * (b / 255.0);
  double mean = sum / bytes.size(), std = std::sqrt(sum_sq / bytes.size() - mean * mean);

  cli::Prepared prepared = cli::prepare_data(cfg.data, 0);
  ASSERT_EQ(prepared.mean.size(), 1u);
  EXPECT_NEAR(prepared.mean[0], mean, 1e-7);  // from float32 pixels
  EXPECT_NEAR(prepared.std[0], std, 1e-7);
  for (int64_t i : {0, 7, 399}) {
    Tensor input = prepared.train->get(i).input.contiguous();
    ASSERT_EQ(input.dtype(), DType::f32);
    ASSERT_EQ(input.sizes(), Dims({1, 8, 8}));
    for (int64_t p = 0; p < 64; ++p) {
      double expected = (static_cast<unsigned char>(bytes[i * 64 + p]) / 255.0 - mean) / std;
      EXPECT_NEAR(input.data_ptr<float>()[p], expected, 1e-5) << "example " << i << " pixel " << p;
    }
  }
}

// The program waits passively for OpenMP work unless the user chose a policy (it restarts
// itself with OMP_WAIT_POLICY=passive): read from the running process's environment.
TEST_F(Program, WaitsPassivelyUnlessTold) {
  auto policy_of_running = [&](const std::string& env) {
    // exec: the background job's process id is the program's.
    std::string command = "cd '" + dir_ + "'; (exec env " + env + " '" CAJAL_CLI "' train squares.yaml --set epochs=20 " +
                          "--output waits) > /dev/null 2>&1 & echo $!";
    FILE* pipe = popen(command.c_str(), "r");
    int pid = 0;
    EXPECT_EQ(std::fscanf(pipe, "%d", &pid), 1);
    pclose(pipe);
    std::string policy = "(exited)";
    // Until the restart has happened: at most 10 s, as a loaded machine (ctest -j2, or an
    // AddressSanitizer build) can take seconds to start the program twice.
    for (int tries = 0; tries < 1000; ++tries) {
      std::string environ = read_file("/proc/" + std::to_string(pid) + "/environ");
      if (environ.empty()) {  // gone, or in the middle of an exec (reads empty under load): look again
        usleep(10000);
        continue;
      }
      size_t at = environ.find("OMP_WAIT_POLICY=");
      policy = at == std::string::npos ? "" : environ.substr(at + 16, environ.find('\0', at) - at - 16);
      if (!policy.empty()) break;
      usleep(10000);
    }
    kill(pid, SIGKILL);
    return policy;
  };
  EXPECT_EQ(policy_of_running("-u OMP_WAIT_POLICY OMP_NUM_THREADS=1"), "passive");
  EXPECT_EQ(policy_of_running("OMP_WAIT_POLICY=active OMP_NUM_THREADS=1"), "active");
}

TEST_F(Program, ResumingContinuesTheSameRun) {
  // 3 epochs straight, against 2 epochs and then a resume to 3: the same metrics, bit for bit.
  // (A schedule that does not depend on the number of epochs, unlike onecycle.)
  std::string step = " --set schedule.name=step --set schedule.step_size=1";
  ASSERT_EQ(cajal(dir_, "train squares.yaml --set epochs=3 --output straight" + step).code, 0);
  ASSERT_EQ(cajal(dir_, "train squares.yaml --set epochs=2 --output resumed" + step).code, 0);
  Result resumed = cajal(dir_, "train squares.yaml --set epochs=3 --output resumed --resume resumed/last.ckpt" + step);
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  EXPECT_EQ(read_file(dir_ + "/resumed/metrics.csv"), read_file(dir_ + "/straight/metrics.csv"));
  expect_failure(cajal(dir_, "train squares.yaml --resume nothing.ckpt"), 1, {"nothing.ckpt: no such checkpoint file"});
}

}  // namespace
}  // namespace cajal
