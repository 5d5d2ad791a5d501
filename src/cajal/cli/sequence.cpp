#include "cajal/cli/sequence.h"

#include "cajal/cli/config.h"
#include "cajal/cli/data_config.h"
#include "cajal/core/error.h"
#include "cajal/data/series.h"
#include "cajal/data/text.h"

namespace cajal::cli {

namespace {

int64_t at_least(models::Options& options, const std::string& name, int64_t fallback, int64_t minimum) {
  int64_t value = options.get_int(name, fallback);
  if (value < minimum) options.fail(name, "must be at least " + std::to_string(minimum) + ", got " + std::to_string(value));
  return value;
}

Prepared prepare_text(const DataConfig& config) {
  std::u32string text = data::read_text({config.train.path});
  data::CharVocabulary vocab(text);
  data::CharWindows windows = data::char_windows(
      vocab.encode(text, config.train.path),
      {.seq_len = config.text.seq_len, .stride = config.text.stride, .validation = config.validation_split,
       .seed = config.split_seed});
  Prepared out;
  out.train = windows.train;
  out.val = windows.val;
  if (config.test.given()) {
    // A separate test text, in the training text's vocabulary.
    Tensor tokens = vocab.encode(data::read_text({config.test.path}), config.test.path);
    out.test = data::char_windows(tokens, {.seq_len = config.text.seq_len, .stride = config.text.stride}).train;
    out.test_raw = out.test;
  }
  out.input = {.shape = {config.text.seq_len}, .num_classes = vocab.size(), .dtype = DType::i64, .per_step = true};
  out.classification = true;
  out.class_names = vocab.names();
  return out;
}

Prepared prepare_series(const DataConfig& config) {
  std::vector<double> values = data::read_series(
      config.train.path, config.series.column,
      config.series.missing == "interpolate" ? data::MissingValues::interpolate : data::MissingValues::error);
  data::SeriesWindows windows =
      data::series_windows(values, {.window = config.series.window, .horizon = config.series.horizon,
                                    .validation = config.validation_split, .test = config.series.test_split,
                                    .normalize = config.normalize});
  Prepared out;
  out.train = windows.train;
  out.val = windows.val;
  out.test = windows.test;
  out.test_raw = windows.test;
  out.input = {.shape = {config.series.window, 1}, .num_classes = config.series.horizon};
  out.classification = false;
  if (out.test) out.baselines.emplace_back("test_naive_mse", data::naive_forecast_mse(*out.test));
  out.baselines.emplace_back("series_mean", windows.mean);
  out.baselines.emplace_back("series_std", windows.std);
  return out;
}

}  // namespace

void read_sequence_data(models::Options& data, DataConfig& config) {
  if (config.reader == "text") {
    config.text.seq_len = at_least(data, "seq_len", config.text.seq_len, 1);
    config.text.stride = at_least(data, "stride", config.text.seq_len, 1);
  } else {
    config.series.column = data.get_string("column");
    config.series.window = at_least(data, "window", config.series.window, 1);
    config.series.horizon = at_least(data, "horizon", config.series.horizon, 1);
    config.series.test_split = data.get_float("test_split", 0.0);
    if (config.series.test_split < 0 || config.series.test_split >= 1) data.fail("test_split", "must be in [0, 1)");
    config.series.missing = data.get_string("missing", "error", {"error", "interpolate"});
    if (config.test.given()) data.fail("test", "is not read by the series reader: the test part is test_split of the series");
  }
}

Prepared prepare_sequence_data(const DataConfig& config) {
  if (!config.transforms.empty()) fail<ValueError>("data.transforms: the ", config.reader, " reader takes no augmentation");
  if (config.reader == "text" && config.normalize) fail<ValueError>("data.normalize: the text reader's token ids are not normalized");
  if (!config.mean.empty())
    fail<ValueError>("data.normalize: the ", config.reader, " reader takes no given statistics (series: normalize: true)");
  return config.reader == "text" ? prepare_text(config) : prepare_series(config);
}

train::LossFunction per_step_loss(train::LossFunction loss) {
  return [loss = std::move(loss)](const Tensor& output, const Tensor& target) {
    if (output.dim() != 3 || target.dim() != 2)
      fail<ShapeError>("per-step loss: expects scores [N, T, C] and targets [N, T], got ", output.shape(), " and ",
                       target.shape());
    return loss(output.flatten(0, 1), target.flatten());
  };
}

}  // namespace cajal::cli
