#pragma once
// The sequence readers of `cajal train` configs, and what sequence runs add to training.
//
//   data:                               data:
//     reader: text                        reader: series
//     train: /usr/share/games/fortunes    train: .../sunspots/sunspots.csv
//     seq_len: 128                        column: SUNACTIVITY
//     stride: 128                         window: 20
//     validation_split: 0.05              horizon: 1
//                                         validation_split: 0.15
//                                         test_split: 0.15
//                                         missing: error      # or interpolate
//                                         normalize: true
//
// text: `train` is a file or a folder of text files (data::text_files); the examples are
// windows of seq_len characters (int64 token ids) whose targets are the next characters, the
// vocabulary is the corpus's characters (stored in the model file as its class names, for
// `cajal generate`), and the validation part is one stretch of the text (data::char_windows;
// split_seed places it). series: one CSV column, split in time order, normalized with the
// training part's statistics (data::series_windows); the test part's naive forecast (the last
// value repeated) is reported beside the model's test MSE.
#include <string>

#include "cajal/models/options.h"
#include "cajal/train/trainer.h"

namespace cajal::cli {

struct DataConfig;
struct Prepared;

struct TextDataConfig {
  int64_t seq_len = 128;
  int64_t stride = 0;  // 0: seq_len
};

struct SeriesDataConfig {
  std::string column;
  int64_t window = 12;
  int64_t horizon = 1;
  double test_split = 0;
  std::string missing = "error";  // error | interpolate
};

// The reader-specific keys of a `data` section (reader "text" or "series"), read and checked.
void read_sequence_data(models::Options& data, DataConfig& config);

// The splits, example shape and vocabulary of a text or series config (as prepare_data).
Prepared prepare_sequence_data(const DataConfig& config);

// A loss over per-step scores: outputs [N, T, C] and targets [N, T] become [N*T, C] and
// [N*T], so the mean runs over every position (cross entropy of a language model).
train::LossFunction per_step_loss(train::LossFunction loss);

}  // namespace cajal::cli
