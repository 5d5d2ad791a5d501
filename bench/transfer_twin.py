"""The PyTorch twin of bench/transfer_experiment.sh (issue 14, experiment 1): the cnn preset
(conv 32 + BN + ReLU + maxpool, conv 64 + BN + ReLU + maxpool, linear 3136-128 + ReLU, dropout
0.25, linear 128-5) trained 3 epochs on Fashion-MNIST classes 0-4 (Adam 0.001, batch 64), then
on classes 5-9 with 10 or 100 labels per class (Adam 0.001, batch 32, 60 / 20 epochs): linear
probe (all but a new head frozen), full fine-tune (new head), from scratch; seeds 0-2, which also
draw the labelled subset. Inputs scaled to [0, 1] and normalized with mean 0.2860, std 0.3530.
Prints a markdown table of test accuracy on the 5,000 test images of classes 5-9.

  transfer_twin.py [--threads T] [--per-class 10 100] [--modes probe finetune scratch]
                   [--source runs/transfer_source/model.safetensors]

--source starts from cajal's source model (its safetensors file) instead of
training the twin's own, to tell differences of the source weights from those of the training.
"""
import argparse
import copy
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "reference"))
from fashion_mnist import read_idx  # noqa: E402
from models_reference import cnn as cnn_preset  # noqa: E402
from safetensors_reference import read_safetensors  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist/"


def task(split, classes):
    images = (read_idx(DATA + f"{split}-images-idx3-ubyte.gz").astype(np.float32) / 255 - 0.2860) / 0.3530
    labels = read_idx(DATA + f"{split}-labels-idx1-ubyte.gz").astype(np.int64)
    keep = np.isin(labels, classes)
    remap = {c: i for i, c in enumerate(classes)}
    return torch.from_numpy(images[keep]).unsqueeze(1), torch.tensor([remap[c] for c in labels[keep]])


def cnn(classes):
    return cnn_preset(1, 28, classes)


def fit(model, x, y, epochs, batch, seed):
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=generator)
        for i in range(0, len(x), batch):
            idx = order[i:i + batch]
            optimizer.zero_grad()
            F.cross_entropy(model(x[idx]), y[idx]).backward()
            optimizer.step()


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        return (torch.cat([model(x[i:i + 500]).argmax(1) for i in range(0, len(x), 500)]) == y).double().mean().item()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--per-class", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--modes", nargs="+", default=["probe", "finetune", "scratch"])
    parser.add_argument("--source", default="")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    source = cnn(5)
    if args.source:
        source.load_state_dict(read_safetensors(args.source)[0])
    else:
        sx, sy = task("train", [0, 1, 2, 3, 4])
        fit(source, sx, sy, 3, 64, 0)
    print(f"source accuracy {accuracy(source, *task('t10k', [0, 1, 2, 3, 4])):.4f}", flush=True)
    tx, ty = task("train", [5, 6, 7, 8, 9])
    test_x, test_y = task("t10k", [5, 6, 7, 8, 9])
    names = {"probe": "linear probe", "finetune": "full fine-tune", "scratch": "from scratch"}
    print("| labels per class | " + " | ".join(names[m] for m in args.modes) + " |")
    print("|---" * (len(args.modes) + 1) + "|")
    for per_class in args.per_class:
        epochs = {10: 60, 100: 20}.get(per_class, 3)
        cells = []
        for mode in args.modes:
            results = []
            for seed in range(3):
                rng = np.random.default_rng(seed)
                idx = np.sort(np.concatenate([rng.choice(np.flatnonzero(ty.numpy() == c), per_class, replace=False)
                                              for c in range(5)]))
                torch.manual_seed(seed)
                if mode == "scratch":
                    model = cnn(5)
                else:
                    model = copy.deepcopy(source)
                    if mode == "probe":
                        for p in model.parameters():
                            p.requires_grad_(False)
                    model[12] = torch.nn.Linear(128, 5)
                fit(model, tx[idx], ty[idx], epochs, 32, seed)
                results.append(accuracy(model, test_x, test_y) * 100)
            cells.append(f"{np.mean(results):.2f}% ({min(results):.2f}-{max(results):.2f})")
        print(f"| {per_class} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
