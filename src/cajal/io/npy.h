#pragma once
// NumPy .npy files (format versions 1.0-3.0, little-endian, C or Fortran order), for test
// references and users' data. Supported dtypes: <f4 <f8 <i8 <i4 |u1 |b1.
//
// bfloat16 has no NumPy dtype: save_npy stores it as "<u2" holding the raw bits (in NumPy,
// `(a.astype(np.uint32) << 16).view(np.float32)` recovers the values). cajal has no uint16,
// so load_npy reads "<u2" only when asked for bfloat16, load_npy(path, DType::bf16); without
// that it is an unsupported dtype, so a NumPy uint16 array never silently becomes bfloat16.
#include <optional>
#include <string>

#include "cajal/core/tensor.h"

namespace cajal {

// Writes atomically (temporary file then rename). Any strided tensor is accepted.
void save_npy(const Tensor& t, const std::string& path);
// Reads and validates header, dtype, shape and size before touching memory; a truncated
// or malformed file gives an IOError naming the file and the problem. `dtype`, when given,
// is the dtype the file must hold (an IOError otherwise); it is how bfloat16 is asked for.
// A Fortran-order file loads as a view with Fortran strides (no copy), as NumPy does.
Tensor load_npy(const std::string& path, std::optional<DType> dtype = std::nullopt);

}  // namespace cajal
