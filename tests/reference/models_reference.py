"""PyTorch twins of cajal's model presets and layer-list models (tests/models/presets_test.cpp).

usage: models_reference.py DIR CASE...
  for each CASE: builds the torch model MODELS[CASE], loads DIR/cajal_CASE.safetensors into it
  (load_state_dict strict: every name and shape must match), runs it in eval mode on
  DIR/x_CASE.npy and writes DIR/torch_logits_CASE.npy and DIR/torch_params_CASE.npy (the
  parameter count, as torch counts it).
"""
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_reference import read_safetensors  # noqa: E402


def mlp(in_features, classes, hidden=(256, 128), dropout=0.0, act=nn.ReLU):
    layers = [nn.Flatten()]
    width = in_features
    for h in hidden:
        layers += [nn.Linear(width, h), act()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = h
    layers.append(nn.Linear(width, classes))
    return nn.Sequential(*layers)


def lenet5(channels, size, classes):
    flat = 16 * ((size // 2 - 4) // 2) ** 2
    return nn.Sequential(nn.Conv2d(channels, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5),
                         nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(flat, 120), nn.ReLU(),
                         nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, classes))


def cnn(channels, size, classes, widths=(32, 64), hidden=128, dropout=0.25):
    # By default the issue-3 benchmark network, as bench/ writes it.
    c1, c2 = widths
    return nn.Sequential(nn.Conv2d(channels, c1, 3, padding=1), nn.BatchNorm2d(c1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(c1, c2, 3, padding=1), nn.BatchNorm2d(c2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(c2 * (size // 4) ** 2, hidden), nn.ReLU(), nn.Dropout(dropout),
                         nn.Linear(hidden, classes))


class BasicBlock(nn.Module):
    """torchvision.models.resnet.BasicBlock's structure and names."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + (self.downsample(x) if self.downsample is not None else x))


class ResNet(nn.Module):
    """He et al.'s CIFAR ResNet (depth = 6n + 2 for three stages), torchvision's names."""

    def __init__(self, channels, classes, depth=20, widths=(16, 32, 64)):
        super().__init__()
        blocks = (depth - 2) // (2 * len(widths))
        self.conv1 = nn.Conv2d(channels, widths[0], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        cin = widths[0]
        for s, w in enumerate(widths):
            stage = []
            for b in range(blocks):
                stage.append(BasicBlock(cin, w, 2 if s > 0 and b == 0 else 1))
                cin = w
            setattr(self, "layer%d" % (s + 1), nn.Sequential(*stage))
        self.stages = len(widths)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        for s in range(self.stages):
            out = getattr(self, "layer%d" % (s + 1))(out)
        return self.fc(out.mean(dim=(2, 3)))


def layer_list():
    # The list of layers that presets_test.cpp gives build_layers, on inputs [2, 12, 12].
    return nn.Sequential(nn.Conv2d(2, 8, 5, padding="same"), nn.BatchNorm2d(8), nn.LeakyReLU(0.1),
                         nn.AvgPool2d(2), nn.Conv2d(8, 4, 3, stride=2, padding=1, bias=False),
                         nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.BatchNorm1d(16), nn.Dropout(0.1),
                         nn.Linear(16, 6), nn.Tanh())


MODELS = {
    "mlp": lambda: mlp(784, 10),
    "mlp_gelu_dropout": lambda: mlp(192, 5, hidden=(64,), dropout=0.2, act=nn.GELU),
    "lenet5": lambda: lenet5(1, 28, 10),
    "lenet5_rgb32": lambda: lenet5(3, 32, 7),
    "cnn": lambda: cnn(1, 28, 10),
    "cnn_rgb32": lambda: cnn(3, 32, 10),
    "cnn_widths_rgb20": lambda: cnn(3, 20, 7, widths=(8, 12), hidden=20, dropout=0.4),
    "resnet20": lambda: ResNet(1, 10),
    "resnet8_wide_rgb32": lambda: ResNet(3, 10, depth=8, widths=(32, 64, 128)),
    "layers": layer_list,
}


def main(directory, *cases):
    for case in cases:
        tensors, _, _, _ = read_safetensors(os.path.join(directory, "cajal_%s.safetensors" % case))
        model = MODELS[case]()
        model.load_state_dict(tensors, strict=True)  # raises on a missing, unexpected or misshapen key
        model.eval()
        x = torch.from_numpy(np.load(os.path.join(directory, "x_%s.npy" % case)))
        with torch.no_grad():
            np.save(os.path.join(directory, "torch_logits_%s.npy" % case), model(x).numpy())
        count = sum(p.numel() for p in model.parameters())
        np.save(os.path.join(directory, "torch_params_%s.npy" % case), np.array(count, dtype=np.int64))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], *sys.argv[2:]))
