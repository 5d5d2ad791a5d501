#include "cajal/data/image.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>

#include "cajal/ops/pool.h"

namespace cajal::data {
namespace {

// stb_image sizes its buffers by what the file says: a PNG chunk's declared length (2 GB
// from a 143-byte file, found by fuzz/image_fuzz), a zlib stream's output, a progressive
// JPEG's coefficients. Each request is held to what the image's declared pixels can need
// (16-bit RGBA is 8 bytes a pixel, doubled while a buffer grows, plus padding); a larger one
// fails as out of memory and read_image names the cause.
constexpr size_t kStbBytesPerPixel = 20;
constexpr size_t kStbBaseBytes = size_t{16} << 20;
thread_local size_t stb_request_limit = kStbBaseBytes;
thread_local bool stb_request_refused = false;

void* stb_malloc(size_t bytes) {
  if (bytes > stb_request_limit) return stb_request_refused = true, nullptr;
  return std::malloc(bytes);
}
void* stb_realloc(void* block, size_t bytes) {
  if (bytes > stb_request_limit) return stb_request_refused = true, nullptr;
  return std::realloc(block, bytes);
}

}  // namespace
}  // namespace cajal::data

// The one definition of stb_image in cajal, limited to the formats it decodes here.
#define STB_IMAGE_IMPLEMENTATION
#define STBI_MALLOC(bytes) cajal::data::stb_malloc(bytes)
#define STBI_REALLOC(block, bytes) cajal::data::stb_realloc(block, bytes)
#define STBI_FREE(block) std::free(block)
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP  // JPEG: libjpeg-turbo (data/jpeg.h)
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

#include "cajal/data/jpeg.h"
#include "cajal/io/input_file.h"
#include "cajal/ops/creation.h"

namespace cajal::data {

namespace {

// Debian's stb_image copies a PNG's first IDAT chunk into a buffer it allocates only for a
// chunk with bytes: an empty first IDAT is a memcpy to a null pointer, undefined behaviour
// (fuzz/image_fuzz, UBSan). PNG writers put image data in every IDAT, so such a file is
// refused before stb reads it.
void check_png_first_image_chunk(const std::string& bytes, const std::string& path) {
  static const std::string kSignature = "\x89PNG\r\n\x1a\n";
  if (bytes.compare(0, kSignature.size(), kSignature) != 0) return;  // not a PNG
  auto byte = [&](size_t i) -> uint32_t { return static_cast<unsigned char>(bytes[i]); };
  for (size_t at = kSignature.size(); at + 8 <= bytes.size();) {
    const uint32_t length = byte(at) << 24 | byte(at + 1) << 16 | byte(at + 2) << 8 | byte(at + 3);
    const std::string type = bytes.substr(at + 4, 4);
    if (type == "IDAT") {
      if (length == 0) fail<IOError>("read_image: ", path, ": corrupt PNG: its first image data chunk (IDAT) is empty");
      return;
    }
    if (type == "IEND") return;
    at += size_t{12} + length;  // length, type, data, CRC
  }
}

// The file's bytes, checked where stb_image cannot be trusted to.
std::string image_bytes(const std::string& path) {
  stb_request_limit = kStbBaseBytes;  // until a header has declared the image's size
  refuse_special_file(path, "read_image: ");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail<IOError>("read_image: ", path, ": cannot open the file");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  check_png_first_image_chunk(bytes, path);
  return bytes;
}

const stbi_uc* stb_bytes(const std::string& bytes) { return reinterpret_cast<const stbi_uc*>(bytes.data()); }
int stb_size(const std::string& bytes) {
  return static_cast<int>(std::min<size_t>(bytes.size(), std::numeric_limits<int>::max()));
}

// 8-bit rows of interleaved channels (H, W, C) as float planes (C, H, W) in [0, 1].
Tensor planes_from_rows(const uint8_t* pixels, int64_t channels, int64_t height, int64_t width) {
  Tensor image = empty({channels, height, width});
  float* out = image.data_ptr<float>();
  const int64_t plane = height * width;
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t i = 0; i < plane; ++i) out[c * plane + i] = static_cast<float>(pixels[i * channels + c]) / 255.0f;
  return image;
}

}  // namespace

Tensor read_image(const std::string& path, int64_t channels) {
  if (channels != 1 && channels != 3) fail<ValueError>("read_image: channels must be 1 or 3, got ", channels);
  const std::string bytes = image_bytes(path);
  if (detail::is_jpeg(bytes)) {
    ImageInfo info{};
    const std::vector<uint8_t> pixels = detail::decode_jpeg(bytes, path, channels, info);
    return planes_from_rows(pixels.data(), channels, info.height, info.width);
  }
  int width = 0, height = 0, stored = 0;
  // A few hundred kilobytes of PNG can declare (and decode to) gigabytes: the header decides.
  if (stbi_info_from_memory(stb_bytes(bytes), stb_size(bytes), &width, &height, &stored) &&
      (width > kMaxImageSide || height > kMaxImageSide || int64_t{width} * height > kMaxImagePixels)) {
    fail<IOError>("read_image: ", path, ": ", width, " x ", height, " pixels is larger than cajal decodes (at most ",
                  kMaxImageSide, " pixels per side and ", kMaxImagePixels, " in all)");
  }
  // Unknown sizes (no readable header) get only the base allowance; stb fails on them anyway.
  const size_t declared_pixels = static_cast<size_t>(std::max(width, 0)) * static_cast<size_t>(std::max(height, 0));
  stb_request_limit = kStbBaseBytes + kStbBytesPerPixel * declared_pixels;
  stb_request_refused = false;
  std::unique_ptr<stbi_uc, void (*)(void*)> pixels(
      stbi_load_from_memory(stb_bytes(bytes), stb_size(bytes), &width, &height, &stored, static_cast<int>(channels)),
      stbi_image_free);
  if (!pixels && stb_request_refused) {
    fail<IOError>("read_image: ", path, ": corrupt image: decoding it would take more than the ", stb_request_limit,
                  " bytes its ", declared_pixels, " pixels can need (a damaged file or a decompression bomb)");
  }
  if (!pixels) {
    fail<IOError>("read_image: ", path, ": cannot decode the image: ", stbi_failure_reason(),
                  " (a damaged or truncated PNG, JPEG or BMP file)");
  }
  return planes_from_rows(pixels.get(), channels, height, width);
}

Tensor resize_image(const Tensor& image, int64_t height, int64_t width) {
  if (image.dim() != 3) fail<ShapeError>("resize_image: expected an image [C, H, W], got ", image.sizes());
  if (height < 1 || width < 1) fail<ValueError>("resize_image: size must be positive, got ", height, "x", width);
  if (image.size(1) == height && image.size(2) == width) return image;
  return interpolate(image.unsqueeze(0), {.size = {height, width}, .mode = InterpolateMode::Bilinear, .align_corners = false})
      .squeeze(0);
}

ImageInfo read_image_info(const std::string& path) {
  const std::string bytes = image_bytes(path);
  if (detail::is_jpeg(bytes)) return detail::jpeg_info(bytes, path);
  int width = 0, height = 0, channels = 0;
  if (!stbi_info_from_memory(stb_bytes(bytes), stb_size(bytes), &width, &height, &channels))
    fail<IOError>("read_image: ", path, ": not a readable PNG, JPEG or BMP image (", stbi_failure_reason(), ")");
  return {height, width, channels};
}

}  // namespace cajal::data
