#pragma once
// A variational autoencoder (Kingma & Welling 2014) for images: an encoder gives the mean and
// log-variance of a diagonal Gaussian posterior q(z | x), the reparameterization trick draws
// z = mean + exp(log_var / 2) * eps, and a decoder gives the parameters of p(x | z): Bernoulli
// logits per pixel (pixels in [0, 1]) or Gaussian means with one learned log standard
// deviation. The prior p(z) is N(0, I). Convolutional (two stride-2 convolutions each way, so
// height and width must be multiples of 4) or MLP; class-conditional when num_classes > 0
// (a label embedding joins the encoder's features and the latent code).
//
// Module names, in registration order (tests/reference/vae_reference.py is the PyTorch twin):
//   encoder (Sequential), to_stats (Linear: features [+ label] -> 2 * latent),
//   from_latent (Linear: latent [+ label] -> decoder input), decoder (Sequential),
//   label_embedding (conditional only), log_sigma (Gaussian only).
#include <cstdint>

#include "cajal/models/presets.h"
#include "cajal/nn/container.h"
#include "cajal/nn/embedding.h"
#include "cajal/nn/linear.h"

namespace cajal::models {

enum class Likelihood { Bernoulli, Gaussian };

struct VAEOptions {
  int64_t latent = 16;
  bool convolutional = true;
  int64_t hidden = 400;          // the MLP's width; the convolutions have 32 and 64 channels
  Likelihood likelihood = Likelihood::Bernoulli;
  int64_t num_classes = 0;       // > 0: conditional on a label in [0, num_classes)
  int64_t label_dim = 16;        // the label embedding's width
};

struct Posterior {
  Tensor mean, log_var;  // [N, latent] each
};

class VAEImpl : public nn::Module {
 public:
  VAEImpl(const ImageInput& input, const VAEOptions& options = {});
  std::string name() const override { return "VAE"; }

  // labels: [N] int64 class indices, required when conditional, ignored otherwise.
  Posterior encode(const Tensor& x, const Tensor& labels = Tensor());
  // The decoder's output for z [N, latent]: Bernoulli logits or Gaussian means, [N, C, H, W].
  Tensor decode(const Tensor& z, const Tensor& labels = Tensor());
  // The reconstruction of x through the posterior mean (pixel probabilities or means).
  Tensor forward(const Tensor& x) override;
  Tensor reconstruct(const Tensor& x, const Tensor& labels = Tensor());
  // log p(x | decoded) per image, summed over pixels, in nats: [N].
  Tensor log_likelihood(const Tensor& decoded, const Tensor& x);
  // Images from z drawn from the prior: pixel probabilities or means, [count, C, H, W].
  Tensor sample(int64_t count, const Tensor& labels = Tensor(), Generator* gen = nullptr);

  const VAEOptions& options() const { return options_; }

 private:
  Tensor with_label(const Tensor& features, const Tensor& labels, const char* what);

  ImageInput input_;
  VAEOptions options_;
  std::shared_ptr<nn::SequentialImpl> encoder_, decoder_;
  std::shared_ptr<nn::LinearImpl> to_stats_, from_latent_;
  std::shared_ptr<nn::EmbeddingImpl> label_embedding_;  // conditional only
  Tensor log_sigma_;  // Gaussian likelihood: one learned log standard deviation
};
CAJAL_MODULE(VAE);

// The two terms of the negative evidence lower bound per image, in nats: [N] each. eps
// [N, latent] is the reparameterization noise (pass it to reproduce a draw; undefined draws).
struct ElboTerms {
  Tensor reconstruction;  // -log p(x | z) at z = mean + sigma * eps
  Tensor kl;              // KL(q(z | x) || N(0, I)), in closed form
};
ElboTerms elbo_terms(VAEImpl& vae, const Tensor& x, const Tensor& labels = Tensor(), const Tensor& eps = Tensor(),
                     Generator* gen = nullptr);

// The training loss: the batch mean of reconstruction + beta * kl (beta-VAE's beta; a KL
// warm-up raises beta from 0 to its value over the first steps).
Tensor vae_loss(const ElboTerms& terms, double beta = 1.0);

// The importance-weighted estimate of -log p(x) per image (Burda et al. 2016) from k draws
// of q: -log (1/k sum_i p(x, z_i) / q(z_i | x)), in nats, [N]. An upper bound on -log p(x)
// that tightens as k grows, below the negative ELBO in expectation for k > 1 (at k = 1 it is
// the one-draw negative ELBO with its KL estimated from the draw). eps [k, N, latent] fixes
// the draws.
Tensor importance_weighted_nll(VAEImpl& vae, const Tensor& x, int64_t k, const Tensor& labels = Tensor(), const Tensor& eps = Tensor(),
                               Generator* gen = nullptr);

}  // namespace cajal::models
