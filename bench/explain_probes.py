#!/usr/bin/python3
"""Writes scikit-learn's breast cancer and wine tables (the CSV files python3-sklearn ships) as
CSV tables cajal reads, split 70/30 (stratified, seed 0, as tests/reference/surrogate_reference.py
splits them): OUT/<table>_train.csv and OUT/<table>_test.csv, a header of the feature names
(spaces as underscores) and a `label` column of class names. bench/explain_probes.sh trains a
cajal model on each and fits the rule surrogate to it.

usage: explain_probes.py OUT_DIR
"""
import os
import sys

import numpy as np
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.model_selection import train_test_split

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
for name, loader in (("breast_cancer", load_breast_cancer), ("wine", load_wine)):
    data = loader()
    y = data.target
    train, test = train_test_split(np.arange(len(y)), test_size=0.3, random_state=0, stratify=y)
    header = ",".join(f.replace(" ", "_") for f in data.feature_names) + ",label"
    for split, rows in (("train", train), ("test", test)):
        with open(os.path.join(out, f"{name}_{split}.csv"), "w") as f:
            f.write(header + "\n")
            for i in rows:
                f.write(",".join(repr(float(v)) for v in data.data[i]) + "," + data.target_names[y[i]] + "\n")
