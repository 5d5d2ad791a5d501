"""The convolutions of bench/conv_impl.cpp in PyTorch (which runs them through oneDNN 2.6.3
too): forward alone and forward + backward, the same shapes, inputs and timing loop.

usage: conv_impl.py [--threads N]
"""
import torch
import torch.nn.functional as F

from timing import configure_threads, report, seconds_per_call

SHAPES = [
    ("cnn1_1x32_28", (128, 1, 28, 28), (32, 1, 3, 3), dict(padding=1), False),
    ("cnn2_32x64_14", (128, 32, 14, 14), (64, 32, 3, 3), dict(padding=1), True),
    ("resnet_64x64_32", (64, 64, 32, 32), (64, 64, 3, 3), dict(padding=1), True),
    ("resnet_64x64_16", (64, 64, 16, 16), (64, 64, 3, 3), dict(padding=1), True),
    ("resnet_64x128_s2_16", (64, 64, 16, 16), (128, 64, 3, 3), dict(stride=2, padding=1), True),
]


def main():
    configure_threads()
    for name, xs, ws, kwargs, input_grad in SHAPES:
        x = (torch.rand(xs) * 2 - 1).requires_grad_(input_grad)
        w = ((torch.rand(ws) * 2 - 1) * 0.1).requires_grad_()
        b = (torch.rand(ws[0]) * 2 - 1).requires_grad_()
        gy = torch.rand(F.conv2d(x, w, b, **kwargs).shape) * 2 - 1

        def forward():
            with torch.no_grad():
                F.conv2d(x, w, b, **kwargs)

        def forward_backward():
            F.conv2d(x, w, b, **kwargs).backward(gy)
            w.grad = b.grad = x.grad = None

        report(f"conv.{name}.forward", seconds_per_call(forward))
        report(f"conv.{name}.forward_backward", seconds_per_call(forward_backward))


if __name__ == "__main__":
    main()
