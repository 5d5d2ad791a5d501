"""A hand-written safetensors reader and writer (Python's json + numpy, no safetensors package)
as the oracle for cajal's (tests/io/safetensors_test.cpp, tests/nn/serialize_test.cpp).

usage:
  safetensors_reference.py write DIR   writes, for cajal to read:
                                       DIR/python_plain.safetensors: EXPECTED laid out as the
                                         reference writer does (compact JSON, padded, sorted)
                                       DIR/python_pretty.safetensors: the same tensors with an
                                         indented header, in name order, unpadded
  safetensors_reference.py check DIR   reads DIR/cajal.safetensors (CAJAL_WRITES) and checks
                                       layout, dtypes, shapes, values and metadata; exits 1 on
                                       a mismatch
  safetensors_reference.py model_check DIR MODEL...
                                       for each MODEL: loads DIR/cajal_MODEL.safetensors into the
                                       torch model MODELS[MODEL] (load_state_dict, strict), runs
                                       it in eval mode on DIR/x_MODEL.npy, writes
                                       DIR/torch_logits_MODEL.npy
  safetensors_reference.py model_write DIR MODEL...
                                       for each MODEL: writes a seeded torch model's state_dict
                                       to DIR/torch_MODEL.safetensors, an input DIR/x_MODEL.npy
                                       and its eval-mode output DIR/torch_logits_MODEL.npy

Values come from ramp(shape, dtype): element i (in C order) is the formula in RAMP for the
dtype. The C++ test computes the same formulas.
"""
import json
import os
import sys

import numpy as np
import torch

# The reference implementation's Dtype enum order (increasing alignment); its writer sorts
# tensors by decreasing position here, then by name.
DTYPE_ORDER = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64",
               "I64", "U64"]
NUMPY = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32, "U8": np.uint8, "I8": np.int8,
         "BOOL": np.bool_, "BF16": np.uint16}  # BF16 as raw bits
TORCH = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64", torch.int32: "I32", torch.uint8: "U8",
         torch.int8: "I8", torch.bool: "BOOL", torch.bfloat16: "BF16"}

RAMP = {
    "F32": lambda i: i * 0.25 - 2,
    "F64": lambda i: i * 0.25 - 2,
    "BF16": lambda i: i * 0.25 - 2,  # exact in bfloat16 for the sizes used
    "I64": lambda i: i * 3000000000 - 5,  # beyond int32
    "I32": lambda i: i * 1000 - 7,
    "U8": lambda i: (i * 37) % 256,
    "BOOL": lambda i: i % 3 == 0,
}
TORCH_OF = {name: dtype for dtype, name in TORCH.items()}


def ramp(shape, dtype):
    i = torch.arange(int(np.prod(shape)), dtype=torch.int64)
    values = RAMP[dtype](i)
    return torch.as_tensor(values).to(TORCH_OF[dtype]).reshape(shape)


# The tensors both sides write and expect.
EXPECTED = {
    **{kind.lower(): ramp((2, 3, 4), kind) for kind in RAMP},
    "scalar": torch.tensor(-1.75, dtype=torch.float64),
    "empty": torch.zeros((0, 3), dtype=torch.float32),
}
# cajal also writes views (see CajalWritesPythonReads in the C++ test); saved row-major.
CAJAL_WRITES = {
    **EXPECTED,
    "transposed": ramp((3, 4), "F64").t(),
    "strided": ramp((4, 6), "F32")[1:, ::2],
    "expanded": ramp((3, 1), "I64").expand(3, 4),
}
METADATA = {"format": "pt", "note": "caf\u00e9 \"quoted\" back\\slash\nnew line \u0001 \U0001f9e0"}


# ---------------------------------------------------------------- reading

def to_numpy(t):
    if t.dtype == torch.bfloat16:
        return t.contiguous().view(torch.int16).numpy().view(np.uint16)
    return t.contiguous().numpy()


def from_numpy(array, dtype):
    if dtype == "BF16":
        return torch.from_numpy(array.view(np.int16).copy()).view(torch.bfloat16)
    return torch.from_numpy(array.copy())


def read_safetensors(path):
    """(tensors in file order, metadata, header text, header object) of a safetensors file."""
    with open(path, "rb") as f:
        data = f.read()
    n = int.from_bytes(data[:8], "little")
    text = data[8:8 + n].decode("utf-8")
    header = json.loads(text)
    buffer = data[8 + n:]
    metadata = header.get("__metadata__", {})
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        array = np.frombuffer(buffer[begin:end], dtype=NUMPY[info["dtype"]]).reshape(info["shape"])
        tensors[name] = from_numpy(array, info["dtype"])
    return tensors, metadata, text, header


# ---------------------------------------------------------------- writing

def safetensors_bytes(tensors, metadata=None, pretty=False):
    """The file for {name: torch tensor}: as the reference writer lays it out, or (pretty) with
    an indented header, tensors in name order and no padding."""
    if pretty:
        names = sorted(tensors)
    else:
        names = sorted(tensors, key=lambda name: (-DTYPE_ORDER.index(TORCH[tensors[name].dtype]), name))
    header, chunks, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name in names:
        raw = to_numpy(tensors[name]).tobytes()
        header[name] = {"dtype": TORCH[tensors[name].dtype], "shape": list(tensors[name].shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    if pretty:
        text = json.dumps(header, indent=1).encode()  # ASCII with \u escapes
    else:
        text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
        text += b" " * (-len(text) % 8)
    return len(text).to_bytes(8, "little") + text + b"".join(chunks)


def write_safetensors(path, tensors, metadata=None, pretty=False):
    with open(path, "wb") as f:
        f.write(safetensors_bytes(tensors, metadata, pretty))


# ---------------------------------------------------------------- checks

def layout_problems(path):
    """Differences between the file's layout and the reference writer's."""
    with open(path, "rb") as f:
        data = f.read()
    tensors, metadata, text, header = read_safetensors(path)
    want = safetensors_bytes(tensors, metadata or None)
    if data != want:
        return ["%s: bytes differ from the reference layout:\n  got  %r\n  want %r" % (path, data[:400], want[:400])]
    return []


def value_problems(got, expected):
    problems = []
    for name, want in expected.items():
        if name not in got:
            problems.append("missing tensor %s" % name)
            continue
        t = got[name]
        if t.dtype != want.dtype or tuple(t.shape) != tuple(want.shape) or not torch.equal(t, want.contiguous()):
            problems.append("%s: got %s %s %s, expected %s %s %s" % (name, t.dtype, tuple(t.shape), t, want.dtype,
                                                                      tuple(want.shape), want))
    for name in got:
        if name not in expected:
            problems.append("unexpected tensor %s" % name)
    return problems


# The models of tests/nn/serialize_test.cpp: a constructor and an input shape.
MODELS = {
    "mlp": (lambda: torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3)), (4, 5)),
    "cnn": (lambda: torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                                        torch.nn.Flatten(), torch.nn.Linear(4 * 5 * 5, 3)), (2, 2, 5, 5)),
}


def model_check(directory, *names):
    for name in names:
        tensors, metadata, _, _ = read_safetensors(os.path.join(directory, "cajal_%s.safetensors" % name))
        if metadata.get("format") != "pt":
            print("%s: metadata %r lacks format: pt" % (name, metadata))
            return 1
        model = MODELS[name][0]()
        model.load_state_dict(tensors, strict=True)  # raises on a missing, unexpected or misshapen key
        model.eval()
        x = torch.from_numpy(np.load(os.path.join(directory, "x_%s.npy" % name)))
        with torch.no_grad():
            np.save(os.path.join(directory, "torch_logits_%s.npy" % name), model(x).numpy())
    return 0


def model_write(directory, *names):
    for name in names:
        torch.manual_seed(0)
        make, input_shape = MODELS[name]
        model = make()
        with torch.no_grad():  # running statistics that matter in eval mode
            for m in model.modules():
                if isinstance(m, torch.nn.BatchNorm2d):
                    m.weight.uniform_(0.5, 1.5)
                    m.bias.normal_()
                    m.running_mean.normal_()
                    m.running_var.uniform_(0.5, 2.0)
                    m.num_batches_tracked.fill_(7)
        model.eval()
        write_safetensors(os.path.join(directory, "torch_%s.safetensors" % name), model.state_dict(), {"format": "pt"})
        x = torch.randn(input_shape)
        np.save(os.path.join(directory, "x_%s.npy" % name), x.numpy())
        with torch.no_grad():
            np.save(os.path.join(directory, "torch_logits_%s.npy" % name), model(x).numpy())
    return 0


def check(directory):
    path = os.path.join(directory, "cajal.safetensors")
    tensors, metadata, _, _ = read_safetensors(path)
    problems = layout_problems(path) + value_problems(tensors, CAJAL_WRITES)
    if metadata != METADATA:
        problems.append("metadata: got %r, expected %r" % (metadata, METADATA))
    for line in problems:
        print(line)
    return 1 if problems else 0


def write(directory):
    write_safetensors(os.path.join(directory, "python_plain.safetensors"), EXPECTED, METADATA)
    write_safetensors(os.path.join(directory, "python_pretty.safetensors"), EXPECTED, METADATA, pretty=True)
    return 0


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    sys.exit({"write": write, "check": check, "model_check": model_check, "model_write": model_write}[mode](*args))
