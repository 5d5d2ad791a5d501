#pragma once
// How generative runs are judged, at the end of `cajal train` and by `cajal eval RUN`:
//   VAE: test_neg_elbo (nats per image, over the test split) and test_iw_nll, the
//        importance-weighted estimate of -log p(x) with k draws (on every test image, or the
//        first evaluation.importance_images; below the negative ELBO).
//   GAN: frechet_distance between evaluation.samples generated images and the test images in
//        the feature space of the fixed classifier (its penultimate layer), class_entropy of
//        the classifier's predictions over the samples (log 10 = 2.303 nats: every class
//        equally often), and for a conditional model class_agreement, the fraction of samples
//        the classifier assigns to the class they were drawn for.
// Every draw comes from a Generator seeded with `seed`, so the numbers repeat.
#include <optional>
#include <string>

#include "cajal/cli/generative_model.h"
#include "cajal/data/dataset.h"
#include "cajal/io/csv_log.h"

namespace cajal::cli {

// Every example of a dataset as one batch: images [N, C, H, W] and labels [N].
data::Batch whole_dataset(const data::Dataset& dataset);

// The VAE's mean negative ELBO per image over `images` (beta 1), in batches.
double negative_elbo(models::VAEImpl& vae, const data::Batch& images, bool conditional, Generator& gen);

NamedValues evaluate_vae(const GenerativeModel& model, const data::Batch& test, const EvaluationConfig& evaluation, uint64_t seed);
NamedValues evaluate_gan(const GenerativeModel& model, const FeatureClassifier& classifier, const data::Batch& test,
                         const EvaluationConfig& evaluation, uint64_t seed);

// The GAN metrics of any images in [0, 1] [N, C, H, W] (another framework's samples, say):
// class_agreement only when `labels` [N] (the requested classes) is defined.
NamedValues judge_samples(const FeatureClassifier& classifier, const Tensor& samples, const Tensor& labels, const data::Batch& test);

// Class entropy of `count` samples (the per-epoch collapse check).
double sample_class_entropy(const GenerativeModel& model, const FeatureClassifier& classifier, int64_t count, uint64_t seed);

// Why a GAN's epoch looks like a collapse ("" when it does not): the class entropy below
// evaluation.collapse_entropy, or (non-saturating loss) the discriminator's loss below
// collapse_loss_ratio times the generator's: D is winning and G's gradient fades.
std::string collapse_reason(double class_entropy, double d_loss, double g_loss, models::GANLoss loss,
                            const EvaluationConfig& evaluation);

// The classifier a run is judged by: RUN/classifier.safetensors when the run has one, else
// evaluation.classifier resolved: a model file or run folder, or a config whose run folder's
// model.safetensors is used (trained first by `cajal train` when missing). nullopt when
// there is none.
std::optional<FeatureClassifier> resolve_feature_classifier(const std::string& run, const EvaluationConfig& evaluation,
                                                            const Dims& shape);

}  // namespace cajal::cli
