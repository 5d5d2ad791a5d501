"""The PyTorch side of the data-parallel benchmark: the cnn preset (src/cajal/models/
presets.cpp with CnnOptions' defaults: conv 1->32 + BN + ReLU + pool, conv 32->64 + BN + ReLU +
pool, linear 3136->128 + ReLU + dropout 0.25, linear 128->10; 421,834 parameters) trained on
Fashion-MNIST with examples/fashion_mnist_cnn.yaml's recipe (AdamW lr 0.003, weight decay
0.01, cross entropy, global batch 128), either in one process or data-parallel with
DistributedDataParallel over gloo, so that throughput and communication can be set beside
cajal's ranks x threads runs on the same machine.

  ddp_twin.py [--ranks 1|2] [--threads T] [--global-batch 128] [--steps 200] [--warmup 20]
              [--sync-bn] [--no-broadcast-buffers] [--seed 0]

  --ranks 1 --threads 2   one plain process (no process group, no DDP), 2 torch threads
  --ranks 2 --threads 1   torch.multiprocessing.spawn of 2 processes, init_process_group("gloo",
                          tcp://127.0.0.1:<free port>), DistributedDataParallel(model,
                          bucket_cap_mb=25, other options PyTorch's defaults, so BatchNorm's
                          buffers are broadcast from rank 0 before every forward),
                          DistributedSampler, torch.set_num_threads(T) in every rank
  --sync-bn               nn.SyncBatchNorm.convert_sync_batchnorm first. PyTorch 1.13 has no
                          CPU SyncBatchNorm: DDP refuses the converted model ("SyncBatchNorm
                          layers only work with GPU modules", and its forward checks input.is_cuda);
                          the script then says so and runs plain BatchNorm2d (sync_bn=unsupported).

Data: Debian's IDX files, pixels / 255 normalized with mean 0.2860 and std 0.3530, all in
memory before timing. Each rank takes batches of global_batch / ranks consecutive indices of a
DistributedSampler (shuffle, seed, drop_last; the 1-rank run uses the same sampler with one
replica), indexing the tensor directly (no DataLoader, as cajal's num_workers: 0).
The OneCycle schedule of the config is left out (a constant lr; it does not change a step's
cost). Every rank seeds torch with --seed before building the model (DDP broadcasts rank 0's
weights anyway), then with seed + rank for dropout.

A step is: take the batch, zero_grad (in place, 1.13's default), forward, cross entropy,
backward, AdamW step. `--warmup` steps run first (they include DDP's bucket rebuild), then a
barrier, then `--steps` timed steps and a barrier. Reported (rank 0 prints, means over ranks):
- examples_per_s: steps x global batch / wall time of the timed steps (barrier to barrier,
  the slowest rank's); step_ms: that wall time / steps; forward_ms, backward_ms, optimizer_ms:
  each part's mean time (forward includes DDP's buffer broadcast, backward DDP's all-reduce
  wait).
- comm_wait_share: (allreduce_wait_ms + buffer_sync_ms) / step_ms, the share of a step a rank
  spends blocked on communication. MEASURED, not modelled, as follows:
  * allreduce_wait_ms: the gradients are all-reduced through a DDP communication hook
    (model.register_comm_hook) that wraps default_hooks.allreduce_hook: on each call it notes
    the time and the bucket's bytes, and chains a .then() onto the hook's future that notes when
    the all-reduce completed. The hook runs in the backward's thread the moment a bucket's last
    gradient is ready, so the last hook call of a step marks the end of local gradient
    computation; everything from then until loss.backward() returns is DDP waiting for the
    outstanding all-reduces (plus copying the averaged bucket back into .grad, a memcpy of
    1.7 MB). That gap is allreduce_wait_ms: the part of the communication not hidden behind
    the backward's computation, including the wait for a slower rank to reach its all-reduce
    (on a shared machine that can be most of it); allreduce_wait_median_ms is its median.
  * comm_span_ms: first hook call to last completion, i.e. how long all-reduces were in flight
    (overlapped or not); allreduce_alone_ms: after training, the median of 30 blocking
    dist.all_reduce calls of one float32 buffer of the gradient's size (what one step's
    all-reduce costs with nothing else running).
  * buffer_sync_ms: DDP's broadcast of the BatchNorm buffers (running mean/var, 784 bytes)
    from rank 0 before each forward, timed by wrapping DDP's _sync_buffers; it is a blocking
    collective, so its time is waiting (including for the other rank to arrive).
  Other waits (the barriers) are outside the timed steps. With 1 rank all of these are 0.
- allreduce_bytes_per_step: the bytes of all buckets the hook saw in a step (mean over timed
  steps; float32), which should equal grad_bytes = sum of p.numel() * 4 over the parameters.

Environment: like the other PyTorch scripts here, PyTorch runs with its best settings on this
machine: OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE and OMP_NUM_THREADS are removed and
OPENBLAS_NUM_THREADS=1, OMP_WAIT_POLICY=passive set unless already set, before torch (and
OpenBLAS) load; spawned ranks inherit them. The FMA peak is measured by the C++ side
(bench/machine.sh machine_header), not here.

Prints INFO lines (CPU model, torch version, settings) and one summary line per run:
  pytorch ranks=R threads=T global_batch=B steps=S examples_per_s=... step_ms=...
    comm_wait_share=... allreduce_bytes_per_step=... grad_bytes=... (and the parts above)
"""
import os

os.environ.pop("OPENBLAS_CORETYPE", None)
os.environ.pop("OPENBLAS_L2_SIZE", None)
os.environ.pop("OMP_NUM_THREADS", None)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

import argparse  # noqa: E402
import copy  # noqa: E402
import gzip  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.distributed.algorithms.ddp_comm_hooks import default_hooks  # noqa: E402
from torch.utils.data.distributed import DistributedSampler  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "reference"))
from models_reference import cnn  # noqa: E402  (the tests' twin of the cnn preset)

DATA = "/usr/share/datasets/fashion-mnist/"
MEAN, STD = 0.2860, 0.3530


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    if data[:3] != b"\0\0\x08":
        sys.exit(f"ddp_twin.py: {path}: not an IDX file of unsigned bytes")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_train():
    images = read_idx(DATA + "train-images-idx3-ubyte.gz").astype(np.float32) / 255
    labels = read_idx(DATA + "train-labels-idx1-ubyte.gz").astype(np.int64)
    x = torch.from_numpy((images - MEAN) / STD).unsqueeze(1).contiguous()
    return x, torch.from_numpy(labels)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


class CommStats:
    """What the communication hook and the buffer-sync wrapper record in one step."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.calls = []  # (time of the hook call, bytes)
        self.done = []  # completion times
        self.buffer_sync = 0.0


def timed_allreduce_hook(stats):
    def hook(process_group, bucket):
        stats.calls.append((time.perf_counter(), bucket.buffer().numel() * bucket.buffer().element_size()))
        fut = default_hooks.allreduce_hook(process_group, bucket)

        def completed(f):
            stats.done.append(time.perf_counter())
            return f.value()

        return fut.then(completed)

    return hook


def batches(sampler, per_rank, x, y):
    epoch = 0
    while True:
        sampler.set_epoch(epoch)
        order = torch.tensor(list(iter(sampler)), dtype=torch.int64)
        for start in range(0, len(order) - per_rank + 1, per_rank):
            idx = order[start:start + per_rank]
            yield x[idx], y[idx]
        epoch += 1


def worker(rank, args, port):
    ranks = args.ranks
    torch.set_num_threads(args.threads)
    distributed = ranks > 1
    if distributed:
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=ranks)
    x, y = load_train()
    torch.manual_seed(args.seed)
    model = cnn(1, 28, 10, dropout=0.25)
    grad_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    sync_bn = "off"
    stats = CommStats()
    if distributed:
        ddp_options = dict(bucket_cap_mb=25, broadcast_buffers=not args.no_broadcast_buffers)
        ddp = None
        if args.sync_bn:
            try:
                ddp = torch.nn.parallel.DistributedDataParallel(
                    torch.nn.SyncBatchNorm.convert_sync_batchnorm(copy.deepcopy(model)), **ddp_options)
                sync_bn = "on"
            except (ValueError, RuntimeError) as e:
                sync_bn = "unsupported"
                if rank == 0:
                    print(f"INFO --sync-bn: unsupported on CPU in torch {torch.__version__} (DDP says: {e}); "
                          "running plain BatchNorm2d", flush=True)
        model = ddp or torch.nn.parallel.DistributedDataParallel(model, **ddp_options)
        model.register_comm_hook(None, timed_allreduce_hook(stats))
        sync_buffers = model._sync_buffers

        def timed_sync_buffers():
            t = time.perf_counter()
            sync_buffers()
            stats.buffer_sync += time.perf_counter() - t

        model._sync_buffers = timed_sync_buffers
    elif args.sync_bn and rank == 0:
        print("INFO --sync-bn ignored with 1 rank", flush=True)
    torch.manual_seed(args.seed + rank)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.003, weight_decay=0.01)
    per_rank = args.global_batch // ranks
    sampler = DistributedSampler(range(len(x)), num_replicas=ranks, rank=rank, shuffle=True, seed=args.seed,
                                 drop_last=True)
    data = batches(sampler, per_rank, x, y)

    parts = {k: [] for k in ("forward", "backward", "optimizer", "allreduce_wait", "buffer_sync", "comm_span",
                             "allreduce_bytes", "buckets")}
    losses = []
    start = None
    for step in range(args.warmup + args.steps):
        if step == args.warmup:
            if distributed:
                dist.barrier()
            start = time.perf_counter()
        stats.reset()
        xb, yb = next(data)
        optimizer.zero_grad()
        t0 = time.perf_counter()
        loss = F.cross_entropy(model(xb), yb)
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        optimizer.step()
        t3 = time.perf_counter()
        if step < args.warmup:
            continue
        losses.append(loss.item())
        parts["forward"].append(t1 - t0)
        parts["backward"].append(t2 - t1)
        parts["optimizer"].append(t3 - t2)
        parts["buffer_sync"].append(stats.buffer_sync)
        if stats.calls:
            parts["allreduce_wait"].append(max(0.0, t2 - stats.calls[-1][0]))
            parts["comm_span"].append(max(stats.done) - stats.calls[0][0] if stats.done else 0.0)
        else:
            parts["allreduce_wait"].append(0.0)
            parts["comm_span"].append(0.0)
        parts["allreduce_bytes"].append(sum(b for _, b in stats.calls))
        parts["buckets"].append(len(stats.calls))
    if distributed:
        dist.barrier()
    wall = time.perf_counter() - start

    allreduce_alone = 0.0
    if distributed:
        buf = torch.randn(grad_bytes // 4)
        dist.barrier()
        times = []
        for _ in range(30):
            t = time.perf_counter()
            dist.all_reduce(buf)
            times.append(time.perf_counter() - t)
        allreduce_alone = statistics.median(times)

    means = [statistics.fmean(parts[k]) for k in parts] + [statistics.fmean(losses[-20:]),
                                                           statistics.median(parts["allreduce_wait"])]
    summary = torch.tensor(means, dtype=torch.float64)
    wall_t = torch.tensor([wall], dtype=torch.float64)
    if distributed:
        dist.all_reduce(summary)
        summary /= ranks
        dist.all_reduce(wall_t, op=dist.ReduceOp.MAX)
        dist.destroy_process_group()
    if rank != 0:
        return
    m = dict(zip(list(parts) + ["loss", "wait_median"], summary.tolist()))
    wait_median = m["wait_median"]  # the mean over ranks of each rank's median
    wall = wall_t.item()
    step_s = wall / args.steps
    ms = 1e3
    share = (m["allreduce_wait"] + m["buffer_sync"]) / step_s
    print(f"INFO mean loss of the last 20 timed steps (mean over ranks) {m['loss']:.4f}; "
          f"buckets per step {m['buckets']:.1f}; sync_bn {sync_bn}", flush=True)
    print(f"pytorch ranks={ranks} threads={args.threads} global_batch={args.global_batch} per_rank_batch={per_rank} "
          f"steps={args.steps} examples_per_s={args.steps * args.global_batch / wall:.1f} step_ms={step_s * ms:.2f} "
          f"comm_wait_share={share:.4f} allreduce_bytes_per_step={m['allreduce_bytes']:.0f} grad_bytes={grad_bytes} "
          f"forward_ms={m['forward'] * ms:.2f} backward_ms={m['backward'] * ms:.2f} "
          f"optimizer_ms={m['optimizer'] * ms:.2f} allreduce_wait_ms={m['allreduce_wait'] * ms:.3f} "
          f"allreduce_wait_median_ms={wait_median * ms:.3f} "
          f"buffer_sync_ms={m['buffer_sync'] * ms:.3f} comm_span_ms={m['comm_span'] * ms:.3f} "
          f"allreduce_alone_ms={allreduce_alone * ms:.3f} sync_bn={sync_bn}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ranks", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None, help="torch threads per rank (default: 2 / ranks)")
    parser.add_argument("--global-batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--sync-bn", action="store_true")
    parser.add_argument("--no-broadcast-buffers", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.threads is None:
        args.threads = max(1, 2 // args.ranks)
    if args.ranks < 1 or args.global_batch % args.ranks or args.steps < 1 or args.warmup < 0:
        sys.exit("ddp_twin.py: need ranks >= 1 dividing --global-batch, steps >= 1, warmup >= 0")
    if args.ranks > 1 and not dist.is_gloo_available():
        sys.exit("ddp_twin.py: this torch has no gloo backend")
    print(f"INFO CPU: {cpu_model()}, {os.cpu_count()} cores; load average: "
          f"{' '.join(open('/proc/loadavg').read().split()[:3])}", flush=True)
    print(f"INFO torch {torch.__version__}; OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}, "
          f"OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}, OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset; "
          f"{args.ranks} rank(s) x {args.threads} thread(s), "
          f"{'DDP gloo, bucket_cap_mb=25' if args.ranks > 1 else 'no DDP'}", flush=True)
    if args.ranks == 1:
        worker(0, args, None)
    else:
        torch.multiprocessing.spawn(worker, args=(args, free_port()), nprocs=args.ranks, join=True)


if __name__ == "__main__":
    main()
