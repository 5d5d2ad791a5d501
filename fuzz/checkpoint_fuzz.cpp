// Training checkpoints (last.ckpt): weights, optimizer state, RNG state, counters, config.
#include "cajal/train/checkpoint.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string path = cajal::fuzz::input_file(data, size, "last.ckpt");
  cajal::fuzz::refuse_or_read([&] { cajal::train::load_checkpoint(path); });
  return 0;
}
