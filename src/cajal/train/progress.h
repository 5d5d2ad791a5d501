#pragma once
// The progress display. On a terminal, each epoch draws a bar redrawn in place:
//
//   epoch 3/10 [===========>                  ] 180/469  5120 samples/s  ETA 0:07  loss 0.4123  accuracy 0.8512
//
// and replaces it, when the epoch ends, with a one-line summary:
//
//   epoch 3/10  loss 0.4123  accuracy 0.8512  val_loss 0.4380  val_accuracy 0.8430  lr 0.001  12.3s
//
// Elsewhere (CI logs, a file), only the summary lines are written: no bar, no control codes.
#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

#include "cajal/train/callbacks.h"

namespace cajal::train {

// "0:07", "12:05", "1:02:03" (hours appear when needed); "?" for a negative or non-finite time.
std::string format_duration(double seconds);

// A metric value: 4 significant digits, as printf's %.4g ("0.4123", "0.001", "1.2e-05").
std::string format_value(double value);

// "[=====>    ]": `width` cells between the brackets, the first done/total of them filled, the
// last filled cell drawn as '>' while unfinished. total <= 0 draws an empty bar.
std::string progress_bar(int64_t done, int64_t total, int width = 30);

// The numbers the progress line shows.
struct BatchProgress {
  int64_t epoch = 0, epochs = 0;
  int64_t batches_done = 0, batches = 0;
  int64_t samples_done = 0;  // in this epoch (since it started or resumed)
  double seconds = 0;        // since the epoch started or resumed
  int64_t batches_timed = 0; // the batches those seconds cover (fewer than done after a resume)
};

// The bar line (without control codes): epoch, bar, batches, throughput, ETA, then the
// running "loss" and "accuracy" from `logs` when present.
std::string progress_line(const BatchProgress& progress, const Logs& logs);

// The one-line epoch summary: "epoch 3/10  <name> <value> ...  12.3s", every entry of `logs`.
std::string epoch_summary(int64_t epoch, int64_t epochs, const Logs& logs, double seconds);

// The display as a callback. Interactive (a terminal): the bar, redrawn at most 10 times a
// second and at an epoch's last batch. Otherwise only the summaries.
class ProgressBar : public Callback {
 public:
  // Writes to stdout, interactive when stdout is a terminal.
  ProgressBar();
  ProgressBar(std::ostream& out, bool interactive);

  void on_epoch_begin(int64_t epoch) override;
  void on_batch_end(int64_t step, const Logs& logs) override;
  void on_epoch_end(int64_t epoch, Logs& logs) override;
  void on_train_end() override;

 private:
  using Clock = std::chrono::steady_clock;
  std::ostream& out_;
  bool interactive_;
  Clock::time_point epoch_start_;
  Clock::time_point last_draw_;
  int64_t first_batch_ = 0;   // batches already done when the epoch began (a resume)
  int64_t first_sample_ = 0;
  bool bar_drawn_ = false;
};

}  // namespace cajal::train
