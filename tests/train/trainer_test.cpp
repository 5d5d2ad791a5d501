// Trainer: the loop equals a hand-written one bit for bit, learns, evaluates and predicts as
// the model computes directly, runs callbacks in order, stops early and on non-finite losses.
#include <algorithm>
#include <cmath>

#include "cajal/data/transforms.h"
#include "cajal/metrics/classification.h"
#include "cajal/optim/optim.h"
#include "support/test_support.h"
#include "train/train_fixtures.h"

namespace cajal {
namespace {

using train::Logs;
using train::Trainer;

constexpr int64_t kBatch = 16;

data::DataLoader shuffled(const data::DatasetPtr& dataset, uint64_t seed = 3) {
  return data::DataLoader(dataset, {.batch_size = kBatch, .shuffle = true, .seed = seed});
}

// Runs fn at each epoch's end, and records every hook as text.
struct Recorder : train::Callback {
  explicit Recorder(std::string name, std::vector<std::string>* events, bool writer = false)
      : name(std::move(name)), events(events), writer(writer) {}
  void on_train_begin() override { events->push_back(name + ".train_begin"); }
  void on_train_end() override { events->push_back(name + ".train_end"); }
  void on_epoch_begin(int64_t epoch) override { events->push_back(name + ".epoch_begin " + std::to_string(epoch)); }
  void on_epoch_end(int64_t epoch, Logs& logs) override {
    events->push_back(name + ".epoch_end " + std::to_string(epoch));
  }
  void on_batch_end(int64_t step, const Logs& logs) override {
    events->push_back(name + ".batch_end " + std::to_string(step));
  }
  bool writes_checkpoints() const override { return writer; }
  std::string name;
  std::vector<std::string>* events;
  bool writer;
};

// ------------------------------------------------------------------ the loop itself

// The trainer's step is zero_grad, forward, loss, backward, clip, step, scheduler step and
// nothing else: the same written by hand ends with bit-identical weights and the same mean
// losses, whether the scheduler steps per epoch or per batch. Validation after each epoch
// (eval mode, no gradients) must not disturb training (dropout's generator, batch norm's
// running statistics).
class LoopTest : public ::testing::TestWithParam<train::Interval> {};

TEST_P(LoopTest, FitEqualsAHandWrittenLoop) {
  const train::Interval interval = GetParam();
  const auto dataset = test::blobs(80, 1);
  const int64_t epochs = 3, batches = 5;
  auto make_scheduler = [&](optim::Optimizer& opt) -> std::shared_ptr<optim::LRScheduler> {
    if (interval == train::Interval::epoch) return std::make_shared<optim::StepLR>(opt, 2, 0.5);
    return std::make_shared<optim::LinearLR>(opt, 0.25, 1.0, epochs * batches);
  };

  manual_seed(7);
  auto model = test::blob_mlp();
  optim::SGD opt(model->parameters(), {.lr = 0.2, .momentum = 0.9});
  auto scheduler = make_scheduler(opt);
  Trainer trainer(model, test::cross_entropy_loss, opt,
                  {.scheduler = scheduler, .scheduler_interval = interval, .clip_grad_norm = 0.5, .progress = false});
  auto train_loader = shuffled(dataset);
  auto val_loader = data::DataLoader(test::blobs(40, 2), {.batch_size = 32});
  const std::vector<Logs> history = trainer.fit(train_loader, &val_loader, epochs);

  manual_seed(7);
  auto reference = test::blob_mlp();
  optim::SGD ref_opt(reference->parameters(), {.lr = 0.2, .momentum = 0.9});
  auto ref_scheduler = make_scheduler(ref_opt);
  auto loader = shuffled(dataset);
  ASSERT_EQ(history.size(), static_cast<size_t>(epochs));
  for (int64_t epoch = 0; epoch < epochs; ++epoch) {
    loader.set_epoch(epoch);
    reference->train();
    double loss_sum = 0;
    int64_t count = 0;
    for (data::Batch& batch : loader) {
      ref_opt.zero_grad();
      Tensor loss = cross_entropy(reference->forward(batch.input), batch.target);
      loss.backward();
      optim::clip_grad_norm_(reference->parameters(), 0.5);
      ref_opt.step();
      if (interval == train::Interval::step) ref_scheduler->step();
      loss_sum += loss.item() * static_cast<double>(batch.size);
      count += batch.size;
    }
    const double lr = ref_opt.param_groups()[0].lr;
    if (interval == train::Interval::epoch) ref_scheduler->step();
    EXPECT_EQ(history[epoch].get("loss", "test"), loss_sum / static_cast<double>(count)) << "epoch " << epoch + 1;
    EXPECT_EQ(history[epoch].get("lr", "test"), lr) << "epoch " << epoch + 1;
  }
  EXPECT_TRUE(test::bit_identical(test::weights_of(*model), test::weights_of(*reference)));
  EXPECT_EQ(trainer.state().step, epochs * batches);
  EXPECT_EQ(trainer.state().epochs_done, epochs);
}

INSTANTIATE_TEST_SUITE_P(SchedulerInterval, LoopTest,
                         ::testing::Values(train::Interval::epoch, train::Interval::step),
                         [](const auto& info) { return info.param == train::Interval::epoch ? "epoch" : "step"; });

TEST(Trainer, LearnsTheBlobs) {
  manual_seed(1);
  auto model = test::blob_mlp();
  optim::Adam opt(model->parameters(), {.lr = 0.03});
  Trainer trainer(model, test::cross_entropy_loss, opt, {.progress = false});
  auto train_loader = shuffled(test::blobs(240, 1));
  auto val_loader = data::DataLoader(test::blobs(120, 2), {.batch_size = 64});
  const auto& history = trainer.fit(train_loader, &val_loader, 6);

  ASSERT_EQ(history.size(), 6u);
  std::vector<std::string> names;
  for (const auto& [name, value] : history[0]) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"loss", "accuracy", "val_loss", "val_accuracy", "lr"}));
  // Chance is log(3) = 1.1 and accuracy 1/3; the blobs barely overlap.
  EXPECT_LT(history.back().get("loss", "test"), history.front().get("loss", "test") / 3);
  EXPECT_LT(history.back().get("val_loss", "test"), 0.2);
  EXPECT_GT(history.back().get("val_accuracy", "test"), 0.95);
}

// ReduceLROnPlateau steps after each epoch with the monitored metric: "loss" in max mode
// never improves after epoch 1 (it falls), so with patience 0 the rate halves after every
// later epoch. Each epoch's "lr" is the rate it trained with.
TEST(Trainer, PlateauSchedulerLowersTheRateWhenTheMetricStalls) {
  manual_seed(4);
  auto model = test::blob_mlp();
  optim::SGD opt(model->parameters(), {.lr = 0.1});
  auto plateau = std::make_shared<optim::ReduceLROnPlateau>(
      opt, optim::ReduceLROnPlateauOptions{.mode = "max", .factor = 0.5, .patience = 0});
  Trainer trainer(model, test::cross_entropy_loss, opt,
                  {.plateau_scheduler = plateau, .plateau_monitor = "loss", .progress = false});
  auto loader = shuffled(test::blobs(80, 1));
  const auto& history = trainer.fit(loader, nullptr, 4);
  std::vector<double> losses, lrs;
  for (const Logs& logs : history) {
    losses.push_back(logs.get("loss", "test"));
    lrs.push_back(logs.get("lr", "test"));
  }
  ASSERT_TRUE(std::is_sorted(losses.rbegin(), losses.rend())) << "the premise: the loss falls";
  EXPECT_EQ(lrs, (std::vector<double>{0.1, 0.1, 0.05, 0.025}));
  EXPECT_EQ(opt.param_groups()[0].lr, 0.0125);
}

// A batch transform (mixup) gets a generator seeded from (seed, epoch, batch), as documented:
// the same loop by hand ends with the same weights. Mixed-up (probability) targets count
// toward the loss only; validation's class indices still give an accuracy.
TEST(Trainer, BatchTransformIsSeededPerBatch) {
  auto mix = [](const data::Batch& batch, Generator& gen) { return data::mixup(batch, 0.4, gen, 3); };
  const auto dataset = test::blobs(48, 1);
  manual_seed(5);
  auto model = test::blob_mlp();
  optim::SGD opt(model->parameters(), {.lr = 0.1});
  Trainer trainer(model, test::cross_entropy_loss, opt,
                  {.batch_transform = mix, .batch_transform_seed = 9, .progress = false});
  auto loader = shuffled(dataset);
  auto val = data::DataLoader(test::blobs(16, 2), {.batch_size = 8});
  const auto& history = trainer.fit(loader, &val, 2);
  EXPECT_EQ(history.back().names(), "loss, val_loss, val_accuracy, lr");

  manual_seed(5);
  auto reference = test::blob_mlp();
  optim::SGD ref_opt(reference->parameters(), {.lr = 0.1});
  auto ref_loader = shuffled(dataset);
  for (int64_t epoch = 0; epoch < 2; ++epoch) {
    ref_loader.set_epoch(epoch);
    int64_t b = 0;
    for (data::Batch& batch : ref_loader) {
      Generator gen(data::example_seed(9, epoch, b++));
      data::Batch mixed = data::mixup(batch, 0.4, gen, 3);
      ASSERT_TRUE(mixed.target.is_floating_point());
      ref_opt.zero_grad();
      cross_entropy(reference->forward(mixed.input), mixed.target).backward();
      ref_opt.step();
    }
  }
  EXPECT_TRUE(test::bit_identical(test::weights_of(*model), test::weights_of(*reference)));
}

// evaluate() and predict() give what the model computes on the whole set at once, in eval
// mode; the model's mode is left as it was.
TEST(Trainer, EvaluateAndPredictMatchTheModelOnTheWholeSet) {
  manual_seed(2);
  auto model = test::blob_mlp();
  optim::Adam opt(model->parameters(), {.lr = 0.03});
  Trainer trainer(model, test::cross_entropy_loss, opt, {.progress = false});
  auto train_loader = shuffled(test::blobs(160, 1));
  trainer.fit(train_loader, nullptr, 2);

  const auto val = test::blobs(100, 5);
  const auto& tensors = dynamic_cast<const data::TensorDataset&>(*val);
  auto loader = data::DataLoader(val, {.batch_size = 32});  // 32, 32, 32, 4
  model->train();
  const Logs logs = trainer.evaluate(loader);
  const Tensor predicted = trainer.predict(loader);
  EXPECT_TRUE(model->is_training());

  model->eval();
  const Tensor expected = model->forward(tensors.inputs()).detach();
  EXPECT_TRUE(test::all_close(predicted, expected, 1e-5, 1e-6));
  EXPECT_NEAR(logs.get("loss", "test"), cross_entropy(expected, tensors.targets()).item(), 1e-6);
  EXPECT_DOUBLE_EQ(logs.get("accuracy", "test"), metrics::accuracy(expected, tensors.targets()));
}

// Regression targets (floating) get no accuracy; Task::classification would insist.
TEST(Trainer, RegressionLogsOnlyTheLoss) {
  manual_seed(3);
  Tensor x = randn({64, 3});
  Tensor y = x.sum({1}, true);
  auto model = nn::Sequential(nn::Linear(3, 1));
  optim::SGD opt(model->parameters(), {.lr = 0.1});
  Trainer trainer(model, [](const Tensor& out, const Tensor& target) { return mse_loss(out, target); }, opt,
                  {.progress = false});
  auto loader = data::DataLoader(data::tensor_dataset(x, y), {.batch_size = 16});
  const auto& history = trainer.fit(loader, &loader, 30);
  EXPECT_EQ(history.back().names(), "loss, val_loss, lr");
  EXPECT_LT(history.back().get("val_loss", "test"), 1e-3);
}

// ------------------------------------------------------------------ callbacks

TEST(Trainer, CallbacksRunInOrderWithCheckpointWritersLast) {
  manual_seed(4);
  auto model = test::blob_mlp();
  optim::SGD opt(model->parameters(), {.lr = 0.1});
  Trainer trainer(model, test::cross_entropy_loss, opt, {.progress = false});
  std::vector<std::string> events;
  trainer.add_callback(std::make_shared<Recorder>("writer", &events, true));
  trainer.add_callback(std::make_shared<Recorder>("a", &events));
  trainer.add_callback(std::make_shared<Recorder>("b", &events));
  auto loader = data::DataLoader(test::blobs(24, 1), {.batch_size = 16});  // 2 batches
  trainer.fit(loader, nullptr, 2);

  const std::vector<std::string> expected = {
      "a.train_begin", "b.train_begin", "writer.train_begin",
      "a.epoch_begin 1", "b.epoch_begin 1", "writer.epoch_begin 1",
      "a.batch_end 1", "b.batch_end 1", "writer.batch_end 1",
      "a.batch_end 2", "b.batch_end 2", "writer.batch_end 2",
      "a.epoch_end 1", "b.epoch_end 1", "writer.epoch_end 1",
      "a.epoch_begin 2", "b.epoch_begin 2", "writer.epoch_begin 2",
      "a.batch_end 3", "b.batch_end 3", "writer.batch_end 3",
      "a.batch_end 4", "b.batch_end 4", "writer.batch_end 4",
      "a.epoch_end 2", "b.epoch_end 2", "writer.epoch_end 2",
      "a.train_end", "b.train_end", "writer.train_end",
  };
  EXPECT_EQ(events, expected);
}

// Sets logs["score"] from a script at each epoch's end, and copies the weights.
struct ScriptedScore : train::Callback {
  explicit ScriptedScore(std::vector<double> scores) : scores(std::move(scores)) {}
  void on_epoch_end(int64_t epoch, Logs& logs) override {
    logs.set("score", scores.at(static_cast<size_t>(epoch - 1)));
    weights.push_back(test::weights_of(*trainer().model()));
  }
  std::vector<double> scores;
  std::vector<std::vector<std::pair<std::string, Tensor>>> weights;  // after each epoch
};

struct EarlyStoppingCase {
  std::string name;
  std::vector<double> scores;
  train::EarlyStoppingOptions options;
  int64_t epochs_run;
  int64_t best_epoch;
};

class EarlyStoppingTest : public ::testing::TestWithParam<EarlyStoppingCase> {};

// Stops once `patience` epochs in a row failed to beat the best by more than min_delta, and
// (restore_best_weights) ends with the best epoch's weights, bit for bit.
TEST_P(EarlyStoppingTest, StopsAtTheRightEpochAndRestoresTheBest) {
  const EarlyStoppingCase& c = GetParam();
  manual_seed(5);
  auto model = test::blob_mlp();
  optim::SGD opt(model->parameters(), {.lr = 0.1});
  Trainer trainer(model, test::cross_entropy_loss, opt, {.progress = false});
  auto script = std::make_shared<ScriptedScore>(c.scores);
  auto stopper = std::make_shared<train::EarlyStopping>(c.options);
  trainer.add_callback(script);
  trainer.add_callback(stopper);
  auto loader = shuffled(test::blobs(32, 1));
  const auto& history = trainer.fit(loader, nullptr, static_cast<int64_t>(c.scores.size()));

  EXPECT_EQ(static_cast<int64_t>(history.size()), c.epochs_run);
  EXPECT_EQ(stopper->best_epoch(), c.best_epoch);
  const bool stopped = c.epochs_run < static_cast<int64_t>(c.scores.size());
  EXPECT_EQ(trainer.stop_requested(), stopped);
  EXPECT_EQ(stopper->stopped_epoch(), stopped ? c.epochs_run : 0);
  if (stopped) {
    EXPECT_NE(trainer.stop_reason().find("score has not improved for " + std::to_string(c.options.patience)),
              std::string::npos)
        << trainer.stop_reason();
  }
  const auto& expected = script->weights.at(static_cast<size_t>(
      c.options.restore_best_weights ? c.best_epoch - 1 : c.epochs_run - 1));
  EXPECT_TRUE(test::bit_identical(test::weights_of(*model), expected));
  if (c.options.restore_best_weights && c.best_epoch != c.epochs_run) {
    EXPECT_FALSE(test::bit_identical(test::weights_of(*model), script->weights.back()));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, EarlyStoppingTest,
    ::testing::Values(
        // best at 2, then 3 and 4 fail: stop after 4.
        EarlyStoppingCase{"min", {5, 3, 4, 3.5, 1, 1}, {.monitor = "score", .patience = 2, .restore_best_weights = true}, 4, 2},
        // a new best (epoch 4) resets the count.
        EarlyStoppingCase{"reset", {5, 3, 4, 2, 6, 7, 8, 9}, {.monitor = "score", .patience = 3, .restore_best_weights = true}, 7, 4},
        // improvements smaller than min_delta do not count: 4.95 and 4.92 fail against 5.
        EarlyStoppingCase{"min_delta", {5, 4.95, 4.92, 1}, {.monitor = "score", .patience = 2, .min_delta = 0.1, .restore_best_weights = true}, 3, 1},
        EarlyStoppingCase{"max", {0.5, 0.7, 0.6, 0.65, 0.9}, {.monitor = "score", .mode = "max", .patience = 2, .restore_best_weights = true}, 4, 2},
        // NaN is never an improvement.
        EarlyStoppingCase{"nan", {1, NAN, NAN, 0}, {.monitor = "score", .patience = 2, .restore_best_weights = true}, 3, 1},
        // without restoring, the last weights stay.
        EarlyStoppingCase{"keep_last", {5, 3, 4, 3.5, 1}, {.monitor = "score", .patience = 2}, 4, 2},
        // never stopped: runs every epoch, still restores the best.
        EarlyStoppingCase{"not_stopped", {5, 3, 4, 2.9}, {.monitor = "score", .patience = 2, .restore_best_weights = true}, 4, 4},
        EarlyStoppingCase{"not_stopped_restores", {5, 3, 4}, {.monitor = "score", .patience = 2, .restore_best_weights = true}, 3, 2}),
    [](const auto& info) { return info.param.name; });

// A second fit() on the same trainer starts early stopping afresh (it would stop after its
// first epoch if it kept the first run's best and count).
TEST(EarlyStopping, ASecondFitStartsAfresh) {
  manual_seed(5);
  auto model = test::blob_mlp();
  optim::SGD opt(model->parameters(), {.lr = 0.1});
  Trainer trainer(model, test::cross_entropy_loss, opt, {.progress = false});
  auto stopper = std::make_shared<train::EarlyStopping>(train::EarlyStoppingOptions{.monitor = "score", .patience = 2});
  trainer.add_callback(std::make_shared<ScriptedScore>(std::vector<double>{5, 6, 7, 8}));
  trainer.add_callback(stopper);
  auto loader = shuffled(test::blobs(32, 1));
  EXPECT_EQ(trainer.fit(loader, nullptr, 4).size(), 3u);
  EXPECT_EQ(stopper->stopped_epoch(), 3);
  EXPECT_EQ(trainer.fit(loader, nullptr, 4).size(), 3u);
  EXPECT_EQ(stopper->best_epoch(), 1);
}

TEST(EarlyStopping, AMissingMetricIsAClearError) {
  manual_seed(6);
  auto model = test::blob_mlp();
  optim::SGD opt(model->parameters(), {.lr = 0.1});
  Trainer trainer(model, test::cross_entropy_loss, opt, {.progress = false});
  trainer.add_callback(std::make_shared<train::EarlyStopping>());  // monitors val_loss
  auto loader = shuffled(test::blobs(32, 1));
  test::expect_error<ValueError>([&] { trainer.fit(loader, nullptr, 2); },
                                 {"EarlyStopping: no metric \"val_loss\" in the logs (they hold: loss, accuracy, lr)",
                                  "validation loader"});
  test::expect_error<ValueError>([] { train::EarlyStopping({.mode = "lowest"}); },
                                 {"EarlyStopping: mode must be \"min\" or \"max\", got \"lowest\""});
  test::expect_error<ValueError>([] { train::EarlyStopping({.patience = 0}); },
                                 {"EarlyStopping: patience must be >= 1, got 0"});
}

// A callback may stop in the middle of an epoch: the trainer finishes that batch and ends
// the run without the epoch's end.
TEST(Trainer, StopsAfterTheBatchACallbackStopsIn) {
  struct StopAtStep : train::Callback {
    void on_batch_end(int64_t step, const Logs&) override {
      if (step == 3) trainer().stop_training("enough");
    }
  };
  manual_seed(6);
  auto model = test::blob_mlp();
  optim::SGD opt(model->parameters(), {.lr = 0.1});
  Trainer trainer(model, test::cross_entropy_loss, opt, {.progress = false});
  std::vector<std::string> events;
  trainer.add_callback(std::make_shared<StopAtStep>());
  trainer.add_callback(std::make_shared<Recorder>("r", &events));
  auto loader = data::DataLoader(test::blobs(40, 1), {.batch_size = 8});  // 5 batches
  const auto& history = trainer.fit(loader, nullptr, 3);
  EXPECT_TRUE(history.empty());
  EXPECT_EQ(trainer.state().step, 3);
  EXPECT_EQ(trainer.stop_reason(), "enough");
  EXPECT_EQ(events.back(), "r.train_end");
  EXPECT_EQ(events[events.size() - 2], "r.batch_end 3");
}

// ------------------------------------------------------------------ non-finite losses

// A NaN in the data: the loss of the batch that holds it (the 4th of the 1st epoch) is NaN,
// and training stops before applying that batch's update, naming epoch, step and batch.
TEST(Trainer, NonFiniteLossStopsWithEpochAndStep) {
  manual_seed(8);
  Tensor x = randn({32, 2});
  x.at<float>({27, 1}) = NAN;  // batch 4 of 4 (batch size 8)
  Tensor y = randint(0, 3, {32});
  auto model = test::blob_mlp();
  optim::SGD opt(model->parameters(), {.lr = 0.1});
  Trainer trainer(model, test::cross_entropy_loss, opt, {.progress = false});
  std::vector<std::string> events;
  trainer.add_callback(std::make_shared<Recorder>("r", &events));
  auto loader = data::DataLoader(data::tensor_dataset(x, y), {.batch_size = 8});
  test::expect_error<Error>([&] { trainer.fit(loader, nullptr, 3); },
                            {"Trainer: the loss is nan at epoch 1, step 4 (batch 4 of 4); training stopped before this update",
                             "Lower the learning rate (now 0.1)"});
  EXPECT_EQ(trainer.state().step, 3);
  EXPECT_EQ(events.back(), "r.train_end");  // logs are closed properly
  for (const Tensor& p : model->parameters()) EXPECT_TRUE(std::isfinite(p.sum().item())) << p;
}

// An absurd learning rate makes the loss overflow within a few steps; the run stops at the
// first non-finite loss and names where it happened.
TEST(Trainer, ExplodingRunStopsAtTheFirstNonFiniteLoss) {
  struct BatchLosses : train::Callback {
    void on_batch_end(int64_t step, const Logs& logs) override { losses.push_back(logs.get("batch_loss", "test")); }
    std::vector<double> losses;
  };
  manual_seed(9);
  Tensor x = randn({64, 4});
  Tensor y = x.sum({1}, true) * 100;
  auto model = nn::Sequential(nn::Linear(4, 32), nn::Linear(32, 32), nn::Linear(32, 1));
  optim::SGD opt(model->parameters(), {.lr = 10});
  Trainer trainer(model, [](const Tensor& out, const Tensor& target) { return mse_loss(out, target); }, opt,
                  {.progress = false});
  auto losses = std::make_shared<BatchLosses>();
  trainer.add_callback(losses);
  auto loader = data::DataLoader(data::tensor_dataset(x, y), {.batch_size = 16});  // 4 batches
  const std::string message = test::error_message<Error>([&] { trainer.fit(loader, nullptr, 100); });

  const int64_t step = trainer.state().step + 1;  // the step that was not taken
  const std::string where = "at epoch " + std::to_string((step - 1) / 4 + 1) + ", step " + std::to_string(step) +
                            " (batch " + std::to_string((step - 1) % 4 + 1) + " of 4)";
  EXPECT_NE(message.find("Trainer: the loss is "), std::string::npos) << message;
  EXPECT_NE(message.find(where), std::string::npos) << message << " lacks " << where;
  ASSERT_EQ(static_cast<int64_t>(losses->losses.size()), step - 1);
  EXPECT_GT(step, 1);
  for (double loss : losses->losses) EXPECT_TRUE(std::isfinite(loss));
  EXPECT_GT(losses->losses.back(), losses->losses.front());
}

TEST(Trainer, BadOptionsAreClearErrors) {
  auto model = test::blob_mlp();
  optim::SGD opt(model->parameters(), {.lr = 0.1});
  test::expect_error<ValueError>([&] { Trainer(model, test::cross_entropy_loss, opt, {.clip_grad_norm = -1}); },
                                 {"Trainer: clip_grad_norm and clip_grad_value must be >= 0 (0: off), got -1 and 0"});
  test::expect_error<ValueError>([&] { Trainer(nullptr, test::cross_entropy_loss, opt); }, {"Trainer: the model is null"});
  Trainer trainer(model, test::cross_entropy_loss, opt, {.progress = false});
  auto loader = shuffled(test::blobs(32, 1));
  test::expect_error<ValueError>([&] { trainer.fit(loader, nullptr, 0); }, {"Trainer::fit: epochs must be >= 1, got 0"});
  auto too_small = data::DataLoader(test::blobs(10, 1), {.batch_size = 16, .drop_last = true});
  test::expect_error<ValueError>([&] { trainer.fit(too_small, nullptr, 1); },
                                 {"Trainer::fit: the training loader yields no batch (10 examples, batch_size 16, drop_last)"});
  trainer.add_callback(std::make_shared<train::EarlyStopping>());
  trainer.add_callback(std::make_shared<train::EarlyStopping>());
  test::expect_error<ValueError>([&] { trainer.fit(loader, nullptr, 1); },
                                 {"two callbacks keep state under the name \"early_stopping\""});
}

}  // namespace
}  // namespace cajal
