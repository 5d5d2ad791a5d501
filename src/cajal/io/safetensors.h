#pragma once
// safetensors weight files (https://github.com/huggingface/safetensors), the format PyTorch,
// Hugging Face and most other frameworks exchange weights in. A file is:
//   8 bytes     N, the header length, unsigned little-endian
//   N bytes     a UTF-8 JSON object: {"__metadata__": {"key": "value", ...},   (optional)
//                                     "name": {"dtype": "F32", "shape": [2, 3],
//                                              "data_offsets": [begin, end]}, ...}
//   the rest    the data buffer: each tensor's elements, little-endian, row-major, at
//               [begin, end) of the buffer; the tensors cover the buffer with no gap or overlap.
// cajal reads and writes the dtypes F32 F64 I64 I32 U8 I8 BOOL BF16; other dtypes (F16,
// U16, ...) are refused with an IOError that names them.
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "cajal/core/tensor.h"

namespace cajal {

// Tensors by name, in order: the same type as nn::Named<Tensor>, so a state_dict() saves as is.
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
// The "__metadata__" strings.
using SafetensorsMetadata = std::map<std::string, std::string>;

// Writes atomically (temporary file, fsync, rename). Any strided tensor is accepted. The bytes
// are those the reference writer (Python's safetensors.torch.save_file) produces: compact JSON,
// "__metadata__" first (left out when `metadata` is empty; its keys sorted), tensors ordered by
// decreasing element alignment, then by name, and the header padded with spaces so the data
// starts on an 8-byte boundary.
// Names must be unique, valid UTF-8 and not "__metadata__" (a ValueError otherwise).
//
// With `checksum` (cajal's model files and checkpoints), the metadata also gets
// "cajal.crc32.header" and "cajal.crc32.data": the CRC-32 (zlib's, 8 hex digits) of the
// header's JSON as written without these two entries and without padding, and of the data
// buffer. Other tools read such a file as usual; cajal's readers check it (below).
void save_safetensors(const NamedTensors& tensors, const std::string& path, const SafetensorsMetadata& metadata = {},
                      bool checksum = false);

// Reads the tensors, in the order of their data in the file. Everything is checked before
// memory is touched: the header length (at most 100 MB and within the file), UTF-8 and JSON
// syntax, unique names, known fields, dtypes, that each tensor's byte range matches its shape
// and dtype (no overflow), and that the ranges tile the data buffer exactly. Any problem is an
// IOError naming the file and the problem (and the tensor, when one is at fault).
// A file with checksums must match them: "PATH is corrupt: checksum mismatch (header)" or
// "(tensor data)", or "one of its two checksums is missing". Files without (written by
// other tools) load unchecked.
NamedTensors load_safetensors(const std::string& path);

// The "__metadata__" strings of a file (without the checksum entries), with the same checks
// as load_safetensors (the header's checksum included) but without reading the tensor data.
SafetensorsMetadata load_safetensors_metadata(const std::string& path);

}  // namespace cajal
