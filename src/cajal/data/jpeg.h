#pragma once
// JPEG decoding through libjpeg-turbo (Debian: libjpeg62-turbo-dev), the decoder OSS-Fuzz
// hardens and PIL uses. (Debian's stb_image, which decodes PNG and BMP here, trusted a JPEG's
// Huffman tables and bit stream: fuzz/image_fuzz found it writing past an array, decoding
// with undefined tables and shifting by more than 31 bits.) Internal to data/image.cpp.
#include <cstdint>
#include <string>
#include <vector>

#include "cajal/data/image.h"

namespace cajal::data::detail {

// Whether `bytes` start as a JPEG does: FF D8 FF (start of image, then a marker).
bool is_jpeg(const std::string& bytes);

// The header's size and stored channels (1 gray, 3 color; a 4-channel CMYK file decodes as
// RGB). An IOError names `path` and libjpeg's reason when the header is unreadable.
ImageInfo jpeg_info(const std::string& bytes, const std::string& path);

// Decodes to 8-bit pixels, rows of interleaved channels (H, W, C): channels 1 gray
// (libjpeg's luminance), 3 RGB; `info` gets the size. Images over kMaxImageSide /
// kMaxImagePixels, and progressive files of more than kMaxJpegScans scans (each rereads the
// whole image: a CPU bomb), are refused; so is any file libjpeg finds corrupt, with its reason.
std::vector<uint8_t> decode_jpeg(const std::string& bytes, const std::string& path, int64_t channels, ImageInfo& info);

inline constexpr int kMaxJpegScans = 1000;

}  // namespace cajal::data::detail
