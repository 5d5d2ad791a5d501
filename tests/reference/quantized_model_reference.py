"""PyTorch reference for int8 post-training quantization of a chain of layers
(tests/compress/quantized_model_test.cpp): the cnn preset's twin (models_reference.cnn,
widths 4 and 8, hidden 16, 4 classes, 8x8 images) with random weights and batch-norm
statistics, quantized by torch.ao.quantization with the onednn engine as a user would:
QuantWrapper, fuse_modules([conv, bn, relu] twice, [linear, relu]), qconfig with
MinMaxObserver (quint8, per_tensor_affine) for activations and PerChannelMinMaxObserver
(qint8, per_channel_symmetric) for weights, prepare, three calibration batches, convert.
Writes the float weights (state.<name>.npy), the calibration and test inputs, and what
torch chose: input_qparams, <layer>.weight_codes, <layer>.weight_scale,
<layer>.output_qparams, and the quantized model's outputs on the test inputs
(quantized_out) with the float model's (float_out).

usage: quantized_model_reference.py OUT_DIR
"""
import os
import sys

import numpy as np
import torch
from torch.ao.quantization import QConfig, QuantWrapper, convert, fuse_modules, prepare
from torch.ao.quantization.observer import MinMaxObserver, PerChannelMinMaxObserver

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models_reference import cnn  # noqa: E402

out = sys.argv[1]
torch.manual_seed(20261207)
rng = np.random.default_rng(20261207)
torch.backends.quantized.engine = "onednn"


def save(name, value):
    np.save(os.path.join(out, name + ".npy"), value.detach().numpy() if torch.is_tensor(value) else np.asarray(value))


model = cnn(1, 8, 4, widths=(4, 8), hidden=16)
with torch.no_grad():
    for bn in (model[1], model[5]):
        bn.running_mean.copy_(torch.tensor(rng.normal(0, 0.3, size=bn.num_features)))
        bn.running_var.copy_(torch.tensor(rng.uniform(0.5, 2.0, size=bn.num_features)))
        bn.weight.copy_(torch.tensor(rng.uniform(0.5, 1.5, size=bn.num_features)))
        bn.bias.copy_(torch.tensor(rng.normal(0, 0.3, size=bn.num_features)))
model.eval()
for name, value in model.state_dict().items():
    save("state." + name, value)

calibration = [torch.tensor(rng.normal(0.2, 1.0, size=(20, 1, 8, 8)), dtype=torch.float32) for _ in range(3)]
for k, batch in enumerate(calibration):
    save("calibration%d" % k, batch)
x = torch.tensor(rng.normal(0.2, 1.0, size=(16, 1, 8, 8)), dtype=torch.float32)
save("x", x)
save("float_out", model(x))

wrapped = QuantWrapper(model).eval()
fuse_modules(wrapped.module, [["0", "1", "2"], ["4", "5", "6"], ["9", "10"]], inplace=True)
wrapped.qconfig = QConfig(activation=MinMaxObserver.with_args(dtype=torch.quint8, qscheme=torch.per_tensor_affine),
                          weight=PerChannelMinMaxObserver.with_args(dtype=torch.qint8, qscheme=torch.per_channel_symmetric))
prepare(wrapped, inplace=True)
with torch.no_grad():
    for batch in calibration:
        wrapped(batch)
convert(wrapped, inplace=True)
save("input_qparams", np.array([wrapped.quant.scale.item(), wrapped.quant.zero_point.item()], dtype=np.float32))
for layer in ("0", "4", "9", "12"):
    q = getattr(wrapped.module, layer)
    w = q.weight()
    save(layer + ".weight_codes", w.int_repr())
    save(layer + ".weight_scale", w.q_per_channel_scales().float())
    save(layer + ".output_qparams", np.array([q.scale, q.zero_point], dtype=np.float32))
with torch.no_grad():
    save("quantized_out", wrapped(x))
