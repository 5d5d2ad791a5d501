// NumPy .npy arrays.
#include "cajal/io/npy.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string path = cajal::fuzz::input_file(data, size, "input.npy");
  cajal::fuzz::refuse_or_read([&] { cajal::load_npy(path); });
  return 0;
}
