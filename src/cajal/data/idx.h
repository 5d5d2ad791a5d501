#pragma once
// IDX files, the format of MNIST, Fashion-MNIST and EMNIST (http://yann.lecun.com/exdb/mnist/):
// a big-endian header (two zero bytes, a type code, the number of dims, each dim as uint32)
// followed by the values in row-major order. Files may be gzipped (detected by content).
#include <string>

#include "cajal/core/tensor.h"
#include "cajal/data/dataset.h"

namespace cajal::data {

// Reads an IDX file, raw or gzipped, as a tensor of its shape: type codes 0x08 (uint8) as
// u8, 0x09 (int8) and 0x0B (int16) widened to i32, 0x0C as i32, 0x0D as f32, 0x0E as f64.
// The header is checked (magic, type code, dims) and the data size must equal the product
// of the dims; any problem is an IOError naming the file.
Tensor read_idx(const std::string& path);

struct IdxOptions {
  // true: images as float32 [N, 1, H, W] scaled to [0, 1] (value / 255), ready for a conv
  // net; false: the stored uint8 [N, H, W].
  bool scale = true;
  // EMNIST stores each image transposed (column by column); true turns them upright.
  bool transpose = false;
};

// A TensorDataset of images (an IDX file of uint8 [N, H, W]) and labels (uint8 [N]) as int64.
// The two counts must match; an IOError names the files otherwise.
DatasetPtr load_idx_pair(const std::string& images_path, const std::string& labels_path, const IdxOptions& options = {});

}  // namespace cajal::data
