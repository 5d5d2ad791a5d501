"""PyTorch reference for cajal's recurrent layer tests (tests/nn/rnn_test.cpp).

OUT_DIR/manifest.txt has one JSON object per line:

    {"id": "c0", "module": "nn.LSTM(5, 7, num_layers=2)", "cell": false, "train": false,
     "h0": true, "c0": true, "lengths": false}

and beside it <id>_param_<name>.npy (the cajal module's parameters), <id>_x.npy, <id>_h0.npy
and <id>_c0.npy when given, <id>_lengths.npy for variable-length batches, and the upstream
gradients <id>_gout.npy, <id>_gh.npy and <id>_gc.npy (LSTM) of the output and the final
states. Layers with lengths run on torch's packed sequence (pack_padded_sequence with
enforce_sorted=False, padded back to the input's length). The script writes <id>_out.npy,
<id>_hn.npy, <id>_cn.npy, the gradients <id>_gx.npy, <id>_gh0.npy, <id>_gc0.npy and
<id>_grad_<name>.npy for each parameter.

usage: rnn_reference.py OUT_DIR
"""
import json
import os
import sys

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


def load(out_dir, name):
    return torch.from_numpy(np.load(os.path.join(out_dir, name + ".npy")))


def save(out_dir, name, t):
    np.save(os.path.join(out_dir, name + ".npy"), t.detach().numpy())


def leaf(out_dir, name):
    return load(out_dir, name).requires_grad_()


def run_layer(module, case, x, state, lengths):
    batch_first = module.batch_first
    if lengths is None:
        return module(x, state)
    packed = pack_padded_sequence(x, lengths, batch_first=batch_first, enforce_sorted=False)
    out, final = module(packed, state)
    steps = x.shape[1] if batch_first else x.shape[0]
    out, _ = pad_packed_sequence(out, batch_first=batch_first, total_length=steps)
    return out, final


def run_case(out_dir, case):
    cid = case["id"]
    module = eval(case["module"], {"nn": nn, "torch": torch})
    prefix = cid + "_param_"
    state = {f[len(prefix):-4]: load(out_dir, f[:-4]) for f in os.listdir(out_dir) if f.startswith(prefix)}
    module.load_state_dict(state, strict=True)
    module.train(case["train"])
    lstm = isinstance(module, (nn.LSTM, nn.LSTMCell))
    x = leaf(out_dir, cid + "_x")
    h0 = leaf(out_dir, cid + "_h0") if case["h0"] else None
    c0 = leaf(out_dir, cid + "_c0") if case["c0"] else None
    given = (h0, c0) if lstm and h0 is not None else h0
    if case["cell"]:
        result = module(x, given)
        out, h_n, c_n = (None, *result) if lstm else (None, result, None)
    else:
        lengths = load(out_dir, cid + "_lengths") if case["lengths"] else None
        out, final = run_layer(module, case, x, given, lengths)
        h_n, c_n = final if lstm else (final, None)
    loss = (h_n * load(out_dir, cid + "_gh")).sum()
    if out is not None:
        loss = loss + (out * load(out_dir, cid + "_gout")).sum()
        save(out_dir, cid + "_out", out)
    if c_n is not None:
        loss = loss + (c_n * load(out_dir, cid + "_gc")).sum()
        save(out_dir, cid + "_cn", c_n)
    save(out_dir, cid + "_hn", h_n)
    loss.backward()
    for name, t in (("gx", x), ("gh0", h0), ("gc0", c0)):
        if t is not None:
            save(out_dir, cid + "_" + name, t.grad)
    for name, p in module.named_parameters():
        save(out_dir, f"{cid}_grad_{name}", p.grad if p.grad is not None else torch.zeros_like(p))


def main(out_dir):
    torch.manual_seed(0)
    with open(os.path.join(out_dir, "manifest.txt")) as manifest:
        for line in manifest:
            run_case(out_dir, json.loads(line))


if __name__ == "__main__":
    main(sys.argv[1])
