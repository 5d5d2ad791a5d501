#include "cajal/models/vae.h"

#include <cmath>
#include <numbers>

#include "cajal/core/error.h"
#include "cajal/nn/activation.h"
#include "cajal/nn/conv.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/loss.h"
#include "cajal/ops/random.h"
#include "cajal/ops/reduce.h"
#include "cajal/ops/shape.h"

namespace cajal::models {

namespace {

constexpr int64_t kConvChannels[2] = {32, 64};

int64_t pixels(const ImageInput& input) { return input.in_channels * input.image_size[0] * input.image_size[1]; }

}  // namespace

VAEImpl::VAEImpl(const ImageInput& input, const VAEOptions& options) : input_(input), options_(options) {
  if (options.latent < 1) fail<ValueError>("vae: latent must be at least 1, got ", options.latent);
  if (input.in_channels < 1) fail<ValueError>("vae: in_channels must be at least 1, got ", input.in_channels);
  const auto [height, width] = input.image_size;
  const int64_t label = options.num_classes > 0 ? options.label_dim : 0;
  int64_t features = 0, decoder_input = 0;
  nn::Sequential encoder, decoder;
  if (options.convolutional) {
    if (height % 4 != 0 || width % 4 != 0)
      fail<ValueError>("vae: a convolutional VAE needs height and width divisible by 4, got ", height, "x", width);
    const auto [c1, c2] = kConvChannels;
    encoder = nn::Sequential(nn::Conv2d(input.in_channels, c1, 4, {.stride = 2, .padding = 1}), nn::ReLU(),
                             nn::Conv2d(c1, c2, 4, {.stride = 2, .padding = 1}), nn::ReLU(), nn::Flatten());
    features = decoder_input = c2 * (height / 4) * (width / 4);
    decoder = nn::Sequential(nn::ReLU(), nn::Unflatten(1, Dims{c2, height / 4, width / 4}),
                             nn::ConvTranspose2d(c2, c1, 4, {.stride = 2, .padding = 1}), nn::ReLU(),
                             nn::ConvTranspose2d(c1, input.in_channels, 4, {.stride = 2, .padding = 1}));
  } else {
    encoder = nn::Sequential(nn::Flatten(), nn::Linear(pixels(input), options.hidden), nn::ReLU());
    features = decoder_input = options.hidden;
    decoder = nn::Sequential(nn::ReLU(), nn::Linear(options.hidden, pixels(input)),
                             nn::Unflatten(1, Dims{input.in_channels, height, width}));
  }
  encoder_ = register_module("encoder", encoder.ptr());
  to_stats_ = register_module("to_stats", nn::Linear(features + label, 2 * options.latent).ptr());
  from_latent_ = register_module("from_latent", nn::Linear(options.latent + label, decoder_input).ptr());
  decoder_ = register_module("decoder", decoder.ptr());
  if (options.num_classes > 0) label_embedding_ = register_module("label_embedding", nn::Embedding(options.num_classes, label).ptr());
  if (options.likelihood == Likelihood::Gaussian) register_parameter("log_sigma", log_sigma_, zeros({1}));
}

Tensor VAEImpl::with_label(const Tensor& features, const Tensor& labels, const char* what) {
  if (!label_embedding_) return features;
  if (!labels.defined()) fail<ValueError>("vae: ", what, " of a conditional VAE needs the labels");
  if (labels.dim() != 1 || labels.size(0) != features.size(0))
    fail<ShapeError>("vae: ", what, " needs one label per image: ", features.size(0), " images, labels of shape ", labels.sizes());
  return cat({features, label_embedding_->forward(labels)}, 1);
}

Posterior VAEImpl::encode(const Tensor& x, const Tensor& labels) {
  Tensor stats = to_stats_->forward(with_label(encoder_->forward(x), labels, "encode"));
  return {stats.narrow(1, 0, options_.latent), stats.narrow(1, options_.latent, options_.latent)};
}

Tensor VAEImpl::decode(const Tensor& z, const Tensor& labels) {
  return decoder_->forward(from_latent_->forward(with_label(z, labels, "decode")));
}

// Pixel probabilities (Bernoulli) or means (Gaussian): what an image of the model looks like.
Tensor VAEImpl::reconstruct(const Tensor& x, const Tensor& labels) {
  Tensor decoded = decode(encode(x, labels).mean, labels);
  return options_.likelihood == Likelihood::Bernoulli ? sigmoid(decoded) : decoded;
}

Tensor VAEImpl::forward(const Tensor& x) { return reconstruct(x); }

Tensor VAEImpl::log_likelihood(const Tensor& decoded, const Tensor& x) {
  Tensor per_pixel;
  if (options_.likelihood == Likelihood::Bernoulli) {
    per_pixel = -binary_cross_entropy_with_logits(decoded, x, {.reduction = Reduction::None});
  } else {  // log N(x; mean, sigma^2)
    const double half_log_two_pi = 0.5 * std::log(2 * std::numbers::pi);
    per_pixel = -0.5 * ((x - decoded) * exp(-log_sigma_)).square() - log_sigma_ - half_log_two_pi;
  }
  return per_pixel.flatten(1).sum({1});
}

Tensor VAEImpl::sample(int64_t count, const Tensor& labels, Generator* gen) {
  Tensor decoded = decode(randn({count, options_.latent}, {}, gen), labels);
  return options_.likelihood == Likelihood::Bernoulli ? sigmoid(decoded) : decoded;
}

ElboTerms elbo_terms(VAEImpl& vae, const Tensor& x, const Tensor& labels, const Tensor& eps, Generator* gen) {
  Posterior q = vae.encode(x, labels);
  Tensor noise = eps.defined() ? eps : randn(q.mean.sizes(), {}, gen);
  Tensor z = q.mean + exp(0.5 * q.log_var) * noise;
  Tensor kl = 0.5 * (q.mean.square() + exp(q.log_var) - q.log_var - 1.0).sum({1});
  return {-vae.log_likelihood(vae.decode(z, labels), x), kl};
}

Tensor vae_loss(const ElboTerms& terms, double beta) { return (terms.reconstruction + beta * terms.kl).mean(); }

Tensor importance_weighted_nll(VAEImpl& vae, const Tensor& x, int64_t k, const Tensor& labels, const Tensor& eps, Generator* gen) {
  if (k < 1) fail<ValueError>("importance_weighted_nll: k must be at least 1, got ", k);
  Posterior q = vae.encode(x, labels);
  const double half_log_two_pi = 0.5 * std::log(2 * std::numbers::pi);
  TensorList log_weights;  // log p(x | z) + log p(z) - log q(z | x), one [N] per draw
  for (int64_t i = 0; i < k; ++i) {
    Tensor noise = eps.defined() ? eps.select(0, i) : randn(q.mean.sizes(), {}, gen);
    Tensor z = q.mean + exp(0.5 * q.log_var) * noise;
    Tensor log_prior = (-0.5 * z.square() - half_log_two_pi).sum({1});
    Tensor log_posterior = (-0.5 * noise.square() - 0.5 * q.log_var - half_log_two_pi).sum({1});
    log_weights.push_back(vae.log_likelihood(vae.decode(z, labels), x) + log_prior - log_posterior);
  }
  return -(logsumexp(stack(log_weights, 0), {0}) - std::log(static_cast<double>(k)));
}

}  // namespace cajal::models
