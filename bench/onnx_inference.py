"""PyTorch's side of the ONNX inference benchmark (bench/README.md, "ONNX inference";
bench/onnx_inference.sh runs every step).

  onnx_inference.py export DIR         torchvision ResNet-18 and MobileNetV2 (random weights,
                                       seed 0, eval mode) to DIR/<model>.onnx by
                                       torch.onnx.export (opset 17, dynamic batch) and their
                                       weights to DIR/<model>.pt; every row's input to
                                       DIR/x_<row>.npy (DIR/cnn.onnx comes from cajal)
  onnx_inference.py time DIR [--threads N] [ROW...]
                                       PyTorch eager under torch.inference_mode: RESULT lines
                                       (timing.py) and DIR/out_torch_<row>.npy
  onnx_inference.py report DIR FILE... checks that the outputs agree and prints the table
                                       from the RESULT lines of the files (cajal@*.txt,
                                       ort@*.txt, torch@*.txt; the median over rounds counts)

The cnn row runs the PyTorch twin of cajal's cnn preset (tests/reference/models_reference.py)
with the weights of DIR/cnn.onnx, whose initializers carry cajal's state_dict names.
"""
import os
import re
import statistics
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROWS = ["resnet18_b1", "resnet18_b32", "mobilenet_v2_b1", "mobilenet_v2_b32", "cnn_b1000"]
SIZE = 224


def model_of(row):
    return row[: row.rindex("_b")]


def batch_of(row):
    return int(row[row.rindex("_b") + 2:])


def torchvision_model(name):
    import torchvision
    return getattr(torchvision.models, name)(weights=None)


def export(directory):
    os.makedirs(directory, exist_ok=True)
    for name in ("resnet18", "mobilenet_v2"):
        torch.manual_seed(0)
        model = torchvision_model(name).eval()
        torch.save(model.state_dict(), os.path.join(directory, name + ".pt"))
        x = torch.zeros(1, 3, SIZE, SIZE)
        torch.onnx.export(model, x, os.path.join(directory, name + ".onnx"), opset_version=17,
                          input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    rng = np.random.default_rng(0)
    for row in ROWS:
        if model_of(row) == "cnn":  # pixels in [0, 1)
            x = rng.random((batch_of(row), 1, 28, 28), dtype=np.float32)
        else:  # normalized images
            x = rng.standard_normal((batch_of(row), 3, SIZE, SIZE), dtype=np.float32)
        np.save(os.path.join(directory, "x_%s.npy" % row), x)
    print("exported to", directory)


def load_torch(directory, name):
    if name == "cnn":
        import onnx
        from onnx import numpy_helper
        sys.path.insert(0, os.path.join(HERE, "..", "tests", "reference"))
        from models_reference import cnn
        model = cnn(1, 28, 10)
        proto = onnx.load(os.path.join(directory, "cnn.onnx"))
        tensors = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in proto.graph.initializer}
        state = {k: v for k, v in tensors.items() if k in model.state_dict()}
        missing = [k for k in model.state_dict() if k not in state and not k.endswith("num_batches_tracked")]
        if missing:
            raise SystemExit("cnn.onnx lacks the twin's weights %s" % missing)
        model.load_state_dict(state, strict=False)
    else:
        model = torchvision_model(name)
        model.load_state_dict(torch.load(os.path.join(directory, name + ".pt")))
    return model.eval()


def time_rows(directory, rows):
    sys.path.insert(0, HERE)
    import timing
    timing.configure_threads()
    for row in rows or ROWS:
        model = load_torch(directory, model_of(row))
        x = torch.from_numpy(np.load(os.path.join(directory, "x_%s.npy" % row)))
        with torch.inference_mode():
            np.save(os.path.join(directory, "out_torch_%s.npy" % row), model(x).numpy())
            timing.report("onnx." + row, timing.seconds_per_call(lambda: model(x)))


def read_results(files):
    """{side: {row: [seconds per call of each round]}} and the INFO values."""
    results, info = {}, {}
    for path in files:
        side = os.path.basename(path).split("@")[0]
        with open(path) as f:
            for line in f:
                m = re.match(r"RESULT onnx\.(\S+) (\S+)", line)
                if m:
                    results.setdefault(side, {}).setdefault(m.group(1), []).append(float(m.group(2)))
                m = re.match(r"INFO (\S+) (\S+)", line)
                if m:
                    info.setdefault(m.group(1), []).append(m.group(2))
    return results, info


def report(directory, files):
    results, info = read_results(files)
    ok = True
    print("Outputs (max |difference| relative to the largest |ONNX Runtime output|):")
    for row in ROWS:
        paths = {side: os.path.join(directory, "out_%s_%s.npy" % (side, row)) for side in ("cajal", "ort", "torch")}
        if not all(os.path.exists(p) for p in paths.values()):
            print("  %-18s MISSING" % row)
            ok = False
            continue
        out = {side: np.load(p) for side, p in paths.items()}
        scale = float(np.abs(out["ort"]).max())
        diffs = []
        for side in ("cajal", "torch"):
            d = float(np.abs(out[side].astype(np.float64) - out["ort"]).max()) / scale
            diffs.append("%s %.1e" % (side, d))
            ok &= out[side].shape == out["ort"].shape and d < 1e-4
        same_top1 = (out["cajal"].argmax(1) == out["ort"].argmax(1)).mean()
        print("  %-18s %s; cajal top-1 = ORT's on %.1f%%" % (row, ", ".join(diffs), 100 * same_top1))
    print()
    rounds = max((len(v) for side in results.values() for v in side.values()), default=0)
    print("images/s, median over %d rounds (each: median of 7 timed runs after a warm-up)" % rounds)
    print("| row | cajal | ONNX Runtime | PyTorch eager | cajal / ORT (target >= 0.8) | cajal / PyTorch (target >= 2) |")
    print("|---|---|---|---|---|---|")
    for row in ROWS:
        ips = {}
        for side in ("cajal", "ort", "torch"):
            times = results.get(side, {}).get(row)
            ips[side] = batch_of(row) / statistics.median(times) if times else None
        fmt = lambda v: "%.1f" % v if v else "MISSING"
        cells = [fmt(ips[s]) for s in ("cajal", "ort", "torch")]
        for ref, target in (("ort", 0.8), ("torch", 2.0)):
            if ips["cajal"] and ips[ref]:
                r = ips["cajal"] / ips[ref]
                cells.append("%.2f %s" % (r, "pass" if r >= target else "FAIL"))
            else:
                cells.append("MISSING")
        print("| %s | %s |" % (row.replace("_b", ", batch "), " | ".join(cells)))
    if not ok:
        print("\nOUTPUTS DISAGREE (or are missing): the rows above do not compare the same computation")
    return 0 if ok else 1


def main(argv):
    if len(argv) >= 2 and argv[0] == "export":
        return export(argv[1])
    if len(argv) >= 2 and argv[0] == "time":
        rest = [a for i, a in enumerate(argv[2:]) if a != "--threads" and (i == 0 or argv[2:][i - 1] != "--threads")]
        return time_rows(argv[1], rest)
    if len(argv) >= 2 and argv[0] == "report":
        return report(argv[1], argv[2:])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
