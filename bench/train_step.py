"""PyTorch's side of train_step.cpp: Conv2d forward and backward on the Fashion-MNIST CNN's
two convolutions, one training step (forward, cross_entropy, backward, Adam step,
zero_grad) of that CNN and of the MLP 784-256-128-10 at batch 128, and eval-mode inference
under torch.no_grad() at batch 1000. With --profile it prints instead the per-layer
forward and backward times of one training step, measured as train_step.cpp measures them.
Usage: train_step.py [--threads N] [--profile]"""
import sys
import time

import torch
from torch import nn

from timing import configure_threads, report, seconds_per_call

TRAIN_BATCH = 128
INFER_BATCH = 1000


def fashion_cnn():
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Dropout(0.25), nn.Linear(128, 10))


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                         nn.Linear(128, 10))


def images(batch):
    return torch.rand(batch, 1, 28, 28) * 2 - 1


def labels(batch):
    return (torch.arange(batch) * 7 + 3) % 10


def train_step(model, x):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    y = labels(x.shape[0])

    def step():
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad()
    return step


def conv_layer(name, in_channels, out_channels, size):
    conv = nn.Conv2d(in_channels, out_channels, 3, padding=1)
    x = (torch.rand(TRAIN_BATCH, in_channels, size, size) * 2 - 1).requires_grad_()
    g = torch.rand(TRAIN_BATCH, out_channels, size, size) * 2 - 1
    wrt = [x, conv.weight, conv.bias]

    def forward():
        with torch.no_grad():
            conv(x)
    report(f"{name}.forward", seconds_per_call(forward))
    report(f"{name}.forward_backward", seconds_per_call(lambda: torch.autograd.grad([conv(x)], wrt, [g])))


def inference(name, model, x):
    model.eval()

    def run():
        with torch.no_grad():
            model(x)
    report(name, seconds_per_call(run))


def profile(name, model, x, steps):
    """Per-layer seconds of a training step, as train_step.cpp's profile(): forward timed
    around each layer's call; backward from the moment the gradient reaches a layer's
    output (a tensor hook) to the moment it reaches the output of the layer below."""
    y = labels(x.shape[0])
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    layers = list(model)
    n = len(layers)
    forward, backward = [0.0] * n, [0.0] * n
    totals = {"loss.forward": 0.0, "loss.backward": 0.0, "adam.step": 0.0, "zero_grad.step": 0.0}
    for s in range(steps + 1):  # step 0 warms up and is not counted
        keep = 0.0 if s == 0 else 1.0
        arrives, tracked = [0.0] * n, [False] * n
        h = x
        for i, layer in enumerate(layers):
            t0 = time.perf_counter()
            h = layer(h)
            forward[i] += keep * (time.perf_counter() - t0)
            tracked[i] = h.requires_grad
            if tracked[i]:
                h.register_hook(lambda g, i=i: arrives.__setitem__(i, time.perf_counter()))
        t0 = time.perf_counter()
        loss = nn.functional.cross_entropy(h, y)
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        t3 = time.perf_counter()
        opt.zero_grad()
        t4 = time.perf_counter()
        totals["loss.forward"] += keep * (t1 - t0)
        totals["loss.backward"] += keep * (arrives[n - 1] - t1)
        for i in range(n):
            if tracked[i]:
                done = arrives[i - 1] if i > 0 and tracked[i - 1] else t2
                backward[i] += keep * (done - arrives[i])
        totals["adam.step"] += keep * (t3 - t2)
        totals["zero_grad.step"] += keep * (t4 - t3)
    for i, layer in enumerate(layers):
        layer_name = f"{i}_{type(layer).__name__}"
        print(f"INFO profile.{name}.{layer_name}.forward {forward[i] / steps:.6e}")
        print(f"INFO profile.{name}.{layer_name}.backward {backward[i] / steps:.6e}")
    for what, total in totals.items():
        print(f"INFO profile.{name}.{what} {total / steps:.6e}")


def main():
    configure_threads()
    torch.manual_seed(0)
    if "--profile" in sys.argv:
        profile("cnn", fashion_cnn(), images(TRAIN_BATCH), 20)
        profile("mlp", mlp(), images(TRAIN_BATCH), 200)
        return
    conv_layer("nn.conv1", 1, 32, 28)
    conv_layer("nn.conv2", 32, 64, 14)
    report("nn.mlp_train_step", seconds_per_call(train_step(mlp(), images(TRAIN_BATCH))))
    report("nn.cnn_train_step", seconds_per_call(train_step(fashion_cnn(), images(TRAIN_BATCH)), 0.5))
    inference("nn.mlp_inference", mlp(), images(INFER_BATCH))
    inference("nn.cnn_inference", fashion_cnn(), images(INFER_BATCH))


if __name__ == "__main__":
    main()
