"""scikit-learn reference for the decision-tree surrogate (tests/explain/surrogate_test.cpp).

Two of scikit-learn's own tables (breast cancer, wine: the CSV files python3-sklearn ships)
are split 70/30 (stratified, fixed seed). A model is fitted on the training rows of the
standardized features (breast cancer: LogisticRegression; wine: a small MLPClassifier with a
fixed random_state), and its predictions on every row are the labels the surrogate learns.
For each tree configuration below, DecisionTreeClassifier(random_state=0) is fitted to the
model's predictions on the training rows, on the raw (float32) features, and its node arrays
(children, feature, threshold, samples, class counts, impurity) and its predictions and
leaves on every row are saved. Writes <table>.<name>.npy, <table>.<config>.<name>.npy and
<table>.names.txt (the CSV file's path, then the feature names and the class names, tab-separated).

usage: surrogate_reference.py OUT_DIR
"""
import os
import sys
import warnings

import numpy as np
import sklearn.datasets
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

out = sys.argv[1]


def save(name, value):
    np.save(os.path.join(out, name + ".npy"), value)


# name -> DecisionTreeClassifier arguments; the C++ test lists the same configurations.
CONFIGS = {
    "gini_d2": dict(max_depth=2),
    "gini_d3": dict(max_depth=3),
    "gini_d4": dict(max_depth=4),
    "entropy_d4": dict(max_depth=4, criterion="entropy"),
    "gini_d4_leaf5": dict(max_depth=4, min_samples_leaf=5),
    "gini_d6_split20": dict(max_depth=6, min_samples_split=20),
}

MODELS = {
    "breast_cancer": (load_breast_cancer, "breast_cancer.csv", lambda: LogisticRegression(max_iter=5000)),
    "wine": (load_wine, "wine_data.csv", lambda: MLPClassifier(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=5000,
                                              random_state=0)),
}

for table, (loader, csv_file, make_model) in MODELS.items():
    data = loader()
    X = data.data.astype(np.float32)  # what the tree sees: scikit-learn's trees work in float32
    y = data.target.astype(np.int64)
    train, test = train_test_split(np.arange(len(y)), test_size=0.3, random_state=0, stratify=y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = make_pipeline(StandardScaler(), make_model()).fit(data.data[train], y[train])
    predictions = model.predict(data.data).astype(np.int64)
    assert (model.predict(X.astype(np.float64)) == predictions).all(), table + ": float32 features change predictions"
    save(table + ".features", X)
    save(table + ".labels", y)
    save(table + ".train", train.astype(np.int64))
    save(table + ".test", test.astype(np.int64))
    save(table + ".model_predictions", predictions)
    with open(os.path.join(out, table + ".names.txt"), "w") as f:  # CSV path, feature names, class names
        f.write(os.path.join(os.path.dirname(sklearn.datasets.__file__), "data", csv_file) + "\n")
        f.write("\t".join(data.feature_names) + "\n" + "\t".join(data.target_names) + "\n")

    for config, kwargs in CONFIGS.items():
        tree = DecisionTreeClassifier(random_state=0, **kwargs).fit(X[train], predictions[train])
        t = tree.tree_
        prefix = table + "." + config + "."
        save(prefix + "classes", tree.classes_.astype(np.int64))
        save(prefix + "children_left", t.children_left.astype(np.int64))
        save(prefix + "children_right", t.children_right.astype(np.int64))
        save(prefix + "feature", t.feature.astype(np.int64))
        save(prefix + "threshold", t.threshold.astype(np.float64))
        save(prefix + "n_node_samples", t.n_node_samples.astype(np.int64))
        # scikit-learn 1.2 stores class counts here (later versions store fractions).
        save(prefix + "value", np.rint(t.value[:, 0, :] * (t.n_node_samples[:, None] if t.value.max() <= 1.0 else 1))
             .astype(np.int64))
        save(prefix + "impurity", t.impurity.astype(np.float64))
        save(prefix + "predict", tree.predict(X).astype(np.int64))
        save(prefix + "apply", tree.apply(X).astype(np.int64))
