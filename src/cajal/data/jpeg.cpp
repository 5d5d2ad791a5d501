#include "cajal/data/jpeg.h"

#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <vector>

#include <jpeglib.h>

#include "cajal/core/error.h"

namespace cajal::data::detail {

namespace {

// libjpeg reports a fatal error by calling error_exit, which must not return: it jumps back
// to decode_c() with the message. Warnings (data it could recover from) are not printed.
struct ErrorManager {
  jpeg_error_mgr base;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void on_error(j_common_ptr info) {
  auto* manager = reinterpret_cast<ErrorManager*>(info->err);
  (*info->err->format_message)(info, manager->message);
  std::longjmp(manager->jump, 1);
}

void on_message(j_common_ptr, int) {}

void on_progress(j_common_ptr info) {
  auto* decompress = reinterpret_cast<j_decompress_ptr>(info);
  if (decompress->input_scan_number <= kMaxJpegScans) return;
  auto* manager = reinterpret_cast<ErrorManager*>(info->err);
  std::snprintf(manager->message, sizeof manager->message, "more than %d progressive scans", kMaxJpegScans);
  std::longjmp(manager->jump, 1);
}

struct Decoded {
  int width = 0, height = 0, stored_channels = 0;
  bool too_large = false;
  std::vector<uint8_t> pixels;  // rows of interleaved channels
};

bool too_large(int64_t width, int64_t height) {
  return width > kMaxImageSide || height > kMaxImageSide || width * height > kMaxImagePixels;
}

// The C part: nothing with a destructor lives in this frame, so the longjmp of on_error only
// skips plain data. `out` (the caller's) is filled; false means manager.message says why.
bool decode_c(const std::string& bytes, int channels, bool header_only, Decoded& out, ErrorManager& manager) {
  jpeg_decompress_struct info;
  jpeg_progress_mgr progress;
  info.err = jpeg_std_error(&manager.base);
  manager.base.error_exit = on_error;
  manager.base.emit_message = on_message;
  manager.message[0] = '\0';
  if (setjmp(manager.jump)) {
    jpeg_destroy_decompress(&info);
    return false;
  }
  jpeg_create_decompress(&info);
  progress.progress_monitor = on_progress;
  info.progress = &progress;
  jpeg_mem_src(&info, reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&info, TRUE);
  out.width = static_cast<int>(info.image_width);
  out.height = static_cast<int>(info.image_height);
  out.stored_channels = info.num_components == 1 ? 1 : 3;
  if (header_only || too_large(info.image_width, info.image_height)) {
    out.too_large = !header_only;
    jpeg_destroy_decompress(&info);
    return true;
  }
  info.out_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(&info);
  const size_t row_bytes = static_cast<size_t>(info.output_width) * static_cast<size_t>(channels);
  out.pixels.resize(row_bytes * info.output_height);
  while (info.output_scanline < info.output_height) {
    JSAMPROW row = out.pixels.data() + row_bytes * info.output_scanline;
    jpeg_read_scanlines(&info, &row, 1);
  }
  jpeg_finish_decompress(&info);
  jpeg_destroy_decompress(&info);
  return true;
}

Decoded decode(const std::string& bytes, const std::string& path, int channels, bool header_only) {
  Decoded out;
  ErrorManager manager;
  if (!decode_c(bytes, channels, header_only, out, manager))
    fail<IOError>("read_image: ", path, ": cannot decode the JPEG: ", manager.message, " (a damaged or truncated file)");
  if (out.too_large) {
    fail<IOError>("read_image: ", path, ": ", out.width, " x ", out.height, " pixels is larger than cajal decodes (at most ",
                  kMaxImageSide, " pixels per side and ", kMaxImagePixels, " in all)");
  }
  return out;
}

}  // namespace

bool is_jpeg(const std::string& bytes) { return bytes.size() >= 3 && bytes.compare(0, 3, "\xFF\xD8\xFF") == 0; }

ImageInfo jpeg_info(const std::string& bytes, const std::string& path) {
  const Decoded header = decode(bytes, path, 3, true);
  return {header.height, header.width, header.stored_channels};
}

std::vector<uint8_t> decode_jpeg(const std::string& bytes, const std::string& path, int64_t channels, ImageInfo& info) {
  Decoded decoded = decode(bytes, path, static_cast<int>(channels), false);
  info = {decoded.height, decoded.width, channels};
  return std::move(decoded.pixels);
}

}  // namespace cajal::data::detail
