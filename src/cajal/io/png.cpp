// PNG encoding through stb_image_write (Debian's libstb-dev), which brings its own deflate
// compressor, so no zlib is linked. STB_IMAGE_WRITE_STATIC keeps its functions private to
// this file; STBI_WRITE_NO_STDIO leaves out the file-writing half.
#include "cajal/io/png.h"

#include <algorithm>
#include <limits>
#include <string_view>

#include "cajal/core/error.h"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#define STBI_WRITE_NO_STDIO
#include <stb/stb_image_write.h>

namespace cajal {

std::string encode_png(std::span<const uint8_t> pixels, int64_t height, int64_t width, int64_t channels) {
  CAJAL_CHECK(channels >= 1 && channels <= 4, ValueError, "encode_png: channels must be 1 to 4, got ", channels);
  // stb takes int sizes and an int row stride.
  constexpr int64_t kMaxSide = std::numeric_limits<int>::max() / 4;
  CAJAL_CHECK(height >= 1 && width >= 1 && height <= kMaxSide && width <= kMaxSide, ValueError,
              "encode_png: image size ", height, " x ", width, " is empty or too large");
  CAJAL_CHECK(static_cast<int64_t>(pixels.size()) == height * width * channels, ValueError, "encode_png: ", pixels.size(),
              " bytes do not make a ", height, " x ", width, " x ", channels, " image (", height * width * channels, " bytes)");
  std::string png;
  auto append = [](void* context, void* data, int size) { static_cast<std::string*>(context)->append(static_cast<const char*>(data), size); };
  int ok = stbi_write_png_to_func(append, &png, static_cast<int>(width), static_cast<int>(height), static_cast<int>(channels),
                                  pixels.data(), static_cast<int>(width * channels));
  CAJAL_CHECK(ok, ValueError, "encode_png: cannot encode a ", height, " x ", width, " x ", channels, " image");
  return png;
}

std::string base64_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    // Three bytes (zeros past the end) make four 6-bit digits; '=' stands for missing bytes.
    size_t n = std::min<size_t>(3, bytes.size() - i);
    uint32_t group = 0;
    for (size_t j = 0; j < 3; ++j) group = group << 8 | (j < n ? static_cast<uint8_t>(bytes[i + j]) : 0);
    for (size_t j = 0; j < 4; ++j) out += j <= n ? kAlphabet[(group >> (18 - 6 * j)) & 0x3F] : '=';
  }
  return out;
}

std::string png_data_uri(std::span<const uint8_t> pixels, int64_t height, int64_t width, int64_t channels) {
  return "data:image/png;base64," + base64_encode(encode_png(pixels, height, width, channels));
}

}  // namespace cajal
