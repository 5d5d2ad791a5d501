"""The csv module and NumPy as the oracle for cajal's windowed time series
(tests/data/series_test.cpp).

usage: series_reference.py OUT_DIR CSV COLUMN WINDOW HORIZON VALIDATION TEST
  Reads COLUMN of CSV (missing cells, "" or NA, linearly interpolated with np.interp),
  splits it in time order (validation and test parts of round(fraction * length) values),
  normalizes with the training part's mean and (population) standard deviation, and writes:
    values.npy                          the column as read (float64)
    stats.npy                           [mean, std, train_end, val_end]
    {train,val,test}_inputs.npy         windows [N, WINDOW, 1] (float32) whose targets lie in the part
    {train,val,test}_targets.npy        the next HORIZON values [N, HORIZON]
    naive_mse.npy                       [train, val, test]: MSE of repeating the last input value
"""
import csv
import os
import sys

import numpy as np

out, path, column = sys.argv[1], sys.argv[2], sys.argv[3]
window, horizon = int(sys.argv[4]), int(sys.argv[5])
validation, test = float(sys.argv[6]), float(sys.argv[7])

with open(path, newline="") as f:
    rows = list(csv.reader(f))
k = rows[0].index(column)
cells = [row[k].strip() for row in rows[1:] if row]
known = np.array([c not in ("", "NA", "nan") for c in cells])
raw = np.array([float(c) if ok else np.nan for c, ok in zip(cells, known)])
positions = np.arange(len(raw))
values = np.interp(positions, positions[known], raw[known])

n = len(values)
val_size, test_size = round(validation * n), round(test * n)
train_end, val_end = n - val_size - test_size, n - test_size
mean = values[:train_end].mean()
std = values[:train_end].std()
z = ((values - mean) / std).astype(np.float32)

np.save(os.path.join(out, "values.npy"), values)
np.save(os.path.join(out, "stats.npy"), np.array([mean, std, train_end, val_end]))
naive = []
for name, begin, end in (("train", 0, train_end), ("val", train_end, val_end), ("test", val_end, n)):
    ts = range(max(begin, window), end - horizon + 1)
    inputs = np.array([z[t - window:t] for t in ts], dtype=np.float32).reshape(-1, window, 1)
    targets = np.array([z[t:t + horizon] for t in ts], dtype=np.float32).reshape(-1, horizon)
    np.save(os.path.join(out, name + "_inputs.npy"), inputs)
    np.save(os.path.join(out, name + "_targets.npy"), targets)
    last = inputs[:, -1, :].astype(np.float64)
    naive.append(np.mean((targets.astype(np.float64) - last) ** 2))
np.save(os.path.join(out, "naive_mse.npy"), np.array(naive))
