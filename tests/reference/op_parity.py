"""PyTorch reference for cajal's op parity test (tests/ops/parity_test.cpp).

For every case below: random inputs (NumPy, fixed seed), PyTorch's output, and PyTorch's
gradients for every floating input given a random upstream gradient. Everything is written
as .npy files into the output directory, with a manifest line per case:

    <case id> <op name> <number of inputs> <compare gradients: 0/1>

The C++ test runs the same op by name on the same inputs and compares. The case list is
the single source of truth: an op named here must exist in the C++ registry.

usage: op_parity.py OUT_DIR
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)
rng = np.random.default_rng(20261127)


def sample(shape, dtype, domain):
    if domain == "pos":
        x = rng.uniform(0.2, 3.0, shape)
    elif domain == "unit":
        x = rng.uniform(-0.9, 0.9, shape)
    elif domain == "int":
        x = rng.integers(-6, 7, shape)
    elif domain == "bool":
        x = rng.integers(0, 2, shape).astype(bool)
    elif domain.startswith("index"):  # index<N>: integers in [0, N)
        x = rng.integers(0, int(domain[5:]), shape)
        return x.astype(np.int64)
    elif domain == "distinct":  # no ties, so max/sort gradients are unambiguous
        x = rng.permutation(int(np.prod(shape))).reshape(shape) * 0.37 - 3.0
    else:
        x = rng.normal(size=shape)
    return x.astype(dtype) if domain != "bool" else x


# name -> (torch function, list of input (shape, domain)), float dtypes, grad)
UNARY = {
    "neg": torch.neg, "abs": torch.abs, "exp": torch.exp, "expm1": torch.expm1,
    "sin": torch.sin, "cos": torch.cos, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
    "relu": torch.relu, "square": torch.square, "erf": torch.erf,
    "leaky_relu": lambda x: F.leaky_relu(x, 0.1), "elu": lambda x: F.elu(x, 0.7),
    "selu": F.selu, "gelu": F.gelu, "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "silu": F.silu, "softplus": lambda x: F.softplus(x, 2.0, 3.0),
    "sign": torch.sign, "floor": torch.floor, "ceil": torch.ceil, "round": torch.round,
    "clamp": lambda x: torch.clamp(x, -0.5, 0.7), "clamp_min": lambda x: torch.clamp(x, min=-0.2),
    "pow_scalar": lambda x: torch.pow(x, 3), "reciprocal": torch.reciprocal,
}
UNARY_POS = {
    "log": torch.log, "log1p": torch.log1p, "sqrt": torch.sqrt, "rsqrt": torch.rsqrt,
    "pow_frac": lambda x: torch.pow(x, 1.7),
}
BINARY = {
    "add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div,
    "add_alpha": lambda a, b: torch.add(a, b, alpha=2.5), "maximum": torch.maximum,
    "minimum": torch.minimum, "atan2": torch.atan2,
}
COMPARE = {"eq": torch.eq, "ne": torch.ne, "lt": torch.lt, "le": torch.le, "gt": torch.gt, "ge": torch.ge}
REDUCE = {
    "sum_all": lambda x: x.sum(), "sum_dim0": lambda x: x.sum(0), "sum_dim1_keep": lambda x: x.sum(1, keepdim=True),
    "sum_dims02": lambda x: x.sum((0, 2)) if x.dim() == 3 else x.sum(0),
    "mean_all": lambda x: x.mean(), "mean_dim_last": lambda x: x.mean(-1),
    "var_dim0": lambda x: x.var(0), "var_all_biased": lambda x: x.var(unbiased=False),
    "std_dim_last_keep": lambda x: x.std(-1, keepdim=True),
    "prod_dim1": lambda x: x.prod(1), "logsumexp_dim_last": lambda x: torch.logsumexp(x, -1),
    "norm2_all": lambda x: torch.linalg.vector_norm(x), "norm1_dim0": lambda x: torch.linalg.vector_norm(x, 1, dim=0),
    "norminf_dim_last": lambda x: torch.linalg.vector_norm(x, float("inf"), dim=-1),
    "cumsum_dim1": lambda x: torch.cumsum(x, 1), "softmax_last": lambda x: torch.softmax(x, -1),
    "softmax_dim0": lambda x: torch.softmax(x, 0), "log_softmax_last": lambda x: torch.log_softmax(x, -1),
    "log_softmax_dim1": lambda x: torch.log_softmax(x, 1),
}
REDUCE_DISTINCT = {
    "max_all": lambda x: x.max(), "min_all": lambda x: x.min(),
    "max_dim1_values": lambda x: x.max(1).values, "min_dim0_values": lambda x: x.min(0).values,
}
INDEX_RESULTS = {
    "argmax_dim1": lambda x: x.argmax(1), "argmin_dim0": lambda x: x.argmin(0), "argmax_all": lambda x: x.argmax(),
    "max_dim1_indices": lambda x: x.max(1).indices,
}

cases = []  # (name, fn, inputs as numpy arrays, grad)


def add(name, fn, arrays, grad=True):
    cases.append((name, fn, arrays, grad))


SHAPES = [(7,), (3, 4), (2, 3, 4)]
for dtype in (np.float32, np.float64):
    for shape in SHAPES:
        for name, fn in UNARY.items():
            add(name, fn, [sample(shape, dtype, "normal")])
        for name, fn in UNARY_POS.items():
            add(name, fn, [sample(shape, dtype, "pos")])
    for sa, sb in [((3, 4), (3, 4)), ((3, 1), (1, 4)), ((2, 3, 4), (4,)), ((3, 4), ())]:
        for name, fn in BINARY.items():
            b_domain = "pos" if name == "div" else "normal"
            add(name, fn, [sample(sa, dtype, "normal"), sample(sb, dtype, b_domain)])
        add("pow", torch.pow, [sample(sa, dtype, "pos"), sample(sb, dtype, "normal")])
        for name, fn in COMPARE.items():
            add(name, fn, [sample(sa, dtype, "int"), sample(sb, dtype, "int")], grad=False)
        add("where", lambda c, a, b: torch.where(c, a, b),
            [sample(sa, np.bool_, "bool"), sample(sa, dtype, "normal"), sample(sb, dtype, "normal")])
    for shape in [(3, 4), (2, 3, 4)]:
        for name, fn in REDUCE.items():
            add(name, fn, [sample(shape, dtype, "normal")])
        for name, fn in REDUCE_DISTINCT.items():
            add(name, fn, [sample(shape, dtype, "distinct")])
        for name, fn in INDEX_RESULTS.items():
            add(name, fn, [sample(shape, dtype, "distinct")], grad=False)
    # linear algebra, NumPy batching rules
    for sa, sb in [((4,), (4,)), ((3, 4), (4,)), ((4,), (4, 5)), ((3, 4), (4, 5)), ((2, 3, 4), (4, 5)),
                   ((2, 3, 4), (2, 4, 5)), ((2, 1, 3, 4), (3, 4, 2))]:
        add("matmul", torch.matmul, [sample(sa, dtype, "normal"), sample(sb, dtype, "normal")])
    add("mm", torch.mm, [sample((5, 3), dtype, "normal"), sample((3, 6), dtype, "normal")])
    add("bmm", torch.bmm, [sample((2, 5, 3), dtype, "normal"), sample((2, 3, 6), dtype, "normal")])
    add("addmm", lambda c, a, b: torch.addmm(c, a, b, beta=0.5, alpha=2.0),
        [sample((6,), dtype, "normal"), sample((5, 3), dtype, "normal"), sample((3, 6), dtype, "normal")])
    add("outer", torch.outer, [sample((4,), dtype, "normal"), sample((5,), dtype, "normal")])
    add("dot", torch.dot, [sample((6,), dtype, "normal"), sample((6,), dtype, "normal")])
    add("linear", F.linear, [sample((2, 3, 4), dtype, "normal"), sample((5, 4), dtype, "normal"),
                             sample((5,), dtype, "normal")])

    # shape and indexing
    x34, y34 = sample((3, 4), dtype, "normal"), sample((2, 4), dtype, "normal")
    add("cat_dim0", lambda a, b: torch.cat([a, b], 0), [x34, y34])
    add("cat_dim1", lambda a, b: torch.cat([a, b], 1), [sample((3, 2), dtype, "normal"), sample((3, 5), dtype, "normal")])
    add("stack_dim1", lambda a, b: torch.stack([a, b], 1), [sample((3, 4), dtype, "normal"), sample((3, 4), dtype, "normal")])
    add("split2_dim1_piece1", lambda a: torch.split(a, 2, 1)[1], [sample((3, 5), dtype, "normal")])
    add("chunk3_dim0_piece2", lambda a: torch.chunk(a, 3, 0)[2], [sample((7, 2), dtype, "normal")])
    add("flip_dims01", lambda a: torch.flip(a, (0, 1)), [sample((2, 3, 4), dtype, "normal")])
    add("repeat_2_1_3", lambda a: a.repeat(2, 1, 3), [sample((3, 4), dtype, "normal")])
    add("tile_2_2", lambda a: torch.tile(a, (2, 2)), [sample((3, 4), dtype, "normal")])
    add("pad_constant", lambda a: F.pad(a, (1, 2, 0, 1), value=0.5), [sample((2, 3, 4), dtype, "normal")])
    add("pad_reflect", lambda a: F.pad(a, (2, 1), mode="reflect"), [sample((2, 3, 5), dtype, "normal")])
    add("pad_replicate", lambda a: F.pad(a, (2, 1, 1, 2), mode="replicate"), [sample((1, 2, 3, 4), dtype, "normal")])
    add("index_select_dim1", lambda a, i: torch.index_select(a, 1, i), [sample((3, 5), dtype, "normal"), sample((6,), np.int64, "index5")])
    add("gather_dim1", lambda a, i: torch.gather(a, 1, i), [sample((3, 5), dtype, "normal"), sample((3, 4), np.int64, "index5")])
    add("scatter_add_dim0", lambda a, i, b: torch.scatter_add(a, 0, i, b),
        [sample((4, 3), dtype, "normal"), sample((5, 3), np.int64, "index4"), sample((5, 3), dtype, "normal")])
    add("index_add_dim0", lambda a, i, b: torch.index_add(a, 0, i, b, alpha=1.5),
        [sample((4, 3), dtype, "normal"), sample((6,), np.int64, "index4"), sample((6, 3), dtype, "normal")])
    add("masked_fill", lambda a, m: a.masked_fill(m, -2.0), [sample((3, 4), dtype, "normal"), sample((4,), np.bool_, "bool")])
    add("masked_select", lambda a, m: torch.masked_select(a, m), [sample((3, 4), dtype, "normal"), sample((3, 4), np.bool_, "bool")])
    add("sort_dim1_values", lambda a: torch.sort(a, 1).values, [sample((3, 6), dtype, "distinct")])
    add("sort_desc_indices", lambda a: torch.sort(a, 0, descending=True).indices, [sample((5, 3), dtype, "distinct")], grad=False)
    add("topk3_values", lambda a: torch.topk(a, 3).values, [sample((4, 6), dtype, "distinct")])
    add("topk2_smallest_indices", lambda a: torch.topk(a, 2, 0, largest=False).indices, [sample((5, 3), dtype, "distinct")], grad=False)
    add("argsort_last", lambda a: torch.argsort(a), [sample((3, 5), dtype, "distinct")], grad=False)
    add("embedding_pad1", lambda w, i: F.embedding(i, w, padding_idx=1), [sample((6, 3), dtype, "normal"), sample((2, 5), np.int64, "index6")])
    add("nonzero", lambda a: torch.nonzero(a), [sample((3, 4), dtype, "int")], grad=False)
add("one_hot", lambda i: F.one_hot(i, 5), [sample((2, 3), np.int64, "index5")], grad=False)
for dtype in (np.float32, np.float64):
    add("scatter_dim1", lambda a, i, b: torch.scatter(a, 1, i, b),
        [sample((3, 5), dtype, "normal"), np.stack([rng.permutation(5)[:2] for _ in range(3)]).astype(np.int64),
         sample((3, 2), dtype, "normal")])
    add("prod_all", lambda a: a.prod(), [sample((2, 3), dtype, "normal")])
    add("isnan", torch.isnan, [np.array([1.0, np.nan, -np.inf, 0.0], dtype=dtype)], grad=False)
    add("isfinite", torch.isfinite, [np.array([1.0, np.nan, -np.inf, 0.0], dtype=dtype)], grad=False)
    for name, fn in {"logical_and": torch.logical_and, "logical_or": torch.logical_or,
                     "logical_xor": torch.logical_xor}.items():
        add(name, fn, [sample((3, 4), dtype, "int"), sample((4,), dtype, "int")], grad=False)
    add("logical_not", torch.logical_not, [sample((3, 4), dtype, "int")], grad=False)
    add("all_dim1", lambda a: a.all(1), [sample((3, 4), dtype, "int")], grad=False)
    add("any_dim0", lambda a: a.any(0), [sample((3, 4), dtype, "int")], grad=False)
    # in-place variants on a non-leaf: the result and the gradient through the rebased history
    add("add_inplace", lambda a, b: (a * 1).add_(b, alpha=0.5), [sample((3, 4), dtype, "normal"), sample((4,), dtype, "normal")])
    add("mul_inplace", lambda a, b: (a * 1).mul_(b), [sample((3, 4), dtype, "normal"), sample((3, 4), dtype, "normal")])
    add("clamp_inplace", lambda a: (a * 1).clamp_(-0.3, 0.4), [sample((3, 4), dtype, "normal")])

# integer and mixed-dtype forward values
for dtype in (np.int64, np.int32):
    for name in ("add", "sub", "mul", "maximum", "minimum"):
        add(name, BINARY[name], [sample((3, 4), dtype, "int"), sample((4,), dtype, "int")], grad=False)
    add("div", torch.div, [sample((3, 4), dtype, "int"), sample((3, 4), dtype, "pos").astype(dtype) + 1], grad=False)
    for name in ("neg", "abs", "sign", "square"):
        add(name, UNARY[name], [sample((3, 4), dtype, "int")], grad=False)
    add("sum_all", REDUCE["sum_all"], [sample((3, 4), dtype, "int")], grad=False)
    add("matmul", torch.matmul, [sample((3, 4), dtype, "int"), sample((4, 2), dtype, "int")], grad=False)
add("add", torch.add, [sample((3, 4), np.float32, "normal"), sample((3, 4), np.float64, "normal")])
add("mul", torch.mul, [sample((3, 4), np.int64, "int"), sample((4,), np.float32, "normal")])


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    lines = []
    for case_id, (name, fn, arrays, grad) in enumerate(cases):
        tensors = [torch.from_numpy(np.array(a)) for a in arrays]
        for t in tensors:
            if grad and t.is_floating_point():
                t.requires_grad_(True)
        out = fn(*tensors)
        prefix = os.path.join(out_dir, f"c{case_id}")
        for i, a in enumerate(arrays):
            np.save(f"{prefix}_in{i}.npy", np.array(a))
        np.save(f"{prefix}_out.npy", out.detach().numpy())
        do_grad = grad and out.is_floating_point() and any(t.requires_grad for t in tensors)
        if do_grad:
            g = torch.from_numpy(sample(tuple(out.shape), arrays[0].dtype if arrays[0].dtype != bool else np.float32,
                                        "normal")).to(out.dtype)
            np.save(f"{prefix}_gout.npy", g.numpy())
            grads = torch.autograd.grad(out, [t for t in tensors if t.requires_grad], g, allow_unused=True)
            it = iter(grads)
            for i, t in enumerate(tensors):
                if t.requires_grad:
                    gi = next(it)
                    np.save(f"{prefix}_grad{i}.npy", (gi if gi is not None else torch.zeros_like(t)).numpy())
        lines.append(f"c{case_id} {name} {len(arrays)} {int(do_grad)}")
    with open(os.path.join(out_dir, "manifest.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {len(lines)} cases")


if __name__ == "__main__":
    main()
