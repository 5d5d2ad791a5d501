#pragma once
// Image files to tensors: PNG, JPEG and BMP through stb_image.
#include <cstdint>
#include <string>
#include <vector>

#include "cajal/core/tensor.h"

namespace cajal::data {

// The largest image read_image decodes: its header is checked before decoding.
inline constexpr int64_t kMaxImageSide = 16384;
// 2^25 pixels (8192 x 4096): stb_image's progressive JPEG decoder takes about 20 bytes a
// pixel, so 2^26 let a small file allocate 1.36 GB (fuzz/image_fuzz).
inline constexpr int64_t kMaxImagePixels = int64_t{1} << 25;

// Decodes an image as float32 [channels, H, W] in [0, 1]. channels 1 gives grayscale
// (color converted by luminance), 3 gives RGB (gray replicated); alpha is dropped. An
// IOError names the file when it cannot be read or decoded, or is larger than the limits above.
Tensor read_image(const std::string& path, int64_t channels);

// Bilinear resize of [C, H, W] to [C, height, width] (half-pixel centers, as
// torch.nn.functional.interpolate with align_corners=False, without antialiasing).
Tensor resize_image(const Tensor& image, int64_t height, int64_t width);

struct ImageInfo {
  int64_t height;
  int64_t width;
  int64_t channels;  // as stored: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA
};
// Reads only the header; an IOError names the file when it is not a PNG, JPEG or BMP image.
ImageInfo read_image_info(const std::string& path);

// [C, H, W] values in [0, 1] (clamped, NaN as 0) as 8-bit pixels, row-major with the channels
// of a pixel together (HWC), as PNG encoders and the report take them.
std::vector<uint8_t> to_hwc_bytes(const Tensor& image);

// Writes [C, H, W] (C = 1 gray, 3 RGB) with values in [0, 1] (clamped, rounded to 8 bits) as
// a PNG file, atomically (image_write.cpp, through stb_image_write).
void write_png(const Tensor& image, const std::string& path);

// Tiles images [N, C, H, W] into one [C, rows * (H + padding) + padding, columns * (W +
// padding) + padding] image, row by row, with `padding` pixels of `background` around each.
Tensor image_grid(const Tensor& images, int64_t columns, int64_t padding = 2, double background = 1.0);

}  // namespace cajal::data
