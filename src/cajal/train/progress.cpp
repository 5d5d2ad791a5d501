#include "cajal/train/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "cajal/train/trainer.h"

namespace cajal::train {

namespace {

// Erases the current terminal line and returns to its start.
constexpr const char* kClearLine = "\r\033[K";
constexpr double kRedrawSeconds = 0.1;

std::string printf_string(const char* format, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, value);
  return buffer;
}

}  // namespace

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto total = static_cast<int64_t>(std::llround(seconds));
  const int64_t hours = total / 3600, minutes = total / 60 % 60, secs = total % 60;
  char buffer[64];
  if (hours > 0)
    std::snprintf(buffer, sizeof buffer, "%lld:%02lld:%02lld", static_cast<long long>(hours),
                  static_cast<long long>(minutes), static_cast<long long>(secs));
  else
    std::snprintf(buffer, sizeof buffer, "%lld:%02lld", static_cast<long long>(minutes), static_cast<long long>(secs));
  return buffer;
}

std::string format_value(double value) { return printf_string("%.4g", value); }

std::string progress_bar(int64_t done, int64_t total, int width) {
  int filled = 0;
  if (total > 0) filled = static_cast<int>(std::clamp<int64_t>(done, 0, total) * width / total);
  std::string cells(static_cast<size_t>(width), ' ');
  std::fill_n(cells.begin(), filled, '=');
  if (filled > 0 && done < total) cells[static_cast<size_t>(filled - 1)] = '>';
  return "[" + cells + "]";
}

std::string progress_line(const BatchProgress& p, const Logs& logs) {
  std::string line = "epoch " + std::to_string(p.epoch) + "/" + std::to_string(p.epochs) + " " +
                     progress_bar(p.batches_done, p.batches) + " " + std::to_string(p.batches_done) + "/" +
                     std::to_string(p.batches);
  if (p.seconds > 0 && p.batches_timed > 0) {
    const double seconds_per_batch = p.seconds / static_cast<double>(p.batches_timed);
    line += "  " + printf_string("%.0f", static_cast<double>(p.samples_done) / p.seconds) + " samples/s";
    line += "  ETA " + format_duration(seconds_per_batch * static_cast<double>(p.batches - p.batches_done));
  }
  for (const char* name : {"loss", "accuracy"})
    if (logs.contains(name)) line += std::string("  ") + name + " " + format_value(logs.get(name, "progress_line"));
  return line;
}

std::string epoch_summary(int64_t epoch, int64_t epochs, const Logs& logs, double seconds) {
  std::string line = "epoch " + std::to_string(epoch) + "/" + std::to_string(epochs);
  for (const auto& [name, value] : logs) line += "  " + name + " " + format_value(value);
  return line + "  " + printf_string("%.1f", seconds) + "s";
}

ProgressBar::ProgressBar() : ProgressBar(std::cout, isatty(STDOUT_FILENO) == 1) {}

ProgressBar::ProgressBar(std::ostream& out, bool interactive) : out_(out), interactive_(interactive) {}

void ProgressBar::on_epoch_begin(int64_t epoch) {
  epoch_start_ = Clock::now();
  last_draw_ = {};
  first_batch_ = trainer().state().batches_done;
  first_sample_ = trainer().state().samples_done;
}

void ProgressBar::on_batch_end(int64_t step, const Logs& logs) {
  if (!interactive_) return;
  const TrainingState& state = trainer().state();
  const Clock::time_point now = Clock::now();
  const bool last = state.batches_done == state.batches_per_epoch;
  if (!last && std::chrono::duration<double>(now - last_draw_).count() < kRedrawSeconds) return;
  last_draw_ = now;
  BatchProgress p{.epoch = state.epoch,
                  .epochs = state.epochs,
                  .batches_done = state.batches_done,
                  .batches = state.batches_per_epoch,
                  .samples_done = state.samples_done - first_sample_,
                  .seconds = std::chrono::duration<double>(now - epoch_start_).count(),
                  .batches_timed = state.batches_done - first_batch_};
  out_ << kClearLine << progress_line(p, logs) << std::flush;
  bar_drawn_ = true;
}

void ProgressBar::on_epoch_end(int64_t epoch, Logs& logs) {
  if (bar_drawn_) out_ << kClearLine;
  bar_drawn_ = false;
  const double seconds = std::chrono::duration<double>(Clock::now() - epoch_start_).count();
  out_ << epoch_summary(epoch, trainer().state().epochs, logs, seconds) << std::endl;
}

void ProgressBar::on_train_end() {
  if (bar_drawn_) out_ << "\n";  // keep a bar left by an epoch that did not finish
  bar_drawn_ = false;
  if (trainer().stop_requested()) out_ << "stopped: " << trainer().stop_reason() << std::endl;
}

}  // namespace cajal::train
