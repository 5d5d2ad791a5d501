"""PyTorch reference for cajal's convolution and pooling tests (tests/nn/conv_test.cpp,
tests/nn/pool_test.cpp).

For every case of the chosen group: random float32 inputs (fixed seed) and an upstream
gradient, and PyTorch's output and gradients (input, weight, bias) computed in float64
from those float32 values. Files <id>_<name>.npy go into the output directory, with a
manifest line per case:

    <id> <op> <key>=<value> ...

Values are comma-separated integers ("2,1"), numbers ("1.5"), words ("same", "bilinear")
or "none". The C++ test reads the arguments from the manifest and calls its own op, so the
case list below is the single source of truth.

Module printing: reprs.txt holds one line per module of MODULES, "<index>\t<repr(module)>".

usage: conv_reference.py OUT_DIR conv|pool
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)
rng = np.random.default_rng(20261201)

# (op, input shape, weight shape, bias, keyword arguments)
CONV_CASES = [
    ("conv2d", (2, 3, 7, 6), (4, 3, 3, 3), True, dict()),
    ("conv2d", (2, 3, 7, 6), (4, 3, 3, 3), False, dict(padding=1)),
    ("conv2d", (2, 3, 9, 8), (4, 3, 3, 2), True, dict(stride=(2, 3), padding=(1, 2))),
    ("conv2d", (2, 2, 9, 9), (3, 2, 3, 3), True, dict(dilation=(2, 1), padding=2)),
    ("conv2d", (2, 4, 8, 7), (6, 2, 3, 3), True, dict(groups=2, padding=1)),
    ("conv2d", (2, 4, 8, 7), (8, 1, 3, 3), True, dict(groups=4, padding=1, stride=2)),  # depthwise
    ("conv2d", (2, 3, 7, 6), (5, 3, 4, 2), True, dict(padding="same")),  # even kernel: uneven padding
    ("conv2d", (2, 3, 7, 6), (5, 3, 3, 3), True, dict(padding="same", dilation=2)),
    ("conv2d", (2, 3, 7, 6), (5, 3, 3, 3), True, dict(padding="valid")),
    ("conv2d", (2, 3, 5, 5), (4, 3, 1, 1), True, dict()),  # pointwise
    ("conv2d", (2, 3, 8, 8), (4, 3, 1, 1), True, dict(stride=2)),
    ("conv2d", (3, 7, 6), (4, 3, 3, 3), True, dict(padding=1)),  # unbatched
    ("conv2d", (4, 1, 28, 28), (32, 1, 3, 3), True, dict(padding=1)),  # Fashion-MNIST CNN, small batch
    ("conv2d", (4, 32, 14, 14), (64, 32, 3, 3), True, dict(padding=1)),
    ("conv1d", (2, 3, 11), (4, 3, 3), True, dict()),
    ("conv1d", (2, 4, 12), (6, 2, 4), True, dict(stride=2, padding=1, dilation=2, groups=2)),
    ("conv1d", (2, 3, 10), (4, 3, 4), False, dict(padding="same")),
    ("conv1d", (3, 10), (4, 3, 3), True, dict(padding=1)),  # unbatched
    ("conv_transpose2d", (2, 4, 5, 4), (4, 3, 3, 3), True, dict()),
    ("conv_transpose2d", (2, 4, 5, 4), (4, 3, 3, 3), True, dict(stride=2, padding=1, output_padding=1)),
    ("conv_transpose2d", (2, 4, 5, 4), (4, 2, 3, 2), True, dict(stride=(2, 3), padding=(0, 1), output_padding=(1, 2), groups=2)),
    ("conv_transpose2d", (2, 3, 5, 4), (3, 2, 3, 3), False, dict(dilation=2, padding=1)),
    ("conv_transpose2d", (2, 2, 4, 4), (2, 3, 3, 3), True, dict(stride=2, dilation=3, output_padding=2)),  # op >= stride
    ("conv_transpose2d", (2, 4, 4, 4), (4, 3, 2, 2), True, dict(stride=2)),  # the usual 2x upsampling
]

# (op, input shape, keyword arguments)
POOL_CASES = [
    ("max_pool2d", (2, 3, 8, 8), dict(kernel_size=2)),
    ("max_pool2d", (2, 3, 9, 7), dict(kernel_size=3, stride=2, padding=1)),
    ("max_pool2d", (2, 3, 9, 7), dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0), dilation=(2, 1))),
    ("max_pool2d", (2, 3, 9, 7), dict(kernel_size=2, stride=2, ceil_mode=True)),
    ("max_pool2d", (2, 3, 10, 10), dict(kernel_size=3, stride=3, padding=1, ceil_mode=True)),
    ("max_pool2d", (2, 3, 6, 6), dict(kernel_size=3, stride=1)),  # overlapping windows
    ("max_pool2d", (3, 7, 7), dict(kernel_size=2)),  # unbatched
    ("max_pool2d", (4, 32, 28, 28), dict(kernel_size=2)),  # the CNN's pooling
    ("max_pool1d", (2, 3, 11), dict(kernel_size=3, stride=2, padding=1)),
    ("max_pool1d", (2, 3, 11), dict(kernel_size=2, ceil_mode=True, dilation=2)),
    ("avg_pool2d", (2, 3, 8, 8), dict(kernel_size=2)),
    ("avg_pool2d", (2, 3, 9, 7), dict(kernel_size=3, stride=2, padding=1)),
    ("avg_pool2d", (2, 3, 9, 7), dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
    ("avg_pool2d", (2, 3, 9, 7), dict(kernel_size=(3, 2), stride=(2, 3), padding=(1, 1), ceil_mode=True)),
    ("avg_pool2d", (2, 3, 9, 7), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)),
    ("avg_pool2d", (2, 3, 9, 7), dict(kernel_size=3, stride=2, padding=1, divisor_override=5)),
    ("avg_pool1d", (2, 3, 11), dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
    ("avg_pool1d", (2, 3, 10), dict(kernel_size=4, ceil_mode=True, stride=3)),
    ("adaptive_avg_pool2d", (2, 3, 7, 9), dict(output_size=(3, 4))),
    ("adaptive_avg_pool2d", (2, 3, 7, 9), dict(output_size=(7, 9))),
    ("adaptive_avg_pool2d", (2, 3, 5, 4), dict(output_size=(8, 6))),  # larger than the input
    ("adaptive_avg_pool2d", (2, 3, 7, 9), dict(output_size=1)),  # global average pooling
    ("adaptive_avg_pool2d", (3, 7, 9), dict(output_size=2)),  # unbatched
    ("interpolate", (2, 3, 4, 5), dict(scale_factor=2, mode="nearest")),
    ("interpolate", (2, 3, 4, 5), dict(size=(7, 3), mode="nearest")),
    ("interpolate", (2, 3, 5, 4), dict(scale_factor=1.7, mode="nearest")),
    ("interpolate", (2, 3, 4, 5), dict(scale_factor=(2, 3), mode="bilinear", align_corners=False)),
    ("interpolate", (2, 3, 4, 5), dict(scale_factor=(2, 3), mode="bilinear", align_corners=True)),
    ("interpolate", (2, 3, 4, 5), dict(size=(9, 4), mode="bilinear", align_corners=False)),
    ("interpolate", (2, 3, 6, 5), dict(size=(4, 1), mode="bilinear", align_corners=True)),
    ("interpolate", (2, 3, 5, 4), dict(scale_factor=1.3, mode="bilinear", align_corners=False)),
    ("interpolate", (2, 3, 7), dict(scale_factor=2, mode="nearest")),
    ("interpolate", (2, 3, 7), dict(size=12, mode="linear", align_corners=False)),
    ("interpolate", (2, 3, 7), dict(scale_factor=1.5, mode="linear", align_corners=True)),
]

MODULES = [
    lambda: torch.nn.Conv2d(1, 32, 3, padding=1),
    lambda: torch.nn.Conv2d(16, 32, (3, 5), stride=2, padding=(1, 2), dilation=(1, 2), groups=4, bias=False),
    lambda: torch.nn.Conv2d(3, 8, 3, padding="same"),
    lambda: torch.nn.Conv1d(4, 8, 5, stride=2, padding=2),
    lambda: torch.nn.ConvTranspose2d(16, 8, 2, stride=2),
    lambda: torch.nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1, output_padding=1, groups=2, bias=False, dilation=2),
    lambda: torch.nn.MaxPool2d(2),
    lambda: torch.nn.MaxPool2d((3, 2), stride=1, padding=1, dilation=2, ceil_mode=True),
    lambda: torch.nn.MaxPool1d(3, stride=2),
    lambda: torch.nn.AvgPool2d(2),
    lambda: torch.nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    lambda: torch.nn.AvgPool1d(4, stride=2, padding=1),
    lambda: torch.nn.AdaptiveAvgPool2d((5, 7)),
    lambda: torch.nn.AdaptiveAvgPool2d(1),
    lambda: torch.nn.Upsample(scale_factor=2, mode="nearest"),
    lambda: torch.nn.Upsample(size=(8, 9), mode="bilinear", align_corners=True),
    lambda: torch.nn.Upsample(scale_factor=1.5, mode="bilinear"),
]


def fmt(value):
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, (tuple, list)):
        return ",".join(str(v) for v in value)
    return str(value)


def sample(shape):
    return rng.normal(size=shape).astype(np.float32)


def as64(a):
    return torch.from_numpy(a.astype(np.float64)).requires_grad_()


def main(out_dir, group):
    lines = []

    def save(case_id, name, array):
        np.save(os.path.join(out_dir, f"{case_id}_{name}.npy"), np.ascontiguousarray(array))

    def finish(case_id, op, kwargs, y, gy, grads):
        save(case_id, "y", y.detach().numpy())
        save(case_id, "gy", gy)
        for name, t in grads:
            save(case_id, "g" + name, t.grad.numpy())
        lines.append(" ".join([case_id, op] + [f"{k}={fmt(v)}" for k, v in kwargs.items()]))

    if group == "conv":
        for i, (op, xs, ws, with_bias, kwargs) in enumerate(CONV_CASES):
            case_id = f"case{i}"
            x, w = sample(xs), sample(ws)
            b = sample((ws[1] * kwargs.get("groups", 1) if op == "conv_transpose2d" else ws[0],)) if with_bias else None
            tx, tw = as64(x), as64(w)
            tb = as64(b) if with_bias else None
            y = getattr(F, op)(tx, tw, tb, **kwargs)
            gy = sample(tuple(y.shape))
            y.backward(torch.from_numpy(gy.astype(np.float64)))
            save(case_id, "x", x)
            save(case_id, "w", w)
            grads = [("x", tx), ("w", tw)]
            if with_bias:
                save(case_id, "b", b)
                grads.append(("b", tb))
            finish(case_id, op, dict(kwargs, bias=with_bias), y, gy, grads)
    else:
        for i, (op, xs, kwargs) in enumerate(POOL_CASES):
            case_id = f"case{i}"
            x = sample(xs)
            tx = as64(x)
            if op.startswith("max_pool"):
                y, indices = getattr(F, op)(tx, return_indices=True, **kwargs)
                save(case_id, "indices", indices.numpy())
            else:
                y = getattr(F, op)(tx, **kwargs)
            gy = sample(tuple(y.shape))
            y.backward(torch.from_numpy(gy.astype(np.float64)))
            save(case_id, "x", x)
            finish(case_id, op, kwargs, y, gy, [("x", tx)])

    with open(os.path.join(out_dir, "reprs.txt"), "w") as f:
        for i, make in enumerate(MODULES):
            f.write(f"{i}\t{make()!r}\n")

    with open(os.path.join(out_dir, "manifest.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
