"""The timing loop of the PyTorch scripts, the same as bench/timing.h's for C++:
calibrate a call count that runs for about `target_s`, report the median time per call
over several such runs, print `RESULT <name> <seconds per call>` lines for report.py."""
import os
import sys
import time

import torch


def configure_threads():
    """`--threads N` sets torch.set_num_threads(N); without it torch keeps its default.
    OPENBLAS_NUM_THREADS, if wanted, is set by the caller before Python starts."""
    if "--threads" in sys.argv:
        torch.set_num_threads(int(sys.argv[sys.argv.index("--threads") + 1]))
    print(f"INFO torch_threads {torch.get_num_threads()}")
    print(f"INFO openblas_threads_env {os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}")


def seconds_per_call(fn, target_s=0.15, repeats=7):
    def run(calls):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        return time.perf_counter() - t0

    run(1)  # warm-up
    calls = 1
    t = run(calls)
    while t < target_s / 20:
        calls *= 4
        t = run(calls)
    calls = max(1, int(calls * target_s / t))
    per_call = sorted(run(calls) / calls for _ in range(repeats))
    return per_call[len(per_call) // 2]


def report(name, seconds):
    print(f"RESULT {name} {seconds:.6e}", flush=True)
