"""PyTorch versions of cajal's sequence presets and layer kinds (tests/models/sequence_test.cpp).

usage: sequence_models_reference.py DIR...
  For each DIR (one torch start for all):
  DIR/config.json   {"kind": ..., sizes...}: which model to build (see build() below)
  DIR/params/*.npy  cajal's state_dict, one file per tensor named as the tensor
  DIR/input.npy     a batch of inputs
  Builds the same model in torch.nn, loads the parameters (a sinusoidal positional table, a
  buffer, is computed here instead, so the comparison checks it too), runs it in eval mode
  and writes DIR/output.npy.
"""
import glob
import json
import math
import os
import sys

import numpy as np
import torch
from torch import nn

torch.set_default_dtype(torch.float32)


class Sinusoidal(nn.Module):
    """The PyTorch tutorial's PositionalEncoding, batch first, without dropout."""

    def __init__(self, d_model, max_len):
        super().__init__()
        position = torch.arange(max_len, dtype=torch.float64).unsqueeze(1)
        div = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float64) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, d_model, dtype=torch.float64)
        pe[:, 0::2] = torch.sin(position * div)
        pe[:, 1::2] = torch.cos(position * div)
        self.table = pe.float()

    def forward(self, x):
        return x + self.table[: x.size(1)]


class Learned(nn.Module):
    def __init__(self, max_len, d_model):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(max_len, d_model))

    def forward(self, x):
        return x + self.weight[: x.size(1)]


class Causal(nn.Module):
    """A TransformerEncoderLayer given the square subsequent mask (step t sees steps <= t)."""

    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, x):
        mask = nn.Transformer.generate_square_subsequent_mask(x.size(1))
        return self.layer(x, src_mask=mask)


class Final(nn.Module):
    """A recurrent layer's final state of its last layer, both directions side by side."""

    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn

    def forward(self, x):
        _, state = self.rnn(x)
        h_n = state[0] if isinstance(state, tuple) else state
        d = 2 if self.rnn.bidirectional else 1
        return torch.cat(list(h_n[-d:]), dim=1)


class Sequence(nn.Module):
    """A recurrent layer's output sequence."""

    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn

    def forward(self, x):
        return self.rnn(x)[0]


class Lambda(nn.Module):
    def __init__(self, f):
        super().__init__()
        self.f = f

    def forward(self, x):
        return self.f(x)


def build(c):
    k = c["kind"]
    if k == "char_lstm":
        return [nn.Embedding(c["vocab"], c["embedding"]),
                Sequence(nn.LSTM(c["embedding"], c["hidden"], c["layers"], batch_first=True)),
                nn.Dropout(0.1), nn.Linear(c["hidden"], c["vocab"])]
    if k == "char_transformer":
        d = c["d_model"]
        layers = [nn.Embedding(c["vocab"], d), Sinusoidal(d, c["seq_len"])]
        for _ in range(c["layers"]):
            layers.append(Causal(nn.TransformerEncoderLayer(d, c["heads"], c["ff"], 0.0, activation="gelu",
                                                            batch_first=True, norm_first=True)))
        return layers + [nn.LayerNorm(d), nn.Linear(d, c["vocab"])]
    if k == "rnn_classifier":
        rnn = (nn.GRU if c["cell"] == "gru" else nn.LSTM)(c["width"], c["hidden"], c["layers"], batch_first=True,
                                                           bidirectional=c["bidirectional"])
        d = 2 if c["bidirectional"] else 1
        return [Lambda(lambda x: x.reshape(x.size(0), x.size(2), x.size(3))), Final(rnn),
                nn.Linear(d * c["hidden"], c["classes"])]
    if k == "lstm_forecaster":
        return [Final(nn.LSTM(c["features"], c["hidden"], c["layers"], batch_first=True)),
                nn.Linear(c["hidden"], c["horizon"])]
    if k == "layers":  # embedding, learned positions, causal encoder, bidirectional LSTM, last step, linear
        d = c["dim"]
        return [nn.Embedding(c["vocab"], d), Learned(c["seq_len"], d),
                Causal(nn.TransformerEncoderLayer(d, c["heads"], c["ff"], 0.0, batch_first=True)),
                Sequence(nn.LSTM(d, c["hidden"], batch_first=True, bidirectional=True)),
                Lambda(lambda x: x[:, -1]), nn.Linear(2 * c["hidden"], c["out"])]
    raise ValueError(k)


def run(directory):
    layers = build(json.load(open(os.path.join(directory, "config.json"))))
    model = nn.Sequential(*layers)
    # cajal names a wrapped layer's tensors as the layer's own: "1.weight_ih_l0" is "1.rnn.weight_ih_l0" here.
    state = {}
    for path in glob.glob(os.path.join(directory, "params", "*.npy")):
        name = os.path.basename(path)[:-4]
        index, rest = name.split(".", 1)
        if rest == "pe":
            continue
        inner = layers[int(index)]
        prefix = "rnn." if isinstance(inner, (Final, Sequence)) else "layer." if isinstance(inner, Causal) else ""
        state[index + "." + prefix + rest] = torch.from_numpy(np.load(path))
    model.load_state_dict(state, strict=True)
    model.eval()
    x = torch.from_numpy(np.load(os.path.join(directory, "input.npy")))
    with torch.no_grad():
        out = model(x)
    np.save(os.path.join(directory, "output.npy"), out.numpy())


if __name__ == "__main__":  # onnx_import_reference.py imports build()
    for directory in sys.argv[1:]:
        run(directory)
