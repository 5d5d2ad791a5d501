#pragma once
// Pages as a reader sees them: PNGs decoded by stb_image, and HTML pages rendered by headless
// Chromium into a screenshot (tests of report.html, explain.html and audit.html).
#include <cstdint>
#include <string>
#include <vector>

namespace cajal::test {

struct Image {
  int width = 0, height = 0, channels = 0;
  std::vector<uint8_t> pixels;  // row-major, the channels of a pixel together
};

// Decodes PNG bytes (channels 0: as stored; else converted to that count); a test failure
// and an empty image when stb_image cannot.
Image decode_png(const std::string& png, int channels = 0);

// The chromium binary on PATH ("chromium" or "chromium-browser"), or "" when there is none.
std::string chromium_binary();

// Renders the HTML file `page` with headless Chromium into a width x height RGB screenshot
// (test failures when Chromium fails). $CAJAL_REPORT_TEST_OUT, when set, keeps the page and
// its screenshot there as <name>.html and <name>.png.
Image screenshot(const std::string& chromium, const std::string& page, int width, int height, const std::string& name);

// Pixels of `img` (RGB) within a small distance of the colour (r, g, b).
size_t count_near(const Image& img, int r, int g, int b);

}  // namespace cajal::test
