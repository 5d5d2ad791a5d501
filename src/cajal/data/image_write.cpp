// Writing images: PNG through stb_image_write (its one definition in cajal), and grids of
// images to write (sample sheets of generative models).
#include <algorithm>
#include <cmath>
#include <span>
#include <vector>

#include "cajal/core/error.h"
#include "cajal/data/image.h"
#include "cajal/io/atomic_file.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/shape.h"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO  // written through write_file_atomically, not stb's fopen
#include <stb/stb_image_write.h>

namespace cajal::data {

std::vector<uint8_t> to_hwc_bytes(const Tensor& image) {
  if (image.dim() != 3) fail<ShapeError>("to_hwc_bytes: expected an image [C, H, W], got shape ", image.sizes());
  const int64_t channels = image.size(0), pixels_per_channel = image.size(1) * image.size(2);
  const std::vector<float> values = image.to(DType::f32).contiguous().to_vector<float>();
  std::vector<uint8_t> pixels(values.size());
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t i = 0; i < pixels_per_channel; ++i) {
      const float v = values[static_cast<size_t>(c * pixels_per_channel + i)];
      const float clamped = std::isnan(v) ? 0.f : std::clamp(v, 0.f, 1.f);
      pixels[static_cast<size_t>(i * channels + c)] = static_cast<uint8_t>(std::lround(clamped * 255.f));
    }
  return pixels;
}

void write_png(const Tensor& image, const std::string& path) {
  if (image.dim() != 3 || (image.size(0) != 1 && image.size(0) != 3))
    fail<ShapeError>("write_png: ", path, ": expected an image [C, H, W] with C 1 or 3, got shape ", image.sizes());
  const int64_t channels = image.size(0), height = image.size(1), width = image.size(2);
  if (height < 1 || width < 1 || height > kMaxImageSide || width > kMaxImageSide)
    fail<ShapeError>("write_png: ", path, ": height and width must be in [1, ", kMaxImageSide, "], got ", height, "x", width);
  const std::vector<uint8_t> pixels = to_hwc_bytes(image);
  std::vector<char> png;
  auto append = [](void* context, void* data, int size) {
    auto* out = static_cast<std::vector<char>*>(context);
    out->insert(out->end(), static_cast<char*>(data), static_cast<char*>(data) + size);
  };
  if (!stbi_write_png_to_func(append, &png, static_cast<int>(width), static_cast<int>(height), static_cast<int>(channels), pixels.data(),
                              static_cast<int>(width * channels)))
    fail<IOError>("write_png: ", path, ": PNG encoding failed");
  write_file_atomically(path, {std::span<const char>(png)}, "write_png");
}

Tensor image_grid(const Tensor& images, int64_t columns, int64_t padding, double background) {
  if (images.dim() != 4 || images.size(0) < 1)
    fail<ShapeError>("image_grid: expected images [N, C, H, W] with N >= 1, got shape ", images.sizes());
  if (columns < 1 || padding < 0) fail<ValueError>("image_grid: columns must be at least 1 and padding at least 0");
  const int64_t n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
  columns = std::min(columns, n);
  const int64_t rows = (n + columns - 1) / columns;
  Tensor grid = full({c, rows * (h + padding) + padding, columns * (w + padding) + padding}, background, {.dtype = images.dtype()});
  for (int64_t k = 0; k < n; ++k) {
    const int64_t top = padding + (k / columns) * (h + padding), left = padding + (k % columns) * (w + padding);
    grid.narrow(1, top, h).narrow(2, left, w).copy_(images.select(0, k));
  }
  return grid;
}

}  // namespace cajal::data
