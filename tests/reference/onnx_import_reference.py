"""Models from elsewhere for the ONNX importer's tests (tests/onnx/import_test.cpp).

usage: onnx_import_reference.py DIR CASE...
  For each model CASE (MODELS below): builds it with random weights (seeded), exports it
  with torch.onnx.export (opset 17, dynamic batch) to DIR/CASE.onnx, and writes
  DIR/CASE_input.npy, a batch of a size other than the traced one (so dynamic axes are
  exercised), and DIR/CASE_output.npy, PyTorch's output on it.
  For each fixture CASE (FIXTURES below): writes DIR/CASE.onnx (and its files) built with
  onnx.helper, for the importer's input handling and its errors.
"""
import os
import sys

import numpy as np
import onnx
import torch
import torchvision
from onnx import TensorProto, helper, numpy_helper
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models_reference import MODELS as PRESETS  # noqa: E402
from sequence_models_reference import build as build_sequence  # noqa: E402


def images(channels, size):
    return lambda batch: torch.randn(batch, channels, size, size)


def tokens(vocab, steps):
    return lambda batch: torch.randint(0, vocab, (batch, steps))


def sequence(config):
    return nn.Sequential(*build_sequence(config))


def layers_twin():
    """The layer-list twin with its padding="same" convolution written as padding=2 (the same
    for a 5x5 kernel at stride 1), which torch 1.13's exporter cannot write. It runs on 16x16
    inputs (the preset test's are 12x12) so that its adaptive pool is a plain 2x2 one, the only
    kind that exporter writes."""
    model = PRESETS["layers"]()
    model[0] = nn.Conv2d(2, 8, 5, padding=2)
    return model


class TwoInTwoOut(nn.Module):
    """Two inputs, two outputs: a sum through a linear layer and a product."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, a, b):
        return self.fc(a + b), a * b


MODELS = {
    "resnet18": (lambda: torchvision.models.resnet18(num_classes=10), images(3, 32)),
    "mobilenet_v2": (lambda: torchvision.models.mobilenet_v2(num_classes=10), images(3, 32)),
    "vit": (lambda: torchvision.models.VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2,
                                                         hidden_dim=32, mlp_dim=64, num_classes=10), images(3, 32)),
    "mlp": (PRESETS["mlp"], images(1, 28)),
    "lenet5": (PRESETS["lenet5"], images(1, 28)),
    "cnn": (PRESETS["cnn"], images(1, 28)),
    "resnet20": (PRESETS["resnet20"], images(1, 28)),
    "layers": (layers_twin, images(2, 16)),
    "char_lstm": (lambda: sequence({"kind": "char_lstm", "vocab": 20, "embedding": 8, "hidden": 16, "layers": 2}),
                  tokens(20, 12)),
    "char_transformer": (lambda: sequence({"kind": "char_transformer", "vocab": 15, "d_model": 16, "heads": 4,
                                           "layers": 2, "ff": 32, "seq_len": 10}), tokens(15, 10)),
    "rnn_classifier_gru": (lambda: sequence({"kind": "rnn_classifier", "cell": "gru", "width": 5, "hidden": 6,
                                             "layers": 2, "bidirectional": True, "classes": 4}),
                           lambda batch: torch.randn(batch, 1, 7, 5)),
    "rnn_classifier_lstm": (lambda: sequence({"kind": "rnn_classifier", "cell": "lstm", "width": 5, "hidden": 6,
                                              "layers": 2, "bidirectional": True, "classes": 4}),
                            lambda batch: torch.randn(batch, 1, 7, 5)),
    "lstm_forecaster": (lambda: sequence({"kind": "lstm_forecaster", "features": 1, "hidden": 8, "layers": 2,
                                          "horizon": 3}), lambda batch: torch.randn(batch, 9, 1)),
    # 3-D layers, which the importer runs without 3-D kernels (strided slices per kernel offset).
    "volumes": (lambda: nn.Sequential(nn.ConvTranspose3d(2, 3, 3, stride=2, padding=1, output_padding=1, dilation=1),
                                      nn.MaxPool3d(3, stride=2, padding=1),
                                      nn.AvgPool3d(2, stride=1, padding=1, count_include_pad=False)),
                lambda batch: torch.randn(batch, 2, 3, 4, 5)),
}


def randomize_statistics(model):
    """Batch norm's running statistics start at 0 and 1; random ones make the export's
    folding of them into the convolutions matter."""
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 1.5)


def export_model(directory, name):
    build, make_input = MODELS[name]
    torch.manual_seed(0)
    model = build()
    randomize_statistics(model)
    model.eval()
    path = os.path.join(directory, name + ".onnx")
    # Traced at batch 2, run at batch 3: the batch dim must be dynamic in the file.
    torch.onnx.export(model, (make_input(2),), path, opset_version=17, input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    x = make_input(3)
    with torch.no_grad():
        y = model(x)
    np.save(os.path.join(directory, name + "_input.npy"), x.numpy())
    np.save(os.path.join(directory, name + "_output.npy"), y.numpy())


def export_two_in_two_out(directory):
    torch.manual_seed(0)
    model = TwoInTwoOut().eval()
    a, b = torch.randn(5, 4), torch.randn(5, 4)
    torch.onnx.export(model, (a, b), os.path.join(directory, "two_in_two_out.onnx"), opset_version=17,
                      input_names=["a", "b"], output_names=["sum", "product"],
                      dynamic_axes={"a": {0: "batch"}, "b": {0: "batch"}})
    with torch.no_grad():
        s, p = model(a, b)
    for key, value in {"a": a, "b": b, "sum": s, "product": p}.items():
        np.save(os.path.join(directory, "two_in_two_out_%s.npy" % key), value.numpy())


def export_cli_models(directory):
    """For `cajal predict` and `cajal eval` on .onnx files (tests/cli/onnx_test.cpp): the mlp twin
    as a classifier giving scores (output "output"), the same ending in softmax (output
    "probabilities", as `cajal export` names it) and a regression (output "predictions"), with
    five inputs, labels and PyTorch's probabilities and predictions."""
    torch.manual_seed(0)
    scores = PRESETS["mlp"]().eval()
    regression = nn.Sequential(nn.Flatten(), nn.Linear(784, 3)).eval()
    x = torch.rand(5, 1, 28, 28)
    dynamic = {"input": {0: "batch"}}
    for name, model, output in [("scores", scores, "output"), ("probabilities", nn.Sequential(scores, nn.Softmax(1)), "probabilities"),
                                ("regression", regression, "predictions")]:
        torch.onnx.export(model, (x,), os.path.join(directory, "cli_%s.onnx" % name), opset_version=17,
                          input_names=["input"], output_names=[output], dynamic_axes=dict(dynamic, **{output: {0: "batch"}}))
    with torch.no_grad():
        probabilities = torch.softmax(scores(x), 1)
        predictions = regression(x)
    labels = torch.tensor([3, 1, 4, 1, 5])
    np.save(os.path.join(directory, "cli_x.npy"), x.numpy())
    np.save(os.path.join(directory, "cli_labels.npy"), labels.numpy())
    np.save(os.path.join(directory, "cli_probabilities.npy"), probabilities.numpy())
    np.save(os.path.join(directory, "cli_predictions.npy"), predictions.numpy())
    np.save(os.path.join(directory, "cli_accuracy.npy"), (probabilities.argmax(1) == labels).double().mean().numpy())


def small_model(nodes, initializers, opset=17, inputs=None, outputs=None):
    """x [2, 3] float -> y, through `nodes`."""
    graph = helper.make_graph(nodes, "g", inputs or [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                              outputs or [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])], initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


WEIGHTS = np.arange(6, dtype=np.float32).reshape(2, 3) / 10


def add_weights(initializer):
    return small_model([helper.make_node("Add", ["x", "w"], ["y"], name="add")], [initializer])


def external_weights(directory, name, location):
    """An initializer whose values are in a file: `location`, relative to the model."""
    model = add_weights(numpy_helper.from_array(WEIGHTS, "w"))
    tensor = model.graph.initializer[0]
    tensor.ClearField("raw_data")
    tensor.data_location = TensorProto.EXTERNAL
    for key, value in {"location": location, "offset": "8", "length": str(WEIGHTS.nbytes)}.items():
        entry = tensor.external_data.add()
        entry.key, entry.value = key, value
    onnx.save(model, os.path.join(directory, name + ".onnx"))


def write_fixtures(directory):
    save = lambda model, name: onnx.save(model, os.path.join(directory, name + ".onnx"))  # noqa: E731
    # The same weights three ways: raw_data, typed float_data, and an external file (8 bytes in).
    save(add_weights(numpy_helper.from_array(WEIGHTS, "w")), "raw_data")
    save(add_weights(helper.make_tensor("w", TensorProto.FLOAT, [2, 3], WEIGHTS.flatten().tolist())), "typed_data")
    with open(os.path.join(directory, "weights.bin"), "wb") as f:
        f.write(b"\0" * 8 + WEIGHTS.tobytes())
    external_weights(directory, "external_data", "weights.bin")
    external_weights(directory, "external_outside", "../outside.bin")
    with open(os.path.join(os.path.dirname(directory.rstrip("/")), "outside.bin"), "wb") as f:
        f.write(b"\0" * 8 + WEIGHTS.tobytes())
    np.save(os.path.join(directory, "weights.npy"), WEIGHTS)
    with open(os.path.join(directory, "weights.pb"), "wb") as f:  # a TensorProto file, as ONNX's test cases hold
        f.write(numpy_helper.from_array(WEIGHTS, "w").SerializeToString())
    # Dotted initializer names become nested modules; a name that is also another's prefix cannot.
    save(small_model([helper.make_node("Add", ["x", "block.w"], ["t"]), helper.make_node("Mul", ["t", "block.w.scale"], ["u"]),
                      helper.make_node("Sub", ["u", "block"], ["y"])],
                     [numpy_helper.from_array(WEIGHTS, "block.w"), numpy_helper.from_array(WEIGHTS, "block.w.scale"),
                      numpy_helper.from_array(WEIGHTS, "block")]), "nested_names")
    # An operator cajal does not run (Bernoulli: random, no other runtime's values to match), in a named node.
    save(small_model([helper.make_node("Bernoulli", ["x"], ["y"], name="coin")], []), "unsupported_op")
    # An LSTM whose W has 3 gate blocks where LSTM has 4 (found by fuzz/onnx_fuzz).
    lstm_inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [5, 1, 3])]
    lstm_outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, [5, 1, 1, 2])]
    save(small_model([helper.make_node("LSTM", ["x", "W", "R"], ["y"], hidden_size=2, name="lstm")],
                     [numpy_helper.from_array(np.ones((1, 6, 3), np.float32), "W"),
                      numpy_helper.from_array(np.ones((1, 8, 2), np.float32), "R")], inputs=lstm_inputs, outputs=lstm_outputs),
         "lstm_bad_weights")
    # ScatterND whose indices are a scalar, not [..., k] tuples (found by fuzz/onnx_fuzz).
    scatter_inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])]
    save(small_model([helper.make_node("ScatterND", ["x", "i", "x"], ["y"], name="scatter")],
                     [numpy_helper.from_array(np.array(1, np.int64), "i")], inputs=scatter_inputs), "scatternd_scalar_indices")
    # For fast inference (onnx/fast_inference.h), each path a graph can take: a Conv + Add +
    # Relu group whose Add broadcasts (so it runs node by node), a convolution read by a pool
    # and by an operator oneDNN does not run (Sigmoid), a blocked map as a graph output, a
    # Conv + Clip group with its bounds as inputs, and average pools with and without padding.
    rng = np.random.default_rng(5)
    weight = lambda *shape: numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32) * 0.2)  # noqa: E731
    named = lambda tensor, name: (tensor.__setattr__("name", name), tensor)[1]  # noqa: E731
    fast_nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
        helper.make_node("Add", ["c1", "shift"], ["a1"], name="broadcast_add"),
        helper.make_node("Relu", ["a1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], name="conv2"),
        helper.make_node("MaxPool", ["c2"], ["pooled"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Sigmoid", ["c2"], ["s2"]),
        helper.make_node("Conv", ["s2", "w3", "b3"], ["c3"], pads=[0, 1, 2, 1], strides=[2, 1], name="conv3"),
        helper.make_node("Clip", ["c3", "lo", "hi"], ["clipped"]),
        helper.make_node("AveragePool", ["clipped"], ["avg"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], count_include_pad=1),
        helper.make_node("AveragePool", ["avg"], ["avg2"], kernel_shape=[2, 2], pads=[0, 0, 1, 1]),
        helper.make_node("GlobalAveragePool", ["avg2"], ["y"]),
    ]
    fast_initializers = [named(weight(16, 16, 3, 3), "w1"), named(weight(16), "b1"), named(weight(1, 16, 1, 1), "shift"),
                         named(weight(16, 16, 1, 1), "w2"), named(weight(32, 16, 3, 3), "w3"), named(weight(32), "b3"),
                         numpy_helper.from_array(np.array(-0.3, np.float32), "lo"), numpy_helper.from_array(np.array(0.4, np.float32), "hi")]
    save(small_model(fast_nodes, fast_initializers, inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 16, 8, 8])],
                     outputs=[helper.make_tensor_value_info("pooled", TensorProto.FLOAT, [2, 16, 4, 4]),
                              helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 32, 1, 1])]), "fast_paths")
    # Opset 18 is newer than ONNX 1.12 knows: written without the checker.
    model = add_weights(numpy_helper.from_array(WEIGHTS, "w"))
    model.opset_import[0].version = 18
    with open(os.path.join(directory, "opset18.onnx"), "wb") as f:
        f.write(model.SerializeToString())


def main(directory, *cases):
    for case in cases:
        if case in MODELS:
            export_model(directory, case)
        elif case == "two_in_two_out":
            export_two_in_two_out(directory)
        elif case == "cli":
            export_cli_models(directory)
        elif case == "fixtures":
            write_fixtures(directory)
        else:
            raise SystemExit("unknown case " + case)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], *sys.argv[2:]))
