#!/usr/bin/python3
"""ONNX's own checks on exported models: onnx.checker.check_model(full_check=True), which adds
strict shape inference to the structural checks, and a description of each model for the C++
tests to compare with what they exported.

  onnx_check.py MODEL.onnx [MODEL.onnx ...]

Prints one line per model (and exits non-zero at the first model that fails the checker):
  MODEL opset=17 input=NAME:TYPE[batch,1,28,28] output=NAME:TYPE[batch,10] initializers=a,b,...
"""
import sys

import onnx


def describe(value):
    tensor = value.type.tensor_type
    dims = [d.dim_param if d.HasField("dim_param") else str(d.dim_value) for d in tensor.shape.dim]
    return f"{value.name}:{onnx.TensorProto.DataType.Name(tensor.elem_type)}[{','.join(dims)}]"


def main(paths):
    for path in paths:
        model = onnx.load(path)
        onnx.checker.check_model(model, full_check=True)
        opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
        graph = model.graph
        print(f"{path} opset={opset} input={','.join(describe(v) for v in graph.input)} "
              f"output={','.join(describe(v) for v in graph.output)} "
              f"initializers={','.join(sorted(t.name for t in graph.initializer))}")


if __name__ == "__main__":
    main(sys.argv[1:])
