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

// A labelled CSV table read the way the model's run read its data: the label column, labels
// and ignored columns of RUN/config.yaml beside the model (without one: the last column,
// labelled by the model's class names). Each of `text_columns` is also read as text (the
// sensitive attribute of an audit), whether training used it as a feature or ignored it.
struct LabelledTable {
  Tensor inputs;    // float32 [N, F], normalized as training did
  Tensor features;  // the same, as the file gives them
  Tensor labels;    // int64 [N] class indices
  std::vector<std::string> feature_names;
  std::vector<std::vector<std::string>> text;  // one per text_columns entry, N values each
};
LabelledTable read_labelled_table(const LoadedModel& model, const std::string& path,
                                  const std::vector<std::string>& text_columns = {});

// The CSV table of the run's own data (`split`: "train" or "test") named in RUN/config.yaml
// beside the model; a UsageError naming `command` and `option` (the flag that gives a table
// instead) when there is no config or it does not read a CSV table, or has no such split.
std::string run_table_path(const LoadedModel& model, const std::string& split, const std::string& command,
                           const std::string& option);

// Checks that examples of `shape` fit the model (a ShapeError naming `what` otherwise).
void check_input_shape(const ModelInfo& info, const Dims& shape, const std::string& what);

// The model's outputs for `inputs` [N, ...] (already normalized), in batches, without gradients.
Tensor run_model(nn::Module& model, const Tensor& inputs, int64_t batch_size = 256);

}  // namespace cajal::cli
