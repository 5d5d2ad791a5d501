"""PyTorch reference for int8 quantization (tests/compress/quantize_test.cpp).

torch.ao.quantization's observers give the parameters (PerChannelMinMaxObserver, qint8,
per_channel_symmetric for a weight; MinMaxObserver, quint8, per_tensor_affine over three
calibration batches of an activation), torch.quantize_per_channel / _per_tensor the codes
(int_repr), torch.fake_quantize_per_tensor_affine / _per_channel_affine the fake-quantized
values and the straight-through gradient. NumPy gives the 0.01 and 99.99 percentiles of
the calibration values and, by brute force over the ranges [f * min, f * max] for 1000
values of f, the least quantization error a range of that family reaches. Float32; fixed
seed. Writes <name>.npy files.

usage: quantize_reference.py OUT_DIR
"""
import os
import sys

import numpy as np
import torch
from torch.ao.quantization.observer import MinMaxObserver, PerChannelMinMaxObserver

out = sys.argv[1]
rng = np.random.default_rng(20261207)


def save(name, value):
    np.save(os.path.join(out, name + ".npy"), value.detach().numpy() if torch.is_tensor(value) else np.asarray(value))


w = torch.tensor(rng.normal(size=(8, 3, 3, 3)) * rng.uniform(0.1, 2.0, size=(8, 1, 1, 1)), dtype=torch.float32)
observer = PerChannelMinMaxObserver(ch_axis=0, dtype=torch.qint8, qscheme=torch.per_channel_symmetric)
observer(w)
w_scale, w_zero = observer.calculate_qparams()
save("w", w)
save("w_scale", w_scale.float())
save("w_codes", torch.quantize_per_channel(w, w_scale, w_zero, 0, torch.qint8).int_repr().int())
save("w_fake", torch.fake_quantize_per_channel_affine(w, w_scale.float(), w_zero.int(), 0, -128, 127))

# Activations: mostly N(0.5, 1), a few large outliers (what percentile and MSE ranges are for).
batches = []
for b in range(3):
    x = rng.normal(0.5, 1.0, size=(64, 16))
    x[rng.integers(0, 64, 4), rng.integers(0, 16, 4)] = rng.uniform(15, 30, 4)
    batches.append(torch.tensor(x, dtype=torch.float32))
    save("x%d" % b, batches[-1])
observer = MinMaxObserver(dtype=torch.quint8, qscheme=torch.per_tensor_affine)
for x in batches:
    observer(x)
scale, zero = observer.calculate_qparams()
save("x_scale", scale.float())
save("x_zero", zero.int())
save("x_codes", torch.quantize_per_tensor(batches[0], float(scale), int(zero), torch.quint8).int_repr().int())

values = torch.cat(batches).flatten().numpy().astype(np.float64)
save("percentiles", np.percentile(values, [0.01, 99.99]).astype(np.float32))
best = np.inf
lo, hi = min(values.min(), 0), max(values.max(), 0)
for f in np.linspace(0.001, 1, 1000):
    s = max((f * hi - f * lo) / 255, np.finfo(np.float32).eps)
    z = np.clip(-np.round(f * lo / s), 0, 255)
    q = np.clip(z + np.round(values / s), 0, 255)
    best = min(best, np.mean(((q - z) * s - values) ** 2))
save("best_mse", best)

# Fake quantization with a narrow range, so that some values clamp: the gradient is 0 there.
x = batches[1].clone().requires_grad_(True)
fake = torch.fake_quantize_per_tensor_affine(x, 0.02, 100, 0, 255)
g = torch.tensor(rng.normal(size=x.shape), dtype=torch.float32)
(fake * g).sum().backward()
save("fake", fake)
save("fake_g", g)
save("fake_grad", x.grad)
