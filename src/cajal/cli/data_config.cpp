#include "cajal/cli/data_config.h"

#include <algorithm>
#include <filesystem>

#include "cajal/core/error.h"
#include "cajal/core/generator.h"
#include "cajal/data/csv.h"
#include "cajal/data/idx.h"
#include "cajal/data/image_folder.h"
#include "cajal/data/npy_pair.h"
#include "cajal/data/transforms.h"
#include "cajal/metrics/fairness.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/shape.h"

namespace cajal::cli {

namespace {

// The most classes a model may have: a label of 2e9 would otherwise ask for a 2e9-way output layer.
constexpr int64_t kMaxClasses = 1'000'000;

std::array<double, 2> range(models::Options& options, const std::string& name, std::array<double, 2> fallback) {
  std::vector<double> values = options.get_floats(name, std::vector<double>{fallback[0], fallback[1]});
  if (values.size() != 2 || values[0] > values[1]) options.fail(name, "must be [low, high]");
  return {values[0], values[1]};
}

void require_file(const std::string& path, const std::string& what) {
  if (!std::filesystem::exists(path)) fail<IOError>(path, ": no such file or folder (", what, ")");
}

// int64 class indices, or float32 values [N, K] for regression.
Tensor as_targets(Tensor targets, bool& classification) {
  classification = !is_floating(targets.dtype());
  if (classification) return targets.to(DType::i64);
  if (targets.dim() == 1) targets = targets.unsqueeze(1);
  return targets.to(DType::f32).contiguous();
}

// Images read as uint8 stay uint8 in memory (Fashion-MNIST's 60,000 training images take
// 47 MB instead of 188 MB as float32) and become float32 in [0, 1] one example at a time,
// with the same values as_float_inputs gives the whole tensor.
class ByteImageDataset : public data::TensorDataset {
 public:
  using TensorDataset::TensorDataset;
  data::Example get(int64_t index) const override {
    data::Example example = TensorDataset::get(index);
    example.input = example.input.to(DType::f32) / 255.0;
    return example;
  }
};

data::DatasetPtr tensor_split(Tensor inputs, Tensor targets) {
  bool classification = true;
  Tensor t = as_targets(std::move(targets), classification);
  if (inputs.dtype() == DType::u8) {
    if (inputs.dim() == 3) inputs = inputs.unsqueeze(1);
    return std::make_shared<ByteImageDataset>(inputs.contiguous(), t);
  }
  return data::tensor_dataset(as_float_inputs(std::move(inputs)), t);
}

// NaN or infinity in the inputs (or regression targets) of a .npy file would surface as a NaN
// loss steps later, far from its cause; the first one is named here with its file and example.
// (The CSV reader refuses them cell by cell; IDX pairs hold integers.)
void check_finite(const Tensor& values, const std::string& path, const char* what) {
  if (!is_floating(values.dtype()) || values.numel() == 0) return;
  const Tensor finite = isfinite(values).contiguous();
  const bool* ok = finite.data_ptr<bool>();
  const int64_t at = std::find(ok, ok + finite.numel(), false) - ok;
  if (at == finite.numel()) return;
  const int64_t per_example = finite.numel() / values.size(0);
  const double value = values.contiguous().flatten().to(DType::f64)[at].item<double>();
  fail<ValueError>(path, ": example ", at / per_example, " has ", value, " at element ", at % per_example, " of its ",
                   per_example, " ", what, "; the data must be finite numbers (no NaN or infinity)");
}

// Images of different sizes cannot be stacked into a batch (nor fit one model's input), so
// an image folder read without data.image_size must hold images of one size.
void check_one_image_size(const data::ImageFolderDataset& folder) {
  const data::ImageInfo& first = folder.image_info(0);
  for (int64_t i = 1; i < folder.size(); ++i) {
    const data::ImageInfo& info = folder.image_info(i);
    if (info.height != first.height || info.width != first.width) {
      fail<ValueError>("images of different sizes: ", folder.file(0), " is ", first.height, " x ", first.width,
                       " pixels (height x width), ", folder.file(i), " is ", info.height, " x ", info.width,
                       "; set data.image_size (e.g. [", first.height, ", ", first.width,
                       "]) to resize every image to one size");
    }
  }
}

// Per-channel (images) or per-feature (tables) mean and std of the training examples.
void compute_stats(const data::Dataset& train, std::vector<double>& mean, std::vector<double>& std) {
  data::Example first = train.get(0);
  if (first.input.dim() == 3) {
    data::ChannelStats stats = data::channel_stats(train);
    mean = stats.mean;
    std = stats.std;
  } else {
    // Tables: stack the features [N, F] and take each column's statistics.
    std::vector<Tensor> rows;
    for (int64_t i = 0; i < train.size(); ++i) rows.push_back(train.get(i).input.to(DType::f64).flatten(0));
    Tensor table = stack(rows);
    Tensor m = table.mean({0});
    Tensor s = ((table - m) * (table - m)).mean({0}).sqrt();
    for (int64_t f = 0; f < m.numel(); ++f) {
      mean.push_back(m.data_ptr<double>()[f]);
      std.push_back(s.data_ptr<double>()[f]);
    }
  }
  for (double& s : std) {
    if (s == 0) s = 1;  // a constant feature: leave it centered, not divided by zero
  }
}

// The largest class index of a tensor dataset's targets and the first example that has it
// ({-1, -1} for other datasets: an image folder's classes are its sub-folders).
std::pair<int64_t, int64_t> largest_label(const data::Dataset& dataset) {
  auto tensors = dynamic_cast<const data::TensorDataset*>(&dataset);
  if (!tensors || tensors->targets().numel() == 0) return {-1, -1};
  Tensor targets = tensors->targets().contiguous();
  const int64_t* labels = targets.data_ptr<int64_t>();
  const int64_t* largest = std::max_element(labels, labels + targets.numel());
  return {*largest, largest - labels};
}

// A split as messages name it: the config key and the file of its labels, "data.test (test-labels.idx)".
std::string split_name(const std::string& key, const SplitFiles& files) {
  return key + " (" + (files.targets.empty() ? files.path : files.targets) + ")";
}

// The transforms applied to the first training example before training starts, so that one
// that does not fit the data (random_crop on a table) fails here, naming the split.
void check_transforms(const DataConfig& config, const data::Example& first) {
  try {
    Generator gen(0);
    data::Compose(config.transforms)(first, gen);
  } catch (const Error& e) {
    fail<ValueError>("data.transforms: ", split_name("data.train", config.train), ": ", e.what());
  }
}

}  // namespace

Tensor as_float_inputs(Tensor inputs) {
  if (inputs.dtype() == DType::u8) inputs = inputs.to(DType::f32) / 255.0;
  else if (inputs.dtype() != DType::f32) inputs = inputs.to(DType::f32);
  if (inputs.dim() == 3) inputs = inputs.unsqueeze(1);
  return inputs.contiguous();
}

data::DatasetPtr normalized(const data::DatasetPtr& dataset, const std::vector<double>& mean,
                            const std::vector<double>& std) {
  auto tensors = std::dynamic_pointer_cast<const data::TensorDataset>(dataset);
  if (tensors && !std::dynamic_pointer_cast<const ByteImageDataset>(dataset)) {
    return data::tensor_dataset(normalize_batch(tensors->inputs(), mean, std), tensors->targets());
  }
  return data::transform(dataset, data::Normalize(mean, std), 0, "normalize");
}

data::Transform read_transform(models::Options options) {
  std::string type = options.get_string(
      "type", std::nullopt,
      {"random_crop", "random_horizontal_flip", "random_affine", "gaussian_noise", "random_erasing"});
  options.set_owner(options.owner() + " (" + type + ")", "key");
  data::Transform transform;
  if (type == "random_crop") {
    std::vector<int64_t> size = options.get_ints("size", std::vector<int64_t>{});
    data::RandomCropOptions o;
    o.padding = options.get_int("padding", 0);
    std::string mode = options.get_string("padding_mode", "constant", {"constant", "reflect", "replicate"});
    o.padding_mode = mode == "reflect" ? PadMode::Reflect : mode == "replicate" ? PadMode::Replicate : PadMode::Constant;
    o.fill = options.get_float("fill", 0.0);
    if (o.padding < 0) options.fail("padding", "must not be negative");
    if (size.size() > 2) options.fail("size", "must be one size or [height, width]");
    // Without a size, the crop is as large as the image (padding then shifts it).
    transform = [size, o](data::Example example, Generator& gen) {
      int64_t h = size.empty() ? example.input.size(-2) : size[0];
      int64_t w = size.empty() ? example.input.size(-1) : size.back();
      return data::RandomCrop({h, w}, o)(std::move(example), gen);
    };
  } else if (type == "random_horizontal_flip") {
    double p = options.get_float("p", 0.5);
    if (p < 0 || p > 1) options.fail("p", "must be in [0, 1]");
    transform = data::RandomHorizontalFlip(p);
  } else if (type == "random_affine") {
    double degrees = options.get_float("degrees", 0.0);
    data::RandomAffineOptions o{.translate = range(options, "translate", {0, 0}), .scale = range(options, "scale", {1, 1})};
    transform = data::RandomAffine(degrees, o);
  } else if (type == "gaussian_noise") {
    double std = options.get_float("std");
    if (std < 0) options.fail("std", "must not be negative");
    transform = data::GaussianNoise(std);
  } else {
    data::RandomErasingOptions o{.p = options.get_float("p", 0.5),
                                 .scale = range(options, "scale", {0.02, 0.33}),
                                 .ratio = range(options, "ratio", {0.3, 3.3}),
                                 .value = options.get_float("value", 0.0)};
    transform = data::RandomErasing(o);
  }
  options.check_unused();
  if (type == "gaussian_noise") return transform;  // any tensor; the others move or erase pixels
  return [transform, type](data::Example example, Generator& gen) {
    if (example.input.dim() != 3)
      fail<ShapeError>(type, " needs images ([C, H, W] examples), got an example of shape ", example.input.sizes());
    return transform(std::move(example), gen);
  };
}

Tensor normalize_batch(const Tensor& batch, const std::vector<double>& mean, const std::vector<double>& std) {
  int64_t channels = batch.dim() > 1 ? batch.size(1) : 1;
  if (mean.size() != 1 && static_cast<int64_t>(mean.size()) != channels) {
    fail<ShapeError>("normalize: ", mean.size(), " means for inputs with ", channels, " channels");
  }
  Dims shape(static_cast<size_t>(batch.dim()), 1);
  shape[1] = static_cast<int64_t>(mean.size());
  Tensor m = from_vector(mean).to(DType::f32).reshape(shape);
  Tensor s = from_vector(std).to(DType::f32).reshape(shape);
  return ((batch - m) / s).contiguous();
}

void check_labels(const data::Dataset& dataset, int64_t num_classes, const std::string& what) {
  auto tensors = dynamic_cast<const data::TensorDataset*>(&dataset);
  if (!tensors) return;
  Tensor targets = tensors->targets().contiguous();
  const int64_t* labels = targets.data_ptr<int64_t>();
  for (int64_t i = 0; i < targets.numel(); ++i) {
    if (labels[i] < 0 || labels[i] >= num_classes) {
      fail<ValueError>(what, ": label ", labels[i], " of example ", i, " is out of range for the ", num_classes,
                       " classes of training (0 to ", num_classes - 1, ")");
    }
  }
}

data::DatasetPtr load_split(const DataConfig& config, const SplitFiles& files, std::vector<std::string>& class_names) {
  if (config.reader == "text" || config.reader == "series") {
    fail<ValueError>("data.reader ", config.reader, ": its examples are windows of the whole ", config.reader,
                     ", made by `cajal train` (which reports their validation and test metrics)");
  }
  if (config.reader == "idx" || config.reader == "npy") {
    require_file(files.inputs, "inputs");
    require_file(files.targets, "targets");
    auto pair = std::dynamic_pointer_cast<const data::TensorDataset>(
        config.reader == "idx" ? data::load_idx_pair(files.inputs, files.targets, {.scale = false})
                               : data::load_npy_pair(files.inputs, files.targets));
    check_finite(pair->inputs(), files.inputs, "inputs");
    check_finite(pair->targets(), files.targets, "targets");
    return tensor_split(pair->inputs(), pair->targets());
  }
  require_file(files.path, config.reader == "csv" ? "a CSV table" : "an image folder");
  if (config.reader == "csv") {
    data::CsvOptions o;
    if (auto index = models::parse_int(config.label_column)) o.label_column = *index;
    else o.label_column = config.label_column;
    o.labels = config.labels == "names" ? data::CsvLabels::Names
               : config.labels == "values" ? data::CsvLabels::Values : data::CsvLabels::Indices;
    o.classes = class_names;
    o.ignore_columns = config.ignore_columns;
    data::CsvTable table = data::load_csv(files.path, o);
    if (class_names.empty()) class_names = table.classes;
    return tensor_split(table.features, table.labels);
  }
  auto folder = data::load_image_folder(
      files.path, {.channels = config.channels, .height = config.image_size[0], .width = config.image_size[1]});
  if (config.image_size[0] == 0) check_one_image_size(*folder);
  if (class_names.empty()) {
    class_names = folder->classes();
  } else if (folder->classes() != class_names) {
    fail<IOError>(files.path, ": its class folders differ from the training folder's");
  }
  return folder;
}

namespace {

// data.classes: every split keeps those classes, renumbered; the names follow.
void select_task_classes(const DataConfig& config, data::DatasetPtr& train, data::DatasetPtr& test,
                         std::vector<std::string>& class_names) {
  if (!class_names.empty()) {
    const std::vector<std::string>& names = class_names;
    std::vector<std::string> kept;
    for (int64_t c : config.classes) {
      if (c >= static_cast<int64_t>(names.size()))
        fail<ValueError>("data.classes: class ", c, " is beyond the ", names.size(), " class names");
      kept.push_back(names[static_cast<size_t>(c)]);
    }
    class_names = kept;
  }
  try {
    train = data::select_classes(train, config.classes);
    if (test) test = data::select_classes(test, config.classes);
  } catch (const ValueError& e) {
    fail<ValueError>("data.classes: ", e.what());
  }
}

// The training split with Kamiran and Calders' weights for data.reweigh's groups
// (metrics::reweighing_weights), read from the table's ignored column of that name.
data::DatasetPtr reweighed(const DataConfig& config, const data::DatasetPtr& train, std::vector<std::string> class_names) {
  data::CsvOptions o;
  if (auto index = models::parse_int(config.label_column)) o.label_column = *index;
  else o.label_column = config.label_column;
  o.labels = config.labels == "names" ? data::CsvLabels::Names : data::CsvLabels::Indices;
  o.classes = class_names;
  o.ignore_columns = {config.reweigh};
  for (const std::string& column : config.ignore_columns)
    if (column != config.reweigh) o.ignore_columns.push_back(column);
  data::CsvTable table = data::load_csv(config.train.path, o);
  try {
    std::vector<double> weights = metrics::reweighing_weights(table.labels, table.ignored.front().second);
    return data::weighted(train, from_vector(weights, {static_cast<int64_t>(weights.size())}).to(DType::f32));
  } catch (const Error& e) {
    fail<ValueError>("data.reweigh: ", config.train.path, ": ", e.what());
  }
}

}  // namespace

Prepared prepare_data(const DataConfig& config, uint64_t seed) {
  if (config.reader == "text" || config.reader == "series") return prepare_sequence_data(config);
  Prepared out;
  data::DatasetPtr full = load_split(config, config.train, out.class_names);
  const std::string train_name = split_name("data.train", config.train);
  if (full->size() == 0) fail<ValueError>(train_name, ": no examples");
  data::Example first = full->get(0);
  out.classification = !is_floating(first.target.dtype());
  data::DatasetPtr test = config.test.given() ? load_split(config, config.test, out.class_names) : nullptr;

  // Classes: the config's count, the class names, or the training split's largest label + 1
  // (a test label beyond them is an error below, not a class the model would never train on).
  out.input.shape = first.input.shape();
  if (out.classification) {
    int64_t classes = config.num_classes;
    if (classes == 0) classes = static_cast<int64_t>(out.class_names.size());
    if (classes == 0) {
      const auto [label, index] = largest_label(*full);
      if (label >= kMaxClasses) {
        fail<ValueError>(train_name, ": label ", label, " of example ", index, " would make ", label + 1,
                         " classes, more than the ", kMaxClasses, " cajal allows (labels are class indices 0 to N-1",
                         config.reader == "csv" ? "; for numbers to regress on, set data.labels: values)" : ")");
      }
      classes = label + 1;
    }
    if (classes < 2) fail<ValueError>(train_name, ": found ", classes, " class(es); classification needs at least 2");
    if (!config.class_names.empty()) {
      if (static_cast<int64_t>(config.class_names.size()) != classes) {
        fail<ValueError>("data.class_names: ", config.class_names.size(), " names for ", classes, " classes (",
                         config.num_classes ? "data.num_classes" : "labels 0 to " + std::to_string(classes - 1), ")");
      }
      out.class_names = config.class_names;
    }
    check_labels(*full, classes, train_name);
    if (test) check_labels(*test, classes, split_name("data.test", config.test));
    out.input.num_classes = classes;
    // A task of some classes and few labels: chosen after the labels were checked.
    if (!config.classes.empty()) {
      for (int64_t c : config.classes)
        if (c >= classes) fail<ValueError>("data.classes: class ", c, " is beyond the data's ", classes, " classes");
      select_task_classes(config, full, test, out.class_names);
      out.input.num_classes = static_cast<int64_t>(config.classes.size());
    }
    if (config.per_class > 0) {
      try {
        full = data::take_per_class(full, config.per_class, config.split_seed);
      } catch (const ValueError& e) {
        fail<ValueError>("data.per_class: ", e.what());
      }
    }
  } else {
    if (!config.classes.empty() || config.per_class > 0)
      fail<ValueError>("data.classes and data.per_class need class labels; the targets are values (regression)");
    out.input.num_classes = first.target.numel();
    if (!config.class_names.empty()) fail<ValueError>("data.class_names: the targets are values (regression), not classes");
  }

  // The validation split, then normalization with the training split's statistics.
  data::DatasetPtr train = full, val;
  if (config.validation_split > 0) {
    auto split = data::train_val_split(full, config.validation_split, config.split_seed);
    train = split.train;
    val = split.val;
    for (const auto& [part, size] : {std::pair{"training", train->size()}, std::pair{"validation", val->size()}}) {
      if (size == 0) {
        fail<ValueError>("data.validation_split: ", config.validation_split, " of the ", full->size(), " examples of ",
                         train_name, " leaves no example for ", part);
      }
    }
  }
  out.test_raw = test;
  if (config.normalize) {
    out.mean = config.mean;
    out.std = config.std;
    if (out.mean.empty()) compute_stats(*train, out.mean, out.std);
    full = normalized(full, out.mean, out.std);
    if (test) test = normalized(test, out.mean, out.std);
  }
  if (!config.reweigh.empty()) {
    if (!config.classes.empty() || config.per_class > 0)
      fail<ValueError>("data.reweigh weighs every row of ", train_name, "; it cannot be combined with data.classes or data.per_class");
    full = reweighed(config, full, out.class_names);
  }
  if (config.normalize || !config.reweigh.empty()) {
    train = full;
    if (config.validation_split > 0) {  // the same partition (a function of the seed) of the prepared data
      auto split = data::train_val_split(full, config.validation_split, config.split_seed);
      train = split.train;
      val = split.val;
    }
  }
  if (!config.transforms.empty()) {
    check_transforms(config, first);
    train = data::transform(train, data::Compose(config.transforms), seed, "augment");
  }
  out.train = train;
  out.val = val;
  out.test = test;
  return out;
}

}  // namespace cajal::cli
