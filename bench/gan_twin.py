"""The PyTorch twin of `cajal train examples/fashion_mnist_gan.yaml` (and _cgan.yaml with
--conditional): the same DCGAN (tests/reference/generative_reference.py), data and recipe,
for issue 13's targets. It writes the 10,000 samples cajal judges its own by, so that one
classifier scores both:

  gan_twin.py OUT_FOLDER [EPOCHS] [--conditional] [--threads N]
  cajal eval runs/fashion_mnist_gan --samples OUT_FOLDER/samples.npy [--sample-labels OUT_FOLDER/labels.npy]

Recipe: Fashion-MNIST pixels / 255 scaled to [-1, 1]; batch 128, shuffled, last partial batch
dropped; per batch one discriminator step (non-saturating loss, real targets 0.9, generated
images detached) and one generator step; Adam lr 2e-4, betas (0.5, 0.999) for both; latent
64, width 64. Conditional: both networks read the real batch's labels. Samples are drawn in
eval mode (batch norm's running statistics), labels i % 10 when conditional.
"""
import gzip
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "reference"))
from timing import configure_threads  # noqa: E402
from generative_reference import Discriminator, Generator  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist/"


def read(name, offset):
    with gzip.open(DATA + name) as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def main():
    configure_threads()
    positional = [a for i, a in enumerate(sys.argv[1:], 1) if not a.startswith("--") and sys.argv[i - 1] != "--threads"]
    out = positional[0]
    epochs = int(positional[1]) if len(positional) > 1 else 20
    conditional = "--conditional" in sys.argv
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    images = torch.from_numpy(read("train-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28).astype(np.float32) / 255)
    labels = torch.from_numpy(read("train-labels-idx1-ubyte.gz", 8).astype(np.int64))
    c = {"latent": 64, "width": 64, "classes": 10 if conditional else 0}
    g, d = Generator(c), Discriminator(c)
    g_opt = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    d_opt = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    batches = len(images) // 128
    start = time.time()
    for epoch in range(1, epochs + 1):
        order = torch.randperm(len(images))
        d_sum = g_sum = 0.0
        for b in range(batches):
            index = order[b * 128:(b + 1) * 128]
            real = images[index] * 2 - 1
            y = labels[index] if conditional else None
            fake = g(torch.randn(128, 64), y)
            real_logits, fake_logits = d(real, y), d(fake.detach(), y)
            d_loss = F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, 0.9)) + \
                F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
            d_opt.zero_grad()
            d_loss.backward()
            d_opt.step()
            out_logits = d(fake, y)
            g_loss = F.binary_cross_entropy_with_logits(out_logits, torch.ones_like(out_logits))
            g_opt.zero_grad()
            g_loss.backward()
            g_opt.step()
            d_sum += d_loss.item()
            g_sum += g_loss.item()
        print("epoch %2d  d_loss %.4f  g_loss %.4f  %.0f s" % (epoch, d_sum / batches, g_sum / batches, time.time() - start), flush=True)
    g.eval()
    with torch.no_grad():
        y = torch.arange(10000) % 10 if conditional else None
        samples = torch.cat([(g(torch.randn(500, 64), None if y is None else y[i:i + 500]) + 1) / 2 for i in range(0, 10000, 500)])
    np.save(os.path.join(out, "samples.npy"), samples.numpy().astype(np.float32))
    if conditional:
        np.save(os.path.join(out, "labels.npy"), y.numpy())
    print("training took %.0f s; wrote %s/samples.npy" % (time.time() - start, out))


if __name__ == "__main__":
    main()
