// YAML run configs through the whole config checker (yaml-cpp, then cajal's own checks of
// every section), as `cajal train CONFIG` reads them.
#include "cajal/cli/config.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string yaml(cajal::fuzz::as_text(data, size));
  cajal::fuzz::refuse_or_read([&] { cajal::cli::parse_config(yaml, "fuzz.yaml"); });
  cajal::fuzz::refuse_or_read([&] { cajal::cli::parse_model_config(yaml, "fuzz.yaml"); });
  return 0;
}
