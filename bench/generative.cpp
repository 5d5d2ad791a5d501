// Training throughput of the generative models (issue 13): one step of the convolutional VAE
// (latent 16, Bernoulli, Adam) and one of the DCGAN (width 64, latent 64: a discriminator step
// and a generator step, both Adam) at batch 128 on 28x28 images, as bench/generative.py times
// the PyTorch twins of tests/reference/generative_reference.py. RESULT lines in seconds per
// step; --peak prints the FMA peak on the OpenMP threads.
#include <cajal/cajal.h>
#include <cajal/models/gan.h>
#include <cajal/models/vae.h>

#include <cstring>

#include "fma_peak.h"
#include "timing.h"

using namespace cajal;

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--peak") == 0) {
    bench::report_fma_peaks(500);
    return 0;
  }
  manual_seed(0);
  const int64_t batch = 128;
  const Tensor images = rand({batch, 1, 28, 28});

  models::VAE vae(models::ImageInput{}, models::VAEOptions{.latent = 16, .convolutional = true});
  optim::Adam vae_optimizer(vae->parameters(), {.lr = 1e-3});
  bench::report("generative.vae_step", bench::seconds_per_call([&] {
                  Tensor loss = models::vae_loss(models::elbo_terms(*vae, images));
                  vae_optimizer.zero_grad();
                  loss.backward();
                  vae_optimizer.step();
                }));

  const models::GANOptions options{.latent = 64, .width = 64};
  models::DCGANGenerator g(models::ImageInput{}, options);
  models::DCGANDiscriminator d(models::ImageInput{}, options);
  optim::Adam g_optimizer(g->parameters(), {.lr = 2e-4, .betas = {0.5, 0.999}});
  optim::Adam d_optimizer(d->parameters(), {.lr = 2e-4, .betas = {0.5, 0.999}});
  const Tensor real = images * 2.0 - 1.0;
  bench::report("generative.gan_step", bench::seconds_per_call([&] {
                  Tensor fake = g->sample(batch);
                  Tensor d_loss = models::discriminator_loss(d(real), d(fake.detach()), models::GANLoss::NonSaturating, 0.1);
                  d_optimizer.zero_grad();
                  d_loss.backward();
                  d_optimizer.step();
                  Tensor g_loss = models::generator_loss(d(fake), models::GANLoss::NonSaturating);
                  g_optimizer.zero_grad();
                  g_loss.backward();
                  g_optimizer.step();
                }));
  return 0;
}
