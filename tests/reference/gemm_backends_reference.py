"""NumPy reference for the float32 GEMM backends test (tests/ops/gemm_backends_test.cpp).

The matrix products of the models cajal benchmarks (MLP and CNN linear layers forward
and backward, im2col convolution, recurrent layers' input and per-step products) and a
few small and skinny ones, with the operand layouts those products use: for each case
<id>_a.npy [n, k] and <id>_b.npy [k, m] (float32, uniform in [-1, 1)), <id>_c.npy [n, m]
(the accumulator for beta != 0) and <id>_out.npy = a @ b + 0.5 * c computed in float64,
stored as float64. The manifest has one line per case:

    <id> <a_transposed> <b_transposed>

where a flag of 1 means the C++ test passes that operand as the transposed view of a
contiguous matrix (as linear's forward passes the weight, and its backward the gradient).

usage: gemm_backends_reference.py OUT_DIR
"""
import os
import sys

import numpy as np

rng = np.random.default_rng(20261127)

# (n, k, m, a transposed, b transposed)
CASES = [
    (1000, 784, 256, 0, 1),  # MLP first layer at batch 1000: x @ w^T
    (128, 256, 784, 0, 0),   # its input gradient: g @ w
    (256, 128, 784, 1, 0),   # its weight gradient: g^T @ x
    (128, 128, 10, 0, 1),    # MLP last layer
    (10, 128, 128, 1, 0),    # and its weight gradient
    (128, 3136, 128, 0, 1),  # CNN's linear layer
    (64, 288, 196, 0, 0),    # im2col convolution, 32 -> 64 channels on 14x14
    (32, 9, 784, 0, 0),      # im2col convolution, 1 -> 32 channels on 28x28
    (32, 256, 1024, 0, 1),   # recurrent layer, one step of batch 32
    (1, 784, 256, 0, 1),     # one example
    (7, 1, 5, 0, 0),         # outer product
    (3, 5, 1, 1, 1),         # matrix @ vector
]


def main():
    out_dir = sys.argv[1]
    with open(os.path.join(out_dir, "manifest.txt"), "w") as manifest:
        for i, (n, k, m, ta, tb) in enumerate(CASES):
            case = f"case{i}"
            a = rng.uniform(-1, 1, (n, k)).astype(np.float32)
            b = rng.uniform(-1, 1, (k, m)).astype(np.float32)
            c = rng.uniform(-1, 1, (n, m)).astype(np.float32)
            out = a.astype(np.float64) @ b.astype(np.float64) + 0.5 * c.astype(np.float64)
            for name, value in (("a", a), ("b", b), ("c", c), ("out", out)):
                np.save(os.path.join(out_dir, f"{case}_{name}.npy"), value)
            manifest.write(f"{case} {ta} {tb}\n")


if __name__ == "__main__":
    main()
