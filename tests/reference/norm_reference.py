"""PyTorch reference for the normalization layers in tests/nn/norm_test.cpp.

Each case builds a torch.nn normalization layer with random float32 weight and bias and
runs it for TRAIN_STEPS steps in train mode, then one step in eval mode. Every step takes
a fresh input x (spread and offset so the statistics matter) and an upstream gradient gy,
and backpropagates sum(y * gy) with the gradients zeroed first. Files, for case <id>:

    <id>_param_<name>.npy              the initial parameters (weight, bias)
    <id>_step<k>_x.npy, _gy.npy        step k's input and upstream gradient
    <id>_step<k>_y.npy, _gx.npy        output and input gradient
    <id>_step<k>_grad_<name>.npy       each parameter's gradient
    <id>_step<k>_buffer_<name>.npy     each buffer after the step (running statistics)

and manifest.txt with a line per case: the id and the layer's state_dict names joined by
commas ("-" when it has none). Steps 0 .. TRAIN_STEPS-1 train, the last evaluates.

usage: norm_reference.py OUT_DIR
"""
import os
import sys

import numpy as np
import torch
from torch import nn

TRAIN_STEPS = 3

# id: (layer, input shape)
CASES = {
    "bn2d": (lambda: nn.BatchNorm2d(6), (8, 6, 5, 7)),
    "bn2d_cumulative": (lambda: nn.BatchNorm2d(4, momentum=None), (4, 4, 3, 3)),
    "bn2d_no_affine": (lambda: nn.BatchNorm2d(3, affine=False, momentum=0.3), (5, 3, 4, 4)),
    "bn2d_untracked": (lambda: nn.BatchNorm2d(3, track_running_stats=False), (5, 3, 4, 2)),
    "bn2d_long": (lambda: nn.BatchNorm2d(2), (64, 2, 40, 40)),
    "bn1d": (lambda: nn.BatchNorm1d(5), (16, 5)),
    "bn1d_seq": (lambda: nn.BatchNorm1d(3, eps=1e-3), (4, 3, 10)),
    "ln": (lambda: nn.LayerNorm([6, 5]), (4, 3, 6, 5)),
    "ln_rows": (lambda: nn.LayerNorm(32, eps=1e-6), (10, 32)),
    "ln_no_affine": (lambda: nn.LayerNorm(7, elementwise_affine=False), (3, 7)),
    "gn": (lambda: nn.GroupNorm(3, 6), (4, 6, 5, 5)),
    "gn_no_affine": (lambda: nn.GroupNorm(2, 4, affine=False), (3, 4, 7)),
    "in2d": (lambda: nn.InstanceNorm2d(4), (3, 4, 6, 6)),
    "in2d_tracked": (lambda: nn.InstanceNorm2d(4, affine=True, track_running_stats=True), (3, 4, 5, 6)),
}

rng = np.random.default_rng(20240521)


def sample(shape, spread=1.0, offset=0.0):
    return (rng.normal(size=shape) * spread + offset).astype(np.float32)


def save(out_dir, name, array):
    np.save(os.path.join(out_dir, name + ".npy"), np.asarray(array))


def run_case(out_dir, case_id, make, shape):
    layer = make()
    with torch.no_grad():
        for name, p in layer.named_parameters():
            p.copy_(torch.from_numpy(sample(tuple(p.shape), 0.5, 1.0 if name == "weight" else 0.0)))
            save(out_dir, f"{case_id}_param_{name}", p.detach().numpy())
    for step in range(TRAIN_STEPS + 1):
        layer.train(step < TRAIN_STEPS)
        x = torch.from_numpy(sample(shape, 2.0, 0.5)).requires_grad_()
        gy = torch.from_numpy(sample(shape))
        layer.zero_grad()
        y = layer(x)
        (y * gy).sum().backward()
        prefix = f"{case_id}_step{step}"
        for name, value in [("x", x), ("gy", gy), ("y", y), ("gx", x.grad)]:
            save(out_dir, f"{prefix}_{name}", value.detach().numpy())
        for name, p in layer.named_parameters():
            save(out_dir, f"{prefix}_grad_{name}", p.grad.numpy())
        for name, b in layer.named_buffers():
            save(out_dir, f"{prefix}_buffer_{name}", b.numpy())
    return list(layer.state_dict().keys())


def main(out_dir):
    torch.set_num_threads(1)
    with open(os.path.join(out_dir, "manifest.txt"), "w") as manifest:
        for case_id, (make, shape) in CASES.items():
            names = run_case(out_dir, case_id, make, shape)
            manifest.write(f"{case_id} {','.join(names) or '-'}\n")


if __name__ == "__main__":
    main(sys.argv[1])
