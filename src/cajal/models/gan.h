#pragma once
// A DCGAN (Radford et al. 2016) for images whose height and width are multiples of 4: the
// generator projects noise z to a 2w x H/4 x W/4 map and doubles it twice with transposed
// convolutions (batch norm and ReLU between, tanh at the end: images in [-1, 1]); the
// discriminator halves the image twice with strided convolutions (leaky ReLU, batch norm on
// the second) and gives one logit per image. Class-conditional when num_classes > 0: the
// generator reads a label embedding beside z, and the discriminator adds the projection of
// its features on the label's embedding to the logit (Miyato & Koyama 2018), the embedding
// drawn from N(0, 1 / features) so that the projection starts small.
//
// Module names (tests/reference/gan_reference.py is the PyTorch twin):
//   DCGANGenerator:     project (Linear), body (Sequential), label_embedding (conditional)
//   DCGANDiscriminator: body (Sequential), head (Linear), label_embedding (conditional)
#include <cstdint>

#include "cajal/models/presets.h"
#include "cajal/nn/container.h"
#include "cajal/nn/embedding.h"
#include "cajal/nn/linear.h"

namespace cajal::models {

struct GANOptions {
  int64_t latent = 64;
  int64_t width = 64;        // w: channels after the first doubling (generator), the first halving (discriminator)
  int64_t num_classes = 0;   // > 0: conditional on a label in [0, num_classes)
};

class DCGANGeneratorImpl : public nn::Module {
 public:
  DCGANGeneratorImpl(const ImageInput& input, const GANOptions& options = {});
  std::string name() const override { return "DCGANGenerator"; }
  Tensor forward(const Tensor& z) override;                // unconditional
  Tensor forward(const Tensor& z, const Tensor& labels);  // labels [N] int64 when conditional
  // count images from z ~ N(0, I), in [-1, 1].
  Tensor sample(int64_t count, const Tensor& labels = Tensor(), ::cajal::Generator* gen = nullptr);
  const GANOptions& options() const { return options_; }

 private:
  ImageInput input_;
  GANOptions options_;
  std::shared_ptr<nn::LinearImpl> project_;
  std::shared_ptr<nn::SequentialImpl> body_;
  std::shared_ptr<nn::EmbeddingImpl> label_embedding_;
};
CAJAL_MODULE(DCGANGenerator);

class DCGANDiscriminatorImpl : public nn::Module {
 public:
  DCGANDiscriminatorImpl(const ImageInput& input, const GANOptions& options = {});
  std::string name() const override { return "DCGANDiscriminator"; }
  Tensor forward(const Tensor& images) override;                // logits [N]
  Tensor forward(const Tensor& images, const Tensor& labels);

 private:
  GANOptions options_;
  std::shared_ptr<nn::SequentialImpl> body_;
  std::shared_ptr<nn::LinearImpl> head_;
  std::shared_ptr<nn::EmbeddingImpl> label_embedding_;
};
CAJAL_MODULE(DCGANDiscriminator);

enum class GANLoss {
  NonSaturating,  // D: -log D(x) - log(1 - D(G(z))); G: -log D(G(z))   (D = sigmoid of the logit)
  Hinge,          // D: relu(1 - D(x)) + relu(1 + D(G(z))); G: -D(G(z))  (D the logit)
};

// The discriminator's loss over a batch of real and of generated images' logits (batch
// means, summed). label_smoothing s makes the real target 1 - s (non-saturating loss only).
Tensor discriminator_loss(const Tensor& real_logits, const Tensor& fake_logits, GANLoss loss, double label_smoothing = 0);
Tensor generator_loss(const Tensor& fake_logits, GANLoss loss);

}  // namespace cajal::models
