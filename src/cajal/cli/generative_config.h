#pragma once
// The model and evaluation sections of a generative run (`task: vae` or `task: gan`; see
// examples/fashion_mnist_vae.yaml and examples/fashion_mnist_gan.yaml):
//
//   task: vae
//   model: {latent: 16, architecture: conv, likelihood: bernoulli, beta: 1, kl_warmup_epochs: 1,
//           conditional: false}
//
//   task: gan
//   model:
//     generator: {latent: 64, width: 64, lr: 0.0002}     # lr: default optimizer.lr
//     discriminator: {width: 64, lr: 0.0002}
//     loss: non_saturating                               # | hinge
//     label_smoothing: 0.1                               # real targets 1 - s (non_saturating)
//     conditional: false                                 # true: both read the class label
//
//   evaluation:                        # how `cajal train` and `cajal eval` judge the model
//     classifier: examples/fashion_mnist_cnn.yaml   # GAN: the fixed classifier whose penultimate
//                                      # layer gives the Fréchet distance's features: a model
//                                      # file, a run folder, or a config (trained when its run
//                                      # folder has no model yet); copied into the run folder
//     samples: 10000                   # generated images for the Fréchet distance and entropy
//     importance_samples: 100          # VAE: k of the importance-weighted bound
//     importance_images: 0             # VAE: test images it is computed on (k passes each); 0: all
//     collapse_entropy: 1.5            # GAN: a class entropy below this (nats) is a collapse
//     collapse_loss_ratio: 0.2         # GAN: D loss / G loss below this is a collapse (see below)
//
// Images are modelled in [0, 1] (data.normalize must stay false); a GAN maps them to [-1, 1].
#include <cstdint>
#include <string>

#include "cajal/models/gan.h"
#include "cajal/models/options.h"
#include "cajal/models/vae.h"

namespace cajal::cli {

struct GenerativeConfig {
  std::string task;  // "vae" or "gan"
  bool conditional = false;
  // vae
  models::VAEOptions vae;
  double beta = 1.0;
  double kl_warmup_epochs = 1.0;  // beta rises from 0 over this many epochs (0: no warm-up)
  // gan
  int64_t latent = 64;
  int64_t generator_width = 64, discriminator_width = 64;
  double generator_lr = 0, discriminator_lr = 0;  // 0: the optimizer's lr
  models::GANLoss loss = models::GANLoss::NonSaturating;
  double label_smoothing = 0;

  std::string describe() const;  // "conv VAE, latent 16", "DCGAN, latent 64, width 64/64"
};

struct EvaluationConfig {
  std::string classifier;
  int64_t samples = 10000;
  int64_t importance_samples = 100;
  int64_t importance_images = 0;  // 0: every test image
  double collapse_entropy = 1.5;
  // From three 20-epoch Fashion-MNIST runs (bench/README.md): a healthy DCGAN's ratio stayed at
  // 0.22-0.43, one with 10x the discriminator's lr at 0.13-0.18, a conditional one whose
  // classes each collapsed to near-copies at 0.19-0.28.
  double collapse_loss_ratio = 0.2;
};

// Reads and checks the model section of a `task` ("vae" or "gan") config. A section that
// is not one of these models (a preset, layers, a GAN without its generator/discriminator
// pair) is a ValueError that says what the task needs.
GenerativeConfig read_generative_model(models::Options model, const std::string& task);

EvaluationConfig read_evaluation(models::Options evaluation);

}  // namespace cajal::cli
