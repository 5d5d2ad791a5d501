// cajal-infer: the inference-only program (CMake option CAJAL_INFERENCE_ONLY).
//
//   cajal-infer MODEL INPUT
//
// MODEL: a model file of `cajal train` (model.safetensors), `cajal prune` or `cajal quantize`
// (model_int8.safetensors), or a run folder. INPUT: an image (PNG, JPEG or BMP; converted to
// the model's channels and resized to its size) or a .npy array of one example or a batch.
// Prints one line per example: the class and its probability (a classifier), or the
// predicted values (regression). Errors are one line on stderr, exit code 1 (2: usage).
#include <cstdio>
#include <iostream>
#include <string>

#include "cajal/autograd/grad_mode.h"
#include "cajal/cli/model_file.h"
#include "cajal/data/image.h"
#include "cajal/io/npy.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/shape.h"

namespace {

using namespace cajal;

bool ends_with_any(const std::string& path, std::initializer_list<const char*> endings) {
  for (const char* e : endings)
    if (path.size() >= std::string(e).size() && path.compare(path.size() - std::string(e).size(), std::string::npos, e) == 0) return true;
  return false;
}

// The input as a batch [N, ...] of the model's example shape, normalized as in training.
Tensor read_input(const cli::ModelInfo& info, const std::string& path) {
  const Dims& shape = info.input.shape;
  Tensor x;
  if (ends_with_any(path, {".png", ".jpg", ".jpeg", ".bmp", ".PNG", ".JPG", ".JPEG", ".BMP"})) {
    if (shape.size() != 3) fail<ShapeError>(path, ": the model takes examples of shape ", shape, ", not images");
    x = data::read_image(path, shape[0]);
    if (x.size(1) != shape[1] || x.size(2) != shape[2]) x = data::resize_image(x, shape[1], shape[2]);
  } else if (ends_with_any(path, {".npy"})) {
    x = load_npy(path).to(DType::f32);
  } else {
    fail<ValueError>(path, ": expected an image (.png, .jpg, .bmp) or a .npy array");
  }
  if (Dims(x.sizes()) == shape) x = x.unsqueeze(0);
  if (x.dim() != static_cast<int64_t>(shape.size()) + 1 || Dims(x.sizes().begin() + 1, x.sizes().end()) != shape)
    fail<ShapeError>(path, ": the model takes examples of shape ", shape, " (or a batch of them), got ", x.sizes());
  if (!info.mean.empty()) {
    // One value per channel (images) or per feature, broadcast over the rest.
    Dims stat_shape(x.dim(), 1);
    stat_shape[1] = static_cast<int64_t>(info.mean.size());
    if (info.mean.size() != 1 && static_cast<int64_t>(info.mean.size()) != x.size(1))
      fail<ValueError>(path, ": the model's normalization has ", info.mean.size(), " values for ", x.size(1), " channels");
    x = (x - from_vector(info.mean, stat_shape).to(DType::f32)) / from_vector(info.std, stat_shape).to(DType::f32);
  }
  return x;
}

int run(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: cajal-infer MODEL INPUT\n  MODEL  a cajal model file or run folder\n"
                         "  INPUT  an image (.png, .jpg, .bmp) or a .npy array of examples\n");
    return 2;
  }
  cli::LoadedModel model = cli::load_model(argv[1]);
  const Tensor x = read_input(model.info, argv[2]);
  NoGradGuard no_grad;
  const Tensor out = model.module->forward(x);
  if (model.info.classification && !model.info.input.per_step) {
    const Tensor probabilities = cli::class_probabilities(model.info, out);
    const auto best = probabilities.argmax(1).to_vector<int64_t>();
    const auto p = probabilities.to_vector<float>();
    for (size_t i = 0; i < best.size(); ++i)
      std::printf("%s\t%.6g\n", cli::class_name(model.info, best[i]).c_str(), p[i * probabilities.size(1) + best[i]]);
  } else {
    const auto values = out.reshape({out.size(0), -1}).to_vector<float>();
    const int64_t per = out.numel() / std::max<int64_t>(1, out.size(0));
    for (size_t i = 0; i < values.size(); ++i) std::printf("%.6g%c", values[i], (static_cast<int64_t>(i) + 1) % per ? '\t' : '\n');
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cajal-infer: error: %s\n", e.what());
    return 1;
  }
}
