// The progress display: its formatting functions for given numbers, and what a training run
// prints on a terminal (a bar redrawn in place, then summaries) and elsewhere (summaries only).
#include <regex>
#include <sstream>

#include "cajal/optim/optim.h"
#include "cajal/train/progress.h"
#include "support/test_support.h"
#include "train/train_fixtures.h"

namespace cajal {
namespace {

using train::Logs;

Logs logs_of(std::initializer_list<std::pair<const char*, double>> entries) {
  Logs logs;
  for (const auto& [name, value] : entries) logs.set(name, value);
  return logs;
}

TEST(Progress, FormatDuration) {
  EXPECT_EQ(train::format_duration(0), "0:00");
  EXPECT_EQ(train::format_duration(7.4), "0:07");
  EXPECT_EQ(train::format_duration(59.6), "1:00");
  EXPECT_EQ(train::format_duration(725), "12:05");
  EXPECT_EQ(train::format_duration(3723), "1:02:03");
  EXPECT_EQ(train::format_duration(-1), "?");
  EXPECT_EQ(train::format_duration(NAN), "?");
  EXPECT_EQ(train::format_duration(INFINITY), "?");
}

TEST(Progress, FormatValue) {
  EXPECT_EQ(train::format_value(0.41234), "0.4123");
  EXPECT_EQ(train::format_value(0.001), "0.001");
  EXPECT_EQ(train::format_value(1.5e-5), "1.5e-05");
  EXPECT_EQ(train::format_value(2), "2");
  EXPECT_EQ(train::format_value(123456), "1.235e+05");
  EXPECT_EQ(train::format_value(NAN), "nan");
}

TEST(Progress, Bar) {
  EXPECT_EQ(train::progress_bar(0, 10, 10), "[          ]");
  EXPECT_EQ(train::progress_bar(1, 10, 10), "[>         ]");
  EXPECT_EQ(train::progress_bar(5, 10, 10), "[====>     ]");
  EXPECT_EQ(train::progress_bar(9, 10, 10), "[========> ]");
  EXPECT_EQ(train::progress_bar(10, 10, 10), "[==========]");
  EXPECT_EQ(train::progress_bar(1, 3, 4), "[>   ]");  // 1 * 4 / 3 = 1.33 cells
  EXPECT_EQ(train::progress_bar(12, 10, 4), "[====]");  // clamped
  EXPECT_EQ(train::progress_bar(3, 0, 4), "[    ]");
}

TEST(Progress, Line) {
  const Logs logs = logs_of({{"loss", 0.41234}, {"accuracy", 0.85126}, {"batch_loss", 0.3}, {"lr", 0.01}});
  // 180 of 469 batches: 180 * 30 / 469 = 11.5 cells; 5760 samples in 1.125 s; 289 batches left
  // at 1.125 / 180 s each = 1.8 s.
  EXPECT_EQ(train::progress_line({.epoch = 3, .epochs = 10, .batches_done = 180, .batches = 469, .samples_done = 5760,
                                  .seconds = 1.125, .batches_timed = 180},
                                 logs),
            "epoch 3/10 [==========>                   ] 180/469  5120 samples/s  ETA 0:02  loss 0.4123  accuracy 0.8513");
  // Resumed at batch 200: only the 100 batches since count for speed; 169 left at 0.02 s.
  EXPECT_EQ(train::progress_line({.epoch = 1, .epochs = 2, .batches_done = 300, .batches = 469, .samples_done = 3200,
                                  .seconds = 2, .batches_timed = 100},
                                 logs_of({{"loss", 2.5}})),
            "epoch 1/2 [==================>           ] 300/469  1600 samples/s  ETA 0:03  loss 2.5");
  // Nothing timed yet: no speed, no ETA.
  EXPECT_EQ(train::progress_line({.epoch = 1, .epochs = 1, .batches = 4}, Logs()), "epoch 1/1 [                              ] 0/4");
}

TEST(Progress, Summary) {
  const Logs logs = logs_of(
      {{"loss", 0.41234}, {"accuracy", 0.85126}, {"val_loss", 0.438}, {"val_accuracy", 0.843}, {"lr", 0.001}});
  EXPECT_EQ(train::epoch_summary(3, 10, logs, 12.34),
            "epoch 3/10  loss 0.4123  accuracy 0.8513  val_loss 0.438  val_accuracy 0.843  lr 0.001  12.3s");
}

// A 3-epoch run of 5 batches with the display writing to `out`.
void run(std::ostream& out, bool interactive, int64_t patience = 0) {
  manual_seed(1);
  auto model = test::blob_mlp();
  optim::SGD opt(model->parameters(), {.lr = 0.1});
  train::Trainer trainer(model, test::cross_entropy_loss, opt, {.progress = false});
  if (patience > 0)  // "loss" in max mode: it falls, so it never improves after epoch 1
    trainer.add_callback(
        std::make_shared<train::EarlyStopping>(train::EarlyStoppingOptions{.monitor = "loss", .mode = "max", .patience = 1}));
  trainer.add_callback(std::make_shared<train::ProgressBar>(out, interactive));
  auto loader = data::DataLoader(test::blobs(40, 1), {.batch_size = 8, .shuffle = true});
  auto val = data::DataLoader(test::blobs(16, 2), {.batch_size = 8});
  trainer.fit(loader, &val, 3);
}

const std::regex kSummary(
    R"(epoch (\d)/3  loss \S+  accuracy \S+  val_loss \S+  val_accuracy \S+  lr 0\.1  \d+\.\ds)");

TEST(Progress, OffATerminalOnlySummaries) {
  std::ostringstream out;
  run(out, false);
  const std::string text = out.str();
  EXPECT_EQ(text.find('\r'), std::string::npos);
  EXPECT_EQ(text.find('\033'), std::string::npos);
  std::istringstream lines(text);
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    std::smatch m;
    ASSERT_TRUE(std::regex_match(line, m, kSummary)) << line;
    EXPECT_EQ(m[1], std::to_string(++count));
  }
  EXPECT_EQ(count, 3);
  EXPECT_EQ(text.back(), '\n');
}

TEST(Progress, SaysWhyTrainingStopped) {
  std::ostringstream out;
  run(out, false, 1);
  const std::string text = out.str();
  EXPECT_NE(text.find("epoch 2/3"), std::string::npos);
  EXPECT_EQ(text.find("epoch 3/3"), std::string::npos);
  EXPECT_NE(text.find("\nstopped: early stopping: loss has not improved for 1 epochs (best "), std::string::npos)
      << text;
}

// What a terminal shows: "\r\033[K" returns to the line's start and clears it.
std::vector<std::string> screen(const std::string& text) {
  std::vector<std::string> lines;
  std::string current;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 4, "\r\033[K") == 0) {
      current.clear();
      i += 3;
    } else if (text[i] == '\n') {
      lines.push_back(current);
      current.clear();
    } else {
      current += text[i];
    }
  }
  if (!current.empty()) lines.push_back(current);
  return lines;
}

TEST(Progress, OnATerminalBarsRedrawnThenSummaries) {
  std::ostringstream out;
  run(out, true);
  const std::string text = out.str();
  // Every epoch's last batch is drawn, whatever the time since the previous draw.
  for (int epoch = 1; epoch <= 3; ++epoch) {
    const std::string bar = "\r\033[Kepoch " + std::to_string(epoch) + "/3 " + train::progress_bar(5, 5) + " 5/5  ";
    EXPECT_NE(text.find(bar), std::string::npos) << "no final bar for epoch " << epoch << " in " << text;
  }
  // The bars were overwritten: the screen holds the three summaries.
  const std::vector<std::string> lines = screen(text);
  ASSERT_EQ(lines.size(), 3u) << text;
  for (const std::string& line : lines) EXPECT_TRUE(std::regex_match(line, kSummary)) << line;
}

}  // namespace
}  // namespace cajal
