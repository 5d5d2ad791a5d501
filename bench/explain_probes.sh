#!/usr/bin/env bash
# Rule extraction on the tabular probes (issue 16): an MLP trained by cajal on scikit-learn's
# breast cancer and wine tables (70/30 split), then `cajal explain --method rules` fits a
# decision tree of depth 2, 3 and 4 to its predictions on the training rows and prints the
# tree's fidelity (agreement with the model) and accuracy on the test rows. Three seeds.
# usage: bench/explain_probes.sh [OUT_DIR]   (default runs/explain_probes)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-runs/explain_probes}"
cajal=build/cajal
/usr/bin/python3 bench/explain_probes.py "$out/data"
for table in breast_cancer wine; do
  for seed in 0 1 2; do
    run="$out/${table}_s$seed"
    cat > "$out/$table.yaml" <<YAML
data:
  reader: csv
  train: $out/data/${table}_train.csv
  test: $out/data/${table}_test.csv
  label_column: label
  labels: names
  normalize: true
model: {preset: mlp, options: {hidden: [32]}}
optimizer: {name: adam, lr: 0.003}
epochs: 60
batch_size: 16
num_workers: 0
YAML
    "$cajal" train "$out/$table.yaml" --set seed=$seed --output "$run" | grep "test accuracy" | sed "s/^/$table seed $seed: /"
    for depth in 2 3 4; do
      "$cajal" explain "$run" --input "$out/data/${table}_test.csv" --method rules --depth $depth --output "$run/rules_d$depth" 2>/dev/null |
        grep fidelity | sed "s/^/$table seed $seed depth $depth: /"
    done
  done
done
