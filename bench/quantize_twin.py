"""PyTorch's int8 quantization of a cajal cnn run, side by side with `cajal quantize`.

Loads RUN/model.safetensors (the cnn preset; its twin is tests/reference/models_reference.cnn)
into PyTorch, quantizes it as a PyTorch user would (torch.ao.quantization, eager mode:
QuantWrapper, fuse_modules [conv, bn, relu] and [linear, relu], MinMaxObserver quint8 per
tensor for activations, PerChannelMinMaxObserver qint8 per channel for weights, the onednn
engine; Debian's torch has no fbgemm), calibrates on the same inputs `cajal quantize
--calibration-out` wrote, and prints the test accuracy of the float and int8 models and
their inference time on a batch of --batch test images (median of repeated runs, RESULT
lines).

usage: quantize_twin.py RUN CALIBRATION.npy [--batch 1000] [--threads N] [--engine onednn|qnnpack]
"""
import argparse
import os
import sys

import numpy as np
import torch
import yaml
from torch.ao.quantization import QConfig, QuantWrapper, convert, fuse_modules, prepare
from torch.ao.quantization.observer import MinMaxObserver, PerChannelMinMaxObserver

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "reference"))
from fashion_mnist import read_idx  # noqa: E402
from models_reference import cnn  # noqa: E402
from safetensors_reference import read_safetensors  # noqa: E402
from timing import configure_threads, report, seconds_per_call  # noqa: E402


def accuracy(model, x, y):
    with torch.no_grad():
        return sum((model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum().item() for i in range(0, len(x), 1000)) / len(x)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("run")
    parser.add_argument("calibration")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--engine", default="onednn")
    args = parser.parse_args()
    configure_threads()
    torch.backends.quantized.engine = args.engine

    tensors, metadata, _, _ = read_safetensors(os.path.join(args.run, "model.safetensors"))
    options = yaml.safe_load(metadata["cajal.model"]).get("options", {})
    shape = yaml.safe_load(metadata["cajal.input_shape"])
    model = cnn(shape[0], shape[1], int(metadata["cajal.outputs"]), widths=tuple(options.get("channels", (32, 64))),
                hidden=options.get("hidden", 128))
    model.load_state_dict(tensors, strict=True)
    model.eval()

    config = yaml.safe_load(open(os.path.join(args.run, "config.yaml")))
    x = torch.from_numpy(read_idx(config["data"]["test"]["inputs"]).astype(np.float32) / 255).unsqueeze(1)
    y = torch.from_numpy(read_idx(config["data"]["test"]["targets"]).astype(np.int64))
    mean = torch.tensor(yaml.safe_load(metadata["cajal.normalize_mean"])).view(1, -1, 1, 1)
    std = torch.tensor(yaml.safe_load(metadata["cajal.normalize_std"])).view(1, -1, 1, 1)
    x = (x - mean) / std

    quantized = QuantWrapper(cnn(shape[0], shape[1], int(metadata["cajal.outputs"]),
                                 widths=tuple(options.get("channels", (32, 64))), hidden=options.get("hidden", 128)))
    quantized.module.load_state_dict(tensors, strict=True)
    quantized.eval()
    fuse_modules(quantized.module, [["0", "1", "2"], ["4", "5", "6"], ["9", "10"]], inplace=True)
    quantized.qconfig = QConfig(activation=MinMaxObserver.with_args(dtype=torch.quint8, qscheme=torch.per_tensor_affine),
                                weight=PerChannelMinMaxObserver.with_args(dtype=torch.qint8,
                                                                          qscheme=torch.per_channel_symmetric))
    prepare(quantized, inplace=True)
    calibration = torch.from_numpy(np.load(args.calibration))
    with torch.no_grad():
        for i in range(0, len(calibration), 100):
            quantized(calibration[i:i + 100])
    convert(quantized, inplace=True)

    print(f"PyTorch {torch.__version__}, engine {args.engine}, calibrated on {len(calibration)} examples")
    float_accuracy, int8_accuracy = accuracy(model, x, y), accuracy(quantized, x, y)
    print(f"test accuracy: float32 {float_accuracy:.4f}, int8 {int8_accuracy:.4f} "
          f"({100 * (int8_accuracy - float_accuracy):+.2f} points)")
    print(f"RESULT quantize_twin.float_accuracy {float_accuracy:.4f}")
    print(f"RESULT quantize_twin.int8_accuracy {int8_accuracy:.4f}")
    batch = x[:args.batch].contiguous()
    with torch.no_grad():
        t_float = seconds_per_call(lambda: model(batch), 0.5)
        t_int8 = seconds_per_call(lambda: quantized(batch), 0.5)
    report("quantize_twin.float_batch", t_float)
    report("quantize_twin.int8_batch", t_int8)
    print(f"batch of {args.batch}: float32 {t_float * 1e3:.2f} ms, int8 {t_int8 * 1e3:.2f} ms ({t_float / t_int8:.2f}x)")


if __name__ == "__main__":
    main()
