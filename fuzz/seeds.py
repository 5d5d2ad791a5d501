#!/usr/bin/python3
"""Writes the fuzzers' seed corpora from real files: Debian's Fashion-MNIST, scikit-learn's
tables, the example configs, images and arrays written by Pillow and NumPy, and a model file
and checkpoint that the cajal program writes (`--cajal PATH`).

  seeds.py --out DIR [--cajal PATH]     DIR/<harness>/ for each harness in fuzz/
"""
import argparse
import glob
import gzip
import io
import json
import os
import shutil
import struct
import subprocess
import tempfile

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FASHION = "/usr/share/datasets/fashion-mnist"
SKLEARN_DATA = "/usr/lib/python3/dist-packages/sklearn/datasets/data"


def put(out, harness, name, data):
    os.makedirs(os.path.join(out, harness), exist_ok=True)
    with open(os.path.join(out, harness, name), "wb") as f:
        f.write(data)


def idx_seeds(out):
    with gzip.open(os.path.join(FASHION, "t10k-images-idx3-ubyte.gz")) as f:
        images = f.read(16 + 3 * 784)
    images = images[:4] + struct.pack(">I", 3) + images[8:]  # three images
    with gzip.open(os.path.join(FASHION, "t10k-labels-idx1-ubyte.gz")) as f:
        labels = f.read(8 + 10)
    labels = labels[:4] + struct.pack(">I", 10) + labels[8:]
    for name, data in [("images", images), ("labels", labels)]:
        put(out, "idx_fuzz", name, data)
        put(out, "idx_fuzz", name + ".gz", gzip.compress(data))
    put(out, "idx_fuzz", "floats", struct.pack(">BBBB", 0, 0, 0x0D, 2) + struct.pack(">II", 2, 2) +
        struct.pack(">4f", 1, -2, 0.5, 3))


def npy_seeds(out):
    arrays = {"f32": np.arange(12, dtype=np.float32).reshape(3, 4), "f64": np.linspace(0, 1, 5),
              "i64": np.array([[1, -2], [3, 4]], dtype=np.int64), "u8": np.arange(6, dtype=np.uint8),
              "bool": np.array([True, False]), "fortran": np.asfortranarray(np.ones((2, 3), np.float32)),
              "scalar": np.array(2.5, dtype=np.float32), "big_endian": np.arange(3, dtype=">i4")}
    for name, array in arrays.items():
        buffer = io.BytesIO()
        np.save(buffer, array)
        put(out, "npy_fuzz", name + ".npy", buffer.getvalue())


def safetensors_bytes(tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    for name, array in tensors.items():
        data = array.tobytes()
        dtype = {"float32": "F32", "float64": "F64", "int64": "I64", "uint8": "U8"}[str(array.dtype)]
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def safetensors_seeds(out):
    tensors = {"fc.weight": np.arange(6, dtype=np.float32).reshape(2, 3), "fc.bias": np.zeros(2, np.float32),
               "steps": np.array([3], np.int64)}
    put(out, "safetensors_fuzz", "plain.safetensors", safetensors_bytes(tensors))
    put(out, "safetensors_fuzz", "metadata.safetensors", safetensors_bytes(tensors, {"format": "pt", "note": "\u00e9\\n"}))
    put(out, "safetensors_fuzz", "empty.safetensors", safetensors_bytes({}))


def csv_seeds(out):
    # The first byte picks the harness's options (labels as indices, names or values; header).
    tables = {"iris.csv": (1, open(os.path.join(SKLEARN_DATA, "iris.csv")).read().splitlines()[1:40]),
              "breast_cancer.csv": (0, open(os.path.join(SKLEARN_DATA, "breast_cancer.csv")).read().splitlines()[1:12]),
              "prices.csv": (2, ["rooms,price", "2,150", "3,210", "4,260"]),
              "names.csv": (1 | 8, ["species,a,b", "cat,1.5,2", "dog,\"3\",4e-1", "cat,,5"])}
    for name, (options, lines) in tables.items():
        put(out, "csv_fuzz", name, bytes([options]) + ("\n".join(lines) + "\n").encode())


def image_seeds(out):
    gray = Image.fromarray(np.arange(64, dtype=np.uint8).reshape(8, 8) * 4)
    rgb = Image.fromarray(np.stack([np.arange(48, dtype=np.uint8).reshape(4, 12)] * 3, axis=-1))
    for image, stem in [(gray, "gray"), (rgb, "rgb"), (gray.convert("P"), "palette"), (rgb.convert("RGBA"), "rgba")]:
        for fmt in ["PNG", "JPEG", "BMP"]:
            if fmt == "JPEG" and image.mode in ("P", "RGBA"):
                continue
            buffer = io.BytesIO()
            image.save(buffer, fmt)
            put(out, "image_fuzz", f"{stem}.{fmt.lower()}", buffer.getvalue())


def text_seeds(out):
    put(out, "text_fuzz", "series.csv", b"year,value\n1700,5\n1701,11\n1702,NA\n1703,23\n1704,\n1705,40.5\n")
    put(out, "text_fuzz", "utf8.txt", "Ramón y Cajal drew the neuron. \u03bb \U0001f9e0\n".encode())
    fortunes = sorted(glob.glob("/usr/share/games/fortunes/*"))
    for path in fortunes[:2]:
        if os.path.isfile(path):
            put(out, "text_fuzz", os.path.basename(path), open(path, "rb").read(2000))


def config_seeds(out):
    for path in glob.glob(os.path.join(ROOT, "examples", "*.yaml")):
        put(out, "config_fuzz", os.path.basename(path), open(path, "rb").read())


def onnx_seeds(out):
    """Small ONNX models of the operator families the importer runs, built with onnx.helper,
    and a few of libonnx-testdata's node test models."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    def model(nodes, inputs, initializers=()):
        graph = helper.make_graph(nodes, "seed", [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], list(initializers))
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()

    w = numpy_helper.from_array(np.arange(24, dtype=np.float32).reshape(2, 3, 2, 2) / 24, "w")
    put(out, "onnx_fuzz", "conv.onnx", model([helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 0, 0, 1], strides=[2, 1]),
                                               helper.make_node("MaxPool", ["c"], ["y"], kernel_shape=[2, 2])],
                                              [("x", [1, 3, 6, 6])], [w]))
    shape = numpy_helper.from_array(np.array([3, -1], dtype=np.int64), "shape")
    put(out, "onnx_fuzz", "reshape.onnx", model([helper.make_node("Reshape", ["x", "shape"], ["r"]),
                                                  helper.make_node("Softmax", ["r"], ["y"], axis=1)], [("x", [2, 3, 4])], [shape]))
    starts = numpy_helper.from_array(np.array([1, -1], dtype=np.int64), "starts")
    ends = numpy_helper.from_array(np.array([3, -4], dtype=np.int64), "ends")
    put(out, "onnx_fuzz", "slice.onnx", model([helper.make_node("Slice", ["x", "starts", "ends"], ["s"]),
                                                helper.make_node("ReduceSum", ["s"], ["y"], keepdims=0)], [("x", [4, 5])], [starts, ends]))
    node = "/usr/include/onnx/backend/test/data/node"
    for case in ["test_gemm_default_single_elem_vector_bias", "test_lstm_defaults", "test_layer_normalization_4d_axis1",
                 "test_gather_0", "test_averagepool_2d_pads", "test_einsum_batch_diagonal", "test_unique_sorted_with_axis",
                 "test_nonmaxsuppression_two_batches", "test_gridsample_bicubic", "test_scatternd", "test_gathernd_example_int32_batch_dim1",
                 "test_resize_upsample_scales_cubic", "test_qlinearconv", "test_det_nd", "test_convtranspose_3d", "test_maxunpool_export_with_output_shape",
                 "test_gru_seq_length", "test_adam", "test_reversesequence_batch", "test_slice_neg_steps", "test_pad",
                 "test_stft_with_window", "test_dft_inverse", "test_tfidfvectorizer_tf_batch_uniandbigrams_skip5"]:
        path = os.path.join(node, case, "model.onnx")
        if os.path.exists(path):
            put(out, "onnx_fuzz", case + ".onnx", open(path, "rb").read())


def cajal_seeds(out, cajal):
    """A model file and checkpoints written by the cajal program on a small iris run."""
    with tempfile.TemporaryDirectory() as work:
        lines = open(os.path.join(SKLEARN_DATA, "iris.csv")).read().splitlines()[1:]
        with open(os.path.join(work, "iris.csv"), "w") as f:
            f.write("a,b,c,d,species\n" + "\n".join(lines) + "\n")
        config = ("data: {reader: csv, train: iris.csv, validation_split: 0.2}\n"
                  "model: {preset: mlp, options: {hidden: [8]}}\noptimizer: {name: adam, lr: 0.01}\nepochs: 2\n")
        with open(os.path.join(work, "iris.yaml"), "w") as f:
            f.write(config)
        put(out, "config_fuzz", "iris.yaml", config.encode())
        subprocess.run([cajal, "train", "iris.yaml", "--output", "run"], cwd=work, check=True,
                       stdout=subprocess.DEVNULL, env=dict(os.environ, OMP_NUM_THREADS="1"))
        run = os.path.join(work, "run")
        put(out, "model_file_fuzz", "model.safetensors", open(os.path.join(run, "model.safetensors"), "rb").read())
        put(out, "safetensors_fuzz", "model.safetensors", open(os.path.join(run, "model.safetensors"), "rb").read())
        put(out, "checkpoint_fuzz", "last.ckpt", open(os.path.join(run, "last.ckpt"), "rb").read())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--cajal")
    args = parser.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    for make in (idx_seeds, npy_seeds, safetensors_seeds, csv_seeds, image_seeds, text_seeds, config_seeds, onnx_seeds):
        make(args.out)
    if args.cajal:
        cajal_seeds(args.out, os.path.abspath(args.cajal))


if __name__ == "__main__":
    main()
