"""PyTorch reference for Prototypical Networks' episode loss (tests/train/few_shot_test.cpp),
written from Snell et al. 2017: prototypes are the mean support embedding of each class
(a loop over classes here), logits are -torch.cdist(query, prototypes) ** 2, the loss is
the cross-entropy of the queries. Float64, fixed NumPy seed; writes support.npy,
support_labels.npy, query.npy, query_labels.npy, prototypes.npy, logits.npy, loss.npy,
grad_support.npy and grad_query.npy (d loss / d embeddings).

usage: few_shot_reference.py OUT_DIR
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

out = sys.argv[1]
rng = np.random.default_rng(20261207)
ways, shots, queries, dim = 5, 3, 4, 8
support = torch.tensor(rng.normal(size=(ways * shots, dim)), requires_grad=True)
query = torch.tensor(rng.normal(size=(ways * queries, dim)), requires_grad=True)
support_labels = torch.tensor(rng.permutation(np.repeat(np.arange(ways), shots)))
query_labels = torch.tensor(rng.permutation(np.repeat(np.arange(ways), queries)))
prototypes = torch.stack([support[support_labels == c].mean(0) for c in range(ways)])
logits = -torch.cdist(query, prototypes) ** 2
loss = F.cross_entropy(logits, query_labels)
loss.backward()
for name, value in [("support", support), ("query", query), ("support_labels", support_labels),
                    ("query_labels", query_labels), ("prototypes", prototypes), ("logits", logits), ("loss", loss),
                    ("grad_support", support.grad), ("grad_query", query.grad)]:
    np.save(os.path.join(out, name + ".npy"), value.detach().numpy())
