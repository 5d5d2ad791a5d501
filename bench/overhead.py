"""Per-op overhead of PyTorch on a 1-element tensor: the cases of overhead.cpp.
Usage: overhead.py [--threads N]"""
import torch

from timing import configure_threads, report, seconds_per_call

configure_threads()
a, b = torch.ones(1), torch.ones(1)
report("overhead.add_forward", seconds_per_call(lambda: a + b))

ga, gb = torch.ones(1).requires_grad_(), torch.ones(1).requires_grad_()
report("overhead.add_forward_grad", seconds_per_call(lambda: ga + gb))
report("overhead.add_sum_backward", seconds_per_call(lambda: (ga + gb).sum().backward()))
