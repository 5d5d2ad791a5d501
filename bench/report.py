"""Reads the RESULT/INFO lines bench/run collected and prints one markdown table of
ratios against the targets in bench/README.md.

Usage: report.py RESULTS_DIR [--nn-only]. The directory holds one file per run, named
<impl>@<setting>.txt: impl is cajal, libtorch or pytorch; for the references, setting is
`default` or t<torch threads>-ob<OPENBLAS_NUM_THREADS>, with -heap appended when glibc
kept freed blocks (bench/run --heap). PyTorch and LibTorch are compared at their fastest
setting, with their default shown beside it. cajal (always 2 OpenMP threads) runs once
beside each reference setting, and its fastest run counts, so both sides get the same
number of tries on a machine whose load changes. With --nn-only
(bench/run --nn-only) only the nn rows are expected. When the runs hold profile.* lines
(bench/run --profile), a per-layer breakdown of the training steps follows the table."""
import pathlib
import sys

ELEMENTS = 1 << 24        # elementwise inputs: 16M float32
MATRIX_BYTES = 4096 * 4096 * 4
BUILD_LIMIT_S = 300
COMPILE_LIMIT_S = 5


def load(directory):
    """{impl: {setting: {name: value}}} from every file, RESULT and INFO lines alike. A
    RESULT that a file holds several times (bench/run with ROUNDS > 1) keeps its fastest
    time; an INFO keeps its last value."""
    runs = {}
    for path in sorted(pathlib.Path(directory).glob("*@*.txt")):
        impl, setting = path.stem.split("@", 1)
        values = runs.setdefault(impl, {}).setdefault(setting, {})
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[0] in ("RESULT", "INFO"):
                try:
                    value = float(parts[2])
                    if parts[0] == "RESULT" and parts[1] in values:
                        value = min(value, values[parts[1]])
                    values[parts[1]] = value
                except ValueError:  # a textual INFO: a name, or an unset environment variable
                    values[parts[1]] = parts[2]
    return runs


def fmt_time(s):
    if s is None:
        return "n/a"
    for unit, scale in (("s", 1), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s / 1e-9:.3g} ns"


class Table:
    def __init__(self, runs):
        self.runs = runs
        self.rows = []
        self.failures = 0

    def value(self, impl, name, setting="default"):
        return self.runs.get(impl, {}).get(setting, {}).get(name)

    def best(self, impl, name):
        """(fastest time over every run or setting, that setting)."""
        found = [(v[name], s) for s, v in self.runs.get(impl, {}).items() if name in v]
        return min(found) if found else (None, None)

    def cajal(self, name):
        """cajal's fastest time over its runs (bench/run runs it once per reference run)."""
        return self.best("cajal", name)[0]

    def add(self, bench, cajal, ref_label, ref, ref_default, ratio, target, note=""):
        """One row; every target is a ceiling on the ratio cajal / reference."""
        if ratio is None:
            verdict = "MISSING"
        else:
            verdict = "pass" if ratio <= target else "FAIL"
        if verdict != "pass":
            self.failures += 1
        self.rows.append((bench, cajal, ref_label, ref, ref_default,
                          "n/a" if ratio is None else f"{ratio:.3f}", f"<= {target:.3f}", verdict, note))

    def versus(self, bench, name, impl, target, note=""):
        """cajal's time for `name` against `impl` at its best setting."""
        mine = self.cajal(name)
        ref, setting = self.best(impl, name)
        ratio = mine / ref if mine and ref else None
        label = f"{impl} ({setting})" if setting else impl
        self.add(bench, fmt_time(mine), label, fmt_time(ref), fmt_time(self.value(impl, name)), ratio, target, note)

    def print(self):
        head = ("benchmark", "cajal", "reference (best setting)", "reference", "ref. default",
                "ratio cajal/ref", "target", "result", "notes")
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for row in self.rows:
            print("| " + " | ".join(row) + " |")


def overhead(t):
    for case, text in (("add_forward", "1-element add, forward"),
                       ("add_forward_grad", "1-element add, forward recording autograd"),
                       ("add_sum_backward", "(a+b).sum().backward(), 1 element")):
        name = f"overhead.{case}"
        t.versus(text, name, "libtorch", 0.50)
        t.versus(text, name, "pytorch", 0.25)


def gbps(bytes_moved, seconds):
    return bytes_moved / seconds / 1e9 if seconds else None


def elementwise(t):
    for op, arrays in (("add", 3), ("mul", 3), ("exp", 2), ("relu", 2)):
        name = f"elementwise.{op}"
        mine = t.cajal(name)
        # The memcpy of 16M floats timed alternately with this op: read + write bytes.
        memcpy_bw = gbps(2 * ELEMENTS * 4, t.cajal(f"{name}.memcpy"))
        bw = gbps(arrays * ELEMENTS * 4, mine)
        note = f"{bw:.1f} GB/s vs memcpy {memcpy_bw:.1f} GB/s" if bw and memcpy_bw else ""
        # Time against a memcpy moving the same bytes at memcpy's bandwidth.
        ratio = memcpy_bw / bw if bw and memcpy_bw else None
        same_bytes = arrays * ELEMENTS * 4 / (memcpy_bw * 1e9) if memcpy_bw else None
        t.add(f"{op} 16M f32", fmt_time(mine), "memcpy, same bytes", fmt_time(same_bytes), "", ratio, 1.30, note)
        t.versus(f"{op} 16M f32", name, "pytorch", 1.00)


def reductions(t):
    for case, text in (("sum_all", "sum, all"), ("sum_dim0", "sum, dim 0"), ("sum_dim1", "sum, dim 1"),
                       ("mean_all", "mean, all"), ("softmax", "softmax, last dim"),
                       ("log_softmax", "log_softmax, last dim")):
        name = f"reduce.{case}"
        bw = gbps(MATRIX_BYTES, t.cajal(name))
        t.versus(f"{text} [4096,4096]", name, "pytorch", 1.00, f"reads {bw:.1f} GB/s" if bw else "")


def gemm(t):
    peaks = {isa: max((v[f"gemm.peak_{isa}_gflops"] for v in t.runs.get("cajal", {}).values()
                       if f"gemm.peak_{isa}_gflops" in v), default=None) for isa in ("avx2", "avx512")}
    for n in (256, 512, 1024, 2048):
        mine, blas = t.cajal(f"gemm.{n}.cajal"), t.cajal(f"gemm.{n}.openblas")
        flops = 2.0 * n ** 3
        note = ""
        if mine and blas:
            note = (f"{flops / mine / 1e9:.0f} vs {flops / blas / 1e9:.0f} GFLOP/s "
                    f"({blas / mine:.0%} of OpenBLAS)")
            shares = [f"{flops / mine / 1e9 / p:.0%} of {isa.upper()}" for isa, p in peaks.items() if p]
            if shares:
                note += "; cajal at " + " / ".join(shares) + " FMA peak"
        # At least 95% of OpenBLAS's GFLOP/s is a time ratio of at most 1/0.95.
        t.add(f"sgemm {n}", fmt_time(mine), "cblas_sgemm", fmt_time(blas), "",
              mine / blas if mine and blas else None, 1 / 0.95, note)
        # Built with oneDNN, matmul runs dnnl_sgemm: the same target against it directly.
        beside, dnnl = t.cajal(f"gemm.{n}.cajal_beside_onednn"), t.cajal(f"gemm.{n}.onednn")
        if beside and dnnl:
            t.add(f"sgemm {n}", fmt_time(beside), "dnnl_sgemm", fmt_time(dnnl), "", beside / dnnl, 1 / 0.95,
                  f"{flops / beside / 1e9:.0f} vs {flops / dnnl / 1e9:.0f} GFLOP/s ({dnnl / beside:.0%} of oneDNN)")
    return peaks


def nn_benchmarks(t):
    for layer, text in (("conv1", "Conv2d 1->32 3x3 pad 1 on [128,1,28,28]"),
                        ("conv2", "Conv2d 32->64 3x3 pad 1 on [128,32,14,14]")):
        name = f"nn.{layer}"
        mine, ref = t.cajal(f"{name}.forward"), t.best("pytorch", f"{name}.forward")[0]
        t.versus(f"{text}, forward + backward (input, weight, bias grads)", f"{name}.forward_backward", "pytorch",
                 1.00, f"forward alone {fmt_time(mine)} vs {fmt_time(ref)}")
    for case, text, batch, speedup in (
            ("cnn_train_step", "CNN training step (forward, cross_entropy, backward, Adam, zero_grad), batch 128",
             128, 1.5),
            ("mlp_train_step", "MLP 784-256-128-10 training step, batch 128", 128, 1.2),
            ("cnn_inference", "CNN inference (eval, no grad), batch 1000", 1000, 2.0),
            ("mlp_inference", "MLP inference (eval, no grad), batch 1000", 1000, 1.2)):
        name = f"nn.{case}"
        mine, ref = t.cajal(name), t.best("pytorch", name)[0]
        note = ""
        if mine and ref:
            note = f"{batch / mine:,.0f} vs {batch / ref:,.0f} images/s: {ref / mine:.2f}x PyTorch (target >= {speedup}x)"
        # A throughput of at least `speedup` times PyTorch's is a time ratio of at most 1 / speedup.
        t.versus(text, name, "pytorch", 1 / speedup, note)


def transformer_benchmarks(t):
    for case, text in (("encoder_layer", "[128, 32, 256], dropout 0"),
                       ("encoder_layer_batch_first", "batch_first [32, 128, 256], dropout 0"),
                       ("encoder_layer_dropout", "[128, 32, 256], dropout 0.1 (training mode)")):
        name = f"transformer.{case}"
        mine, ref = t.cajal(f"{name}.forward"), t.best("pytorch", f"{name}.forward")[0]
        t.versus(f"TransformerEncoderLayer(256, 4 heads, ff 1024) {text}, forward + backward (input and parameter grads)",
                 name, "pytorch", 1.00, f"forward alone {fmt_time(mine)} vs {fmt_time(ref)}")


def recurrent_benchmarks(t):
    for case, text in (("lstm", "LSTM"), ("gru", "GRU")):
        name = f"rnn.{case}"
        mine, ref = t.cajal(f"{name}.forward"), t.best("pytorch", f"{name}.forward")[0]
        t.versus(f"{text} 2 layers, input 256, hidden 256, [64, 32] (steps, batch), forward + backward "
                 "(input and parameter grads)", f"{name}.forward_backward", "pytorch", 1.00,
                 f"forward alone {fmt_time(mine)} vs {fmt_time(ref)}")


def profile(runs):
    """Per-layer times of a training step (train_step --profile) side by side. Each entry is
    its fastest over every run of that side (for PyTorch: over its settings), which steadies
    a loaded machine and compares against PyTorch's best for every layer."""
    for model in ("cnn", "mlp"):
        prefix = f"profile.{model}."
        fastest = {}
        for impl in ("cajal", "pytorch"):
            entries = fastest.setdefault(impl, {})
            for values in runs.get(impl, {}).values():
                for key, value in values.items():
                    if key.startswith(prefix):
                        entries[key] = min(value, entries.get(key, value))
        mine, ref = fastest["cajal"], fastest["pytorch"]
        if not mine:
            continue
        total, ref_total = sum(mine.values()), sum(ref.values())
        print()
        print(f"Where one {model.upper()} training step spends its time (fastest of each side's runs):")
        print()
        print("| layer | pass | cajal | pytorch | ratio cajal/pytorch | share of cajal's step |")
        print("|---|---|---|---|---|---|")
        for key, value in mine.items():
            layer, phase = key[len(prefix):].rsplit(".", 1)
            other = ref.get(key)
            ratio = f"{value / other:.2f}" if other else "n/a"
            print(f"| {layer} | {phase} | {fmt_time(value)} | {fmt_time(other)} | {ratio} | {value / total:.1%} |")
        ratio = f"{total / ref_total:.2f}" if ref_total else "n/a"
        print(f"| sum | | {fmt_time(total)} | {fmt_time(ref_total or None)} | {ratio} | |")


def build(t):
    for name, text, limit in (("build.clean_ninja", "clean Release build, lib + tests, no ccache", BUILD_LIMIT_S),
                              ("build.umbrella_compile", "g++ -O2 -c of a program with <cajal/cajal.h>",
                               COMPILE_LIMIT_S)):
        mine = t.cajal(name)
        t.add(text, fmt_time(mine), "limit", fmt_time(limit), "", mine / limit if mine else None, 1.00)


def main():
    runs = load(sys.argv[1])
    nn_only = "--nn-only" in sys.argv[2:]
    t = Table(runs)
    if not nn_only:
        overhead(t)
        elementwise(t)
        reductions(t)
        peaks = gemm(t)
    nn_benchmarks(t)
    recurrent_benchmarks(t)
    transformer_benchmarks(t)
    if not nn_only:
        build(t)
    t.print()
    print()
    if not nn_only:
        print(f"FMA peak measured (2 threads): AVX2 {peaks['avx2'] or 0:.0f} GFLOP/s, "
              f"AVX-512 {peaks['avx512'] or 0:.0f} GFLOP/s; OpenBLAS kernels: "
              f"{t.value('cajal', 'gemm.openblas_core', 'gemm') or 'unknown'}.")
    print(f"{t.failures} of {len(t.rows)} rows miss their target or are missing.")
    profile(runs)


if __name__ == "__main__":
    main()
