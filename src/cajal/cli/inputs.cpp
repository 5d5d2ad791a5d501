#include "cajal/cli/inputs.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "cajal/autograd/grad_mode.h"
#include "cajal/cli/args.h"
#include "cajal/cli/config.h"
#include "cajal/cli/data_config.h"
#include "cajal/core/error.h"
#include "cajal/data/csv.h"
#include "cajal/data/idx.h"
#include "cajal/data/image.h"
#include "cajal/io/input_file.h"
#include "cajal/io/npy.h"
#include "cajal/models/suggest.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/shape.h"

namespace fs = std::filesystem;

namespace cajal::cli {

namespace {

bool has_extension(const std::string& path, std::initializer_list<const char*> extensions) {
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return std::any_of(extensions.begin(), extensions.end(), [&](const char* e) { return ext == e; });
}

bool is_image_file(const std::string& path) { return has_extension(path, {".png", ".jpg", ".jpeg", ".bmp"}); }

// Reads an image as the model takes it: its channel count, resized to its size.
Tensor read_model_image(const ModelInfo& info, const std::string& path) {
  if (info.input.shape.size() != 3) {
    fail<ShapeError>(path, ": the model takes examples of shape ", info.input.shape, ", not images");
  }
  Tensor image = data::read_image(path, info.input.shape[0]);
  if (image.size(1) != info.input.shape[1] || image.size(2) != info.input.shape[2]) {
    image = data::resize_image(image, info.input.shape[1], info.input.shape[2]);
  }
  return image;
}

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> cells;
  std::stringstream stream(line);
  for (std::string cell; std::getline(stream, cell, ',');) {
    cell.erase(0, cell.find_first_not_of(" \t\r"));
    cell.erase(cell.find_last_not_of(" \t\r") + 1);
    cells.push_back(cell);
  }
  return cells;
}

// A CSV table of features [N, F]. With a header, a column named `label_column` is dropped
// (as is the last column when the table has one column more than the model's features).
Tensor read_feature_table(const std::string& path, int64_t features, const std::string& label_column) {
  refuse_special_file(path);
  std::ifstream file(path);
  if (!file) fail<IOError>(path, ": cannot open");
  std::vector<float> values;
  int64_t rows = 0, line_number = 0;
  int64_t drop = -1;  // the column to drop, if any
  for (std::string line; std::getline(file, line);) {
    ++line_number;
    std::vector<std::string> cells = split_csv_line(line);
    if (cells.empty() || (cells.size() == 1 && cells[0].empty())) continue;
    bool numeric = std::all_of(cells.begin(), cells.end(), [](const std::string& c) { return models::parse_float(c).has_value(); });
    if (rows == 0 && !numeric && line_number == 1) {  // the header
      auto it = std::find(cells.begin(), cells.end(), label_column);
      if (it != cells.end()) drop = it - cells.begin();
      else if (static_cast<int64_t>(cells.size()) == features + 1) drop = features;
      continue;
    }
    if (drop < 0 && static_cast<int64_t>(cells.size()) == features + 1) drop = features;
    int64_t kept = static_cast<int64_t>(cells.size()) - (drop >= 0 ? 1 : 0);
    if (kept != features) {
      fail<ShapeError>(path, ":", line_number, ": expected ", features, " feature values (the model's), got ", kept);
    }
    for (int64_t c = 0; c < static_cast<int64_t>(cells.size()); ++c) {
      if (c == drop) continue;
      auto value = models::parse_float(cells[static_cast<size_t>(c)]);
      if (!value) fail<IOError>(path, ":", line_number, ":", c + 1, ": '", cells[static_cast<size_t>(c)], "' is not a number");
      values.push_back(static_cast<float>(*value));
    }
    ++rows;
  }
  if (rows == 0) fail<IOError>(path, ": no rows");
  return from_vector(values, {rows, features});
}

}  // namespace

void check_input_shape(const ModelInfo& info, const Dims& shape, const std::string& what) {
  if (shape != info.input.shape) {
    fail<ShapeError>(what, ": examples have shape ", shape, ", but the model takes ", info.input.shape);
  }
}

Tensor run_model(nn::Module& model, const Tensor& inputs, int64_t batch_size) {
  NoGradGuard no_grad;
  model.eval();
  TensorList outputs;
  for (int64_t start = 0; start < inputs.size(0); start += batch_size) {
    int64_t length = std::min(batch_size, inputs.size(0) - start);
    outputs.push_back(model.forward(inputs.narrow(0, start, length)));
  }
  return cat(outputs, 0);
}

data::DatasetPtr eval_dataset(const LoadedModel& model, const std::string& data_path, const std::string& labels,
                              const std::string& label_column, std::string& what) {
  const ModelInfo& info = model.info;
  DataConfig config;
  SplitFiles files;
  std::string source = data_path;
  if (source.empty()) {  // a run folder's own test data
    source = (fs::path(model.path).parent_path() / "config.yaml").string();
    if (!fs::exists(source)) fail<UsageError>("cajal eval: give --data (", model.path, " has no run config beside it)");
  }
  if (has_extension(source, {".yaml", ".yml"})) {
    RunConfig run = load_config(source);
    config = run.data;
    files = config.test.given() ? config.test : config.train;
    what = source + (config.test.given() ? " (test split)" : " (train split)");
  } else {
    what = source;
    if (fs::is_directory(source)) {
      config.reader = "image_folder";
      if (info.input.shape.size() != 3) fail<ShapeError>(source, ": the model does not take images");
      config.channels = info.input.shape[0];
      config.image_size = {info.input.shape[1], info.input.shape[2]};
      files.path = source;
    } else if (has_extension(source, {".csv"})) {
      config.reader = "csv";
      config.label_column = label_column.empty() ? "-1" : label_column;
      config.labels = !info.classification ? "values" : info.class_names.empty() ? "indices" : "names";
      files.path = source;
    } else {
      config.reader = has_extension(source, {".npy"}) ? "npy" : "idx";
      if (labels.empty()) fail<UsageError>("cajal eval: --data ", source, " needs --labels FILE (the targets)");
      files.inputs = source;
      files.targets = labels;
    }
  }
  std::vector<std::string> class_names = info.class_names;
  data::DatasetPtr dataset = load_split(config, files, class_names);
  if (dataset->size() == 0) fail<ValueError>(what, ": no examples");
  data::Example first = dataset->get(0);
  check_input_shape(info, first.input.shape(), what);
  if (info.classification) {
    if (is_floating(first.target.dtype())) fail<ValueError>(what, ": the targets are values, but the model classifies");
    check_labels(*dataset, info.input.num_classes, what);
  }
  return info.mean.empty() ? dataset : normalized(dataset, info.mean, info.std);
}

namespace {

// RUN/config.yaml's data section, or nothing when the model has no run config beside it.
std::optional<DataConfig> run_data_config(const LoadedModel& model) {
  const fs::path config = fs::path(model.path).parent_path() / "config.yaml";
  if (!fs::exists(config)) return std::nullopt;
  return load_config(config.string()).data;
}

}  // namespace

std::string run_table_path(const LoadedModel& model, const std::string& split, const std::string& command,
                           const std::string& option) {
  std::optional<DataConfig> config = run_data_config(model);
  const SplitFiles* files = !config ? nullptr : split == "train" ? &config->train : &config->test;
  if (!config || config->reader != "csv" || !files->given())
    fail<UsageError>("cajal ", command, ": give ", option, " TABLE.csv (", model.path, " has no run config with a CSV ",
                     split, " table beside it)");
  return files->path;
}

LabelledTable read_labelled_table(const LoadedModel& model, const std::string& path,
                                  const std::vector<std::string>& text_columns) {
  const ModelInfo& info = model.info;
  if (!info.classification) fail<ValueError>(model.path, ": the model does not classify (it predicts values)");
  data::CsvOptions options{.labels = info.class_names.empty() ? data::CsvLabels::Indices : data::CsvLabels::Names,
                           .classes = info.class_names};
  if (std::optional<DataConfig> config = run_data_config(model)) {
    if (config->reader == "csv") {
      if (auto index = models::parse_int(config->label_column)) options.label_column = *index;
      else options.label_column = config->label_column;
      options.ignore_columns = config->ignore_columns;
    }
  }
  data::CsvTable table = data::load_csv(path, options);
  LabelledTable out{.features = table.features, .labels = table.labels, .feature_names = table.feature_names};
  check_input_shape(info, {table.features.size(1)}, path);
  check_labels(*table.dataset, info.input.num_classes, path);
  out.inputs = info.mean.empty() ? table.features : normalize_batch(table.features, info.mean, info.std);
  for (const std::string& column : text_columns) {
    auto ignored = std::find_if(table.ignored.begin(), table.ignored.end(), [&](const auto& c) { return c.first == column; });
    if (ignored != table.ignored.end()) {
      out.text.push_back(ignored->second);
      continue;
    }
    // A feature column: read once more with it ignored, for its text.
    data::CsvOptions again = options;
    again.ignore_columns.push_back(column);
    out.text.push_back(data::load_csv(path, again).ignored.back().second);
  }
  return out;
}

Tensor predict_inputs(const LoadedModel& model, const std::string& path, const std::string& label_column,
                      std::vector<std::string>& names) {
  const ModelInfo& info = model.info;
  Tensor inputs;
  if (!fs::exists(path)) fail<IOError>(path, ": no such file or folder");
  if (fs::is_directory(path)) {
    std::vector<std::string> files;
    for (const auto& entry : fs::recursive_directory_iterator(path)) {
      if (entry.is_regular_file() && is_image_file(entry.path().string())) files.push_back(entry.path().string());
    }
    std::sort(files.begin(), files.end());
    if (files.empty()) fail<IOError>(path, ": no PNG, JPEG or BMP images in this folder");
    TensorList images;
    for (const std::string& file : files) {
      images.push_back(read_model_image(info, file));
      names.push_back(fs::relative(file, path).string());
    }
    inputs = stack(images);
  } else if (is_image_file(path)) {
    inputs = read_model_image(info, path).unsqueeze(0);
    names.push_back(fs::path(path).filename().string());
  } else if (has_extension(path, {".csv"})) {
    inputs = read_feature_table(path, numel_of(info.input.shape), label_column).reshape([&] {
      Dims shape{-1};
      for (int64_t s : info.input.shape) shape.push_back(s);
      return shape;
    }());
  } else if (has_extension(path, {".npy"})) {
    inputs = as_float_inputs(load_npy(path));
  } else {
    inputs = as_float_inputs(data::read_idx(path));
  }
  if (names.empty()) {
    for (int64_t i = 0; i < inputs.size(0); ++i) names.push_back(std::to_string(i));
  }
  check_input_shape(info, Dims(inputs.shape().begin() + 1, inputs.shape().end()), path);
  return info.mean.empty() ? inputs : normalize_batch(inputs, info.mean, info.std);
}

}  // namespace cajal::cli
