#include "cajal/cli/generative_config.h"

#include "cajal/core/error.h"

namespace cajal::cli {

namespace {

void refuse_classifier_model(models::Options& model, const std::string& task) {
  for (const char* key : {"preset", "layers"}) {
    if (!model.contains(key)) continue;
    const std::string needs = task == "gan" ? "a generator/discriminator pair (model: {generator: {latent: 64, width: 64}, "
                                              "discriminator: {width: 64}})"
                                            : "a VAE (model: {latent: 16, architecture: conv})";
    fail<ValueError>(model.owner(), ": task ", task, " needs ", needs, ", not '", key,
                     "' (a classifier or regressor; for one, leave out task)");
  }
}

void read_vae(models::Options& model, GenerativeConfig& cfg) {
  cfg.vae.latent = model.get_int("latent", 16);
  const std::string architecture = model.get_string("architecture", "conv", {"conv", "mlp"});
  cfg.vae.convolutional = architecture == "conv";
  cfg.vae.hidden = model.get_int("hidden", 400);
  cfg.vae.likelihood =
      model.get_string("likelihood", "bernoulli", {"bernoulli", "gaussian"}) == "bernoulli" ? models::Likelihood::Bernoulli
                                                                                             : models::Likelihood::Gaussian;
  cfg.vae.label_dim = model.get_int("label_dim", 16);
  cfg.beta = model.get_float("beta", 1.0);
  cfg.kl_warmup_epochs = model.get_float("kl_warmup_epochs", 1.0);
  if (cfg.vae.latent < 1) model.fail("latent", "must be at least 1");
  if (cfg.vae.hidden < 1) model.fail("hidden", "must be at least 1");
  if (cfg.vae.label_dim < 1) model.fail("label_dim", "must be at least 1");
  if (!(cfg.beta >= 0)) model.fail("beta", "must not be negative");
  if (!(cfg.kl_warmup_epochs >= 0)) model.fail("kl_warmup_epochs", "must not be negative");
}

void read_gan(models::Options& model, GenerativeConfig& cfg) {
  if (!model.contains("generator") || !model.contains("discriminator") || !model.is_map("generator") ||
      !model.is_map("discriminator")) {
    fail<ValueError>(model.owner(), ": task gan needs a generator/discriminator pair: model: {generator: {latent: 64, width: 64}, "
                                    "discriminator: {width: 64}}");
  }
  models::Options generator = model.get_map("generator");
  cfg.latent = generator.get_int("latent", 64);
  cfg.generator_width = generator.get_int("width", 64);
  cfg.generator_lr = generator.get_float("lr", 0.0);
  if (cfg.latent < 1) generator.fail("latent", "must be at least 1");
  if (cfg.generator_width < 1) generator.fail("width", "must be at least 1");
  if (!(cfg.generator_lr >= 0)) generator.fail("lr", "must not be negative");
  generator.check_unused();
  models::Options discriminator = model.get_map("discriminator");
  cfg.discriminator_width = discriminator.get_int("width", 64);
  cfg.discriminator_lr = discriminator.get_float("lr", 0.0);
  if (cfg.discriminator_width < 1) discriminator.fail("width", "must be at least 1");
  if (!(cfg.discriminator_lr >= 0)) discriminator.fail("lr", "must not be negative");
  discriminator.check_unused();
  cfg.loss = model.get_string("loss", "non_saturating", {"non_saturating", "hinge"}) == "hinge" ? models::GANLoss::Hinge
                                                                                                : models::GANLoss::NonSaturating;
  cfg.label_smoothing = model.get_float("label_smoothing", 0.0);
  if (!(cfg.label_smoothing >= 0 && cfg.label_smoothing < 1)) model.fail("label_smoothing", "must be in [0, 1)");
  if (cfg.label_smoothing > 0 && cfg.loss == models::GANLoss::Hinge)
    model.fail("label_smoothing", "is for the non_saturating loss (the hinge loss has no targets to smooth)");
}

}  // namespace

std::string GenerativeConfig::describe() const {
  const std::string kind = conditional ? "conditional " : "";
  if (task == "vae") return kind + (vae.convolutional ? "conv" : "MLP") + " VAE, latent " + std::to_string(vae.latent);
  return kind + "DCGAN, latent " + std::to_string(latent) + ", width " + std::to_string(generator_width) + "/" +
         std::to_string(discriminator_width);
}

GenerativeConfig read_generative_model(models::Options model, const std::string& task) {
  refuse_classifier_model(model, task);
  GenerativeConfig cfg;
  cfg.task = task;
  if (task == "vae") read_vae(model, cfg);
  else read_gan(model, cfg);
  cfg.conditional = model.get_bool("conditional", false);
  model.check_unused();
  return cfg;
}

EvaluationConfig read_evaluation(models::Options evaluation) {
  EvaluationConfig cfg;
  cfg.classifier = evaluation.get_string("classifier", "");
  cfg.samples = evaluation.get_int("samples", cfg.samples);
  cfg.importance_samples = evaluation.get_int("importance_samples", cfg.importance_samples);
  cfg.importance_images = evaluation.get_int("importance_images", cfg.importance_images);
  cfg.collapse_entropy = evaluation.get_float("collapse_entropy", cfg.collapse_entropy);
  cfg.collapse_loss_ratio = evaluation.get_float("collapse_loss_ratio", cfg.collapse_loss_ratio);
  // The Fréchet distance fits a covariance: it needs more samples than one.
  if (cfg.samples < 2) evaluation.fail("samples", "must be at least 2");
  if (cfg.importance_samples < 1) evaluation.fail("importance_samples", "must be at least 1");
  if (cfg.importance_images < 0) evaluation.fail("importance_images", "must not be negative (0: every test image)");
  evaluation.check_unused();
  return cfg;
}

}  // namespace cajal::cli
