"""NumPy as the oracle for cajal's .npy reader and writer (tests/io/npy_test.cpp).

usage:
  npy_reference.py write DIR   NumPy writes the files in WRITTEN into DIR for cajal to read
  npy_reference.py check DIR   NumPy reads the files cajal wrote into DIR (the names in
                               EXPECTED) and checks dtype, shape and values; exits 1 on a mismatch

Values come from ramp(shape, dtype): element i (in C order) is the formula in RAMP for the
dtype. The C++ test computes the same formulas.
"""
import os
import sys

import numpy as np

RAMP = {
    "f4": lambda i: i * 0.25 - 2,
    "f8": lambda i: i * 0.25 - 2,
    "i8": lambda i: i * 3000000000 - 5,  # beyond int32
    "i4": lambda i: i * 1000 - 7,
    "u1": lambda i: (i * 37) % 256,
    "b1": lambda i: i % 3 == 0,
}


def ramp(shape, kind):
    i = np.arange(int(np.prod(shape)), dtype=np.int64)
    return np.asarray(RAMP[kind](i)).astype(np.dtype(kind).newbyteorder("<")).reshape(shape)


def bf16_bits(values):
    """PyTorch's float32 -> bfloat16 rounding, as raw uint16 bits."""
    import torch
    return torch.tensor(values, dtype=torch.float32).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)


BF16_VALUES = [1.5, -2.25, 0.1, 3.14159265, 1e-3, -65504.0, 1e30]


def written():
    files = {kind: ramp((2, 3, 4), kind) for kind in RAMP}
    files.update({
        "fortran_f8": np.asfortranarray(ramp((3, 4, 5), "f8")),
        "fortran_i4": np.asfortranarray(ramp((2, 7), "i4")),
        "scalar": np.array(-1.75),
        "empty": np.zeros((0, 3), np.float32),
        "u2": bf16_bits(BF16_VALUES),
        "big_endian": ramp((4,), "f4").astype(">f4"),
        "complex": np.arange(3, dtype=np.complex64),
    })
    return files


def write(out_dir):
    for name, array in written().items():
        np.save(os.path.join(out_dir, name + ".npy"), array, allow_pickle=False)
    # Versions 2.0 and 3.0 (np.save picks 1.0 for small headers).
    for version in [(2, 0), (3, 0)]:
        with open(os.path.join(out_dir, "v%d.npy" % version[0]), "wb") as f:
            np.lib.format.write_array(f, ramp((5, 2), "f4"), version=version)


# What cajal writes (see CajalWritesNumPyReads in the C++ test).
EXPECTED = {
    **{kind: ramp((2, 3, 4), kind) for kind in RAMP},
    "transposed": ramp((3, 4), "f8").T,
    "strided": ramp((4, 6), "f4")[1:, ::2],
    "expanded": np.broadcast_to(ramp((3, 1), "i8"), (3, 4)),
    "permuted": ramp((2, 3, 4), "i4").transpose(2, 0, 1),
    "scalar": np.array(-1.75),
    "empty": np.zeros((0, 3), np.float32),
}


def check(in_dir):
    failures = []
    expected = dict(EXPECTED)
    expected["bf16"] = bf16_bits(BF16_VALUES)
    for name, want in expected.items():
        path = os.path.join(in_dir, name + ".npy")
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            np.lib.format._read_array_header(f, version)
            if f.tell() % 64 != 0:
                failures.append("%s: data starts at byte %d, not 64-byte aligned" % (name, f.tell()))
        got = np.load(path, allow_pickle=False)
        if got.dtype != want.dtype or got.shape != want.shape or not np.array_equal(got, want):
            failures.append("%s: got %s %s %r, expected %s %s %r" % (name, got.dtype, got.shape, got, want.dtype,
                                                                      want.shape, want))
    for line in failures:
        print(line)
    return 1 if failures else 0


if __name__ == "__main__":
    mode, directory = sys.argv[1], sys.argv[2]
    if mode == "write":
        write(directory)
        sys.exit(0)
    sys.exit(check(directory))
