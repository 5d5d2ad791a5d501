"""PyTorch reference for the attribution methods (tests/explain/attribution_test.cpp).

Captum is not used: each method is written here from its paper, in PyTorch, on a twin of the
C++ test's small CNN (conv 1->4, ReLU, conv 4->6, ReLU, max pool 2, flatten, linear 96->3;
float32 weights saved as state.*, evaluated in float64 so that the oracle's own rounding does
not count) on three 1x8x8 inputs:
  - saliency: d(sum_b output[b, target_b]) / d inputs (torch.autograd.grad);
  - Integrated Gradients (Sundararajan et al. 2017): (x - x') * sum_i w_i grad(x' + a_i (x - x'))
    for every quadrature rule (Riemann left/right/middle/trapezoid as the formulas read,
    Gauss-Legendre from numpy.polynomial.legendre.leggauss), and the completeness gap
    delta = sum(attributions) - (f(x) - f(x')), also on a smooth twin (tanh, average pooling);
  - occlusion (Zeiler and Fergus 2014): the same loops as the C++ (every window position,
    baseline inside the window, score drop averaged over the windows covering each element);
  - Grad-CAM (Selvaraju et al. 2017) through torch's own register_forward_hook and
    register_full_backward_hook on the layer, F.interpolate(bilinear, align_corners=False);
  - scipy.stats.spearmanr on values with ties;
  - a small MLP trained here on a 4-column table, for permutation importance.

usage:
  attribution_reference.py OUT_DIR               writes <name>.npy files into OUT_DIR
  attribution_reference.py OUT_DIR smoothgrad    reads smoothgrad_inputs.npy [S, B, 1, 8, 8] (the
      noisy inputs the C++ drew) and writes the mean gradient and mean squared gradient over S
  attribution_reference.py OUT_DIR permutation   reads permutations.npy [F, R, N] (the C++
      Generator's permutations) and writes the importances baseline - accuracy(shuffled)
"""
import os
import sys

import numpy as np
import scipy.stats
import torch
import torch.nn as nn
import torch.nn.functional as F

out = sys.argv[1]
mode = sys.argv[2] if len(sys.argv) > 2 else "main"


def save(name, value):
    np.save(os.path.join(out, name + ".npy"), value.detach().numpy() if torch.is_tensor(value) else value)


def load(name):
    return np.load(os.path.join(out, name + ".npy"))


def make_cnn():
    torch.manual_seed(20261208)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(96, 3)).eval()


def make_mlp_data():
    """A table whose class depends on columns 0 (strongly) and 1 (weakly), not on 2 and 3, and
    a small MLP trained on it (float32)."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(80, 4)).astype(np.float32)
    y = (2 * x[:, 0] + 0.7 * x[:, 1] + 0.3 * rng.normal(size=80) > 0).astype(np.int64)
    torch.manual_seed(11)
    mlp = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    opt = torch.optim.Adam(mlp.parameters(), lr=0.05)
    for _ in range(200):
        opt.zero_grad()
        F.cross_entropy(mlp(torch.tensor(x)), torch.tensor(y)).backward()
        opt.step()
    return x, y, mlp.eval()


def accuracy(mlp, x, y):
    with torch.no_grad():
        return float((mlp(torch.tensor(x)).argmax(1).numpy() == y).mean())


cnn = make_cnn()
cnn64 = make_cnn().double()
cnn64.load_state_dict({k: v.double() for k, v in cnn.state_dict().items()})
targets = torch.tensor([0, 2, 1])


def target_gradient(x, t):
    """d(sum_n output[n, t_n]) / d x, and the scores, in float64."""
    x = x.detach().double().requires_grad_(True)
    scores = cnn64(x).gather(1, t.view(-1, 1)).squeeze(1)
    return torch.autograd.grad(scores.sum(), x)[0], scores.detach()


if mode == "smoothgrad":
    noisy = torch.tensor(load("smoothgrad_inputs"))  # [S, B, 1, 8, 8]
    grads = torch.stack([target_gradient(sample, targets)[0] for sample in noisy])
    save("smoothgrad_mean", grads.mean(0))
    save("smoothgrad_squared", (grads * grads).mean(0))
    sys.exit(0)

if mode == "permutation":
    x, y, mlp = make_mlp_data()
    perms = load("permutations")  # [F, R, N]
    baseline = accuracy(mlp, x, y)
    importances = np.zeros(perms.shape[:2])
    for f in range(perms.shape[0]):
        for r in range(perms.shape[1]):
            shuffled = x.copy()
            shuffled[:, f] = x[perms[f, r], f]
            importances[f, r] = baseline - accuracy(mlp, shuffled, y)
    save("permutation_baseline", np.array(baseline))
    save("permutation_importances", importances)
    save("permutation_mean", importances.mean(1))
    save("permutation_std", importances.std(1))  # ddof 0, as scikit-learn
    sys.exit(0)

# ------------------------------------------------------------------ main mode
rng = np.random.default_rng(20261208)
for name, value in cnn.state_dict().items():
    save("state." + name, value)
x = torch.tensor(rng.normal(size=(3, 1, 8, 8)), dtype=torch.float32)
save("x", x)
save("targets", targets)
x64 = x.double()
with torch.no_grad():
    save("logits", cnn64(x64))

gradient, scores = target_gradient(x64, targets)
save("scores", scores)
save("gradient", gradient)

# Quadrature: numpy's Gauss-Legendre nodes and weights (float64), the oracle for the C++ Newton iteration.
for n in (1, 2, 3, 5, 16, 64, 100, 256):
    nodes, weights = np.polynomial.legendre.leggauss(n)
    save(f"leggauss_nodes.{n}", nodes)
    save(f"leggauss_weights.{n}", weights)


def rule(name, n):
    i = np.arange(n, dtype=np.float64)
    if name == "riemann_left":
        return i / n, np.full(n, 1 / n)
    if name == "riemann_right":
        return (i + 1) / n, np.full(n, 1 / n)
    if name == "riemann_middle":
        return (i + 0.5) / n, np.full(n, 1 / n)
    if name == "riemann_trapezoid":
        w = np.full(n, 1 / (n - 1))
        w[0] /= 2
        w[-1] /= 2
        return i / (n - 1), w
    nodes, weights = np.polynomial.legendre.leggauss(n)
    return (nodes + 1) / 2, weights / 2


def integrated_gradients(x, baseline, name, n):
    alphas, weights = rule(name, n)
    integral = torch.zeros_like(x)
    for a, w in zip(alphas, weights):
        integral += w * target_gradient(baseline + a * (x - baseline), targets)[0]
    attributions = (x - baseline) * integral
    with torch.no_grad():
        change = cnn64(x).gather(1, targets.view(-1, 1)).squeeze(1) - cnn64(baseline).gather(1, targets.view(-1, 1)).squeeze(1)
    return attributions, attributions.sum((1, 2, 3)) - change, change


names = ["riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid", "gauss_legendre"]
zero = torch.zeros_like(x64)
for name in names:
    attributions, delta, _ = integrated_gradients(x64, zero, name, 16)
    save("ig." + name, attributions)
    save("ig_delta." + name, delta)
example_baseline = torch.tensor(rng.uniform(-0.5, 0.5, size=(1, 8, 8)), dtype=torch.float32)
save("ig_example_baseline", example_baseline)
attributions, delta, _ = integrated_gradients(x64, example_baseline.double().expand_as(x64), "gauss_legendre", 16)
save("ig_baseline.gauss_legendre", attributions)
save("ig_baseline_delta.gauss_legendre", delta)
for name in ("gauss_legendre", "riemann_trapezoid"):
    _, delta, change = integrated_gradients(x64, zero, name, 64)
    save("ig64_delta." + name, delta)
    save("ig64_change", change)
# The same weights with smooth activations (tanh, average pooling): an integrand without kinks,
# where the quadrature error falls fast with the steps.
relu_cnn64 = cnn64
cnn64 = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.Tanh(), nn.Conv2d(4, 6, 3, padding=1), nn.Tanh(),
                      nn.AvgPool2d(2), nn.Flatten(), nn.Linear(96, 3)).double()
cnn64.load_state_dict(relu_cnn64.state_dict())
for name in ("gauss_legendre", "riemann_trapezoid"):
    _, delta, change = integrated_gradients(x64, zero, name, 64)
    save("ig64_smooth_delta." + name, delta)
    save("ig64_smooth_change", change)
cnn64 = relu_cnn64


def occlusion(x, window, strides, baseline):
    with torch.no_grad():
        full = cnn64(x).gather(1, targets.view(-1, 1)).squeeze(1)
        total = torch.zeros_like(x)
        count = torch.zeros_like(x[:1])
        dims = x.shape[1:]
        ranges = [range(0, dims[d] - window[d] + 1, strides[d]) for d in range(len(dims))]
        for c in ranges[0]:
            for h in ranges[1]:
                for w in ranges[2]:
                    region = (slice(None), slice(c, c + window[0]), slice(h, h + window[1]), slice(w, w + window[2]))
                    occluded = x.clone()
                    occluded[region] = baseline
                    drop = full - cnn64(occluded).gather(1, targets.view(-1, 1)).squeeze(1)
                    total[region] += drop.view(-1, 1, 1, 1)
                    count[region] += 1
        return torch.where(count > 0, total / count.clamp(min=1), torch.zeros_like(total))


save("occlusion.overlapping", occlusion(x64, (1, 3, 3), (1, 2, 2), 0.0))  # row and column 7 uncovered
save("occlusion.tiles", occlusion(x64, (1, 4, 4), (1, 4, 4), 0.5))


def grad_cam(layer):
    seen = {}
    module = cnn64[layer]
    forward = module.register_forward_hook(lambda m, i, o: seen.__setitem__("features", o))
    backward = module.register_full_backward_hook(lambda m, gi, go: seen.__setitem__("gradient", go[0]))
    xg = x64.clone().requires_grad_(True)
    cnn64(xg).gather(1, targets.view(-1, 1)).sum().backward()
    forward.remove()
    backward.remove()
    weights = seen["gradient"].mean((2, 3), keepdim=True)
    cam = F.relu((weights * seen["features"]).sum(1))
    heatmap = F.interpolate(cam.unsqueeze(1), size=x64.shape[-2:], mode="bilinear", align_corners=False).squeeze(1)
    return cam.detach(), heatmap.detach()


for layer in (2, 4):
    cam, heatmap = grad_cam(layer)
    save(f"gradcam_map.{layer}", cam)
    save(f"gradcam_heatmap.{layer}", heatmap)

# Spearman with ties in both, and continuous values in another shape.
a = rng.integers(0, 6, size=40).astype(np.float64)
b = a + rng.integers(0, 4, size=40)
save("spearman_a", a)
save("spearman_b", b)
save("spearman_ties", np.array(scipy.stats.spearmanr(a, b).correlation))
c = rng.normal(size=(4, 10))
d = c + rng.normal(size=(4, 10))
save("spearman_c", c)
save("spearman_d", d)
save("spearman_continuous", np.array(scipy.stats.spearmanr(c.ravel(), d.ravel()).correlation))

tab_x, tab_y, mlp = make_mlp_data()
save("tab_x", tab_x)
save("tab_y", tab_y)
for name, value in mlp.state_dict().items():
    save("mlp." + name, value)
