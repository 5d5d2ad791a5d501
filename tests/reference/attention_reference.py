"""PyTorch reference for cajal's attention and Transformer tests (tests/nn/attention_parity.h).

The manifest in OUT_DIR has one line per case:

    <id> <train|eval> <number of inputs> <module expression or -> ;; <call expression>

and beside it <id>_param_<name>.npy (the cajal module's state_dict), <id>_in<k>.npy and
<id>_gout.npy (the upstream gradient). The module expression builds the torch.nn module (its
state is loaded strictly, so names must equal torch's), or is "-" for a function case. The
call expression computes the output from `m` (the module) and `i0`, `i1`, ... (the inputs,
floating ones requiring grad); `sdpa` is PyTorch 2's documented reference math of
scaled_dot_product_attention (torch 1.13 has no such function), `both` joins an
(output, weights) pair into one flat tensor and `causal` builds a bool mask, True above the
diagonal (nn.MultiheadAttention's convention), and `sinusoid_table` the PyTorch tutorial's
positional encoding table. Written: <id>_out.npy, <id>_gin<k>.npy for
floating inputs and <id>_grad_<name>.npy for each parameter that received a gradient.

usage: attention_reference.py OUT_DIR
"""
import math
import os
import sys

import numpy as np
import torch
from torch import nn


def load(out_dir, name):
    return torch.from_numpy(np.load(os.path.join(out_dir, name + ".npy")))


def save(out_dir, name, t):
    np.save(os.path.join(out_dir, name + ".npy"), t.detach().numpy())


def sdpa(q, k, v, attn_mask=None, is_causal=False):
    """softmax(q k^T / sqrt(E) + mask) v, bool masks True where attending is allowed."""
    L, S = q.size(-2), k.size(-2)
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    if is_causal:
        attn_mask = torch.ones(L, S, dtype=torch.bool).tril()
    if attn_mask is not None:
        if attn_mask.dtype == torch.bool:
            scores = scores.masked_fill(~attn_mask, float("-inf"))
        else:
            scores = scores + attn_mask
    return torch.softmax(scores, dim=-1) @ v


def sinusoid_table(max_len, d_model):
    """The PyTorch tutorial's PositionalEncoding table (in float64; odd d_model allowed)."""
    position = torch.arange(max_len, dtype=torch.float64).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float64) * (-math.log(10000.0) / d_model))
    pe = torch.zeros(max_len, d_model, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(position * div_term)
    pe[:, 1::2] = torch.cos(position * div_term[: d_model // 2])
    return pe


def both(result):
    return torch.cat([result[0].flatten(), result[1].flatten()])


def causal(L, S=None):
    return torch.ones(L, L if S is None else S, dtype=torch.bool).triu(1)


def run_case(out_dir, case_id, mode, n_inputs, module_expr, call_expr):
    scope = {"nn": nn, "torch": torch, "sdpa": sdpa, "both": both, "causal": causal, "sinusoid_table": sinusoid_table}
    module = None
    if module_expr != "-":
        module = eval(module_expr, scope)
        prefix = case_id + "_param_"
        state = {f[len(prefix):-4]: load(out_dir, f[:-4]) for f in os.listdir(out_dir) if f.startswith(prefix)}
        module.load_state_dict(state, strict=True)
        module.train(mode == "train")
    inputs = [load(out_dir, f"{case_id}_in{k}") for k in range(n_inputs)]
    for x in inputs:
        if x.is_floating_point():
            x.requires_grad_()
    scope.update({f"i{k}": x for k, x in enumerate(inputs)})
    scope["m"] = module
    out = eval(call_expr, scope)
    out.backward(load(out_dir, case_id + "_gout"))
    save(out_dir, case_id + "_out", out)
    for k, x in enumerate(inputs):
        if x.is_floating_point():
            save(out_dir, f"{case_id}_gin{k}", x.grad if x.grad is not None else torch.zeros_like(x))
    if module is not None:
        for name, p in module.named_parameters():
            if p.grad is not None:
                save(out_dir, f"{case_id}_grad_{name}", p.grad)


def main(out_dir):
    torch.manual_seed(0)
    with open(os.path.join(out_dir, "manifest.txt")) as manifest:
        for line in manifest:
            case_id, mode, n_inputs, rest = line.rstrip("\n").split(" ", 3)
            module_expr, call_expr = (part.strip() for part in rest.split(";;"))
            run_case(out_dir, case_id, mode, int(n_inputs), module_expr, call_expr)


if __name__ == "__main__":
    main(sys.argv[1])
