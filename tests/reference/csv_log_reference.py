"""Reads a metrics.csv that cajal's CsvLog wrote (tests/io/csv_log_test.cpp) with Python's csv
module and float(), and checks it against what the C++ test logged.

usage:
  csv_log_reference.py check CSV COLUMNS VALUES PRESENT
      COLUMNS: a text file with the expected header, one column name a line;
      VALUES: .npy float64 [rows, columns], the logged values; PRESENT: .npy bool, which cells
      were logged (the others must be empty). Every present cell must parse to exactly the
      logged double (NaN for NaN). Exits 1 with a message on the first mismatch.
"""
import csv
import math
import struct
import sys

import numpy as np


def check(csv_path, columns_path, values_path, present_path):
    with open(columns_path, encoding="utf-8") as f:
        columns = f.read().split("\n")[:-1]
    values = np.load(values_path)
    present = np.load(present_path)
    with open(csv_path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f, strict=True))
    if rows[0] != columns:
        raise SystemExit(f"header {rows[0]} != {columns}")
    body = rows[1:]
    if len(body) != values.shape[0]:
        raise SystemExit(f"{len(body)} rows, expected {values.shape[0]}")
    for r, row in enumerate(body):
        if len(row) != len(columns):
            raise SystemExit(f"row {r}: {len(row)} cells for {len(columns)} columns: {row}")
        for c, cell in enumerate(row):
            if not present[r, c]:
                if cell != "":
                    raise SystemExit(f"row {r} column {columns[c]!r}: {cell!r}, expected an empty cell")
                continue
            want = float(values[r, c])
            got = float(cell)
            same = struct.pack("<d", got) == struct.pack("<d", want) or (math.isnan(got) and math.isnan(want))
            if not same:
                raise SystemExit(f"row {r} column {columns[c]!r}: {cell!r} reads as {got!r}, expected {want!r}")
    print(f"checked {len(body)} rows x {len(columns)} columns")


if __name__ == "__main__":
    if len(sys.argv) != 6 or sys.argv[1] != "check":
        raise SystemExit(__doc__)
    check(*sys.argv[2:])
