// PNG, JPEG and BMP images as the image-folder reader decodes them (gray and RGB).
#include "cajal/data/image.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string path = cajal::fuzz::input_file(data, size, "input.png");
  cajal::fuzz::refuse_or_read([&] { cajal::data::read_image_info(path); });
  cajal::fuzz::refuse_or_read([&] { cajal::data::read_image(path, 1); });
  cajal::fuzz::refuse_or_read([&] { cajal::data::read_image(path, 3); });
  return 0;
}
