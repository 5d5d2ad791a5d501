// safetensors weights, header and metadata (cajal's model files are safetensors too; see
// model_file_fuzz.cpp for the metadata cajal interprets).
#include "cajal/io/safetensors.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string path = cajal::fuzz::input_file(data, size, "input.safetensors");
  cajal::fuzz::refuse_or_read([&] { cajal::load_safetensors(path); });
  cajal::fuzz::refuse_or_read([&] { cajal::load_safetensors_metadata(path); });
  return 0;
}
