"""PyTorch reference for cajal's loss functions (tests/nn/loss_test.cpp).

Every case runs one torch.nn.functional loss with fixed options on random inputs (NumPy,
fixed seed), in float32 and float64, and writes the inputs, the output, a random upstream
gradient and PyTorch's gradient for every input marked differentiable, as .npy files:

    <id>_in<k>.npy, <id>_out.npy, <id>_gout.npy, <id>_grad<k>.npy

with one manifest line per case:

    <id> <op name> <number of inputs> <grad flags, one 0/1 per input>

The C++ test looks the op name up in its registry, which must call the same loss with the
same options (the class weights, pos_weight and targets arrive as inputs).

usage: loss_reference.py OUT_DIR
"""
import os
import sys
import warnings

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)
warnings.filterwarnings("ignore")  # kl_div's note on reduction='mean'
rng = np.random.default_rng(20261128)


# --- input makers: each returns a NumPy array for a float dtype ---

def normal(*shape, scale=1.0):
    return lambda dt: (rng.normal(size=shape) * scale).astype(dt)


def uniform(lo, hi, *shape):
    return lambda dt: rng.uniform(lo, hi, shape).astype(dt)


def classes(n, *shape, ignore=None, ignore_index=-100):
    """int64 class indices in [0, n); about a quarter set to ignore_index when ignore."""
    def make(dt):
        t = rng.integers(0, n, shape)
        if ignore:
            t[rng.uniform(size=shape) < 0.25] = ignore_index
        return t.astype(np.int64)
    return make


def probabilities(*shape, dim=1):
    def make(dt):
        x = np.exp(rng.normal(size=shape))
        return (x / x.sum(axis=dim, keepdims=True)).astype(dt)
    return make


def log_probabilities(*shape, dim=-1):
    def make(dt):
        x = rng.normal(size=shape)
        return (x - np.log(np.exp(x).sum(axis=dim, keepdims=True))).astype(dt)
    return make


def signs(*shape, integer=False):
    def make(dt):
        s = rng.choice([-1, 1], size=shape)
        return s.astype(np.int64) if integer else s.astype(dt)
    return make


def fixed(values):
    return lambda dt: np.asarray(values, dtype=dt)


# --- cases: name -> (torch function, input makers, grad flags) ---

CASES = {}


def case(name, fn, makers, grads):
    CASES[name] = (fn, makers, grads)


def regression_cases():
    x, t = normal(4, 5, scale=1.5), normal(4, 5, scale=1.5)
    for red in ("mean", "sum", "none"):
        case(f"mse_{red}", lambda a, b, r=red: F.mse_loss(a, b, reduction=r), [x, t], [1, 1])
        case(f"l1_{red}", lambda a, b, r=red: F.l1_loss(a, b, reduction=r), [x, t], [1, 1])
    case("mse_target_broadcast", lambda a, b: F.mse_loss(a, b.expand(4, 5)), [x, normal(5)], [1, 1])
    case("l1_scalar_target_sum", lambda a, b: F.l1_loss(a, b.expand(4, 5), reduction="sum"), [x, normal()], [1, 1])
    case("smooth_l1_mean", lambda a, b: F.smooth_l1_loss(a, b), [x, t], [1, 1])
    case("smooth_l1_beta05_none", lambda a, b: F.smooth_l1_loss(a, b, reduction="none", beta=0.5), [x, t], [1, 1])
    case("smooth_l1_beta0_sum", lambda a, b: F.smooth_l1_loss(a, b, reduction="sum", beta=0.0), [x, t], [1, 1])
    case("smooth_l1_beta3_mean", lambda a, b: F.smooth_l1_loss(a, b, beta=3.0), [x, t], [1, 1])
    case("huber_mean", lambda a, b: F.huber_loss(a, b), [x, t], [1, 1])
    case("huber_delta07_none", lambda a, b: F.huber_loss(a, b, reduction="none", delta=0.7), [x, t], [1, 1])
    case("huber_delta2_sum", lambda a, b: F.huber_loss(a, b, reduction="sum", delta=2.0), [x, t], [1, 1])


def cross_entropy_cases():
    x, t, w = normal(8, 5, scale=2.0), classes(5, 8), uniform(0.2, 2.0, 5)
    ti = classes(5, 8, ignore=True)
    for red in ("mean", "sum", "none"):
        case(f"ce_{red}", lambda a, b, r=red: F.cross_entropy(a, b, reduction=r), [x, t], [1, 0])
        case(f"ce_weight_{red}", lambda a, b, c, r=red: F.cross_entropy(a, b, c, reduction=r), [x, t, w], [1, 0, 0])
        case(f"ce_weight_ignore_{red}", lambda a, b, c, r=red: F.cross_entropy(a, b, c, reduction=r), [x, ti, w],
             [1, 0, 0])
        case(f"ce_smooth_weight_ignore_{red}",
             lambda a, b, c, r=red: F.cross_entropy(a, b, c, reduction=r, label_smoothing=0.2), [x, ti, w], [1, 0, 0])
        case(f"nll_{red}", lambda a, b, r=red: F.nll_loss(a, b, reduction=r), [log_probabilities(8, 5), t], [1, 0])
        case(f"nll_weight_ignore_{red}", lambda a, b, c, r=red: F.nll_loss(a, b, c, reduction=r),
             [log_probabilities(8, 5), ti, w], [1, 0, 0])
        case(f"ce_probs_{red}", lambda a, b, r=red: F.cross_entropy(a, b, reduction=r),
             [x, probabilities(8, 5)], [1, 1])
        case(f"ce_probs_weight_smooth_{red}",
             lambda a, b, c, r=red: F.cross_entropy(a, b, c, reduction=r, label_smoothing=0.3),
             [x, probabilities(8, 5), w], [1, 1, 0])
    case("ce_ignore_mean", lambda a, b: F.cross_entropy(a, b), [x, ti], [1, 0])
    case("ce_ignore_index2_mean", lambda a, b: F.cross_entropy(a, b, ignore_index=2), [x, t], [1, 0])
    case("ce_smooth_mean", lambda a, b: F.cross_entropy(a, b, label_smoothing=0.1), [x, t], [1, 0])
    case("ce_smooth_ignore_sum", lambda a, b: F.cross_entropy(a, b, reduction="sum", label_smoothing=0.1),
         [x, ti], [1, 0])
    case("ce_smooth1_mean", lambda a, b: F.cross_entropy(a, b, label_smoothing=1.0), [x, t], [1, 0])
    # Class dim 1 of [N, C, d1, d2], and an unbatched [C] input with a 0-d target.
    xs, ts, tsi = normal(3, 4, 2, 5, scale=2.0), classes(4, 3, 2, 5), classes(4, 3, 2, 5, ignore=True)
    ws = uniform(0.2, 2.0, 4)
    case("ce_spatial_mean", lambda a, b: F.cross_entropy(a, b), [xs, ts], [1, 0])
    case("ce_spatial_weight_ignore_smooth_mean",
         lambda a, b, c: F.cross_entropy(a, b, c, label_smoothing=0.15), [xs, tsi, ws], [1, 0, 0])
    case("ce_spatial_weight_none", lambda a, b, c: F.cross_entropy(a, b, c, reduction="none"), [xs, ts, ws], [1, 0, 0])
    case("nll_spatial_weight_ignore_mean", lambda a, b, c: F.nll_loss(a, b, c),
         [log_probabilities(3, 4, 2, 5, dim=1), tsi, ws], [1, 0, 0])
    case("ce_probs_spatial_sum", lambda a, b: F.cross_entropy(a, b, reduction="sum"),
         [xs, probabilities(3, 4, 2, 5)], [1, 1])
    case("ce_unbatched_mean", lambda a, b: F.cross_entropy(a, b), [normal(6), classes(6)], [1, 0])
    case("ce_unbatched_none", lambda a, b: F.cross_entropy(a, b, reduction="none"), [normal(6), classes(6)], [1, 0])
    case("ce_probs_unbatched_mean", lambda a, b: F.cross_entropy(a, b), [normal(6), probabilities(6, dim=0)], [1, 1])
    case("nll_unbatched_none", lambda a, b: F.nll_loss(a, b, reduction="none"), [log_probabilities(6), classes(6)], [1, 0])
    # Many classes (vector loops with tails) and extreme logits.
    case("ce_many_classes_smooth_mean", lambda a, b: F.cross_entropy(a, b, label_smoothing=0.05),
         [normal(16, 301, scale=3.0), classes(301, 16)], [1, 0])
    case("ce_extreme_mean", lambda a, b: F.cross_entropy(a, b), [normal(6, 7, scale=1e4), classes(7, 6)], [1, 0])


def binary_cases():
    p, t, w = uniform(0.02, 0.98, 4, 5), uniform(0, 1, 4, 5), uniform(0.2, 2.0, 5)
    x, pw = normal(4, 5, scale=3.0), uniform(0.5, 3.0, 5)
    for red in ("mean", "sum", "none"):
        case(f"bce_{red}", lambda a, b, r=red: F.binary_cross_entropy(a, b, reduction=r), [p, t], [1, 1])
        case(f"bce_weight_{red}", lambda a, b, c, r=red: F.binary_cross_entropy(a, b, c, reduction=r),
             [p, t, w], [1, 1, 0])
        case(f"bce_logits_{red}", lambda a, b, r=red: F.binary_cross_entropy_with_logits(a, b, reduction=r),
             [x, t], [1, 1])
        case(f"bce_logits_weight_pos_{red}",
             lambda a, b, c, d, r=red: F.binary_cross_entropy_with_logits(a, b, c, reduction=r, pos_weight=d),
             [x, t, w, pw], [1, 1, 0, 0])
    case("bce_logits_pos_mean", lambda a, b, d: F.binary_cross_entropy_with_logits(a, b, pos_weight=d),
         [x, t, pw], [1, 1, 0])
    # pos_weight [C, 1, 1] broadcast over the class dim of [N, C, H, W].
    case("bce_logits_pos_spatial_mean", lambda a, b, d: F.binary_cross_entropy_with_logits(a, b, pos_weight=d),
         [normal(2, 3, 2, 2), uniform(0, 1, 2, 3, 2, 2), uniform(0.5, 3.0, 3, 1, 1)], [1, 1, 0])
    # Probabilities at exactly 0 and 1: the clamped logs and PyTorch's bounded input gradient.
    case("bce_saturated_none", lambda a, b: F.binary_cross_entropy(a, b, reduction="none"),
         [fixed([0.0, 1.0, 0.0, 1.0, 0.5]), fixed([0.0, 1.0, 0.3, 0.8, 0.5])], [1, 0])
    case("bce_logits_extreme_none", lambda a, b, d: F.binary_cross_entropy_with_logits(a, b, reduction="none",
                                                                                      pos_weight=d),
         [fixed([1e4, -1e4, 1e4, -1e4, 0.0]), fixed([1.0, 0.0, 0.0, 1.0, 0.5]), fixed([2.0])], [1, 1, 0])


def divergence_cases():
    lp, tp, tlp = log_probabilities(4, 6), probabilities(4, 6), log_probabilities(4, 6)
    for red in ("mean", "sum", "none", "batchmean"):
        case(f"kl_{red}", lambda a, b, r=red: F.kl_div(a, b, reduction=r), [lp, tp], [1, 1])
        case(f"kl_log_target_{red}", lambda a, b, r=red: F.kl_div(a, b, reduction=r, log_target=True),
             [lp, tlp], [1, 1])
    # Zeros in the target: 0 * log 0 counts as 0 (target gradient there is NaN in PyTorch: not compared).
    case("kl_zero_target_sum", lambda a, b: F.kl_div(a, b, reduction="sum"),
         [lp, fixed([[0.0, 0.5, 0.5, 0.0, 0.0, 0.0], [0.2, 0.2, 0.2, 0.2, 0.2, 0.0]] * 2)], [1, 0])


def ranking_cases():
    a, b, y = normal(6, 5), normal(6, 5), signs(6)
    for red in ("mean", "sum", "none"):
        case(f"cosine_{red}", lambda p, q, r_, r=red: F.cosine_embedding_loss(p, q, r_, reduction=r), [a, b, y],
             [1, 1, 0])
        case(f"ranking_{red}", lambda p, q, r_, r=red: F.margin_ranking_loss(p, q, r_, reduction=r),
             [normal(7), normal(7), signs(7)], [1, 1, 0])
        case(f"triplet_{red}", lambda p, q, n, r=red: F.triplet_margin_loss(p, q, n, reduction=r),
             [normal(5, 4), normal(5, 4), normal(5, 4)], [1, 1, 1])
    case("cosine_margin03_mean", lambda p, q, r: F.cosine_embedding_loss(p, q, r, margin=0.3), [a, b, y], [1, 1, 0])
    case("cosine_int_target_sum", lambda p, q, r: F.cosine_embedding_loss(p, q, r, margin=-0.2, reduction="sum"),
         [a, b, signs(6, integer=True)], [1, 1, 0])
    case("cosine_unbatched_none", lambda p, q, r: F.cosine_embedding_loss(p, q, r, reduction="none"),
         [normal(5), normal(5), fixed(-1.0)], [1, 1, 0])
    case("ranking_margin05_mean", lambda p, q, r: F.margin_ranking_loss(p, q, r, margin=0.5),
         [normal(3, 4), normal(3, 4), signs(3, 4)], [1, 1, 0])
    case("triplet_margin05_p1_mean", lambda p, q, n: F.triplet_margin_loss(p, q, n, margin=0.5, p=1),
         [normal(5, 4), normal(5, 4), normal(5, 4)], [1, 1, 1])
    case("triplet_p3_eps_swap_sum",
         lambda p, q, n: F.triplet_margin_loss(p, q, n, margin=2.0, p=3, eps=1e-3, swap=True, reduction="sum"),
         [normal(6, 3), normal(6, 3), normal(6, 3)], [1, 1, 1])
    case("triplet_swap_none", lambda p, q, n: F.triplet_margin_loss(p, q, n, swap=True, reduction="none"),
         [normal(6, 3), normal(6, 3), normal(6, 3)], [1, 1, 1])


def main():
    out_dir = sys.argv[1]
    regression_cases()
    cross_entropy_cases()
    binary_cases()
    divergence_cases()
    ranking_cases()
    with open(os.path.join(out_dir, "manifest.txt"), "w") as manifest:
        for name, (fn, makers, grads) in CASES.items():
            for dt, suffix in ((np.float32, "f32"), (np.float64, "f64")):
                case_id = f"{name}_{suffix}"
                arrays = [make(dt) for make in makers]
                inputs = [torch.tensor(a, requires_grad=bool(g)) for a, g in zip(arrays, grads)]
                out = fn(*inputs)
                gout = rng.normal(size=tuple(out.shape)).astype(dt)
                out.backward(torch.tensor(gout))
                prefix = os.path.join(out_dir, case_id)
                for k, (a, tensor) in enumerate(zip(arrays, inputs)):
                    np.save(f"{prefix}_in{k}.npy", a)
                    if grads[k]:
                        np.save(f"{prefix}_grad{k}.npy", tensor.grad.numpy())
                np.save(f"{prefix}_out.npy", out.detach().numpy())
                np.save(f"{prefix}_gout.npy", gout)
                flags = "".join(str(g) for g in grads)
                manifest.write(f"{case_id} {name} {len(arrays)} {flags}\n")


if __name__ == "__main__":
    main()
