"""The PyTorch twin of `cajal train examples/fashion_mnist_protonet.yaml` (issue 14, experiment
3): a Prototypical Network (4 blocks of conv3x3(64) + batch norm + ReLU + maxpool 2) trained
on 2,000 5-way 5-shot episodes (15 queries per class) of Fashion-MNIST classes 0-4, Adam 0.001,
inputs normalized with mean 0.2860 and std 0.3530 of the training split; evaluated in eval mode
on 1,000 5-way 1-shot and 5-shot episodes of classes 5-9 from the test split (95% CI).

  protonet_twin.py [--episodes N] [--test-episodes N] [--seed S] [--threads T]

Prints `RESULT accuracy_<shots>_shot MEAN CI95` lines and the training time.
"""
import argparse
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fashion_mnist import read_idx  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist/"


def load(split):
    images = read_idx(DATA + f"{split}-images-idx3-ubyte.gz").astype(np.float32) / 255
    labels = read_idx(DATA + f"{split}-labels-idx1-ubyte.gz").astype(np.int64)
    images = (images - 0.2860) / 0.3530
    return torch.from_numpy(images).unsqueeze(1), torch.from_numpy(labels)


def embedding():
    layers, channels = [], 1
    for _ in range(4):
        layers += [torch.nn.Conv2d(channels, 64, 3, padding=1), torch.nn.BatchNorm2d(64), torch.nn.ReLU(), torch.nn.MaxPool2d(2)]
        channels = 64
    return torch.nn.Sequential(*layers, torch.nn.Flatten())


def episode(images, labels, classes, ways, shots, queries, rng):
    picked = rng.choice(classes, ways, replace=False)
    support, query = [], []
    for c in picked:
        members = np.flatnonzero(labels.numpy() == c)
        chosen = rng.choice(members, shots + queries, replace=False)
        support.append(chosen[:shots])
        query.append(chosen[shots:])
    support_y = torch.arange(ways).repeat_interleave(shots)
    query_y = torch.arange(ways).repeat_interleave(queries)
    return images[np.concatenate(support)], support_y, images[np.concatenate(query)], query_y


def run_episode(net, ways, sx, sy, qx, qy):
    z = net(torch.cat([sx, qx]))
    prototypes = torch.stack([z[: len(sx)][sy == c].mean(0) for c in range(ways)])
    logits = -torch.cdist(z[len(sx):], prototypes) ** 2
    return F.cross_entropy(logits, qy), (logits.argmax(1) == qy).double().mean().item()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--episodes", type=int, default=2000)
    parser.add_argument("--test-episodes", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    train_x, train_y = load("train")
    test_x, test_y = load("t10k")
    net = embedding()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    start = time.perf_counter()
    net.train()
    for i in range(1, args.episodes + 1):
        loss, accuracy = run_episode(net, 5, *episode(train_x, train_y, [0, 1, 2, 3, 4], 5, 5, 15, rng))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if i % 500 == 0:
            print(f"episode {i}: loss {loss.item():.4f} accuracy {accuracy:.4f}", flush=True)
    print(f"RESULT train_seconds {time.perf_counter() - start:.1f}", flush=True)
    net.eval()
    with torch.no_grad():
        for shots in (1, 5):
            accs = [run_episode(net, 5, *episode(test_x, test_y, [5, 6, 7, 8, 9], 5, shots, 15, rng))[1]
                    for _ in range(args.test_episodes)]
            ci = 1.96 * np.std(accs, ddof=1) / math.sqrt(len(accs))
            print(f"RESULT accuracy_{shots}_shot {np.mean(accs):.4f} {ci:.4f}", flush=True)


if __name__ == "__main__":
    main()
