"""torch's softmax as the oracle for cajal's token sampling (tests/models/sequence_test.cpp).

usage: sampling_reference.py TEMPERATURE TOP_K SCORE...
  Prints the probability of each token: softmax(scores / TEMPERATURE) over the TOP_K highest
  scores (torch.topk; tokens tied with the k-th kept), 0 for the others.
"""
import sys

import torch

temperature, k = float(sys.argv[1]), int(sys.argv[2])
s = torch.tensor([float(v) for v in sys.argv[3:]], dtype=torch.float64) / temperature
kth = torch.topk(s, k).values[-1]
p = torch.softmax(torch.where(s < kth, torch.tensor(float("-inf"), dtype=torch.float64), s), 0)
print(" ".join(repr(float(v)) for v in p))
