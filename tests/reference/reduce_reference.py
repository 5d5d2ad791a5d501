"""PyTorch reference for the reduction edge cases in tests/ops/reduce_test.cpp.

Each case has a fixed float64 input where the gradient rules matter (zeros in prod, zero
rows in the 2-norm, ties in max and the infinity norm, constant rows in std, infinities
in logsumexp). Writes <case>_input.npy, <case>_output.npy and <case>_grad.npy (the
input's gradient of sum(output * w), w the first numel(output) entries of weights.npy),
plus manifest.txt with one case id per line.

usage: reduce_reference.py OUT_DIR
"""
import os
import sys

import numpy as np
import torch

inf = float("inf")
rng = np.random.default_rng(20240917)

CASES = {
    "prod_zeros": ([[0.0, 2.0, 0.0, 1.5], [1.0, 0.0, 3.0, -2.0], [0.5, 4.0, -1.0, 2.0]],
                   lambda x: torch.prod(x, 1)),
    "prod_all_one_zero": ([[1.5, -2.0], [0.0, 3.0]], lambda x: torch.prod(x)),
    "var_dims": (rng.normal(size=(3, 2, 4)) + 100.0, lambda x: torch.var(x, (0, 2), unbiased=True, keepdim=True)),
    "std_constant_rows": ([[2.0, 2.0, 2.0], [1.0, -1.0, 0.5]], lambda x: torch.std(x, 1, unbiased=False)),
    "logsumexp_inf": ([[-inf, -inf, -inf], [1.0, -inf, 2.0], [700.0, 710.0, -3.0]],
                      lambda x: torch.logsumexp(x, 1)),
    "norm2_zero_rows": ([[0.0, 0.0, 0.0], [3.0, -4.0, 0.0]], lambda x: torch.norm(x, 2, 1)),
    "norm_inf_ties": ([[1.0, -3.0, 3.0], [-2.0, 0.5, 1.0]], lambda x: torch.norm(x, inf, 1)),
    "norm1_dims": (rng.normal(size=(2, 3, 2)), lambda x: torch.norm(x, 1, (0, 1))),
    "max_dim_ties": ([[1.0, 5.0, 2.0], [3.0, 5.0, 2.0], [3.0, 0.0, 2.0]], lambda x: torch.max(x, 0).values),
    "cumsum_mid": (rng.normal(size=(2, 5, 3)), lambda x: torch.cumsum(x, 1)),
}


def main():
    out_dir = sys.argv[1]
    weights = rng.normal(size=64)
    np.save(os.path.join(out_dir, "weights.npy"), weights)
    with open(os.path.join(out_dir, "manifest.txt"), "w") as manifest:
        for case_id, (values, op) in CASES.items():
            x = torch.tensor(np.asarray(values, dtype=np.float64), requires_grad=True)
            y = op(x)
            w = torch.tensor(weights[: y.numel()]).reshape(y.shape)
            (y * w).sum().backward()
            np.save(os.path.join(out_dir, case_id + "_input.npy"), x.detach().numpy())
            np.save(os.path.join(out_dir, case_id + "_output.npy"), y.detach().numpy())
            np.save(os.path.join(out_dir, case_id + "_grad.npy"), x.grad.numpy())
            manifest.write(case_id + "\n")


if __name__ == "__main__":
    main()
