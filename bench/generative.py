"""PyTorch's side of bench/generative.cpp: one training step of the twins of cajal's VAE and
DCGAN (tests/reference/generative_reference.py) at batch 128, timed as bench/timing.py times.

  generative.py [--threads N]
"""
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "reference"))
from timing import configure_threads, report, seconds_per_call  # noqa: E402
from generative_reference import VAE, Discriminator, Generator  # noqa: E402


def main():
    configure_threads()
    torch.manual_seed(0)
    batch = 128
    images = torch.rand(batch, 1, 28, 28)

    vae = VAE({"latent": 16, "conv": True, "hidden": 400, "gaussian": False, "classes": 0, "label_dim": 16})
    vae_optimizer = torch.optim.Adam(vae.parameters(), lr=1e-3)

    def vae_step():
        mean, log_var = vae.encode(images, None)
        z = mean + (0.5 * log_var).exp() * torch.randn_like(mean)
        reconstruction = -vae.log_likelihood(vae.decode(z, None), images)
        kl = 0.5 * (mean ** 2 + log_var.exp() - log_var - 1).sum(1)
        loss = (reconstruction + kl).mean()
        vae_optimizer.zero_grad()
        loss.backward()
        vae_optimizer.step()

    report("generative.vae_step", seconds_per_call(vae_step))

    config = {"latent": 64, "width": 64, "classes": 0}
    g, d = Generator(config), Discriminator(config)
    g_optimizer = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    d_optimizer = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    real = images * 2 - 1
    bce = F.binary_cross_entropy_with_logits

    def gan_step():
        fake = g(torch.randn(batch, 64), None)
        real_logits, fake_logits = d(real, None), d(fake.detach(), None)
        d_loss = bce(real_logits, torch.full_like(real_logits, 0.9)) + bce(fake_logits, torch.zeros_like(fake_logits))
        d_optimizer.zero_grad()
        d_loss.backward()
        d_optimizer.step()
        fake_logits = d(fake, None)
        g_loss = bce(fake_logits, torch.ones_like(fake_logits))
        g_optimizer.zero_grad()
        g_loss.backward()
        g_optimizer.step()

    report("generative.gan_step", seconds_per_call(gan_step))


if __name__ == "__main__":
    main()
