#pragma once
// Inputs for a trained model, from the files `cajal eval` and `cajal predict` are given, and
// the model applied to them in batches.
#include <string>
#include <vector>

#include "cajal/cli/model_file.h"
#include "cajal/data/dataset.h"

namespace cajal::cli {

// A labelled dataset for `cajal eval`: `data` is a config file (its test split, else its train
// split), a CSV table, an image folder, or an IDX/.npy inputs file with `labels` beside it.
// The model's metadata fills in what the files do not say (image size, class names).
// Returns the examples as training saw them (normalized like training); `what` describes them.
data::DatasetPtr eval_dataset(const LoadedModel& model, const std::string& data, const std::string& labels,
                              const std::string& label_column, std::string& what);

// Unlabelled inputs for `cajal predict`: an image file, a folder of images, a CSV table of
// features (a header line is skipped; a label column, when present, is dropped), a .npy
// file or an IDX file. `names` gets one name per example (file name or row number).
Tensor predict_inputs(const LoadedModel& model, const std::string& path, const std::string& label_column,
                      std::vector<std::string>& names);

// Checks that examples of `shape` fit the model (a ShapeError naming `what` otherwise).
void check_input_shape(const ModelInfo& info, const Dims& shape, const std::string& what);

// The model's outputs for `inputs` [N, ...] (already normalized), in batches, without gradients.
Tensor run_model(nn::Module& model, const Tensor& inputs, int64_t batch_size = 256);

}  // namespace cajal::cli
