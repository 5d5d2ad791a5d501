#pragma once
// The data a config describes, loaded and prepared for training: the splits, the shape of
// one example, the classes, normalization and augmentation.
//
//   train split -> (validation split held out) -> normalize -> augment (train only)
//
// Normalization comes first: its statistics are those of the training split, and the same
// values are stored in the model file so that `cajal predict` prepares inputs the same way.
// (Padding added by augmentation is therefore 0 in normalized units: the mean.)
#include <string>
#include <vector>

#include "cajal/cli/config.h"
#include "cajal/data/dataset.h"
#include "cajal/models/options.h"
#include "cajal/models/registry.h"

namespace cajal::cli {

// An augmentation from the config: {type: random_crop, padding: 2} ... Types: random_crop
// (size: the image's by default, padding, padding_mode constant|reflect|replicate, fill),
// random_horizontal_flip (p), random_affine (degrees, translate, scale), gaussian_noise
// (std), random_erasing (p, scale, ratio, value). Read and checked without any data.
data::Transform read_transform(models::Options options);

struct Prepared {
  data::DatasetPtr train, val, test;  // val and test are null when the config has none
  data::DatasetPtr test_raw;          // the test split before normalization (report images)
  models::ModelInput input;           // one example's shape; outputs (classes or target values)
  bool classification = true;
  std::vector<std::string> class_names;  // from data.class_names, a CSV's class names or folders; else empty
  std::vector<double> mean, std;         // the normalization applied (empty: none)
  // Numbers to report beside the model's: series' test_naive_mse (of the test part's naive
  // forecast, in normalized units as the test loss), series_mean and series_std.
  std::vector<std::pair<std::string, double>> baselines;
};

// Loads and prepares everything `config.data` names; `seed` seeds augmentation. Errors name
// the file and the problem (missing file, wrong format, label out of range, ...).
Prepared prepare_data(const DataConfig& config, uint64_t seed);

// (text and series: cli/sequence.h.)
// One split's raw examples (inputs float32, [C, H, W] images or [F] features; targets int64
// class indices or float32 values), as `prepare_data` reads them. uint8 images stay uint8
// in memory and are scaled to [0, 1] per example. class_names: the
// training split's names, for csv tables of names; filled in when empty.
data::DatasetPtr load_split(const DataConfig& config, const SplitFiles& files, std::vector<std::string>& class_names);

// Inputs as training sees them: float32 (uint8 images scaled to [0, 1]), and [N, H, W]
// images given their channel dim [N, 1, H, W].
Tensor as_float_inputs(Tensor inputs);

// The dataset with its inputs normalized (in memory for float tensor datasets, else per example).
data::DatasetPtr normalized(const data::DatasetPtr& dataset, const std::vector<double>& mean,
                            const std::vector<double>& std);

// (x - mean) / std per channel (dim 1 of a batch [N, C, ...]); one value may stand for all.
Tensor normalize_batch(const Tensor& batch, const std::vector<double>& mean, const std::vector<double>& std);

// Throws a ValueError naming `what` and the first example whose class index is not in
// [0, num_classes) (tensor datasets; image folders are right by construction).
void check_labels(const data::Dataset& dataset, int64_t num_classes, const std::string& what);

}  // namespace cajal::cli
