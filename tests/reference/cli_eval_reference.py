"""scikit-learn as the oracle for the scores `cajal eval` prints (tests/cli/cli_test.cpp).

usage: cli_eval_reference.py tables DIR
  Writes scikit-learn's breast-cancer table (569 tumours, 30 features) as DIR/cancer_train.csv
  (450 rows) and DIR/cancer_test.csv (119 rows), split by a seeded permutation: a header of
  the feature names and "diagnosis", then one row per tumour with its class name
  (malignant or benign) in the last column.

usage: cli_eval_reference.py scores DIR
  Reads DIR/probabilities.npy [N, C] (a model's probabilities) and DIR/targets.npy (int64
  [N]) and writes beside them, as 0-d float64 arrays: log_loss.npy (log_loss) and
  roc_auc.npy (roc_auc_score of column 1 for C = 2; with multi_class='ovr', average='macro'
  for C > 2); for C = 2 also roc_curve.npy ([2, P]: false and true positive rates of
  roc_curve(drop_intermediate=False)).
"""
import csv
import os
import sys

import numpy as np
from sklearn import datasets, metrics


def tables(directory):
    cancer = datasets.load_breast_cancer()
    order = np.random.default_rng(0).permutation(len(cancer.target))
    for name, rows in (("cancer_train.csv", order[:450]), ("cancer_test.csv", order[450:])):
        with open(os.path.join(directory, name), "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(list(cancer.feature_names) + ["diagnosis"])
            for i in rows:
                writer.writerow([repr(float(v)) for v in cancer.data[i]] + [cancer.target_names[cancer.target[i]]])


def scores(directory):
    probabilities = np.load(os.path.join(directory, "probabilities.npy"))
    targets = np.load(os.path.join(directory, "targets.npy"))
    labels = list(range(probabilities.shape[1]))

    def save(name, value):
        np.save(os.path.join(directory, name), np.asarray(value, dtype=np.float64))

    save("log_loss.npy", metrics.log_loss(targets, probabilities, labels=labels))
    if len(labels) == 2:
        save("roc_auc.npy", metrics.roc_auc_score(targets, probabilities[:, 1]))
        fpr, tpr, _ = metrics.roc_curve(targets, probabilities[:, 1], drop_intermediate=False)
        save("roc_curve.npy", [fpr, tpr])
    else:
        save("roc_auc.npy", metrics.roc_auc_score(targets, probabilities, multi_class="ovr", average="macro", labels=labels))


if __name__ == "__main__":
    {"tables": tables, "scores": scores}[sys.argv[1]](sys.argv[2])
