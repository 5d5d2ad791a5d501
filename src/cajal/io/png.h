#pragma once
// PNG images in memory, for pictures embedded in the HTML report as data: URIs.
#include <cstdint>
#include <span>
#include <string>

namespace cajal {

// The PNG file of an 8-bit image of `height` x `width` pixels with `channels` channels
// (1 gray, 2 gray + alpha, 3 RGB, 4 RGBA), `pixels` in row-major order with the channels of
// a pixel together (HWC). Throws a ValueError when the sizes do not fit.
std::string encode_png(std::span<const uint8_t> pixels, int64_t height, int64_t width, int64_t channels);

// `bytes` in standard base64 (RFC 4648, with '=' padding).
std::string base64_encode(std::string_view bytes);

// "data:image/png;base64,..." for the image, ready for an <img src>.
std::string png_data_uri(std::span<const uint8_t> pixels, int64_t height, int64_t width, int64_t channels);

}  // namespace cajal
