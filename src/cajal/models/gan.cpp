#include "cajal/models/gan.h"

#include <cmath>

#include "cajal/autograd/grad_mode.h"
#include "cajal/core/error.h"
#include "cajal/nn/init.h"
#include "cajal/nn/activation.h"
#include "cajal/nn/conv.h"
#include "cajal/nn/norm.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/loss.h"
#include "cajal/ops/random.h"
#include "cajal/ops/shape.h"

namespace cajal::models {

namespace {

void check(const ImageInput& input, const GANOptions& options, const char* model) {
  if (input.image_size[0] % 4 != 0 || input.image_size[1] % 4 != 0)
    fail<ValueError>(model, ": height and width must be multiples of 4, got ", input.image_size[0], "x", input.image_size[1]);
  if (options.latent < 1 || options.width < 1) fail<ValueError>(model, ": latent and width must be at least 1");
}

// The label's embedding when the model is conditional (a ValueError when labels are missing).
Tensor embedded(const std::shared_ptr<nn::EmbeddingImpl>& embedding, const Tensor& labels, int64_t batch, const char* model) {
  if (!labels.defined()) fail<ValueError>(model, ": a conditional model needs the labels");
  if (labels.dim() != 1 || labels.size(0) != batch)
    fail<ShapeError>(model, ": needs one label per image: ", batch, " images, labels of shape ", labels.sizes());
  return embedding->forward(labels);
}

}  // namespace

DCGANGeneratorImpl::DCGANGeneratorImpl(const ImageInput& input, const GANOptions& options) : input_(input), options_(options) {
  check(input, options, "generator");
  const int64_t w = options.width, h4 = input.image_size[0] / 4, w4 = input.image_size[1] / 4;
  const int64_t label = options.num_classes > 0 ? options.latent : 0;
  project_ = register_module("project", nn::Linear(options.latent + label, 2 * w * h4 * w4).ptr());
  body_ = register_module("body", nn::Sequential(nn::Unflatten(1, Dims{2 * w, h4, w4}), nn::BatchNorm2d(2 * w), nn::ReLU(),
                                                 nn::ConvTranspose2d(2 * w, w, 4, {.stride = 2, .padding = 1, .bias = false}),
                                                 nn::BatchNorm2d(w), nn::ReLU(),
                                                 nn::ConvTranspose2d(w, input.in_channels, 4, {.stride = 2, .padding = 1}), nn::Tanh())
                                      .ptr());
  if (options.num_classes > 0)
    label_embedding_ = register_module("label_embedding", nn::Embedding(options.num_classes, options.latent).ptr());
}

Tensor DCGANGeneratorImpl::forward(const Tensor& z) { return forward(z, Tensor()); }

Tensor DCGANGeneratorImpl::forward(const Tensor& z, const Tensor& labels) {
  Tensor input = label_embedding_ ? cat({z, embedded(label_embedding_, labels, z.size(0), "generator")}, 1) : z;
  return body_->forward(project_->forward(input));
}

Tensor DCGANGeneratorImpl::sample(int64_t count, const Tensor& labels, ::cajal::Generator* gen) {
  return forward(randn({count, options_.latent}, {}, gen), labels);
}

DCGANDiscriminatorImpl::DCGANDiscriminatorImpl(const ImageInput& input, const GANOptions& options) : options_(options) {
  check(input, options, "discriminator");
  const int64_t w = options.width, features = 2 * w * (input.image_size[0] / 4) * (input.image_size[1] / 4);
  body_ = register_module("body", nn::Sequential(nn::Conv2d(input.in_channels, w, 4, {.stride = 2, .padding = 1}), nn::LeakyReLU(0.2),
                                                 nn::Conv2d(w, 2 * w, 4, {.stride = 2, .padding = 1, .bias = false}),
                                                 nn::BatchNorm2d(2 * w), nn::LeakyReLU(0.2), nn::Flatten())
                                      .ptr());
  head_ = register_module("head", nn::Linear(features, 1).ptr());
  if (options.num_classes > 0) {
    label_embedding_ = register_module("label_embedding", nn::Embedding(options.num_classes, features).ptr());
    // Embedding's N(0, 1) would make the projection's start a sum of `features` unit terms
    // (logits of +-20 for Fashion-MNIST): D would begin saturated on a random direction.
    // Scaled by 1/sqrt(features) the projection starts as large as the head's output.
    NoGradGuard no_grad;
    nn::init::normal_(label_embedding_->weight(), 0.0, 1.0 / std::sqrt(static_cast<double>(features)));
  }
}

Tensor DCGANDiscriminatorImpl::forward(const Tensor& images) { return forward(images, Tensor()); }

Tensor DCGANDiscriminatorImpl::forward(const Tensor& images, const Tensor& labels) {
  Tensor features = body_->forward(images);
  Tensor logits = head_->forward(features).squeeze(1);
  if (!label_embedding_) return logits;
  return logits + (features * embedded(label_embedding_, labels, images.size(0), "discriminator")).sum({1});
}

Tensor discriminator_loss(const Tensor& real_logits, const Tensor& fake_logits, GANLoss loss, double label_smoothing) {
  if (loss == GANLoss::Hinge) return relu(1.0 - real_logits).mean() + relu(1.0 + fake_logits).mean();
  return binary_cross_entropy_with_logits(real_logits, full_like(real_logits, 1.0 - label_smoothing)) +
         binary_cross_entropy_with_logits(fake_logits, zeros_like(fake_logits));
}

Tensor generator_loss(const Tensor& fake_logits, GANLoss loss) {
  if (loss == GANLoss::Hinge) return -fake_logits.mean();
  return binary_cross_entropy_with_logits(fake_logits, ones_like(fake_logits));
}

}  // namespace cajal::models
