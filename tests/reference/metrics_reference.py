"""scikit-learn reference for cajal's metrics test (tests/metrics/metrics_test.cpp).

OUT_DIR holds cases.txt, one case per line, "<id> <kind> <num_classes>", and the inputs
<id>_true.npy (targets) plus the kind's predictions. For each case the script writes
sklearn's results beside them, computed over the labels 0 .. C-1 (C = num_classes):

    labels      <id>_pred.npy int64 [N] ->
                <id>_accuracy.npy, <id>_confusion.npy (int64 [C, C]), <id>_support.npy (int64 [C]),
                <id>_per_class_zd<z>.npy ([3, C]: precision, recall, F1 with zero_division=z),
                <id>_averaged_zd<z>.npy ([3, 3]: rows macro, micro, weighted; columns precision,
                recall, F1), z = 0 and 1
    scores      <id>_scores.npy [N, C] -> <id>_accuracy.npy (of the row argmax),
                <id>_top_k.npy ([C]: top_k_accuracy_score for k = 1 .. C)
    probs       <id>_probs.npy [N, C] (C >= 3) -> <id>_log_loss.npy,
                <id>_roc_auc.npy ([3]: one-vs-rest macro, weighted, micro)
    binary      <id>_scores.npy [N] (probabilities of class 1) -> <id>_roc_auc.npy, <id>_log_loss.npy,
                <id>_roc_curve.npy ([2, P]: false and true positive rates of roc_curve with
                drop_intermediate=False; written only where the ROC AUC is defined)
    regression  <id>_pred.npy [N] -> <id>_regression.npy ([4]: MSE, RMSE, MAE, R^2)

Scalars are 0-d float64 arrays. Where sklearn raises a ValueError (ROC AUC undefined), the
value written is NaN, and the C++ test expects cajal to throw.

usage: metrics_reference.py OUT_DIR
"""
import os
import sys
import warnings

import numpy as np
from sklearn import metrics

warnings.simplefilter("ignore")  # UndefinedMetricWarning: zero_division, k >= C, R^2 of one sample


def raising_as_nan(f):
    try:
        return float(f())
    except ValueError:
        return float("nan")


def main(out_dir):
    def load(name):
        return np.load(os.path.join(out_dir, name))

    def save(name, value, dtype=np.float64):
        np.save(os.path.join(out_dir, name), np.asarray(value, dtype=dtype))

    with open(os.path.join(out_dir, "cases.txt")) as f:
        cases = [line.split() for line in f if line.strip()]
    for case_id, kind, num_classes in cases:
        labels = list(range(int(num_classes)))
        y_true = load(f"{case_id}_true.npy")
        if kind == "labels":
            y_pred = load(f"{case_id}_pred.npy")
            save(f"{case_id}_accuracy.npy", metrics.accuracy_score(y_true, y_pred))
            save(f"{case_id}_confusion.npy", metrics.confusion_matrix(y_true, y_pred, labels=labels), np.int64)
            for zd in (0, 1):
                p, r, f1, support = metrics.precision_recall_fscore_support(
                    y_true, y_pred, labels=labels, average=None, zero_division=zd)
                save(f"{case_id}_per_class_zd{zd}.npy", [p, r, f1])
                save(f"{case_id}_support.npy", support, np.int64)
                averaged = [metrics.precision_recall_fscore_support(
                    y_true, y_pred, labels=labels, average=average, zero_division=zd)[:3]
                    for average in ("macro", "micro", "weighted")]
                save(f"{case_id}_averaged_zd{zd}.npy", averaged)
        elif kind == "scores":
            scores = load(f"{case_id}_scores.npy")
            save(f"{case_id}_accuracy.npy", metrics.accuracy_score(y_true, np.argmax(scores, axis=1)))
            save(f"{case_id}_top_k.npy", [metrics.top_k_accuracy_score(y_true, scores, k=k, labels=labels)
                                         for k in range(1, len(labels) + 1)])
        elif kind == "probs":
            probs = load(f"{case_id}_probs.npy")
            save(f"{case_id}_log_loss.npy", metrics.log_loss(y_true, probs, labels=labels))
            save(f"{case_id}_roc_auc.npy", [raising_as_nan(lambda: metrics.roc_auc_score(
                y_true, probs, multi_class="ovr", average=average, labels=labels))
                for average in ("macro", "weighted", "micro")])
        elif kind == "binary":
            scores = load(f"{case_id}_scores.npy")
            auc = raising_as_nan(lambda: metrics.roc_auc_score(y_true, scores))
            save(f"{case_id}_roc_auc.npy", auc)
            if not np.isnan(auc):
                fpr, tpr, _ = metrics.roc_curve(y_true, scores, drop_intermediate=False)
                save(f"{case_id}_roc_curve.npy", [fpr, tpr])
            save(f"{case_id}_log_loss.npy", metrics.log_loss(y_true, scores, labels=[0, 1]))
        elif kind == "regression":
            y_pred = load(f"{case_id}_pred.npy")
            save(f"{case_id}_regression.npy", [
                metrics.mean_squared_error(y_true, y_pred),
                metrics.mean_squared_error(y_true, y_pred, squared=False),
                metrics.mean_absolute_error(y_true, y_pred),
                metrics.r2_score(y_true, y_pred)])
        else:
            raise ValueError(f"unknown case kind {kind!r}")


if __name__ == "__main__":
    main(sys.argv[1])
