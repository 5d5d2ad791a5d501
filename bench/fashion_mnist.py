"""The `cajal train` Fashion-MNIST job in PyTorch: the same network, data, split,
normalization, augmentation, optimizer, schedule, batch size and epochs, read from the
same YAML config (examples/fashion_mnist_cnn.yaml by default), so that
bench/fashion_mnist.sh can print the two side by side.

What it mirrors from cajal (src/cajal/cli/train.cpp, data_config.cpp, optim_config.cpp,
models/presets.cpp):
- data: Debian's IDX files (read here with numpy), pixels / 255; `validation_split` of the
  training set held out (a seeded permutation: the same size, not the same examples as
  cajal's); `normalize: true` divides by the training split's mean and (population) std;
  `random_horizontal_flip` with its p, drawn per example; training batches shuffled every
  epoch, the last one smaller; validation and test in batches of max(batch_size, 256).
- model: the `cnn` preset (conv 1->32 + BN + ReLU + pool, conv 32->64 + BN + ReLU + pool,
  linear 3136->128 + ReLU + dropout, linear 128->10), PyTorch's default initialization,
  which is also cajal's.
- optimizer adam/adamw (lr, weight_decay, betas, eps); schedule onecycle (max_lr, default
  the optimizer's lr; pct_start, anneal, div_factor, final_div_factor), stepped per batch,
  cycling Adam's beta1 as torch.optim.lr_scheduler.OneCycleLR does; cross_entropy.
- timing: an epoch is its training batches plus the validation pass, as in cajal's
  Trainer::fit; the test set is evaluated after training, outside the training time.
Anything else in the config is refused rather than silently ignored.

Prints a line per epoch and, for bench/fashion_mnist.sh, `RESULT <name> <value>` lines:
training_seconds, test_accuracy and peak_rss_mb (ru_maxrss of this process).

usage: OPENBLAS_NUM_THREADS=1 python3 fashion_mnist.py [--config FILE] [--threads N] [--epochs N]
(PyTorch 1.13 here is fastest with 2 torch threads and 1 OpenBLAS thread: bench/README.md)
"""
import argparse
import gzip
import os
import resource
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))


def read_idx(path):
    """An IDX file (optionally gzipped) of unsigned bytes as a numpy array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        sys.exit(f"{path}: not an IDX file of unsigned bytes")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def refuse_unknown(section, allowed, where):
    unknown = set(section) - set(allowed)
    if unknown:
        sys.exit(f"fashion_mnist.py: {where}: {sorted(unknown)} not mirrored here")


def cnn(in_channels, image_size, classes, dropout):
    features = 64 * (image_size[0] // 4) * (image_size[1] // 4)
    return nn.Sequential(
        nn.Conv2d(in_channels, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(features, 128), nn.ReLU(), nn.Dropout(dropout), nn.Linear(128, classes))


def evaluate(model, x, y, batch_size):
    model.eval()
    correct, loss_sum = 0, 0.0
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            out = model(x[i:i + batch_size])
            loss_sum += F.cross_entropy(out, y[i:i + batch_size], reduction="sum").item()
            correct += (out.argmax(1) == y[i:i + batch_size]).sum().item()
    return correct / len(x), loss_sum / len(x)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=os.path.join(HERE, "..", "examples", "fashion_mnist_cnn.yaml"))
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    parser.add_argument("--epochs", type=int, help="override the config's epochs (smoke runs)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    with open(args.config) as f:
        cfg = yaml.safe_load(f)
    refuse_unknown(cfg, {"data", "model", "loss", "optimizer", "schedule", "epochs", "batch_size", "seed",
                         "num_workers", "output"}, "config")
    data = cfg["data"]
    refuse_unknown(data, {"reader", "train", "test", "validation_split", "normalize", "transforms"}, "data")
    if data.get("reader") != "idx":
        sys.exit("fashion_mnist.py: only data.reader idx is mirrored")
    seed = int(cfg.get("seed", 0))
    epochs = args.epochs or int(cfg["epochs"])
    batch_size = int(cfg.get("batch_size", 32))
    eval_batch = max(batch_size, 256)
    torch.manual_seed(seed)

    # Data: uint8 [N, 28, 28] -> float32 [N, 1, 28, 28] in [0, 1].
    x_all = torch.from_numpy(read_idx(data["train"]["inputs"]).astype(np.float32) / 255).unsqueeze(1)
    y_all = torch.from_numpy(read_idx(data["train"]["targets"]).astype(np.int64))
    x_test = torch.from_numpy(read_idx(data["test"]["inputs"]).astype(np.float32) / 255).unsqueeze(1)
    y_test = torch.from_numpy(read_idx(data["test"]["targets"]).astype(np.int64))
    classes = int(max(y_all.max(), y_test.max())) + 1
    n_val = round(len(x_all) * float(data.get("validation_split", 0)))
    order = torch.from_numpy(np.random.default_rng(seed).permutation(len(x_all)))
    x_train, y_train = x_all[order[n_val:]], y_all[order[n_val:]]
    x_val, y_val = x_all[order[:n_val]], y_all[order[:n_val]]
    del x_all, y_all, order
    if data.get("normalize", False):
        mean, std = x_train.mean().item(), x_train.std(unbiased=False).item()
        x_train, x_val, x_test = ((t - mean) / std for t in (x_train, x_val, x_test))
    flip_p = 0.0
    for transform in data.get("transforms", []) or []:
        if transform.get("type") != "random_horizontal_flip" or set(transform) - {"type", "p"}:
            sys.exit(f"fashion_mnist.py: transform {transform} not mirrored")
        flip_p = float(transform.get("p", 0.5))

    model_cfg = cfg["model"]
    options = model_cfg.get("options", {}) or {}
    if model_cfg.get("preset") != "cnn" or set(options) - {"dropout"}:
        sys.exit("fashion_mnist.py: only the cnn preset (option dropout) is mirrored")
    model = cnn(x_train.shape[1], x_train.shape[2:], classes, float(options.get("dropout", 0.25)))
    loss_name = cfg.get("loss", "cross_entropy")
    if loss_name not in ("cross_entropy", "auto") and loss_name != {"name": "cross_entropy"}:
        sys.exit("fashion_mnist.py: only the cross_entropy loss is mirrored")

    opt_cfg = dict(cfg.get("optimizer", {}))
    name = opt_cfg.pop("name", "adam")
    refuse_unknown(opt_cfg, {"lr", "weight_decay", "betas", "eps"}, "optimizer")
    if name not in ("adam", "adamw"):
        sys.exit(f"fashion_mnist.py: optimizer {name} not mirrored")
    lr = float(opt_cfg.get("lr", 1e-3))
    kwargs = dict(lr=lr, betas=tuple(opt_cfg.get("betas", (0.9, 0.999))), eps=float(opt_cfg.get("eps", 1e-8)),
                  weight_decay=float(opt_cfg.get("weight_decay", 1e-2 if name == "adamw" else 0.0)))
    optimizer = (torch.optim.AdamW if name == "adamw" else torch.optim.Adam)(model.parameters(), **kwargs)

    steps_per_epoch = (len(x_train) + batch_size - 1) // batch_size
    sched_cfg = dict(cfg.get("schedule", {}) or {})
    sched_name = sched_cfg.pop("name", "none")
    scheduler = None
    if sched_name == "onecycle":
        refuse_unknown(sched_cfg, {"max_lr", "pct_start", "anneal", "div_factor", "final_div_factor"}, "schedule")
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=float(sched_cfg.get("max_lr", lr)), epochs=epochs, steps_per_epoch=steps_per_epoch,
            pct_start=float(sched_cfg.get("pct_start", 0.3)), anneal_strategy=sched_cfg.get("anneal", "cos"),
            div_factor=float(sched_cfg.get("div_factor", 25.0)),
            final_div_factor=float(sched_cfg.get("final_div_factor", 1e4)))
    elif sched_name != "none":
        sys.exit(f"fashion_mnist.py: schedule {sched_name} not mirrored")

    print(f"pytorch {torch.__version__}: cnn on {len(x_train)} examples, {len(x_val)} for validation; "
          f"{epochs} epochs, batch {batch_size}, {name} lr {lr}, {sched_name}; "
          f"{torch.get_num_threads()} torch threads, OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}",
          flush=True)
    generator = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    for epoch in range(epochs):
        epoch_start = time.perf_counter()
        model.train()
        order = torch.randperm(len(x_train), generator=generator)
        loss_sum, correct = 0.0, 0
        for i in range(0, len(x_train), batch_size):
            index = order[i:i + batch_size]
            x, y = x_train[index], y_train[index]
            if flip_p > 0:
                flip = torch.rand(len(x), generator=generator) < flip_p
                x[flip] = x[flip].flip(-1)
            optimizer.zero_grad()
            out = model(x)
            loss = F.cross_entropy(out, y)
            loss.backward()
            optimizer.step()
            if scheduler:
                scheduler.step()
            loss_sum += loss.item() * len(x)
            correct += (out.argmax(1) == y).sum().item()
        line = f"epoch {epoch + 1}/{epochs}: loss {loss_sum / len(x_train):.4f}, accuracy {correct / len(x_train):.4f}"
        if len(x_val):
            val_acc, val_loss = evaluate(model, x_val, y_val, eval_batch)
            line += f", val_loss {val_loss:.4f}, val_accuracy {val_acc:.4f}"
        print(f"{line} ({time.perf_counter() - epoch_start:.1f} s)", flush=True)
    seconds = time.perf_counter() - start
    test_acc, test_loss = evaluate(model, x_test, y_test, eval_batch)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"trained {epochs} epochs in {seconds:.1f} s; test accuracy {test_acc:.4f}, test loss {test_loss:.4f}; "
          f"peak RSS {peak_mb:.0f} MB")
    print(f"RESULT training_seconds {seconds:.3f}")
    print(f"RESULT test_accuracy {test_acc:.4f}")
    print(f"RESULT peak_rss_mb {peak_mb:.1f}")


if __name__ == "__main__":
    main()
