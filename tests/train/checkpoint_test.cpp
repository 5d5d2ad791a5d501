// Checkpoints: the file round-trips every part exactly, bad files fail with clear errors, and
// ModelCheckpoint writes last.ckpt / best.ckpt holding the run's state at the right moments.
#include <filesystem>

#include "cajal/nn/serialize.h"
#include "cajal/optim/optim.h"
#include "support/test_support.h"
#include "train/train_fixtures.h"

namespace cajal {
namespace {

using train::Checkpoint;
using train::Logs;

Tensor scalar(double v) { return full({}, v, {.dtype = DType::f64}); }

TEST(Checkpoint, RoundTripsEveryPartExactly) {
  manual_seed(1);
  Checkpoint c;
  c.model = {{"fc.weight", randn({3, 2})}, {"bn.num_batches_tracked", full({}, 7, {.dtype = DType::i64})}};
  c.optimizer = {{"state.0.step", full({}, 12, {.dtype = DType::i64})}, {"param_groups.0.lr", scalar(0.01)}};
  c.scheduler = {{"last_epoch", scalar(3)}};
  c.state = {{"epoch.loss_sum", scalar(1.0 / 3)}};
  c.rng = {0xFFFFFFFFFFFFFFFFull, 0x8000000000000000ull, 1, 0, 42};  // the top bit must survive int64 storage
  c.epochs_done = 4;
  c.batches_done = 17;
  c.step = 1234567890123;
  c.config = "model: cnn\nname: \"ünïcode\" {json: [1, 2]}";
  const std::string path = test::temp_dir() + "/run.ckpt";
  train::save_checkpoint(c, path);

  const Checkpoint r = train::load_checkpoint(path);
  for (auto [a, b] : {std::pair{&c.model, &r.model}, {&c.optimizer, &r.optimizer}, {&c.scheduler, &r.scheduler},
                      {&c.state, &r.state}}) {
    // The file orders tensors by dtype alignment and name; compare by name.
    auto sorted = [](NamedTensors t) {
      std::sort(t.begin(), t.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
      return t;
    };
    EXPECT_TRUE(test::bit_identical(sorted(*a), sorted(*b)));
  }
  EXPECT_EQ(r.rng, c.rng);
  EXPECT_EQ(r.epochs_done, 4);
  EXPECT_EQ(r.batches_done, 17);
  EXPECT_EQ(r.step, 1234567890123);
  EXPECT_EQ(r.config, c.config);

  // Any safetensors reader sees the layout the header documents.
  const SafetensorsMetadata metadata = load_safetensors_metadata(path);
  EXPECT_EQ(metadata.at("format"), "cajal.checkpoint");
  EXPECT_EQ(metadata.at("version"), "1");
  EXPECT_EQ(metadata.at("step"), "1234567890123");
  std::vector<std::string> names;
  for (const auto& [name, t] : load_safetensors(path)) names.push_back(name);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"model.bn.num_batches_tracked", "model.fc.weight",
                                             "optimizer.param_groups.0.lr", "optimizer.state.0.step", "rng.default",
                                             "scheduler.last_epoch", "state.epoch.loss_sum"}));
}

TEST(Checkpoint, BadFilesAreClearErrors) {
  const std::string dir = test::temp_dir();
  const std::string weights = dir + "/weights.safetensors";
  nn::save(*test::blob_mlp(), weights);
  test::expect_error<IOError>([&] { train::load_checkpoint(weights); },
                              {"load_checkpoint: ", weights, ": not a cajal checkpoint", "nn::load"});

  const Tensor rng = zeros({5}, {.dtype = DType::i64});
  auto write = [&](const std::string& name, NamedTensors tensors, SafetensorsMetadata changes) {
    SafetensorsMetadata metadata = {{"format", "cajal.checkpoint"}, {"version", "1"}, {"epochs_done", "1"},
                                    {"batches_done", "0"},           {"step", "5"},      {"config", ""}};
    for (const auto& [k, v] : changes) metadata[k] = v;
    save_safetensors(tensors, dir + "/" + name, metadata);
    return dir + "/" + name;
  };
  const std::string good = write("good.ckpt", {{"rng.default", rng}}, {});
  EXPECT_EQ(train::load_checkpoint(good).step, 5);

  test::expect_error<IOError>([&] { train::load_checkpoint(write("v2.ckpt", {{"rng.default", rng}}, {{"version", "2"}})); },
                              {"checkpoint version \"2\" is not supported"});
  for (const char* bad : {"-1", "abc", "1.5", "", "99999999999999999999"})
    test::expect_error<IOError>(
        [&] { train::load_checkpoint(write("count.ckpt", {{"rng.default", rng}}, {{"step", bad}})); },
        {"metadata \"step\" is \"", bad, "\", expected a non-negative integer"});
  test::expect_error<IOError>(
      [&] { train::load_checkpoint(write("prefix.ckpt", {{"rng.default", rng}, {"weights.x", rng}}, {})); },
      {"tensor \"weights.x\" is under no known prefix"});
  test::expect_error<IOError>([&] { train::load_checkpoint(write("norng.ckpt", {{"model.x", rng}}, {})); },
                              {"has no \"rng.default\" tensor"});
  test::expect_error<IOError>(
      [&] { train::load_checkpoint(write("rng.ckpt", {{"rng.default", zeros({4}, {.dtype = DType::i64})}}, {})); },
      {"\"rng.default\" must be an int64 tensor of shape [5], got int64 [4]"});
  test::expect_error<IOError>([&] { train::load_checkpoint(dir + "/missing.ckpt"); }, {"missing.ckpt"});
}

// Sets logs["score"] from a script and copies the weights after each epoch.
struct ScriptedScore : train::Callback {
  explicit ScriptedScore(std::vector<double> scores) : scores(std::move(scores)) {}
  void on_epoch_end(int64_t epoch, Logs& logs) override {
    logs.set("score", scores.at(static_cast<size_t>(epoch - 1)));
    weights.push_back(test::weights_of(*trainer().model()));
  }
  std::vector<double> scores;
  std::vector<NamedTensors> weights;
};

NamedTensors sorted(NamedTensors t) {
  std::sort(t.begin(), t.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  return t;
}

// last.ckpt after every epoch and best.ckpt at the best score; each holds the weights of its
// epoch, the optimizer's state and the position of the run, and loads into a fresh model.
TEST(ModelCheckpoint, WritesLastAndBest) {
  manual_seed(2);
  auto model = test::blob_mlp();
  optim::Adam opt(model->parameters(), {.lr = 0.01});
  train::Trainer trainer(model, test::cross_entropy_loss, opt, {.progress = false, .config = "preset: blobs"});
  const std::string dir = test::temp_dir() + "/run";  // created by ModelCheckpoint
  auto checkpoints =
      std::make_shared<train::ModelCheckpoint>(dir, train::ModelCheckpointOptions{.monitor = "score", .mode = "max"});
  auto script = std::make_shared<ScriptedScore>(std::vector<double>{0.3, 0.8, 0.5, 0.7});
  trainer.add_callback(checkpoints);  // added first, runs after the script all the same
  trainer.add_callback(script);
  auto loader = data::DataLoader(test::blobs(40, 1), {.batch_size = 8, .shuffle = true});
  trainer.fit(loader, nullptr, 4);

  const Checkpoint last = train::load_checkpoint(dir + "/last.ckpt");
  EXPECT_EQ(last.epochs_done, 4);
  EXPECT_EQ(last.batches_done, 0);
  EXPECT_EQ(last.step, 20);
  EXPECT_EQ(last.config, "preset: blobs");
  EXPECT_TRUE(test::bit_identical(sorted(last.model), sorted(test::weights_of(*model))));
  EXPECT_TRUE(test::bit_identical(sorted(last.optimizer), sorted(opt.state_dict())));
  EXPECT_EQ(last.rng, default_generator().state());

  const Checkpoint best = train::load_checkpoint(dir + "/best.ckpt");
  EXPECT_EQ(best.epochs_done, 2);
  EXPECT_EQ(best.step, 10);
  EXPECT_TRUE(test::bit_identical(sorted(best.model), sorted(script->weights[1])));
  auto best_value = std::find_if(best.state.begin(), best.state.end(),
                                 [](const auto& e) { return e.first == "callbacks.model_checkpoint.best"; });
  ASSERT_NE(best_value, best.state.end());
  EXPECT_EQ(best_value->second.item(), 0.8);

  manual_seed(99);
  auto fresh = test::blob_mlp();
  train::load_model_from_checkpoint(*fresh, dir + "/best.ckpt");
  EXPECT_TRUE(test::bit_identical(test::weights_of(*fresh), script->weights[1]));

  auto other = nn::Sequential(nn::Linear(2, 3));
  test::expect_error<IOError>([&] { train::load_model_from_checkpoint(*other, dir + "/best.ckpt"); },
                              {"load_checkpoint: ", "best.ckpt: the checkpoint's model does not match the module: ",
                               "unexpected keys: ", "1.running_mean",
                               "mismatched: 0.weight (shape [16, 2] in the file, [3, 2] in the module)"});
}

// every_n_steps: last.ckpt also in the middle of an epoch, recording the batches done.
TEST(ModelCheckpoint, WritesEveryNSteps) {
  struct ReadLast : train::Callback {
    explicit ReadLast(std::string path) : path(std::move(path)) {}
    void on_batch_end(int64_t step, const Logs&) override {
      // Runs before the writer: last.ckpt is the one of an earlier step.
      if (std::filesystem::exists(path)) seen.push_back(train::load_checkpoint(path));
    }
    std::string path;
    std::vector<Checkpoint> seen;
  };
  manual_seed(3);
  auto model = test::blob_mlp();
  optim::SGD opt(model->parameters(), {.lr = 0.1});
  train::Trainer trainer(model, test::cross_entropy_loss, opt, {.progress = false});
  const std::string dir = test::temp_dir();
  trainer.add_callback(std::make_shared<train::ModelCheckpoint>(
      dir, train::ModelCheckpointOptions{.monitor = "", .every_n_steps = 3}));
  auto reader = std::make_shared<ReadLast>(dir + "/last.ckpt");
  trainer.add_callback(reader);
  auto loader = data::DataLoader(test::blobs(40, 1), {.batch_size = 8});  // 5 batches
  trainer.fit(loader, nullptr, 2);

  // Steps 1..10; checkpoints at steps 3, 5 (end of epoch 1), 6, 9 and 10 (end of epoch 2).
  std::vector<std::array<int64_t, 3>> positions;  // step, epochs_done, batches_done
  for (const Checkpoint& c : reader->seen) positions.push_back({c.step, c.epochs_done, c.batches_done});
  const std::vector<std::array<int64_t, 3>> expected = {
      {3, 0, 3}, {3, 0, 3}, {5, 1, 0}, {6, 1, 1}, {6, 1, 1}, {6, 1, 1}, {9, 1, 4}};  // read at steps 4..10
  EXPECT_EQ(positions, expected);
  EXPECT_FALSE(std::filesystem::exists(dir + "/best.ckpt"));  // no monitor, no best
}

}  // namespace
}  // namespace cajal
