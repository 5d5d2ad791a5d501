"""PyTorch's side of elementwise.cpp and reduce.cpp: the same ops on the same shapes.
Usage: kernels.py [--threads N]"""
import torch

from timing import configure_threads, report, seconds_per_call

configure_threads()
n = 1 << 24
x, y = torch.rand(n) * 2 - 1, torch.rand(n) * 2 - 1
report("elementwise.add", seconds_per_call(lambda: torch.add(x, y)))
report("elementwise.mul", seconds_per_call(lambda: torch.mul(x, y)))
report("elementwise.exp", seconds_per_call(lambda: torch.exp(x)))
report("elementwise.relu", seconds_per_call(lambda: torch.relu(x)))

m = torch.rand(4096, 4096) * 2 - 1
report("reduce.sum_all", seconds_per_call(lambda: torch.sum(m)))
report("reduce.sum_dim0", seconds_per_call(lambda: torch.sum(m, 0)))
report("reduce.sum_dim1", seconds_per_call(lambda: torch.sum(m, 1)))
report("reduce.mean_all", seconds_per_call(lambda: torch.mean(m)))
report("reduce.softmax", seconds_per_call(lambda: torch.softmax(m, -1)))
report("reduce.log_softmax", seconds_per_call(lambda: torch.log_softmax(m, -1)))
