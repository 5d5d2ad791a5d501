#pragma once
// A dataset from two NumPy files: inputs [N, ...] and targets [N] or [N, ...].
#include <string>

#include "cajal/data/dataset.h"

namespace cajal::data {

// Loads both files (io/npy.h: validated before reading) into a TensorDataset; an IOError
// names both files when their first dims differ.
DatasetPtr load_npy_pair(const std::string& inputs_path, const std::string& targets_path);

}  // namespace cajal::data
