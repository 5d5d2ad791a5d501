"""PyTorch reference for cajal's gradient clipping test (tests/optim/clip_test.cpp).

OUT_DIR holds gradients grad_<dtype>_<k>.npy (k = 0, 1, 2) and cases.txt, one case per line:

    <id> <dtype> norm <max_norm> <norm_type>     torch.nn.utils.clip_grad_norm_
    <id> <dtype> value <clip_value> -            torch.nn.utils.clip_grad_value_

norm_type is a number or "inf". For each case the script gives three parameters those
gradients, clips, and writes the clipped gradients <id>_grad_<k>.npy and, for norm cases,
the returned total norm <id>_norm.npy (0-d, float64).

usage: clip_reference.py OUT_DIR
"""
import os
import sys

import numpy as np
import torch
from torch.nn.utils import clip_grad_norm_, clip_grad_value_


def main(out_dir):
    with open(os.path.join(out_dir, "cases.txt")) as f:
        for line in f:
            if not line.strip():
                continue
            case_id, dtype, kind, value, norm_type = line.split()
            params = []
            for k in range(3):
                g = torch.from_numpy(np.load(os.path.join(out_dir, f"grad_{dtype}_{k}.npy")))
                p = torch.zeros_like(g, requires_grad=True)
                p.grad = g.clone()
                params.append(p)
            if kind == "norm":
                total = clip_grad_norm_(params, float(value), norm_type=float(norm_type))
                np.save(os.path.join(out_dir, f"{case_id}_norm.npy"), np.array(float(total), dtype=np.float64))
            else:
                clip_grad_value_(params, float(value))
            for k, p in enumerate(params):
                np.save(os.path.join(out_dir, f"{case_id}_grad_{k}.npy"), p.grad.numpy())


if __name__ == "__main__":
    main(sys.argv[1])
