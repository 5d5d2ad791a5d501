// cajal's model files (model.safetensors with the model config, input description and class
// names in its metadata), as `cajal info/eval/predict` load them: the model is built from
// the metadata and the weights are loaded into it.
#include "cajal/cli/model_file.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string path = cajal::fuzz::input_file(data, size, "model.safetensors");
  cajal::fuzz::refuse_or_read([&] { cajal::cli::load_model(path); });
  return 0;
}
