// ONNX models, as cajal::onnx::load imports them (parse, onnx::checker, initializers, the
// operator table) and as `cajal predict` then runs them: a model that loads is run once on
// zeros of its declared input shapes (dynamic dims as 1), so the operators meet the fuzzed
// attributes and initializers too. External data may only be read from the harness's folder.
// A graph may rightly ask for any amount of memory (ConstantOfShape [1e9]): the run gets an
// allocation budget, so such a model ends in cajal's Error rather than in the fuzzer's limit.
#include "cajal/cajal.h"
#include "cajal/core/allocation_budget.h"
#include "cajal/onnx/import.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string path = cajal::fuzz::input_file(data, size, "model.onnx");
  cajal::fuzz::refuse_or_read([&] {
    auto model = cajal::onnx::load(path);
    cajal::AllocationBudget budget(256 << 20, "the fuzzed model asks for more than 256 MiB");
    cajal::TensorList inputs;
    for (const cajal::onnx::ValueInfo& input : model->inputs()) {
      cajal::Dims shape;
      for (int64_t d : input.shape) shape.push_back(d < 0 ? 1 : std::min<int64_t>(d, 64));
      inputs.push_back(cajal::zeros(shape, {.dtype = input.dtype}));
    }
    cajal::NoGradGuard no_grad;
    model->forward(inputs);
  });
  return 0;
}
