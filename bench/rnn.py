"""PyTorch's side of rnn.cpp: a 2-layer LSTM and a 2-layer GRU (input 256, hidden 256) on a
sequence of 64 steps at batch 32, forward and backward (the gradients of the input and every
parameter for a given output gradient), and the forward alone under torch.no_grad().
Usage: rnn.py [--threads N]"""
import torch
from torch import nn

from timing import configure_threads, report, seconds_per_call

STEPS, BATCH, INPUT, HIDDEN, LAYERS = 64, 32, 256, 256, 2


def measure(name, layer):
    x = (torch.rand(STEPS, BATCH, INPUT) * 2 - 1).requires_grad_()
    g = torch.rand(STEPS, BATCH, HIDDEN) * 2 - 1
    wrt = list(layer.parameters()) + [x]

    def forward():
        with torch.no_grad():
            layer(x)
    report(f"{name}.forward", seconds_per_call(forward))
    report(f"{name}.forward_backward", seconds_per_call(lambda: torch.autograd.grad([layer(x)[0]], wrt, [g])))


def main():
    configure_threads()
    measure("rnn.lstm", nn.LSTM(INPUT, HIDDEN, num_layers=LAYERS))
    measure("rnn.gru", nn.GRU(INPUT, HIDDEN, num_layers=LAYERS))


if __name__ == "__main__":
    main()
