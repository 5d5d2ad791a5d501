#pragma once
// A generative run's model (a VAE, or a DCGAN's generator and discriminator) as `cajal train`
// builds it and its model file keeps it, and the fixed classifier that judges its samples.
//
// Model files of generative runs are model files (cli/model_file.h) with cajal.task "vae" or
// "gan" and cajal.model the generative model section; a GAN's file holds both networks, as
// generator.* and discriminator.* tensors.
#include <memory>
#include <string>
#include <vector>

#include "cajal/cli/generative_config.h"
#include "cajal/cli/model_file.h"
#include "cajal/core/generator.h"

namespace cajal::cli {

struct GenerativeModel {
  GenerativeConfig config;
  models::ImageInput input;  // image size and channels; num_classes: the data's classes
  std::vector<std::string> class_names;
  std::shared_ptr<models::VAEImpl> vae;                             // task vae
  std::shared_ptr<models::DCGANGeneratorImpl> generator;            // task gan
  std::shared_ptr<models::DCGANDiscriminatorImpl> discriminator;    // task gan
  nn::ModulePtr module;  // what is trained and saved: the VAE, or the pair

  // Classes a conditional model can be asked for (0 when unconditional).
  int64_t conditional_classes() const { return config.conditional ? input.num_classes : 0; }
  // count images in [0, 1], [count, C, H, W], in eval mode without gradients. labels [count]
  // int64 for a conditional model (ignored otherwise).
  Tensor sample(int64_t count, const Tensor& labels, Generator* gen) const;
  // Samples from `gen`'s noise, for the per-epoch grids: as sample(), the labels of a
  // conditional model 0, 1, ..., classes - 1 repeated (a column per class in a grid that wide).
  Tensor sample_grid(int64_t count, Generator* gen) const;
};

// Labels 0, 1, ..., classes - 1, 0, 1, ... for `count` samples: every class equally often
// (a column per class in a grid `classes` wide).
Tensor cycling_labels(int64_t count, int64_t classes);

// Builds the model for images of `shape` [C, H, W] with `num_classes` classes (for a
// conditional model). A ValueError says what does not fit (image sides not multiples of 4).
GenerativeModel build_generative_model(const GenerativeConfig& config, const Dims& shape, int64_t num_classes,
                                       std::vector<std::string> class_names);

// Writes the model file (atomically) with `metrics` ("name", "value").
void save_generative_model(const GenerativeModel& model, const std::string& model_yaml,
                           const std::vector<std::pair<std::string, std::string>>& metrics, const std::string& path);

// The task a model file (or run folder's model.safetensors) records: "classification",
// "regression", "language_model", "vae", "gan"; "onnx" for an .onnx file.
std::string model_file_task(const std::string& path_or_run);

struct LoadedGenerative {
  GenerativeModel model;
  std::string path;  // the .safetensors file read
  std::vector<std::pair<std::string, std::string>> metrics;
};
// Reads a generative run's model file (or RUN/model.safetensors). A model file of another
// task is a ValueError that says what it is and which command uses it.
LoadedGenerative load_generative_model(const std::string& path_or_run, const std::string& command);

// The fixed classifier that judges samples: a cajal classifier whose last layer maps its
// penultimate features to class scores (a Sequential: a preset or a list of layers).
struct FeatureClassifier {
  LoadedModel model;
  // Penultimate-layer features [N, D] and predicted classes [N] of images in [0, 1]
  // [N, C, H, W] (normalized as the classifier was trained), in batches, without gradients.
  void run(const Tensor& images, Tensor& features, Tensor& predicted) const;
};
// Loads the classifier from a model file or run folder; a ValueError when it cannot give
// features of `shape` images (not a Sequential image classifier, another input shape).
FeatureClassifier load_feature_classifier(const std::string& path, const Dims& shape);

}  // namespace cajal::cli
