"""PyTorch reference for pruning and distillation (tests/compress/pruning_test.cpp).

torch.nn.utils.prune picks the weights and channels: global_unstructured with
L1Unstructured (amount 0.7) over every Conv2d/Linear weight, l1_unstructured per layer
(amount 0.7), and ln_structured(n=1, dim=0, amount=0.5) on every layer whose outputs feed
another. A structurally pruned network equals the full one with the pruned channels'
weights, biases and batch-norm scales and shifts zeroed (a zero channel stays zero through
BN, ReLU and pooling), which gives the outputs the shrunk network must reproduce. The
distillation loss is Hinton et al.'s, from torch's kl_div (batchmean) and cross_entropy.
Float32 model on 8x8 single-channel images; fixed seeds. Writes <name>.npy files.

usage: pruning_reference.py OUT_DIR
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.nn.utils.prune as prune

out = sys.argv[1]
torch.manual_seed(20261207)
rng = np.random.default_rng(20261207)


def save(name, value):
    np.save(os.path.join(out, name + ".npy"), value.detach().numpy() if torch.is_tensor(value) else value)


def make_model():
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(8, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(6 * 2 * 2, 10), nn.ReLU(), nn.Linear(10, 3))
    with torch.no_grad():
        for bn in (model[1], model[5]):  # statistics and affine values away from their defaults
            bn.running_mean.copy_(torch.tensor(rng.normal(size=bn.num_features)))
            bn.running_var.copy_(torch.tensor(rng.uniform(0.5, 2.0, size=bn.num_features)))
            bn.weight.copy_(torch.tensor(rng.uniform(0.5, 1.5, size=bn.num_features)))
            bn.bias.copy_(torch.tensor(rng.normal(size=bn.num_features)))
    return model.eval()


model = make_model()
for name, value in model.state_dict().items():
    save("state." + name, value)
weighted = ["0", "4", "9", "11"]

global_copy = make_model()
global_copy.load_state_dict(model.state_dict())
prune.global_unstructured([(global_copy[int(k)], "weight") for k in weighted], pruning_method=prune.L1Unstructured,
                          amount=0.7)
for k in weighted:
    save("global_mask." + k, global_copy[int(k)].weight_mask)
    layer = make_model()[int(k)]
    layer.load_state_dict(model[int(k)].state_dict())
    prune.l1_unstructured(layer, "weight", amount=0.7)
    save("layer_mask." + k, layer.weight_mask)

x = torch.tensor(rng.normal(size=(5, 1, 8, 8)), dtype=torch.float32)
save("x", x)
save("full_out", model(x))
zeroed = make_model()
zeroed.load_state_dict(model.state_dict())
for producer, norm in (("0", "1"), ("4", "5"), ("9", None)):
    layer = zeroed[int(producer)]
    prune.ln_structured(layer, "weight", amount=0.5, n=1, dim=0)
    kept = layer.weight_mask.flatten(1).amax(1) > 0
    save("kept." + producer, torch.nonzero(kept).flatten())
    prune.remove(layer, "weight")
    with torch.no_grad():
        layer.bias[~kept] = 0
        if norm is not None:
            zeroed[int(norm)].weight[~kept] = 0
            zeroed[int(norm)].bias[~kept] = 0
save("structured_out", zeroed(x))

student = torch.tensor(rng.normal(size=(6, 4)), requires_grad=True)
teacher = torch.tensor(rng.normal(size=(6, 4)) * 3)
target = torch.tensor(rng.integers(0, 4, size=6))
T, alpha = 4.0, 0.9
soft = F.kl_div(F.log_softmax(student / T, dim=1), F.softmax(teacher / T, dim=1), reduction="batchmean") * T * T
loss = alpha * soft + (1 - alpha) * F.cross_entropy(student, target)
loss.backward()
for name, value in [("student", student), ("teacher", teacher), ("target", target), ("distill_loss", loss),
                    ("distill_grad", student.grad)]:
    save(name, value)
