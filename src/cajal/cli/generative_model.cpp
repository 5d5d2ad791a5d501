#include "cajal/cli/generative_model.h"

#include <filesystem>

#include "cajal/cli/config.h"
#include "cajal/cli/data_config.h"
#include "cajal/cli/inputs.h"
#include "cajal/core/error.h"
#include "cajal/autograd/grad_mode.h"
#include "cajal/io/safetensors.h"
#include "cajal/nn/serialize.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/shape.h"

namespace cajal::cli {

namespace {

// A GAN's two networks as one module, so that one state_dict (generator.*, discriminator.*)
// saves, checkpoints and loads them.
class GANPairImpl : public nn::Module {
 public:
  GANPairImpl(std::shared_ptr<models::DCGANGeneratorImpl> generator, std::shared_ptr<models::DCGANDiscriminatorImpl> discriminator) {
    register_module("generator", std::move(generator));
    register_module("discriminator", std::move(discriminator));
  }
  std::string name() const override { return "GAN"; }
};

// Runs `body` in eval mode without gradients, then restores the module's mode.
template <typename Body>
Tensor evaluated(nn::Module& module, Body body) {
  const bool was_training = module.is_training();
  module.eval();
  Tensor out;
  {
    NoGradGuard no_grad;
    out = body();
  }
  module.train(was_training);
  return out;
}

}  // namespace

Tensor GenerativeModel::sample(int64_t count, const Tensor& labels, Generator* gen) const {
  const Tensor conditioning = config.conditional ? labels : Tensor();
  if (vae) {
    return evaluated(*vae, [&] { return clamp(vae->sample(count, conditioning, gen), 0.0, 1.0); });
  }
  return evaluated(*generator, [&] { return (generator->sample(count, conditioning, gen) + 1.0) / 2.0; });
}

Tensor cycling_labels(int64_t count, int64_t classes) {
  std::vector<int64_t> labels;
  for (int64_t i = 0; i < count; ++i) labels.push_back(i % classes);
  return from_vector(labels);
}

Tensor GenerativeModel::sample_grid(int64_t count, Generator* gen) const {
  Tensor labels;
  if (config.conditional) labels = cycling_labels(count, input.num_classes);
  return sample(count, labels, gen);
}

GenerativeModel build_generative_model(const GenerativeConfig& config, const Dims& shape, int64_t num_classes,
                                       std::vector<std::string> class_names) {
  if (shape.size() != 3) {
    fail<ValueError>("task ", config.task, " models images [channels, height, width]; the data's examples have shape ", shape);
  }
  GenerativeModel model;
  model.config = config;
  model.input = {.in_channels = shape[0], .image_size = {shape[1], shape[2]}, .num_classes = num_classes};
  model.class_names = std::move(class_names);
  if (config.conditional && num_classes < 1) {
    fail<ValueError>("model.conditional: the data has no class labels to condition on");
  }
  const int64_t classes = config.conditional ? num_classes : 0;
  if (config.task == "vae") {
    models::VAEOptions options = config.vae;
    options.num_classes = classes;
    model.vae = models::VAE(model.input, options).ptr();
    model.module = model.vae;
  } else {
    model.generator = models::DCGANGenerator(model.input, models::GANOptions{.latent = config.latent, .width = config.generator_width, .num_classes = classes}).ptr();
    model.discriminator =
        models::DCGANDiscriminator(model.input, models::GANOptions{.latent = config.latent, .width = config.discriminator_width, .num_classes = classes}).ptr();
    model.module = std::make_shared<GANPairImpl>(model.generator, model.discriminator);
  }
  return model;
}

void save_generative_model(const GenerativeModel& model, const std::string& model_yaml,
                           const std::vector<std::pair<std::string, std::string>>& metrics, const std::string& path) {
  ModelInfo info{.model_yaml = model_yaml,
                 .input = {.shape = {model.input.in_channels, model.input.image_size[0], model.input.image_size[1]},
                           .num_classes = std::max<int64_t>(model.input.num_classes, 1)},
                 .class_names = model.class_names,
                 .metrics = metrics,
                 .task = model.config.task};
  save_model(*model.module, info, path);
}

std::string model_file_task(const std::string& path_or_run) {
  if (path_or_run.ends_with(".onnx")) return "onnx";
  return read_model_info(model_file_path(path_or_run)).task;
}

LoadedGenerative load_generative_model(const std::string& path_or_run, const std::string& command) {
  LoadedGenerative loaded;
  if (path_or_run.ends_with(".onnx")) {
    fail<ValueError>(path_or_run, ": an ONNX model; `cajal ", command, "` needs a generative run (task: vae or task: gan)");
  }
  loaded.path = model_file_path(path_or_run);
  ModelInfo info = read_model_info(loaded.path);
  if (info.task != "vae" && info.task != "gan") {
    fail<ValueError>(loaded.path, ": a ", info.task, " model, not a generative one; `cajal ", command,
                     "` needs a run of task: vae or task: gan");
  }
  GenerativeConfig config = parse_generative_config(info.model_yaml, info.task, loaded.path + ": metadata cajal.model");
  loaded.model = build_generative_model(config, info.input.shape, info.input.num_classes, info.class_names);
  nn::load(*loaded.model.module, loaded.path);
  loaded.model.module->eval();
  loaded.metrics = info.metrics;
  return loaded;
}

void FeatureClassifier::run(const Tensor& images, Tensor& features, Tensor& predicted) const {
  auto* sequential = dynamic_cast<nn::SequentialImpl*>(model.module.get());
  const auto layers = sequential->named_children();
  TensorList feature_batches, predicted_batches;
  NoGradGuard no_grad;
  const int64_t batch = 500;
  for (int64_t start = 0; start < images.size(0); start += batch) {
    Tensor x = images.narrow(0, start, std::min(batch, images.size(0) - start));
    if (!model.info.mean.empty()) x = normalize_batch(x, model.info.mean, model.info.std);
    for (size_t k = 0; k + 1 < layers.size(); ++k) x = layers[k].second->forward(x);
    feature_batches.push_back(x.to(DType::f64));
    predicted_batches.push_back(layers.back().second->forward(x).argmax(1));
  }
  features = cat(feature_batches, 0);
  predicted = cat(predicted_batches, 0);
}

FeatureClassifier load_feature_classifier(const std::string& path, const Dims& shape) {
  FeatureClassifier classifier{load_model(path)};
  const ModelInfo& info = classifier.model.info;
  const std::string& file = classifier.model.path;
  if (!info.classification || info.input.per_step) fail<ValueError>(file, ": the feature classifier must be an image classifier");
  check_input_shape(info, shape, "the generated images");
  auto* sequential = dynamic_cast<nn::SequentialImpl*>(classifier.model.module.get());
  if (sequential == nullptr || sequential->size() < 2) {
    fail<ValueError>(file, ": the feature classifier must be a sequence of layers (a preset such as cnn, or layers), "
                           "whose last layer gives the class scores");
  }
  return classifier;
}

}  // namespace cajal::cli
