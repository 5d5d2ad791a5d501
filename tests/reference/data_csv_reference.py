"""NumPy and the csv module as the oracle for cajal's CSV reader (tests/data/csv_test.cpp).

usage: data_csv_reference.py DIR
  Prints the folder of scikit-learn's bundled tables. Writes, parsed by NumPy/csv:
    iris_features.npy, iris_labels.npy          sklearn's iris.csv (a counts line, then rows)
    boston_features.npy, boston_target.npy      boston_house_prices.csv (counts line, quoted header)
  and a table with class names in the middle column, from iris:
    iris_names.csv, iris_names_features.npy, iris_names_labels.npy (indices into sorted names)
"""
import csv
import os
import sys

import numpy as np
import sklearn

directory = sys.argv[1]
tables = os.path.join(os.path.dirname(sklearn.__file__), "datasets", "data")
print(tables)

iris = np.loadtxt(os.path.join(tables, "iris.csv"), delimiter=",", skiprows=1)
np.save(os.path.join(directory, "iris_features.npy"), iris[:, :4].astype(np.float32))
np.save(os.path.join(directory, "iris_labels.npy"), iris[:, 4].astype(np.int64))

with open(os.path.join(tables, "boston_house_prices.csv")) as f:
    rows = list(csv.reader(f))[2:]
boston = np.array([[float(v) for v in row] for row in rows])
np.save(os.path.join(directory, "boston_features.npy"), boston[:, :13].astype(np.float32))
np.save(os.path.join(directory, "boston_target.npy"), boston[:, 13].astype(np.float32))

names = ["setosa", "versicolor", "virginica"]
with open(os.path.join(directory, "iris_names.csv"), "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["sepal length", "sepal width", "species", "petal length", "petal width"])
    for row in iris:
        writer.writerow([row[0], row[1], names[int(row[4])], row[2], row[3]])
np.save(os.path.join(directory, "iris_names_features.npy"), iris[:, :4].astype(np.float32))
np.save(os.path.join(directory, "iris_names_labels.npy"), iris[:, 4].astype(np.int64))
