#include "cajal/data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <limits>
#include <bit>
#include <cstdio>
#include <cstring>
#include <type_traits>
#include <filesystem>
#include <memory>

#include "cajal/io/input_file.h"
#include "cajal/ops/creation.h"

namespace cajal::data {

namespace {

// An IDX file read from the start, decompressed if it is gzipped (zlib reads plain files
// unchanged). Reads ask for a number of bytes, so that no more of a small file that inflates
// to gigabytes is decompressed than its header declares.
class IdxStream {
 public:
  explicit IdxStream(const std::string& path) : path_(path), file_(nullptr, gzclose) {
    if (!std::filesystem::exists(path)) fail<IOError>("read_idx: ", path, ": no such file");
    refuse_special_file(path, "read_idx: ");
    file_.reset(gzopen(path.c_str(), "rb"));
    if (!file_) fail<IOError>("read_idx: ", path, ": cannot open: ", std::strerror(errno));
  }

  // Appends up to `count` bytes to `bytes`; fewer only where the data ends.
  void read(std::string& bytes, uint64_t count) {
    char chunk[1 << 16];
    while (count > 0) {
      const int n = gzread(file_.get(), chunk, static_cast<unsigned>(std::min<uint64_t>(count, sizeof chunk)));
      if (n < 0) {
        int code = 0;
        fail<IOError>("read_idx: ", path_, ": corrupt gzip data (", gzerror(file_.get(), &code), ")");
      }
      if (n == 0) break;
      bytes.append(chunk, static_cast<size_t>(n));
      count -= static_cast<uint64_t>(n);
    }
    // gzread stops quietly at a gzip stream cut short; gzerror tells.
    int code = 0;
    const char* message = gzerror(file_.get(), &code);
    if (code != Z_OK && code != Z_STREAM_END)
      fail<IOError>("read_idx: ", path_, ": truncated or corrupt gzip data (", message, ")");
  }

 private:
  std::string path_;
  std::unique_ptr<gzFile_s, int (*)(gzFile)> file_;
};

uint32_t big_endian_u32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

struct IdxType {
  int bytes;      // size of one stored value
  DType dtype;    // what it becomes
  const char* name;
};

IdxType idx_type(unsigned char code, const std::string& path) {
  switch (code) {
    case 0x08: return {1, DType::u8, "uint8"};
    case 0x09: return {1, DType::i32, "int8"};
    case 0x0B: return {2, DType::i32, "int16"};
    case 0x0C: return {4, DType::i32, "int32"};
    case 0x0D: return {4, DType::f32, "float32"};
    case 0x0E: return {8, DType::f64, "float64"};
    default:
      char text[8];
      std::snprintf(text, sizeof text, "0x%02X", code);
      fail<IOError>("read_idx: ", path, ": unknown IDX type code ", text, " (expected 0x08, 0x09, 0x0B, 0x0C, 0x0D or 0x0E)");
  }
}

// Decodes `count` big-endian values of type Stored into T.
template <typename Stored, typename T>
void decode_big_endian(const unsigned char* src, int64_t count, T* dst) {
  using Bits = std::conditional_t<sizeof(Stored) == 1, uint8_t,
                                  std::conditional_t<sizeof(Stored) == 2, uint16_t,
                                                     std::conditional_t<sizeof(Stored) == 4, uint32_t, uint64_t>>>;
  for (int64_t i = 0; i < count; ++i, src += sizeof(Stored)) {
    Bits bits = 0;
    for (size_t b = 0; b < sizeof(Stored); ++b) bits = static_cast<Bits>((uint64_t{bits} << 8) | src[b]);
    dst[i] = static_cast<T>(std::bit_cast<Stored>(bits));
  }
}

}  // namespace

Tensor read_idx(const std::string& path) {
  IdxStream stream(path);
  std::string bytes;
  stream.read(bytes, 4);
  auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() < 4) fail<IOError>("read_idx: ", path, ": file is ", bytes.size(), " bytes, too short for an IDX header");
  if (p[0] != 0 || p[1] != 0)
    fail<IOError>("read_idx: ", path, ": bad magic number (an IDX file starts with two zero bytes; is it an IDX file?)");
  const unsigned char type_code = p[2];
  const IdxType type = idx_type(type_code, path);
  const int ndim = p[3];
  if (ndim == 0) fail<IOError>("read_idx: ", path, ": header declares 0 dims");
  const size_t header = 4 + 4 * static_cast<size_t>(ndim);
  stream.read(bytes, header - 4);
  if (bytes.size() < header)
    fail<IOError>("read_idx: ", path, ": truncated header (", ndim, " dims need ", header, " bytes, file has ",
                  bytes.size(), ")");

  p = reinterpret_cast<const unsigned char*>(bytes.data());
  Dims sizes;
  uint64_t count = 1, extent = 1;
  // More bytes than 64 bits count, so more than any file holds; or, with a 0 among the sizes,
  // the others' product (the strides) beyond int64 (found by fuzz/idx_fuzz).
  bool overflow = false;
  for (int d = 0; d < ndim; ++d) {
    sizes.push_back(big_endian_u32(p + 4 + 4 * d));
    overflow = overflow || __builtin_mul_overflow(count, static_cast<uint64_t>(sizes.back()), &count) ||
               __builtin_mul_overflow(extent, std::max<uint64_t>(static_cast<uint64_t>(sizes.back()), 1), &extent) ||
               extent > static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  }
  uint64_t declared_bytes = 0;
  overflow = overflow || __builtin_mul_overflow(count, static_cast<uint64_t>(type.bytes), &declared_bytes);
  if (overflow) fail<IOError>("read_idx: ", path, ": header declares ", type.name, " ", sizes, " (more than the file holds)");

  // The declared data and one chunk more, to tell how much longer the file is, if it is: a
  // file that goes on for gigabytes more is refused after this much.
  constexpr uint64_t kTrailingBytesCounted = 1 << 16;
  bytes.clear();
  stream.read(bytes, declared_bytes);
  if (bytes.size() == declared_bytes) stream.read(bytes, kTrailingBytesCounted);
  const uint64_t data_bytes = bytes.size();
  if (data_bytes != declared_bytes) {
    const bool longer_than_counted = data_bytes == declared_bytes + kTrailingBytesCounted;
    fail<IOError>("read_idx: ", path, ": header declares ", type.name, " ", sizes, " (", declared_bytes,
                  " bytes) but the file has ", longer_than_counted ? "more than " : "", data_bytes, " data bytes",
                  data_bytes < declared_bytes ? " (truncated?)" : "");
  }

  Tensor out = empty(sizes, {.dtype = type.dtype});
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  const auto n = static_cast<int64_t>(count);
  switch (type_code) {
    case 0x08: std::memcpy(out.data_ptr<uint8_t>(), data, count); break;
    case 0x09: decode_big_endian<int8_t, int32_t>(data, n, out.data_ptr<int32_t>()); break;
    case 0x0B: decode_big_endian<int16_t, int32_t>(data, n, out.data_ptr<int32_t>()); break;
    case 0x0C: decode_big_endian<int32_t, int32_t>(data, n, out.data_ptr<int32_t>()); break;
    case 0x0D: decode_big_endian<float, float>(data, n, out.data_ptr<float>()); break;
    case 0x0E: decode_big_endian<double, double>(data, n, out.data_ptr<double>()); break;
  }
  return out;
}

DatasetPtr load_idx_pair(const std::string& images_path, const std::string& labels_path, const IdxOptions& options) {
  Tensor images = read_idx(images_path);
  Tensor labels = read_idx(labels_path);
  if (images.dtype() != DType::u8 || images.dim() != 3)
    fail<IOError>("load_idx_pair: ", images_path, ": expected uint8 images [N, H, W], got ", images.dtype(), " ",
                  images.sizes());
  if (labels.dim() != 1 || is_floating(labels.dtype()))
    fail<IOError>("load_idx_pair: ", labels_path, ": expected integer labels [N], got ", labels.dtype(), " ",
                  labels.sizes());
  if (images.size(0) != labels.size(0))
    fail<IOError>("load_idx_pair: ", images.size(0), " images in ", images_path, " but ", labels.size(0),
                  " labels in ", labels_path);
  if (options.transpose) images = images.transpose(1, 2).contiguous();
  if (options.scale) images = images.to(DType::f32).div_(255.0).unsqueeze(1);
  return tensor_dataset(images, labels.to(DType::i64));
}

}  // namespace cajal::data
