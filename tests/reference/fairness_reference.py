"""NumPy / scikit-learn side of tests/metrics/fairness_test.cpp (cajal::metrics fairness).

  fairness_reference.py DIR

Generates three seeded data sets and writes them, with the oracle's results, into DIR.
Group names are listed in <set>_names.txt, one per line in the order of the integer codes in
<set>_groups.npy; results per group are in sorted order of the names, then one row for all
examples together ("overall"). Fairlearn is not in Debian, so its gaps are written out from its
definitions (fairlearn/metrics/_fairness_metrics.py, method "between_groups").

r_*  (the report: 3 groups, 1800 examples, probabilities with ties and values on bin edges)
  r_true.npy, r_pred.npy (int64), r_scores.npy (float64), r_groups.npy (int64 codes)
  r_counts.npy     int64 [G+1, 7]: count, positives, negatives, tp, fp, tn, fn (confusion_matrix)
  r_rates.npy      [G+1, 7]: selection rate, TPR, FPR, accuracy_score, base rate,
                   brier_score_loss, roc_auc_score
  r_cal_true_k.npy, r_cal_pred_k.npy, r_cal_count_k.npy: calibration_curve(n_bins=10,
                   strategy="uniform") of row k, and the examples in each non-empty bin
  r_roc_k.npy      [2, P]: roc_curve(drop_intermediate=False) false and true positive rates
  r_gaps.npy       [4]: demographic parity difference, ratio, equalized odds difference,
                   equal opportunity difference
  r_boot.npy       [4, 2]: their 95% percentile bootstrap bounds, 2000 resamples drawn with
                   replacement within each group (stratified by group)
  r_weights.npy    reweighing weights n_g n_y / (n n_gy) (Kamiran and Calders; AIF360's formula)

t_*  (per-group thresholds: 3 small groups, scores rounded to 0.01 so that they tie)
  t_true.npy, t_scores.npy, t_groups.npy
  t_eopp.npy       [4]: tolerance t (1 / the fewest examples of class 1 in a group), then the
                   best accuracy of one threshold per group with TPR gap <= t, 0.01 and 0.2, by
                   brute force over every combination of candidate thresholds (+inf, then each
                   distinct score)
  t_eodds.npy      [2]: the equalized-odds optimum over randomized thresholds, as the linear
                   program "maximize accuracy at a common (FPR, TPR) inside every group's ROC
                   convex hull" (scipy.optimize.linprog), and the best deterministic choice with
                   equal TPR and FPR (gaps <= 1e-12), by brute force
  t_single.npy     best accuracy of one threshold shared by every group

e1_* .. e4_* (equalized odds on 2 to 5 groups, scores tied in e2 and e4)
  e<k>_true.npy, e<k>_scores.npy, e<k>_groups.npy, e<k>_eodds.npy: the linear program's optimum

rw_* (reweighing before training: 2 groups whose base rates differ)
  rw_features.npy  [N, 3]: 1, x, [group is "group_b"]; rw_true.npy, rw_groups.npy
  rw_coef_plain.npy, rw_coef_weighted.npy: LogisticRegression(penalty=None) coefficients
                   without and with the reweighing weights as sample_weight
"""
import os
import sys
import warnings

import numpy as np
from scipy.optimize import linprog
from sklearn.calibration import calibration_curve
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, brier_score_loss, confusion_matrix, roc_auc_score, roc_curve

OUT = sys.argv[1]


def save(name, value, dtype=np.float64):
    np.save(os.path.join(OUT, name + ".npy"), np.asarray(value, dtype=dtype))


def save_names(prefix, names):
    with open(os.path.join(OUT, prefix + "_names.txt"), "w") as f:
        f.write("".join(n + "\n" for n in names))


def sorted_groups(names, codes):
    """(name, boolean mask) for each group, sorted by name."""
    return [(n, codes == names.index(n)) for n in sorted(names)]


def gaps(sel, tpr, fpr):
    """Fairlearn's between-groups gaps; NaN where a rate or the ratio is undefined."""
    sel, tpr, fpr = map(np.asarray, (sel, tpr, fpr))
    dp_ratio = sel.min() / sel.max() if sel.max() > 0 else np.nan
    eopp = tpr.max() - tpr.min()
    eo = max(eopp, fpr.max() - fpr.min())
    return np.array([sel.max() - sel.min(), dp_ratio, eo, eopp])


def reweighing(y, codes):
    n = len(y)
    w = np.empty(n)
    for g in np.unique(codes):
        for label in (0, 1):
            cell = (codes == g) & (y == label)
            w[cell] = (codes == g).sum() * (y == label).sum() / (n * cell.sum())
    return w


# ------------------------------------------------------------------ report

def report_set(rng):
    names = ["women", "men", "nonbinary"]  # sorted: men, nonbinary, women
    sizes = [800, 600, 400]
    base = [0.45, 0.6, 0.35]
    separation = [1.6, 1.2, 0.9]
    cut = [0.55, 0.45, 0.5]
    codes, y, s, pred = [], [], [], []
    for g, n in enumerate(sizes):
        yg = (rng.random(n) < base[g]).astype(np.int64)
        sg = 1 / (1 + np.exp(-(separation[g] * (2 * yg - 1) + rng.normal(0, 1.2, n))))
        sg = np.round(sg, 3)  # ties
        sg[:6] = [0.0, 0.1, 0.3, 0.7, 1.0, 0.5]  # on calibration bin edges and the ends
        codes.append(np.full(n, g))
        y.append(yg)
        s.append(sg)
        pred.append((sg >= cut[g]).astype(np.int64))
    codes, y, s, pred = map(np.concatenate, (codes, y, s, pred))
    save_names("r", names)
    save("r_groups", codes, np.int64)
    save("r_true", y, np.int64)
    save("r_pred", pred, np.int64)
    save("r_scores", s)

    rows = sorted_groups(names, codes) + [("overall", np.ones(len(y), bool))]
    counts, rates = [], []
    for k, (_, m) in enumerate(rows):
        tn, fp, fn, tp = confusion_matrix(y[m], pred[m], labels=[0, 1]).ravel()
        counts.append([m.sum(), tp + fn, tn + fp, tp, fp, tn, fn])
        rates.append([pred[m].mean(), tp / (tp + fn), fp / (fp + tn), accuracy_score(y[m], pred[m]),
                      y[m].mean(), brier_score_loss(y[m], s[m]), roc_auc_score(y[m], s[m])])
        prob_true, prob_pred = calibration_curve(y[m], s[m], n_bins=10, strategy="uniform")
        save(f"r_cal_true_{k}", prob_true)
        save(f"r_cal_pred_{k}", prob_pred)
        bins = np.searchsorted(np.linspace(0.0, 1.0, 11)[1:-1], s[m])
        in_bin = np.bincount(bins, minlength=10)
        save(f"r_cal_count_{k}", in_bin[in_bin > 0], np.int64)
        fpr, tpr, _ = roc_curve(y[m], s[m], drop_intermediate=False)
        save(f"r_roc_{k}", np.stack([fpr, tpr]))
    counts, rates = np.array(counts), np.array(rates)
    save("r_counts", counts, np.int64)
    save("r_rates", rates)
    G = len(names)
    save("r_gaps", gaps(rates[:G, 0], rates[:G, 1], rates[:G, 2]))

    # Stratified percentile bootstrap: each group resampled with replacement to its own size.
    B, confidence = 2000, 0.95
    stats = np.empty((B, 4))
    per_group = []
    for _, m in rows[:G]:
        yg, pg = y[m], pred[m]
        idx = rng.integers(0, m.sum(), size=(B, m.sum()))
        yb, pb = yg[idx], pg[idx]
        pos = yb.sum(1)
        neg = m.sum() - pos
        tp = (yb & pb).sum(1)
        fp = ((1 - yb) & pb).sum(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            per_group.append((pb.mean(1), tp / pos, fp / neg))
    for b in range(B):
        stats[b] = gaps([p[0][b] for p in per_group], [p[1][b] for p in per_group], [p[2][b] for p in per_group])
    bounds = []
    for j in range(4):
        v = stats[:, j][~np.isnan(stats[:, j])]
        bounds.append(np.percentile(v, [100 * (1 - confidence) / 2, 100 * (1 + confidence) / 2]))
    save("r_boot", np.array(bounds))
    save("r_weights", reweighing(y, codes))


# ------------------------------------------------------------------ thresholds

def candidates(s, y):
    """ROC points of one group: thresholds +inf then each distinct score from the highest,
    with their TPR, FPR and correct counts (score >= threshold predicted 1)."""
    thresholds = np.r_[np.inf, np.unique(s)[::-1]]
    pred = s[None, :] >= thresholds[:, None]
    tp = (pred & (y == 1)).sum(1)
    fp = (pred & (y == 0)).sum(1)
    P, N = (y == 1).sum(), (y == 0).sum()
    return tp / P, fp / N, tp + (N - fp)


def threshold_set(rng):
    names = ["south", "north", "east"]  # sorted: east, north, south
    sizes, base, mean_gap, spread = [60, 100, 150], [0.4, 0.55, 0.3], [0.25, 0.35, 0.2], [0.15, 0.2, 0.12]
    codes, y, s = [], [], []
    for g, n in enumerate(sizes):
        yg = (rng.random(n) < base[g]).astype(np.int64)
        sg = np.clip(rng.normal(0.4 + mean_gap[g] * yg, spread[g]), 0, 1).round(2)
        codes.append(np.full(n, g))
        y.append(yg)
        s.append(sg)
    codes, y, s = map(np.concatenate, (codes, y, s))
    save_names("t", names)
    save("t_groups", codes, np.int64)
    save("t_true", y, np.int64)
    save("t_scores", s)
    n = len(y)

    groups = [candidates(s[m], y[m]) for _, m in sorted_groups(names, codes)]
    assert len(groups) == 3
    tol = 1 / min((y[m] == 1).sum() for _, m in sorted_groups(names, codes))
    (t0, f0, c0), (t1, f1, c1), (t2, f2, c2) = groups
    T = [t0[:, None, None], t1[None, :, None], t2[None, None, :]]
    F = [f0[:, None, None], f1[None, :, None], f2[None, None, :]]
    correct = c0[:, None, None] + c1[None, :, None] + c2[None, None, :]
    tpr_gap = np.maximum(np.maximum(*T[:2]), T[2]) - np.minimum(np.minimum(*T[:2]), T[2])
    fpr_gap = np.maximum(np.maximum(*F[:2]), F[2]) - np.minimum(np.minimum(*F[:2]), F[2])
    save("t_eopp", [tol] + [correct[tpr_gap <= t + 1e-12].max() / n for t in (tol, 0.01, 0.2)])

    deterministic = correct[(tpr_gap <= 1e-12) & (fpr_gap <= 1e-12)].max() / n
    save("t_eodds", [equalized_odds_optimum(groups, y), deterministic])

    _, _, all_correct = candidates(s, y)
    save("t_single", all_correct.max() / n)


def equalized_odds_optimum(groups, y):
    """The best accuracy at a common (FPR, TPR) inside every group's ROC convex hull: a linear
    program over convex weights of each group's ROC points, then x (FPR) and y (TPR)."""
    n = len(y)
    sizes_k = [len(t) for t, _, _ in groups]
    nv = sum(sizes_k) + 2
    A, b = [], []
    offset = 0
    for (tpr, fpr, _), k in zip(groups, sizes_k):
        for row in (np.ones(k), fpr, tpr):
            a = np.zeros(nv)
            a[offset:offset + k] = row
            A.append(a)
        A[-2][nv - 2] = -1
        A[-1][nv - 1] = -1
        b += [1, 0, 0]
        offset += k
    P, N = (y == 1).sum(), (y == 0).sum()
    c = np.zeros(nv)
    c[nv - 2], c[nv - 1] = N, -P  # minimize N x - P y
    lp = linprog(c, A_eq=np.array(A), b_eq=np.array(b), bounds=[(0, None)] * (nv - 2) + [(0, 1), (0, 1)],
                 method="highs")
    assert lp.status == 0, lp.message
    x, yy = lp.x[-2], lp.x[-1]
    return (P * yy + N * (1 - x)) / n


def extra_threshold_sets(rng):
    """e1 .. e4: 2 to 5 groups of random sizes and score shapes, some tied, some not; for each,
    e<k>_eodds.npy holds the linear program's optimum."""
    for k, n_groups in enumerate((2, 3, 4, 5), start=1):
        names = [f"g{g}" for g in range(n_groups)]
        codes, y, s = [], [], []
        for g in range(n_groups):
            n = int(rng.integers(30, 200))
            yg = (rng.random(n) < rng.uniform(0.2, 0.7)).astype(np.int64)
            yg[:2] = [0, 1]
            sg = rng.normal(rng.uniform(0, 1) + rng.uniform(0, 1.5) * yg, rng.uniform(0.3, 1.0))
            if k % 2 == 0:
                sg = sg.round(1)
            codes.append(np.full(n, g))
            y.append(yg)
            s.append(sg)
        codes, y, s = map(np.concatenate, (codes, y, s))
        save_names(f"e{k}", names)
        save(f"e{k}_groups", codes, np.int64)
        save(f"e{k}_true", y, np.int64)
        save(f"e{k}_scores", s)
        groups = [candidates(s[m], y[m]) for _, m in sorted_groups(names, codes)]
        save(f"e{k}_eodds", equalized_odds_optimum(groups, y))


# ------------------------------------------------------------------ reweighing

def reweighing_set(rng):
    names = ["group_b", "group_a"]
    sizes = [1400, 600]
    codes = np.concatenate([np.full(k, g) for g, k in enumerate(sizes)])
    x = rng.normal(0, 1, len(codes))
    is_b = (codes == 0).astype(float)
    y = (rng.random(len(codes)) < 1 / (1 + np.exp(-(1.5 * x + 1.2 * is_b - 0.6)))).astype(np.int64)
    features = np.stack([np.ones(len(codes)), x, is_b], axis=1)
    save_names("rw", names)
    save("rw_groups", codes, np.int64)
    save("rw_true", y, np.int64)
    save("rw_features", features)
    w = reweighing(y, codes)
    for name, weight in (("plain", None), ("weighted", w)):
        model = LogisticRegression(penalty=None, fit_intercept=False, tol=1e-12, max_iter=10000)
        model.fit(features, y, sample_weight=weight)
        save(f"rw_coef_{name}", model.coef_[0])


def main():
    warnings.simplefilter("ignore")
    rng = np.random.default_rng(20240607)
    report_set(rng)
    threshold_set(rng)
    reweighing_set(rng)
    extra_threshold_sets(rng)


if __name__ == "__main__":
    main()
