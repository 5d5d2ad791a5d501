"""The PyTorch twin of examples/vae.cpp: the same convolutional VAE
(tests/reference/generative_reference.py), data, recipe and report, for issue 13's target
(test negative ELBO within 1 nat/image of cajal's after 20 epochs).

  vae_twin.py [EPOCHS] [--threads N]

Fashion-MNIST from Debian's dataset-fashion-mnist, pixels / 255 as Bernoulli targets; batch
128, shuffled, last partial batch dropped; Adam lr 1e-3; beta warmed up from 0 to 1 over the
first epoch; after each epoch the test set's negative ELBO (one draw per image), at the end
also the importance-weighted -log p(x) with k = 100 on the first 500 test images.
"""
import gzip
import math
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "reference"))
from timing import configure_threads  # noqa: E402
from generative_reference import VAE  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist/"


def images(name):
    with gzip.open(DATA + name) as f:
        raw = np.frombuffer(f.read(), dtype=np.uint8, offset=16)
    return torch.from_numpy(raw.reshape(-1, 1, 28, 28).astype(np.float32) / 255)


def terms(model, x):
    mean, log_var = model.encode(x, None)
    z = mean + (0.5 * log_var).exp() * torch.randn_like(mean)
    return -model.log_likelihood(model.decode(z, None), x), 0.5 * (mean ** 2 + log_var.exp() - log_var - 1).sum(1)


def test_negative_elbo(model, test):
    with torch.no_grad():
        return sum((r + k).sum().item() for r, k in (terms(model, b) for b in test.split(500))) / len(test)


def iw_nll(model, x, k):
    with torch.no_grad():
        mean, log_var = model.encode(x, None)
        log_w = []
        for _ in range(k):
            e = torch.randn_like(mean)
            z = mean + (0.5 * log_var).exp() * e
            log_prior = (-0.5 * z ** 2 - 0.5 * math.log(2 * math.pi)).sum(1)
            log_q = (-0.5 * e ** 2 - 0.5 * log_var - 0.5 * math.log(2 * math.pi)).sum(1)
            log_w.append(model.log_likelihood(model.decode(z, None), x) + log_prior - log_q)
        return -(torch.logsumexp(torch.stack(log_w), 0) - math.log(k))


def main():
    configure_threads()
    epochs = int(sys.argv[1]) if len(sys.argv) > 1 and not sys.argv[1].startswith("--") else 10
    torch.manual_seed(0)
    train, test = images("train-images-idx3-ubyte.gz"), images("t10k-images-idx3-ubyte.gz")
    model = VAE({"latent": 16, "conv": True, "hidden": 400, "gaussian": False, "classes": 0, "label_dim": 16})
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    batches = len(train) // 128
    print("untrained: test -ELBO %.1f nats/image" % test_negative_elbo(model, test), flush=True)
    step, start = 0, time.time()
    for epoch in range(1, epochs + 1):
        order = torch.randperm(len(train))
        total = 0.0
        for b in range(batches):
            x = train[order[b * 128:(b + 1) * 128]]
            beta = min(1.0, step / batches)
            step += 1
            reconstruction, kl = terms(model, x)
            loss = (reconstruction + beta * kl).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
        print("epoch %2d  train loss %.1f  test -ELBO %.1f nats/image" % (epoch, total / batches, test_negative_elbo(model, test)),
              flush=True)
    elbo = test_negative_elbo(model, test)
    iw = iw_nll(model, test[:500], 100).mean().item()
    print("test: -ELBO %.2f, importance-weighted -log p(x) (k = 100, first 500 images) %.2f nats/image" % (elbo, iw))
    print("training took %.0f s" % (time.time() - start))


if __name__ == "__main__":
    main()
