// A variational autoencoder on Fashion-MNIST: the whole algorithm in one loop.
//   vae [EPOCHS] [TRAIN_IMAGES]        (defaults 10 and all 60,000; a subset also tests on 1,000)
// Each step encodes a batch to a Gaussian posterior q(z | x), draws z by the
// reparameterization trick, decodes Bernoulli pixel probabilities, and minimizes the
// negative ELBO: -log p(x | z) + beta * KL(q(z | x) || N(0, I)), with beta warmed up from 0
// over the first epoch. Then it reports the test set's negative ELBO and the importance-weighted
// bound on -log p(x) (k = 100, a tighter estimate), in nats per image, and writes
// vae_samples.png (images from the prior) and vae_reconstructions.png (inputs above, their
// reconstructions below). Exits with 1 if the test ELBO is no better than the untrained model's.
#include <cstdio>
#include <cstdlib>

#include <cajal/cajal.h>
#include <cajal/data/image.h>
#include <cajal/models/vae.h>

using namespace cajal;

const std::string kData = "/usr/share/datasets/fashion-mnist/";

// The mean negative ELBO over a dataset, in nats per image (beta 1: the true bound).
double test_negative_elbo(models::VAEImpl& vae, const data::DatasetPtr& test) {
  NoGradGuard no_grad;
  double total = 0;
  int64_t count = 0;
  for (const data::Batch& batch : data::DataLoader(test, {.batch_size = 500})) {
    models::ElboTerms terms = models::elbo_terms(vae, batch.input);
    total += (terms.reconstruction + terms.kl).sum().item();
    count += batch.input.size(0);
  }
  return total / static_cast<double>(count);
}

int main(int argc, char** argv) {
  const int epochs = argc > 1 ? std::atoi(argv[1]) : 10;
  const int64_t train_images = argc > 2 ? std::atoll(argv[2]) : 0;
  manual_seed(0);
  data::DatasetPtr train = data::load_idx_pair(kData + "train-images-idx3-ubyte.gz", kData + "train-labels-idx1-ubyte.gz");
  data::DatasetPtr test = data::load_idx_pair(kData + "t10k-images-idx3-ubyte.gz", kData + "t10k-labels-idx1-ubyte.gz");
  if (train_images > 0) {  // a quick run: the first images of each set
    train = data::subset(train, arange(0, train_images, 1, DType::i64).to_vector<int64_t>());
    test = data::subset(test, arange(0, 1000, 1, DType::i64).to_vector<int64_t>());
  }

  models::VAE vae(models::ImageInput{}, models::VAEOptions{.latent = 16, .convolutional = true});
  optim::Adam optimizer(vae->parameters(), {.lr = 1e-3});
  data::DataLoader loader(train, {.batch_size = 128, .shuffle = true, .drop_last = true});
  const double untrained = test_negative_elbo(*vae, test);
  std::printf("untrained: test -ELBO %.1f nats/image\n", untrained);

  const int64_t warmup_steps = loader.num_batches();  // beta goes 0 -> 1 over the first epoch
  int64_t step = 0;
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    double sum = 0;
    int64_t batches = 0;
    for (const data::Batch& batch : loader) {
      const double beta = std::min(1.0, static_cast<double>(step++) / static_cast<double>(warmup_steps));
      models::ElboTerms terms = models::elbo_terms(*vae, batch.input);  // x in [0, 1]: Bernoulli targets
      Tensor loss = models::vae_loss(terms, beta);
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
      sum += loss.item();
      ++batches;
    }
    std::printf("epoch %2d  train loss %.1f  test -ELBO %.1f nats/image\n", epoch, sum / batches, test_negative_elbo(*vae, test));
  }

  vae->eval();
  NoGradGuard no_grad;
  const double elbo = test_negative_elbo(*vae, test);
  std::vector<data::Example> examples;
  for (int64_t i = 0; i < 500; ++i) examples.push_back(test->get(i));
  Tensor images = data::collate(examples).input;
  const double iw = models::importance_weighted_nll(*vae, images, 100).mean().item();
  std::printf("test: -ELBO %.2f, importance-weighted -log p(x) (k = 100, first 500 images) %.2f nats/image\n", elbo, iw);

  Generator gen(1);
  data::write_png(data::image_grid(vae->sample(64, Tensor(), &gen), 8), "vae_samples.png");
  Tensor inputs = images.narrow(0, 0, 8);
  data::write_png(data::image_grid(cat({inputs, vae->reconstruct(inputs)}, 0), 8), "vae_reconstructions.png");
  std::printf("wrote vae_samples.png and vae_reconstructions.png\n");
  return elbo < untrained ? 0 : 1;
}
