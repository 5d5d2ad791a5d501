// The logging callbacks: metrics.csv holds the run's history, and the TensorBoard event
// files, read back by an independent Python reader, hold the per-step and per-epoch scalars.
#include <cmath>
#include <fstream>
#include <sstream>
#include <tuple>

#include "cajal/optim/optim.h"
#include "support/test_support.h"
#include "train/train_fixtures.h"

namespace cajal {
namespace {

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, separator)) parts.push_back(part);
  return parts;
}

struct LoggedRun {
  std::vector<train::Logs> history;
  std::vector<double> batch_losses, batch_lrs;  // at every step
};

// 3 epochs of 5 batches, a per-step scheduler (so the lr changes within epochs), the given
// callbacks.
LoggedRun train_with(const std::vector<train::CallbackPtr>& callbacks) {
  struct Steps : train::Callback {
    void on_batch_end(int64_t, const train::Logs& logs) override {
      losses.push_back(logs.get("batch_loss", "test"));
      lrs.push_back(logs.get("lr", "test"));
    }
    std::vector<double> losses, lrs;
  };
  manual_seed(1);
  auto model = test::blob_mlp();
  optim::SGD opt(model->parameters(), {.lr = 0.1});
  auto scheduler = std::make_shared<optim::ExponentialLR>(opt, 0.9);
  train::Trainer trainer(model, test::cross_entropy_loss, opt,
                         {.scheduler = scheduler, .scheduler_interval = train::Interval::step, .progress = false});
  auto steps = std::make_shared<Steps>();
  trainer.add_callback(steps);
  for (const auto& c : callbacks) trainer.add_callback(c);
  auto loader = data::DataLoader(test::blobs(40, 1), {.batch_size = 8, .shuffle = true});
  auto val = data::DataLoader(test::blobs(16, 2), {.batch_size = 8});
  LoggedRun run;
  run.history = trainer.fit(loader, &val, 3);
  run.batch_losses = steps->losses;
  run.batch_lrs = steps->lrs;
  return run;
}

TEST(CSVLogger, WritesTheHistory) {
  const std::string path = test::temp_dir() + "/metrics.csv";
  const LoggedRun run = train_with({std::make_shared<train::CSVLogger>(path)});

  std::ifstream in(path);
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_EQ(line, "epoch,loss,accuracy,val_loss,val_accuracy,lr");
  const std::vector<std::string> columns = split(line, ',');
  for (size_t e = 0; e < run.history.size(); ++e) {
    ASSERT_TRUE(std::getline(in, line)) << "row " << e + 1;
    const std::vector<std::string> cells = split(line, ',');
    ASSERT_EQ(cells.size(), columns.size()) << line;
    EXPECT_EQ(std::stod(cells[0]), static_cast<double>(e + 1));
    for (size_t k = 1; k < cells.size(); ++k)  // the shortest form that reads back exactly
      EXPECT_EQ(std::stod(cells[k]), run.history[e].get(columns[k], "test")) << columns[k] << " of epoch " << e + 1;
  }
  EXPECT_FALSE(std::getline(in, line)) << "extra row: " << line;
}

TEST(TensorBoardLogger, WritesStepAndEpochScalars) {
  const std::string dir = test::temp_dir() + "/tb";
  const LoggedRun run = train_with({std::make_shared<train::TensorBoardLogger>(dir, train::TensorBoardOptions{.log_every_n_steps = 2})});

  std::string output;
  ASSERT_TRUE(test::run_reference("train_tensorboard_dump.py", dir, &output));
  // TensorBoard stores float32: each value must be the float nearest the trainer's double.
  using Point = std::tuple<std::string, int64_t, float>;
  std::vector<Point> expected, got;
  auto add = [&](const std::string& tag, int64_t step, double value) {
    expected.emplace_back(tag, step, static_cast<float>(value));
  };
  for (const std::string& line : split(output, '\n')) {
    const std::vector<std::string> f = split(line, '\t');
    ASSERT_EQ(f.size(), 3u) << line;
    got.emplace_back(f[0], std::stoll(f[1]), static_cast<float>(std::stod(f[2])));
  }
  for (int64_t step = 1; step <= 15; ++step) {
    if (step % 2 == 0) {
      add("batch/loss", step, run.batch_losses[step - 1]);
      add("batch/lr", step, run.batch_lrs[step - 1]);
    }
    if (step % 5 == 0)
      for (const auto& [name, value] : run.history[step / 5 - 1]) add("epoch/" + name, step / 5, value);
  }
  EXPECT_EQ(got, expected);
  // The lr falls by 0.9 each step: the per-step series shows it.
  EXPECT_NEAR(run.batch_lrs[1], 0.1 * std::pow(0.9, 2), 1e-15);
}

}  // namespace
}  // namespace cajal
