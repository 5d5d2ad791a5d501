"""PyTorch reference for cajal's layer tests (tests/nn/layer_parity.h).

The manifest in OUT_DIR has one line per case:

    <id> <train|eval> <number of inputs> <Python expression building the torch.nn module>

and beside it <id>_param_<name>.npy (the cajal module's state_dict), <id>_in<k>.npy and
<id>_gout.npy (the upstream gradient). For each case the torch module is built, the state
loaded strictly (so parameter and buffer names must equal torch's), forward and backward run
in the given mode, and written: <id>_out.npy, <id>_gin<k>.npy for floating inputs,
<id>_grad_<name>.npy for each parameter that received a gradient, and <id>_after_<name>.npy
with the state after the step (layers such as Embedding(max_norm) change it in forward).

usage: nn_layers_reference.py OUT_DIR
"""
import os
import sys

import numpy as np
import torch
from torch import nn


def load(out_dir, name):
    return torch.from_numpy(np.load(os.path.join(out_dir, name + ".npy")))


def save(out_dir, name, t):
    np.save(os.path.join(out_dir, name + ".npy"), t.detach().numpy())


def run_case(out_dir, case_id, mode, n_inputs, expr):
    module = eval(expr, {"nn": nn, "torch": torch})
    prefix = case_id + "_param_"
    state = {f[len(prefix):-4]: load(out_dir, f[:-4]) for f in os.listdir(out_dir) if f.startswith(prefix)}
    module.load_state_dict(state, strict=True)
    module.train(mode == "train")
    inputs = [load(out_dir, f"{case_id}_in{k}") for k in range(n_inputs)]
    for x in inputs:
        if x.is_floating_point():
            x.requires_grad_()
    out = module(*inputs)
    out.backward(load(out_dir, case_id + "_gout"))
    save(out_dir, case_id + "_out", out)
    for k, x in enumerate(inputs):
        if x.is_floating_point():
            save(out_dir, f"{case_id}_gin{k}", x.grad if x.grad is not None else torch.zeros_like(x))
    for name, p in module.named_parameters():
        if p.grad is not None:
            save(out_dir, f"{case_id}_grad_{name}", p.grad)
    for name, t in module.state_dict().items():
        save(out_dir, f"{case_id}_after_{name}", t)


def main(out_dir):
    torch.manual_seed(0)
    with open(os.path.join(out_dir, "manifest.txt")) as manifest:
        for line in manifest:
            case_id, mode, n_inputs, expr = line.rstrip("\n").split(" ", 3)
            run_case(out_dir, case_id, mode, int(n_inputs), expr)


if __name__ == "__main__":
    main(sys.argv[1])
