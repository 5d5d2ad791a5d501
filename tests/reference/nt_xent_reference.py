"""PyTorch reference for SimCLR's NT-Xent loss (tests/train/self_supervised_test.cpp), written
from Chen et al. 2020, eq. 1, as a loop over the 2N anchors: for anchor i with positive j,
l(i, j) = -log(exp(sim(i, j) / t) / sum_{k != i} exp(sim(i, k) / t)), sim the cosine
similarity, and the loss is the mean of l over all 2N anchors. Float64, fixed NumPy seed;
writes z1.npy, z2.npy, loss.npy, grad_z1.npy, grad_z2.npy for temperature 0.5 and, with the
suffix _t01, for temperature 0.1.

usage: nt_xent_reference.py OUT_DIR
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

out = sys.argv[1]
rng = np.random.default_rng(20261207)
n, d = 6, 5
for temperature, suffix in ((0.5, ""), (0.1, "_t01")):
    z1 = torch.tensor(rng.normal(size=(n, d)), requires_grad=True)
    z2 = torch.tensor(rng.normal(size=(n, d)), requires_grad=True)
    z = torch.cat([z1, z2])
    losses = []
    for i in range(2 * n):
        j = (i + n) % (2 * n)
        sims = torch.stack([F.cosine_similarity(z[i], z[k], dim=0) / temperature for k in range(2 * n) if k != i])
        positive = F.cosine_similarity(z[i], z[j], dim=0) / temperature
        losses.append(-(positive - torch.logsumexp(sims, 0)))
    loss = torch.stack(losses).mean()
    loss.backward()
    for name, value in (("z1", z1), ("z2", z2), ("loss", loss), ("grad_z1", z1.grad), ("grad_z2", z2.grad)):
        np.save(os.path.join(out, name + suffix + ".npy"), value.detach().numpy())
