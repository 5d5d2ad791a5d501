"""SciPy's side of tests/metrics/generative_test.cpp.

  metrics_generative_reference.py DIR

reads DIR/a.npy, DIR/b.npy (feature sets [N, D], float64) and DIR/labels.npy, and writes the
covariance of a (numpy.cov, N - 1) and its scipy.linalg.sqrtm (covariance_a.npy, sqrtm_a.npy),
the Fréchet distance |mu_a - mu_b|^2 + tr(C_a + C_b - 2 sqrtm(C_a @ C_b)) (frechet.npy) and
scipy.stats.entropy of the labels' histogram over 10 classes, in nats (entropy.npy).
"""
import os
import sys

import numpy as np
import scipy.linalg
import scipy.stats


def main():
    d = sys.argv[1]
    a, b = np.load(os.path.join(d, "a.npy")), np.load(os.path.join(d, "b.npy"))
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    np.save(os.path.join(d, "covariance_a.npy"), ca)
    np.save(os.path.join(d, "sqrtm_a.npy"), np.real(scipy.linalg.sqrtm(ca)))
    cross = np.real(scipy.linalg.sqrtm(ca @ cb))
    diff = a.mean(0) - b.mean(0)
    np.save(os.path.join(d, "frechet.npy"), np.array(diff @ diff + np.trace(ca + cb - 2 * cross)))
    counts = np.bincount(np.load(os.path.join(d, "labels.npy")), minlength=10)
    np.save(os.path.join(d, "entropy.npy"), np.array(scipy.stats.entropy(counts)))


if __name__ == "__main__":
    main()
