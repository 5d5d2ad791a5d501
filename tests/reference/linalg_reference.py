"""NumPy reference for cajal's linear algebra test (tests/ops/linalg_test.cpp).

For every case: random inputs (fixed seed) and NumPy's result, written as .npy files
<id>_a.npy, <id>_b.npy (and <id>_c.npy for a third input) and <id>_out.npy into the
output directory, with a manifest line per case:

    <id> <op> <dtype>

op is matmul (np.matmul), addmm (beta * c + alpha * a @ b with beta 0.5, alpha 2) or
linear (a @ b.T + c). Results are computed in float64 (exact integers for int64) and
stored in the inputs' dtype.

usage: linalg_reference.py OUT_DIR
"""
import os
import sys

import numpy as np

rng = np.random.default_rng(20240611)

# NumPy's matmul batching rules: 1-D operands, broadcast batch dims, empty dims.
MATMUL_SHAPES = [
    ((5,), (5,)),              # dot product
    ((4,), (4, 3)),            # vector @ matrix
    ((3, 4), (4,)),            # matrix @ vector
    ((2, 3, 4), (4,)),         # batch @ vector
    ((4,), (2, 4, 3)),         # vector @ batch
    ((3, 4), (4, 5)),
    ((2, 3, 4), (4, 5)),       # one shared right matrix: a single folded GEMM
    ((3, 4), (2, 4, 5)),       # one shared left matrix
    ((2, 1, 3, 4), (5, 4, 2)), # both broadcast
    ((1, 3, 4), (6, 4, 5)),
    ((600, 8, 8), (600, 8, 8)),  # many small matrices: the batch runs in parallel
    ((2, 3, 0), (0, 4)),       # k == 0: zeros
    ((0, 3), (3, 4)),          # no rows
    ((33, 17), (17, 65)),
]


def sample(shape, dtype):
    if dtype == "int64":
        return rng.integers(-9, 10, shape).astype(np.int64)
    return rng.normal(size=shape).astype(dtype)


def main(out_dir):
    cases = []

    def add(op, dtype, inputs, out):
        case_id = f"case{len(cases)}"
        for name, x in zip("abc", inputs):
            np.save(os.path.join(out_dir, f"{case_id}_{name}.npy"), x)
        np.save(os.path.join(out_dir, f"{case_id}_out.npy"), np.asarray(out).astype(inputs[0].dtype))
        cases.append(f"{case_id} {op} {dtype}")

    def wide(x):  # float64 for the reference arithmetic; int64 stays exact
        return x if x.dtype == np.int64 else x.astype(np.float64)

    for dtype in ["float64", "float32", "int64"]:
        for sa, sb in MATMUL_SHAPES:
            a, b = sample(sa, dtype), sample(sb, dtype)
            add("matmul", dtype, [a, b], np.matmul(wide(a), wide(b)))
    for dtype in ["float64", "float32"]:
        for sc in [(6,), (4, 1), (4, 6)]:
            c, a, b = sample(sc, dtype), sample((4, 5), dtype), sample((5, 6), dtype)
            add("addmm", dtype, [a, b, c], 0.5 * wide(c) + 2.0 * wide(a) @ wide(b))
        for sx in [(7,), (3, 7), (2, 3, 7)]:
            x, w, bias = sample(sx, dtype), sample((5, 7), dtype), sample((5,), dtype)
            add("linear", dtype, [x, w, bias], wide(x) @ wide(w).T + wide(bias))

    with open(os.path.join(out_dir, "manifest.txt"), "w") as f:
        f.write("\n".join(cases) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
