// A DCGAN on Fashion-MNIST: the whole adversarial game in one loop.
//   gan [EPOCHS] [TRAIN_IMAGES] [hinge]   (defaults 5, all 60,000, the non-saturating loss)
// Images are scaled to [-1, 1] (the generator ends in tanh). Each step first trains the
// discriminator D to tell a real batch from a generated one (real targets smoothed to 0.9),
// with the generator's output detached so only D learns; then trains the generator G to make
// D call its images real. Both use Adam with beta1 = 0.5, as the DCGAN paper. The samples
// from one fixed noise batch go to gan_epoch_<N>.png after every epoch, so progress is
// visible. Exits with 1 if a loss is not finite (a diverged run).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <cajal/cajal.h>
#include <cajal/data/image.h>
#include <cajal/models/gan.h>

using namespace cajal;

const std::string kData = "/usr/share/datasets/fashion-mnist/";

int main(int argc, char** argv) {
  const int epochs = argc > 1 ? std::atoi(argv[1]) : 5;
  const int64_t train_images = argc > 2 ? std::atoll(argv[2]) : 0;
  const models::GANLoss kind = argc > 3 && std::strcmp(argv[3], "hinge") == 0 ? models::GANLoss::Hinge : models::GANLoss::NonSaturating;
  manual_seed(0);
  data::DatasetPtr train = data::load_idx_pair(kData + "train-images-idx3-ubyte.gz", kData + "train-labels-idx1-ubyte.gz");
  if (train_images > 0) train = data::subset(train, arange(0, train_images, 1, DType::i64).to_vector<int64_t>());

  const models::GANOptions options{.latent = 64, .width = 64};
  models::DCGANGenerator generator(models::ImageInput{}, options);
  models::DCGANDiscriminator discriminator(models::ImageInput{}, options);
  optim::Adam g_optimizer(generator->parameters(), {.lr = 2e-4, .betas = {0.5, 0.999}});
  optim::Adam d_optimizer(discriminator->parameters(), {.lr = 2e-4, .betas = {0.5, 0.999}});
  data::DataLoader loader(train, {.batch_size = 128, .shuffle = true, .drop_last = true});
  Generator noise_gen(1);
  const Tensor fixed_noise = randn({64, options.latent}, {}, &noise_gen);

  for (int epoch = 1; epoch <= epochs; ++epoch) {
    double d_sum = 0, g_sum = 0;
    int64_t batches = 0;
    for (const data::Batch& batch : loader) {
      Tensor real = batch.input * 2.0 - 1.0;
      Tensor fake = generator->sample(real.size(0));

      // Discriminator step: real -> 1 (smoothed), generated -> 0. detach(): G gets no gradient here.
      Tensor d_loss = models::discriminator_loss(discriminator(real), discriminator(fake.detach()), kind, 0.1);
      d_optimizer.zero_grad();
      d_loss.backward();
      d_optimizer.step();

      // Generator step: make D call the same generated images real.
      Tensor g_loss = models::generator_loss(discriminator(fake), kind);
      g_optimizer.zero_grad();
      g_loss.backward();
      g_optimizer.step();

      d_sum += d_loss.item();
      g_sum += g_loss.item();
      ++batches;
    }
    const double d_mean = d_sum / batches, g_mean = g_sum / batches;
    std::printf("epoch %2d  D loss %.3f  G loss %.3f\n", epoch, d_mean, g_mean);
    if (!std::isfinite(d_mean) || !std::isfinite(g_mean)) return 1;
    generator->eval();
    {
      NoGradGuard no_grad;
      Tensor samples = (generator(fixed_noise) + 1.0) / 2.0;  // back to [0, 1]
      data::write_png(data::image_grid(samples, 8), "gan_epoch_" + std::to_string(epoch) + ".png");
    }
    generator->train();
  }
  std::printf("wrote gan_epoch_1.png .. gan_epoch_%d.png\n", epochs);
  return 0;
}
