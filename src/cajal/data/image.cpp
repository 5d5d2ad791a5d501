#include "cajal/data/image.h"

#include <memory>

#include "cajal/ops/pool.h"

// The one definition of stb_image in cajal, limited to the formats cajal reads.
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
// Failure reasons in words ("Corrupt PNG"), not stb's internal codes ("outofdata"), some of
// which quote bytes of the file.
#define STBI_FAILURE_USERMSG
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#include <stb/stb_image.h>
#pragma GCC diagnostic pop

#include "cajal/io/input_file.h"
#include "cajal/ops/creation.h"

namespace cajal::data {

Tensor read_image(const std::string& path, int64_t channels) {
  if (channels != 1 && channels != 3) fail<ValueError>("read_image: channels must be 1 or 3, got ", channels);
  refuse_special_file(path, "read_image: ");
  int width = 0, height = 0, stored = 0;
  // A few hundred kilobytes of PNG can declare (and decode to) gigabytes: the header decides.
  if (stbi_info(path.c_str(), &width, &height, &stored) &&
      (width > kMaxImageSide || height > kMaxImageSide || int64_t{width} * height > kMaxImagePixels)) {
    fail<IOError>("read_image: ", path, ": ", width, " x ", height, " pixels is larger than cajal decodes (at most ",
                  kMaxImageSide, " pixels per side and ", kMaxImagePixels, " in all)");
  }
  std::unique_ptr<stbi_uc, void (*)(void*)> pixels(
      stbi_load(path.c_str(), &width, &height, &stored, static_cast<int>(channels)), stbi_image_free);
  if (!pixels) {
    fail<IOError>("read_image: ", path, ": cannot decode the image: ", stbi_failure_reason(),
                  " (a damaged or truncated PNG, JPEG or BMP file)");
  }
  // stb gives rows of interleaved channels (H, W, C); tensors want planes (C, H, W).
  Tensor image = empty({channels, height, width});
  float* out = image.data_ptr<float>();
  const int64_t plane = int64_t{height} * width;
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t i = 0; i < plane; ++i) out[c * plane + i] = static_cast<float>(pixels.get()[i * channels + c]) / 255.0f;
  return image;
}

Tensor resize_image(const Tensor& image, int64_t height, int64_t width) {
  if (image.dim() != 3) fail<ShapeError>("resize_image: expected an image [C, H, W], got ", image.sizes());
  if (height < 1 || width < 1) fail<ValueError>("resize_image: size must be positive, got ", height, "x", width);
  if (image.size(1) == height && image.size(2) == width) return image;
  return interpolate(image.unsqueeze(0), {.size = {height, width}, .mode = InterpolateMode::Bilinear, .align_corners = false})
      .squeeze(0);
}

ImageInfo read_image_info(const std::string& path) {
  int width = 0, height = 0, channels = 0;
  if (!stbi_info(path.c_str(), &width, &height, &channels))
    fail<IOError>("read_image: ", path, ": not a readable PNG, JPEG or BMP image (", stbi_failure_reason(), ")");
  return {height, width, channels};
}

}  // namespace cajal::data
