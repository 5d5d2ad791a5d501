"""PyTorch's side of transformer.cpp: forward and backward (input and parameter gradients) of
one nn.TransformerEncoderLayer(256, 4, dim_feedforward=1024) on 128 steps at batch 32, in
[S, N, E] and batch_first layouts with dropout 0, and in [S, N, E] with dropout 0.1 in
training mode; the forward alone under torch.no_grad() as INFO lines.
Usage: transformer.py [--threads N]"""
import torch
from torch import nn

from timing import configure_threads, report, seconds_per_call

MODEL, HEADS, FEED_FORWARD, SEQ, BATCH = 256, 4, 1024, 128, 32


def encoder_layer(name, batch_first, dropout):
    layer = nn.TransformerEncoderLayer(MODEL, HEADS, dim_feedforward=FEED_FORWARD, dropout=dropout,
                                       batch_first=batch_first)
    shape = (BATCH, SEQ, MODEL) if batch_first else (SEQ, BATCH, MODEL)
    x = (torch.rand(*shape) * 2 - 1).requires_grad_()
    g = torch.rand(*shape) * 2 - 1
    wrt = list(layer.parameters()) + [x]

    def forward():
        with torch.no_grad():
            layer(x)
    print(f"INFO {name}.forward {seconds_per_call(forward):.6e}")
    report(name, seconds_per_call(lambda: torch.autograd.grad([layer(x)], wrt, [g]), 0.5))


def main():
    configure_threads()
    encoder_layer("transformer.encoder_layer", False, 0.0)
    encoder_layer("transformer.encoder_layer_batch_first", True, 0.0)
    encoder_layer("transformer.encoder_layer_dropout", False, 0.1)


if __name__ == "__main__":
    main()
