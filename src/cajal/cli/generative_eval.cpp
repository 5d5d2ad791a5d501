#include "cajal/cli/generative_eval.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cajal/autograd/grad_mode.h"
#include "cajal/cli/commands.h"
#include "cajal/cli/config.h"
#include "cajal/core/error.h"
#include "cajal/io/atomic_file.h"
#include "cajal/metrics/generative.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/reduce.h"
#include "cajal/ops/shape.h"

namespace cajal::cli {

namespace {

constexpr int64_t kBatch = 500;

// `count` samples in batches, with their labels (cycling through the classes when conditional).
Tensor draw_samples(const GenerativeModel& model, int64_t count, Generator& gen, Tensor& labels) {
  const int64_t classes = model.conditional_classes();
  labels = classes > 0 ? cycling_labels(count, classes) : Tensor();
  TensorList batches;
  for (int64_t start = 0; start < count; start += kBatch) {
    const int64_t n = std::min(kBatch, count - start);
    batches.push_back(model.sample(n, classes > 0 ? labels.narrow(0, start, n) : Tensor(), &gen));
  }
  return cat(batches, 0);
}

std::string read_bytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) fail<IOError>(path, ": cannot read the feature classifier");
  std::stringstream bytes;
  bytes << file.rdbuf();
  return bytes.str();
}

}  // namespace

data::Batch whole_dataset(const data::Dataset& dataset) {
  std::vector<data::Example> examples;
  for (int64_t i = 0; i < dataset.size(); ++i) examples.push_back(dataset.get(i));
  return data::collate(examples);
}

double negative_elbo(models::VAEImpl& vae, const data::Batch& images, bool conditional, Generator& gen) {
  NoGradGuard no_grad;
  const bool was_training = vae.is_training();
  vae.eval();
  double total = 0;
  const int64_t n = images.input.size(0);
  for (int64_t start = 0; start < n; start += kBatch) {
    const int64_t count = std::min(kBatch, n - start);
    const Tensor labels = conditional ? images.target.narrow(0, start, count) : Tensor();
    models::ElboTerms terms = models::elbo_terms(vae, images.input.narrow(0, start, count), labels, Tensor(), &gen);
    total += (terms.reconstruction + terms.kl).sum().item();
  }
  vae.train(was_training);
  return total / static_cast<double>(n);
}

NamedValues evaluate_vae(const GenerativeModel& model, const data::Batch& test, const EvaluationConfig& evaluation, uint64_t seed) {
  Generator gen(seed);
  const bool conditional = model.config.conditional;
  const double elbo = negative_elbo(*model.vae, test, conditional, gen);
  NoGradGuard no_grad;
  model.vae->eval();
  const int64_t all = test.input.size(0);
  const int64_t images = evaluation.importance_images > 0 ? std::min(evaluation.importance_images, all) : all;
  // k draws per image: batches of fewer images keep the k-fold activations small.
  const int64_t batch = std::max<int64_t>(1, 10000 / evaluation.importance_samples);
  double iw_total = 0;
  for (int64_t start = 0; start < images; start += batch) {
    const int64_t count = std::min(batch, images - start);
    const Tensor labels = conditional ? test.target.narrow(0, start, count) : Tensor();
    iw_total += models::importance_weighted_nll(*model.vae, test.input.narrow(0, start, count), evaluation.importance_samples,
                                                labels, Tensor(), &gen)
                    .sum()
                    .item();
  }
  return {{"test_neg_elbo", elbo}, {"test_iw_nll", iw_total / static_cast<double>(images)}};
}

NamedValues evaluate_gan(const GenerativeModel& model, const FeatureClassifier& classifier, const data::Batch& test,
                         const EvaluationConfig& evaluation, uint64_t seed) {
  Generator gen(seed);
  Tensor labels;
  const Tensor samples = draw_samples(model, evaluation.samples, gen, labels);
  return judge_samples(classifier, samples, labels, test);
}

NamedValues judge_samples(const FeatureClassifier& classifier, const Tensor& samples, const Tensor& labels, const data::Batch& test) {
  Tensor sample_features, predicted, test_features, test_predicted;
  classifier.run(samples, sample_features, predicted);
  classifier.run(test.input, test_features, test_predicted);
  NamedValues values{{"frechet_distance", metrics::frechet_distance(sample_features, test_features)},
                     {"class_entropy", metrics::class_entropy(predicted, classifier.model.info.input.num_classes)}};
  if (labels.defined()) values.emplace_back("class_agreement", eq(predicted, labels).to(DType::f64).mean().item());
  return values;
}

double sample_class_entropy(const GenerativeModel& model, const FeatureClassifier& classifier, int64_t count, uint64_t seed) {
  Generator gen(seed);
  Tensor labels, features, predicted;
  classifier.run(draw_samples(model, count, gen, labels), features, predicted);
  return metrics::class_entropy(predicted, classifier.model.info.input.num_classes);
}

std::string collapse_reason(double class_entropy, double d_loss, double g_loss, models::GANLoss loss,
                            const EvaluationConfig& evaluation) {
  char text[200];
  if (std::isfinite(class_entropy) && class_entropy < evaluation.collapse_entropy) {
    std::snprintf(text, sizeof text, "class entropy %.3f nats < %.3f: the samples cover few classes (mode collapse)", class_entropy,
                  evaluation.collapse_entropy);
    return text;
  }
  if (loss == models::GANLoss::NonSaturating && g_loss > 0 && d_loss < evaluation.collapse_loss_ratio * g_loss) {
    std::snprintf(text, sizeof text, "D loss / G loss %.3f < %.3f: the discriminator is winning (the generator's gradient fades)",
                  d_loss / g_loss, evaluation.collapse_loss_ratio);
    return text;
  }
  if (!std::isfinite(d_loss) || !std::isfinite(g_loss)) return "a loss is not finite: training diverged";
  return "";
}

std::optional<FeatureClassifier> resolve_feature_classifier(const std::string& run, const EvaluationConfig& evaluation,
                                                            const Dims& shape) {
  const std::string kept = run + "/classifier.safetensors";
  if (!std::filesystem::exists(kept)) {
    if (evaluation.classifier.empty()) return std::nullopt;
    std::string source = evaluation.classifier;
    if (source.ends_with(".yaml") || source.ends_with(".yml")) {
      const RunConfig config = load_config(source);
      source = config.output + "/model.safetensors";
      if (!std::filesystem::exists(source)) {
        std::cout << "evaluation.classifier: " << source << " does not exist yet; training it with `cajal train "
                  << evaluation.classifier << "`" << std::endl;
        if (train_command({evaluation.classifier}) != 0) fail<ValueError>("evaluation.classifier: training ", evaluation.classifier, " failed");
      }
    } else {
      source = model_file_path(source);
    }
    // A copy in the run folder: `cajal eval RUN` judges with the very same weights later.
    const std::string bytes = read_bytes(source);
    write_file_atomically(kept, {std::span<const char>(bytes.data(), bytes.size())}, "cajal train");
  }
  return load_feature_classifier(kept, shape);
}

}  // namespace cajal::cli
