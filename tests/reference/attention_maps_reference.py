"""PyTorch reference for attention maps and rollout (tests/explain/attention_maps_test.cpp).

A two-layer post-norm TransformerEncoder (d_model 8, 2 heads, batch first) on a random
batch [2, 5, 8], one layer with a key padding mask. Each layer's per-head attention weights
come from calling that layer's self_attn with need_weights=True and
average_attn_weights=False on the layer's input (captured by a forward pre-hook: torch's
encoder layer asks for no weights). Rollout is Abnar and Zuidema's: heads averaged,
0.5 A + 0.5 I, rows renormalized, layers multiplied from the input up.

usage: attention_maps_reference.py OUT_DIR
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn

out = sys.argv[1]
torch.manual_seed(20261208)


def save(name, value):
    np.save(os.path.join(out, name + ".npy"), value.detach().numpy() if torch.is_tensor(value) else value)


layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True)
encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False).eval()
x = torch.randn(2, 5, 8)
padding = torch.tensor([[False] * 5, [False, False, False, True, True]])

for name, value in encoder.state_dict().items():
    save("state." + name, value)
save("x", x)
save("padding", padding.to(torch.uint8))

for tag, mask in (("plain", None), ("padded", padding)):
    inputs = []
    hooks = [l.register_forward_pre_hook(lambda m, args: inputs.append(args[0])) for l in encoder.layers]
    with torch.no_grad():
        save(tag + ".output", encoder(x, src_key_padding_mask=mask))
    for h in hooks:
        h.remove()
    maps = []
    with torch.no_grad():
        for l, layer_input in zip(encoder.layers, inputs):
            _, w = l.self_attn(layer_input, layer_input, layer_input, key_padding_mask=mask, need_weights=True,
                               average_attn_weights=False)
            maps.append(w)
    for i, w in enumerate(maps):
        save(f"{tag}.weights{i}", w)
    rollout = None
    for w in maps:
        a = 0.5 * w.double().mean(dim=1) + 0.5 * torch.eye(w.shape[-1], dtype=torch.float64)
        a = a / a.sum(dim=-1, keepdim=True)
        rollout = a if rollout is None else a @ rollout
    save(tag + ".rollout", rollout)
