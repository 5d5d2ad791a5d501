"""The `cajal train` Fashion-MNIST job in PyTorch: the same network, data, split,
normalization, augmentation, optimizer, schedule, batch size and epochs, read from the
same YAML config (examples/fashion_mnist_cnn.yaml by default), so that
bench/fashion_mnist.sh can print the two side by side.

What it mirrors from cajal (src/cajal/cli/train.cpp, data_config.cpp, optim_config.cpp,
models/presets.cpp):
- data: Debian's IDX files (read here with numpy), pixels / 255; `validation_split` of the
  training set held out (a seeded permutation: the same size, not the same examples as
  cajal's); `normalize: true` divides by the training split's mean and (population) std;
  training batches shuffled every epoch, the last one smaller; validation and test in
  batches of max(batch_size, 256).
- transforms, in the config's order, drawn per example after normalization:
  `random_horizontal_flip` (p), `random_crop` (padding with a constant fill, then a crop of
  the image's size at a uniform position) and `random_erasing` (torchvision's algorithm:
  p, scale, ratio, a constant value).
- model: the `cnn` preset (channels, hidden, dropout; by default conv 1->32 + BN + ReLU +
  pool, conv 32->64 + BN + ReLU + pool, linear 3136->128 + ReLU + dropout, linear 128->10)
  or the `resnet` preset (depth, widths: conv3x3 + BN + ReLU, stages of basic blocks with
  stride-2 projection shortcuts, global average pool, linear), as tests/reference/
  models_reference.py writes them; PyTorch's default initialization, which is also cajal's.
- optimizer adam/adamw (lr, weight_decay, betas, eps); schedule onecycle (max_lr, default
  the optimizer's lr; pct_start, anneal, div_factor, final_div_factor), stepped per batch,
  cycling Adam's beta1 as torch.optim.lr_scheduler.OneCycleLR does; cross_entropy with
  label_smoothing. `callbacks: {checkpoint: ...}` only writes files in cajal (the test set is
  evaluated with the last weights either way), so it is accepted and ignored here.
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
import math
import os
import resource
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "reference"))
# The tests' PyTorch twins of cajal's presets (checked there against cajal, name for name) and
# their reader of cajal's weight files.
from models_reference import ResNet, cnn  # noqa: E402
from safetensors_reference import read_safetensors  # noqa: E402


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


def read_transforms(specs):
    """The config's training transforms as functions of (batch, generator), in order."""
    transforms = []
    for spec in specs or []:
        kind = spec.get("type")
        if kind == "random_horizontal_flip":
            refuse_unknown(spec, {"type", "p"}, "transform random_horizontal_flip")
            transforms.append(lambda x, g, p=float(spec.get("p", 0.5)): horizontal_flip(x, g, p))
        elif kind == "random_crop":
            refuse_unknown(spec, {"type", "padding", "fill"}, "transform random_crop")
            transforms.append(lambda x, g, pad=int(spec.get("padding", 0)), fill=float(spec.get("fill", 0.0)):
                              random_crop(x, g, pad, fill))
        elif kind == "random_erasing":
            refuse_unknown(spec, {"type", "p", "scale", "ratio", "value"}, "transform random_erasing")
            transforms.append(lambda x, g, p=float(spec.get("p", 0.5)), scale=spec.get("scale", (0.02, 0.33)),
                              ratio=spec.get("ratio", (0.3, 3.3)), value=float(spec.get("value", 0.0)):
                              random_erasing(x, g, p, scale, ratio, value))
        else:
            sys.exit(f"fashion_mnist.py: transform {spec} not mirrored")
    return transforms


def uniform(g):
    return torch.rand(1, generator=g).item()


def horizontal_flip(x, g, p):
    flip = torch.rand(len(x), generator=g) < p
    x[flip] = x[flip].flip(-1)
    return x


def random_crop(x, g, padding, fill):
    """Pads every side by `padding`, then crops each example back to its size at a uniform offset."""
    if padding == 0:
        return x
    h, w = x.shape[-2:]
    padded = F.pad(x, (padding,) * 4, value=fill)
    top = torch.randint(0, 2 * padding + 1, (len(x),), generator=g)
    left = torch.randint(0, 2 * padding + 1, (len(x),), generator=g)
    return torch.stack([padded[i, :, t:t + h, l:l + w] for i, (t, l) in enumerate(zip(top.tolist(), left.tolist()))])


def random_erasing(x, g, p, scale, ratio, value):
    """torchvision's RandomErasing per example: up to 10 tries for a rectangle that fits."""
    h, w = x.shape[-2:]
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for i in range(len(x)):
        if uniform(g) >= p:
            continue
        for _ in range(10):
            area = h * w * (scale[0] + (scale[1] - scale[0]) * uniform(g))
            aspect = math.exp(log_ratio[0] + (log_ratio[1] - log_ratio[0]) * uniform(g))
            eh, ew = round(math.sqrt(area * aspect)), round(math.sqrt(area / aspect))
            if eh < h and ew < w:
                top = int(torch.randint(0, h - eh + 1, (1,), generator=g))
                left = int(torch.randint(0, w - ew + 1, (1,), generator=g))
                x[i, :, top:top + eh, left:left + ew] = value
                break
    return x


def evaluate(model, x, y, batch_size, label_smoothing=0.0):
    """(accuracy, mean loss) in eval mode; the loss is the training loss, label smoothing
    included, as cajal's Trainer reports it."""
    model.eval()
    correct, loss_sum = 0, 0.0
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            out = model(x[i:i + batch_size])
            loss_sum += F.cross_entropy(out, y[i:i + batch_size], reduction="sum", label_smoothing=label_smoothing).item()
            correct += (out.argmax(1) == y[i:i + batch_size]).sum().item()
    return correct / len(x), loss_sum / len(x)


def evaluate_cajal_weights(path, model, test_files, batch_size, label_smoothing):
    """Loads cajal's trained weights into `model` (the names must match one to one) and
    evaluates the test set normalized with the mean and std the file records."""
    tensors, metadata, _, _ = read_safetensors(path)
    model.load_state_dict(tensors, strict=True)
    x = torch.from_numpy(read_idx(test_files["inputs"]).astype(np.float32) / 255).unsqueeze(1)
    y = torch.from_numpy(read_idx(test_files["targets"]).astype(np.int64))
    if "cajal.normalize_mean" in metadata:
        mean = torch.tensor(yaml.safe_load(metadata["cajal.normalize_mean"])).view(1, -1, 1, 1)
        std = torch.tensor(yaml.safe_load(metadata["cajal.normalize_std"])).view(1, -1, 1, 1)
        x = (x - mean) / std
    accuracy, loss = evaluate(model, x, y, batch_size, label_smoothing)
    print(f"cajal's weights ({path}) in the PyTorch network: test accuracy {accuracy:.4f}, test loss {loss:.4f}")
    print(f"RESULT cajal_weights_test_accuracy {accuracy:.4f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=os.path.join(HERE, "..", "examples", "fashion_mnist_cnn.yaml"))
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    parser.add_argument("--epochs", type=int, help="override the config's epochs (smoke runs)")
    parser.add_argument("--cajal-weights", metavar="FILE",
                        help="instead of training, evaluate a model.safetensors that `cajal train` wrote for the "
                             "same config in this script's network (a check that the two networks are the same)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    with open(args.config) as f:
        cfg = yaml.safe_load(f)
    refuse_unknown(cfg, {"data", "model", "loss", "optimizer", "schedule", "epochs", "batch_size", "seed",
                         "num_workers", "output", "callbacks"}, "config")
    refuse_unknown(cfg.get("callbacks", {}) or {}, {"checkpoint"}, "callbacks")
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
    transforms = read_transforms(data.get("transforms"))

    model_cfg = cfg["model"]
    options = model_cfg.get("options", {}) or {}
    preset = model_cfg.get("preset")
    refuse_unknown(model_cfg, {"preset", "options"}, "model")
    in_channels, height, width = x_train.shape[1:]
    if height != width:
        sys.exit(f"fashion_mnist.py: images of {height}x{width}: only square images are mirrored")
    if preset == "cnn":
        refuse_unknown(options, {"channels", "hidden", "dropout"}, "cnn options")
        model = cnn(in_channels, height, classes, widths=[int(c) for c in options.get("channels", [32, 64])],
                    hidden=int(options.get("hidden", 128)), dropout=float(options.get("dropout", 0.25)))
    elif preset == "resnet":
        refuse_unknown(options, {"depth", "widths"}, "resnet options")
        depth, widths = int(options.get("depth", 20)), [int(w) for w in options.get("widths", [16, 32, 64])]
        if depth < 2 + 2 * len(widths) or (depth - 2) % (2 * len(widths)):
            sys.exit(f"fashion_mnist.py: resnet depth {depth} does not fit {len(widths)} stages")
        model = ResNet(in_channels, classes, depth=depth, widths=widths)
    else:
        sys.exit(f"fashion_mnist.py: preset {preset} not mirrored (cnn and resnet are)")
    loss_cfg = cfg.get("loss", "cross_entropy")
    loss_cfg = dict(loss_cfg) if isinstance(loss_cfg, dict) else {"name": loss_cfg}
    refuse_unknown(loss_cfg, {"name", "label_smoothing"}, "loss")
    if loss_cfg["name"] not in ("cross_entropy", "auto"):
        sys.exit("fashion_mnist.py: only the cross_entropy loss is mirrored")
    label_smoothing = float(loss_cfg.get("label_smoothing", 0.0))
    if args.cajal_weights:
        evaluate_cajal_weights(args.cajal_weights, model, data["test"], eval_batch, label_smoothing)
        return

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

    print(f"pytorch {torch.__version__}: {preset} on {len(x_train)} examples, {len(x_val)} for validation; "
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
            for transform in transforms:
                x = transform(x, generator)
            optimizer.zero_grad()
            out = model(x)
            loss = F.cross_entropy(out, y, label_smoothing=label_smoothing)
            loss.backward()
            optimizer.step()
            if scheduler:
                scheduler.step()
            loss_sum += loss.item() * len(x)
            correct += (out.argmax(1) == y).sum().item()
        line = f"epoch {epoch + 1}/{epochs}: loss {loss_sum / len(x_train):.4f}, accuracy {correct / len(x_train):.4f}"
        if len(x_val):
            val_acc, val_loss = evaluate(model, x_val, y_val, eval_batch, label_smoothing)
            line += f", val_loss {val_loss:.4f}, val_accuracy {val_acc:.4f}"
        print(f"{line} ({time.perf_counter() - epoch_start:.1f} s)", flush=True)
    seconds = time.perf_counter() - start
    test_acc, test_loss = evaluate(model, x_test, y_test, eval_batch, label_smoothing)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"trained {epochs} epochs in {seconds:.1f} s; test accuracy {test_acc:.4f}, test loss {test_loss:.4f}; "
          f"peak RSS {peak_mb:.0f} MB")
    print(f"RESULT training_seconds {seconds:.3f}")
    print(f"RESULT test_accuracy {test_acc:.4f}")
    print(f"RESULT peak_rss_mb {peak_mb:.1f}")


if __name__ == "__main__":
    main()
