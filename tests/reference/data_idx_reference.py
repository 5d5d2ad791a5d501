"""NumPy as the oracle for cajal's IDX reader (tests/data/idx_test.cpp).

usage:
  data_idx_reference.py write DIR     writes IDX files (raw and gzipped) and, for each NAME.idx,
                                      NAME.npy holding the values NumPy put in it; plus broken files
  data_idx_reference.py fashion SRC DIR
                                      parses the Fashion-MNIST files in SRC by hand (gzip, the
                                      16- and 8-byte headers, frombuffer) and writes the labels and
                                      a few images for the C++ test to compare with
"""
import gzip
import os
import struct
import sys

import numpy as np

# IDX type code -> big-endian NumPy dtype
CODES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def idx_bytes(array, code):
    header = struct.pack(">BBBB", 0, 0, code, array.ndim) + struct.pack(">" + "I" * array.ndim, *array.shape)
    return header + np.ascontiguousarray(array, dtype=CODES[code]).tobytes()


def write(directory):
    rng = np.random.default_rng(7)
    arrays = {
        "images": (rng.integers(0, 256, size=(5, 4, 3)).astype(np.uint8), 0x08),
        "labels": (np.array([3, 0, 9, 9, 1], dtype=np.uint8), 0x08),
        "int8": (np.array([-128, -1, 0, 5, 127], dtype=np.int8), 0x09),
        "int16": (np.array([[-32768, -2, 300], [7, 32767, -1000]], dtype=np.int16), 0x0B),
        "int32": (np.array([-2147483648, -5, 70000, 2147483647], dtype=np.int32), 0x0C),
        "float32": (np.array([[1.5, -2.25], [3.0e-8, 6.5e20]], dtype=np.float32), 0x0D),
        "float64": (np.array([np.pi, -1e-300, 2.0**60], dtype=np.float64), 0x0E),
        "empty": (np.zeros((0, 28, 28), dtype=np.uint8), 0x08),
    }
    for name, (array, code) in arrays.items():
        data = idx_bytes(array, code)
        with open(os.path.join(directory, name + ".idx"), "wb") as f:
            f.write(data)
        with gzip.open(os.path.join(directory, name + ".idx.gz"), "wb") as f:
            f.write(data)
        # cajal widens int8 and int16 to int32 (it has neither dtype)
        expected = array.astype(np.int32) if array.dtype.itemsize < 4 and array.dtype.kind == "i" else array
        np.save(os.path.join(directory, name + ".npy"), expected)

    images = idx_bytes(arrays["images"][0], 0x08)
    broken = {
        "bad_magic.idx": b"\x01\x02" + images[2:],
        "bad_type.idx": images[:2] + b"\x0a" + images[3:],
        "truncated.idx": images[:-7],
        "trailing.idx": images + b"\x00\x00",
        "short_header.idx": images[:9],
        "huge_dims.idx": struct.pack(">BBBBIIII", 0, 0, 0x08, 4, 2**32 - 1, 2**32 - 1, 2**32 - 1, 2**32 - 1) + b"\x00" * 8,
        "four_labels.idx": idx_bytes(np.array([1, 2, 3, 4], dtype=np.uint8), 0x08),
    }
    for name, data in broken.items():
        with open(os.path.join(directory, name), "wb") as f:
            f.write(data)
    # A gzip stream cut in the middle.
    gz = gzip.compress(images)
    with open(os.path.join(directory, "truncated.idx.gz"), "wb") as f:
        f.write(gz[: len(gz) // 2])


def fashion(source, directory):
    def load(name, header):
        with gzip.open(os.path.join(source, name), "rb") as f:
            data = f.read()
        return np.frombuffer(data, dtype=np.uint8, offset=header)

    for split, count in (("train", 60000), ("t10k", 10000)):
        labels = load(split + "-labels-idx1-ubyte.gz", 8)
        images = load(split + "-images-idx3-ubyte.gz", 16).reshape(count, 28, 28)
        np.save(os.path.join(directory, split + "_labels.npy"), labels.astype(np.int64))
        picks = np.array([0, 1, 4321, count - 1], dtype=np.int64)
        np.save(os.path.join(directory, split + "_picks.npy"), picks)
        np.save(os.path.join(directory, split + "_picked_images.npy"), images[picks])
        # as torchvision's ToTensor scales: float32 division by 255
        np.save(os.path.join(directory, split + "_picked_scaled.npy"), images[picks].astype(np.float32) / np.float32(255))
        np.save(os.path.join(directory, split + "_pixel_sum.npy"), np.array([images.sum(dtype=np.int64)]))


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2])
    elif sys.argv[1] == "fashion":
        fashion(sys.argv[2], sys.argv[3])
    else:
        sys.exit("unknown command " + sys.argv[1])
