#pragma once
// NumPy .npy files (format versions 1.0-3.0, little-endian, C or Fortran order), for test
// references and users' data. bfloat16 has no NumPy dtype; it is stored as "<u2" with
// the raw bits, and loads back as bfloat16 only when asked.
#include <string>

#include "cajal/core/tensor.h"

namespace cajal {

// Writes atomically (temporary file then rename). Any strided tensor is accepted.
void save_npy(const Tensor& t, const std::string& path);
// Reads and validates header, dtype, shape and size before touching memory; a truncated
// or malformed file gives an IOError naming the file and the problem.
Tensor load_npy(const std::string& path);

}  // namespace cajal
