"""PyTorch twins of cajal's VAE and DCGAN (src/cajal/models/vae.h, gan.h) for
tests/models/generative_test.cpp.

  generative_reference.py ROOT vae:CASE... gan:CASE...

ROOT holds x.npy ([4, 1, 28, 28] in [0, 1)) and labels.npy; each ROOT/CASE folder holds
config.json and cajal's weights (params/<state_dict name>.npy, or g/params and d/params). For a
VAE case, with the noise eps.npy and eps_k.npy, this writes the ELBO's terms per image
(reconstruction.npy, kl.npy), the loss mean(reconstruction + 0.5 kl) (loss.npy), its
gradients (grad/<name>.npy) and the importance-weighted -log p(x) over the k draws (iw_nll.npy).
For a GAN case, with z.npy, it writes the generated images (fake.npy), the discriminator's
logits on 2x - 1 (real_logits.npy), both losses of both networks (d_nonsaturating.npy with
label smoothing 0.1, d_hinge.npy, g_nonsaturating.npy, g_hinge.npy) and the gradients of
d_nonsaturating (grad_g/, grad_d/). Both twins run in training mode (batch statistics).
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def load_params(module, folder):
    state = {name: torch.from_numpy(np.load(os.path.join(folder, name + ".npy"))) for name in module.state_dict()}
    module.load_state_dict(state)


class VAE(nn.Module):
    def __init__(self, c):
        super().__init__()
        latent, label = c["latent"], (c["label_dim"] if c["classes"] else 0)
        if c["conv"]:
            self.encoder = nn.Sequential(nn.Conv2d(1, 32, 4, 2, 1), nn.ReLU(), nn.Conv2d(32, 64, 4, 2, 1), nn.ReLU(), nn.Flatten())
            features = 64 * 7 * 7
            self.decoder = nn.Sequential(nn.ReLU(), nn.Unflatten(1, (64, 7, 7)), nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.ReLU(),
                                         nn.ConvTranspose2d(32, 1, 4, 2, 1))
        else:
            self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(784, c["hidden"]), nn.ReLU())
            features = c["hidden"]
            self.decoder = nn.Sequential(nn.ReLU(), nn.Linear(c["hidden"], 784), nn.Unflatten(1, (1, 28, 28)))
        self.to_stats = nn.Linear(features + label, 2 * latent)
        self.from_latent = nn.Linear(latent + label, features)
        if c["classes"]:
            self.label_embedding = nn.Embedding(c["classes"], label)
        self.gaussian = c["gaussian"]
        if self.gaussian:
            self.log_sigma = nn.Parameter(torch.zeros(1))
        self.conditional = bool(c["classes"])
        self.latent = latent

    def with_label(self, h, y):
        return torch.cat([h, self.label_embedding(y)], 1) if self.conditional else h

    def encode(self, x, y):
        stats = self.to_stats(self.with_label(self.encoder(x), y))
        return stats[:, :self.latent], stats[:, self.latent:]

    def log_likelihood(self, decoded, x):
        if self.gaussian:
            per_pixel = -0.5 * ((x - decoded) / self.log_sigma.exp()) ** 2 - self.log_sigma - 0.5 * math.log(2 * math.pi)
        else:
            per_pixel = -F.binary_cross_entropy_with_logits(decoded, x, reduction="none")
        return per_pixel.flatten(1).sum(1)

    def decode(self, z, y):
        return self.decoder(self.from_latent(self.with_label(z, y)))


def vae_case(root, folder, x, labels):
    c = json.load(open(os.path.join(folder, "config.json")))
    model = VAE(c)
    load_params(model, os.path.join(folder, "params"))
    y = labels if c["classes"] else None
    eps = torch.from_numpy(np.load(os.path.join(folder, "eps.npy")))
    mean, log_var = model.encode(x, y)
    z = mean + (0.5 * log_var).exp() * eps
    reconstruction = -model.log_likelihood(model.decode(z, y), x)
    kl = 0.5 * (mean ** 2 + log_var.exp() - log_var - 1).sum(1)
    loss = (reconstruction + 0.5 * kl).mean()
    loss.backward()
    out = {"reconstruction": reconstruction, "kl": kl, "loss": loss}
    os.makedirs(os.path.join(folder, "grad"), exist_ok=True)
    for name, p in model.named_parameters():
        np.save(os.path.join(folder, "grad", name + ".npy"), p.grad.numpy())
    with torch.no_grad():
        eps_k = torch.from_numpy(np.load(os.path.join(folder, "eps_k.npy")))
        log_w = []
        for e in eps_k:
            z = mean + (0.5 * log_var).exp() * e
            log_prior = (-0.5 * z ** 2 - 0.5 * math.log(2 * math.pi)).sum(1)
            log_q = (-0.5 * e ** 2 - 0.5 * log_var - 0.5 * math.log(2 * math.pi)).sum(1)
            log_w.append(model.log_likelihood(model.decode(z, y), x) + log_prior - log_q)
        out["iw_nll"] = -(torch.logsumexp(torch.stack(log_w), 0) - math.log(len(eps_k)))
    for name, t in out.items():
        np.save(os.path.join(folder, name + ".npy"), t.detach().numpy().astype(np.float32))


class Generator(nn.Module):
    def __init__(self, c):
        super().__init__()
        w, label = c["width"], (c["latent"] if c["classes"] else 0)
        self.project = nn.Linear(c["latent"] + label, 2 * w * 7 * 7)
        self.body = nn.Sequential(nn.Unflatten(1, (2 * w, 7, 7)), nn.BatchNorm2d(2 * w), nn.ReLU(),
                                  nn.ConvTranspose2d(2 * w, w, 4, 2, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU(),
                                  nn.ConvTranspose2d(w, 1, 4, 2, 1), nn.Tanh())
        if c["classes"]:
            self.label_embedding = nn.Embedding(c["classes"], c["latent"])
        self.conditional = bool(c["classes"])

    def forward(self, z, y):
        return self.body(self.project(torch.cat([z, self.label_embedding(y)], 1) if self.conditional else z))


class Discriminator(nn.Module):
    def __init__(self, c):
        super().__init__()
        w = c["width"]
        features = 2 * w * 7 * 7
        self.body = nn.Sequential(nn.Conv2d(1, w, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(w, 2 * w, 4, 2, 1, bias=False),
                                  nn.BatchNorm2d(2 * w), nn.LeakyReLU(0.2), nn.Flatten())
        self.head = nn.Linear(features, 1)
        if c["classes"]:
            self.label_embedding = nn.Embedding(c["classes"], features)
            nn.init.normal_(self.label_embedding.weight, std=features ** -0.5)  # as cajal's: a small projection at first
        self.conditional = bool(c["classes"])

    def forward(self, x, y):
        h = self.body(x)
        logits = self.head(h).squeeze(1)
        return logits + (h * self.label_embedding(y)).sum(1) if self.conditional else logits


def gan_case(folder, x, labels):
    c = json.load(open(os.path.join(folder, "config.json")))
    g, d = Generator(c), Discriminator(c)
    load_params(g, os.path.join(folder, "g", "params"))
    load_params(d, os.path.join(folder, "d", "params"))
    y = labels if c["classes"] else None
    fake = g(torch.from_numpy(np.load(os.path.join(folder, "z.npy"))), y)
    real_logits, fake_logits = d(x * 2 - 1, y), d(fake, y)
    bce = F.binary_cross_entropy_with_logits
    out = {
        "fake": fake, "real_logits": real_logits,
        "d_nonsaturating": bce(real_logits, torch.full_like(real_logits, 0.9)) + bce(fake_logits, torch.zeros_like(fake_logits)),
        "d_hinge": F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean(),
        "g_nonsaturating": bce(fake_logits, torch.ones_like(fake_logits)),
        "g_hinge": -fake_logits.mean(),
    }
    out["d_nonsaturating"].backward()
    for tag, model in (("g", g), ("d", d)):
        os.makedirs(os.path.join(folder, "grad_" + tag), exist_ok=True)
        for name, p in model.named_parameters():
            np.save(os.path.join(folder, "grad_" + tag, name + ".npy"), p.grad.numpy())
    for name, t in out.items():
        np.save(os.path.join(folder, name + ".npy"), t.detach().numpy().astype(np.float32))


def main():
    root = sys.argv[1]
    torch.set_default_dtype(torch.float32)
    x = torch.from_numpy(np.load(os.path.join(root, "x.npy")))
    labels = torch.from_numpy(np.load(os.path.join(root, "labels.npy")))
    for arg in sys.argv[2:]:
        kind, case = arg.split(":")
        if kind == "vae":
            vae_case(root, os.path.join(root, case), x, labels)
        else:
            gan_case(os.path.join(root, case), x, labels)


if __name__ == "__main__":
    main()
