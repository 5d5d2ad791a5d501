#include "support/page_render.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/test_support.h"

// stb_image decodes the PNGs; static, so it cannot clash with the copy the library may hold.
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>

namespace fs = std::filesystem;

namespace cajal::test {

Image decode_png(const std::string& png, int channels) {
  Image img;
  unsigned char* p = stbi_load_from_memory(reinterpret_cast<const unsigned char*>(png.data()), static_cast<int>(png.size()),
                                           &img.width, &img.height, &img.channels, channels);
  if (!p) {
    ADD_FAILURE() << "stb_image cannot decode the PNG: " << stbi_failure_reason();
    return img;
  }
  if (channels) img.channels = channels;
  img.pixels.assign(p, p + static_cast<size_t>(img.width) * img.height * img.channels);
  stbi_image_free(p);
  return img;
}

std::string chromium_binary() {
  for (const char* name : {"chromium", "chromium-browser"}) {
    std::string cmd = std::string("command -v ") + name + " 2>/dev/null";
    FILE* pipe = popen(cmd.c_str(), "r");
    char buf[512] = {};
    bool found = pipe && std::fgets(buf, sizeof buf, pipe);
    if (pipe) pclose(pipe);
    if (found) {
      std::string path = buf;
      while (!path.empty() && std::isspace(static_cast<unsigned char>(path.back()))) path.pop_back();
      return path;
    }
  }
  return "";
}

Image screenshot(const std::string& chromium, const std::string& page, int width, int height, const std::string& name) {
  std::string dir = temp_dir(), shot = dir + "/screenshot.png";
  std::string cmd = "timeout 120 " + chromium +
                    " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking"
                    " --disable-component-update --disable-sync --hide-scrollbars --force-device-scale-factor=1"
                    " --user-data-dir=" + dir + "/profile --screenshot=" + shot + " --window-size=" + std::to_string(width) + "," +
                    std::to_string(height) + " file://" + fs::absolute(page).string() + " > " + dir + "/chromium.log 2>&1";
  int rc = std::system(cmd.c_str());
  std::ifstream log_file(dir + "/chromium.log");
  std::stringstream log;
  log << log_file.rdbuf();
  EXPECT_EQ(rc, 0) << cmd << "\n" << log.str();
  EXPECT_TRUE(fs::exists(shot)) << log.str();
  if (rc != 0 || !fs::exists(shot)) return {};
  if (const char* keep = std::getenv("CAJAL_REPORT_TEST_OUT")) {
    fs::create_directories(keep);
    fs::copy_file(page, fs::path(keep) / (name + ".html"), fs::copy_options::overwrite_existing);
    fs::copy_file(shot, fs::path(keep) / (name + ".png"), fs::copy_options::overwrite_existing);
  }
  std::ifstream in(shot, std::ios::binary);
  std::string png((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Image img = decode_png(png, 3);
  EXPECT_EQ(img.width, width);
  EXPECT_EQ(img.height, height);
  return img;
}

size_t count_near(const Image& img, int r, int g, int b) {
  size_t n = 0;
  for (size_t i = 0; i + 2 < img.pixels.size(); i += 3)
    if (std::abs(img.pixels[i] - r) + std::abs(img.pixels[i + 1] - g) + std::abs(img.pixels[i + 2] - b) < 30) ++n;
  return n;
}

}  // namespace cajal::test
