// MNIST's IDX files, plain or gzipped (the reader inflates either).
#include "cajal/data/idx.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string path = cajal::fuzz::input_file(data, size, "input-idx-ubyte");
  cajal::fuzz::refuse_or_read([&] { cajal::data::read_idx(path); });
  return 0;
}
