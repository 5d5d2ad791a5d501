"""The PyTorch twin of `cajal train examples/sinusoid_maml.yaml` (issue 14, experiment 4):
MAML, first-order MAML, Reptile and the joint-regression baseline on the sinusoid tasks of
Finn et al. 2017, with the same recipe as cajal's run (cli/meta_config.h): 10 support and
10 query points per task, MLP 1-40-40-1 with ReLU, inner SGD lr 0.01, 25 tasks per
meta-step, Adam 0.001; evaluation on 1,000 new tasks (100 query points each) after 0, 1
and 10 adaptation steps, mean squared error with its 95% confidence interval.

  maml_twin.py --method maml|fomaml|reptile|pretrain [--iterations N] [--inner-steps S]
               [--seed S] [--threads T] [--eval-tasks N]

Prints `RESULT meta_iterations_per_second X` and `RESULT mse_<steps>_steps MEAN CI95` lines.
"""
import argparse
import math
import time

import torch
from torch.nn.utils.stateless import functional_call


def draw_episode(gen, shots, query):
    amplitude = 0.1 + 4.9 * torch.rand((), generator=gen).item()
    phase = math.pi * torch.rand((), generator=gen).item()

    def points(n):
        x = torch.rand(n, 1, generator=gen) * 10 - 5
        return x, amplitude * torch.sin(x - phase)

    return points(shots) + points(query)


def adapt(model, params, x, y, steps, lr, create_graph):
    names = list(params)
    weights = dict(params)
    if not create_graph:
        weights = {k: v.detach().requires_grad_(True) for k, v in weights.items()}
    for _ in range(steps):
        loss = torch.nn.functional.mse_loss(functional_call(model, weights, (x,)), y)
        grads = torch.autograd.grad(loss, [weights[k] for k in names], create_graph=create_graph)
        if create_graph:
            weights = {k: weights[k] - lr * g for k, g in zip(names, grads)}
        else:
            with torch.no_grad():
                weights = {k: (weights[k] - lr * g).requires_grad_(True) for k, g in zip(names, grads)}
    return weights


def meta_step(model, optimizer, tasks, method, inner_steps, inner_lr):
    params = dict(model.named_parameters())
    names = list(params)
    sums = [torch.zeros_like(p) for p in params.values()]
    total = 0.0
    optimizer.zero_grad()
    if method == "pretrain":
        x = torch.cat([torch.cat([t[0], t[2]]) for t in tasks])
        y = torch.cat([torch.cat([t[1], t[3]]) for t in tasks])
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        return loss.item()
    for sx, sy, qx, qy in tasks:
        second_order = method == "maml"
        adapted = adapt(model, params, sx, sy, inner_steps, inner_lr, second_order)
        if method == "reptile":
            with torch.no_grad():
                for s, k in zip(sums, names):
                    s += params[k] - adapted[k]
                total += torch.nn.functional.mse_loss(functional_call(model, adapted, (sx,)), sy).item()
            continue
        loss = torch.nn.functional.mse_loss(functional_call(model, adapted, (qx,)), qy)
        targets = [params[k] for k in names] if second_order else [adapted[k] for k in names]
        for s, g in zip(sums, torch.autograd.grad(loss, targets)):
            s += g
        total += loss.item()
    for p, s in zip(params.values(), sums):
        p.grad = s / len(tasks)
    optimizer.step()
    return total / len(tasks)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--method", default="maml", choices=["maml", "fomaml", "reptile", "pretrain"])
    parser.add_argument("--iterations", type=int, default=20000)
    parser.add_argument("--inner-steps", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--eval-tasks", type=int, default=1000)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(1, 40), torch.nn.ReLU(), torch.nn.Linear(40, 40),
                                torch.nn.ReLU(), torch.nn.Linear(40, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
    gen = torch.Generator().manual_seed(args.seed)
    start = time.perf_counter()
    for iteration in range(1, args.iterations + 1):
        tasks = [draw_episode(gen, 10, 10) for _ in range(25)]
        loss = meta_step(model, optimizer, tasks, args.method, args.inner_steps, 0.01)
        if iteration % 1000 == 0:
            print(f"iteration {iteration}: meta_loss {loss:.4f}", flush=True)
    seconds = time.perf_counter() - start
    print(f"RESULT meta_iterations_per_second {args.iterations / seconds:.3f}", flush=True)
    eval_gen = torch.Generator().manual_seed(args.seed + 1000003)
    tasks = [draw_episode(eval_gen, 10, 100) for _ in range(args.eval_tasks)]
    params = dict(model.named_parameters())
    for steps in (0, 1, 10):
        errors = []
        for sx, sy, qx, qy in tasks:
            adapted = adapt(model, params, sx, sy, steps, 0.01, False)
            with torch.no_grad():
                errors.append(torch.nn.functional.mse_loss(functional_call(model, adapted, (qx,)), qy).item())
        errors = torch.tensor(errors, dtype=torch.float64)
        ci = 1.96 * errors.std().item() / math.sqrt(len(errors))
        print(f"RESULT mse_{steps}_steps {errors.mean().item():.4f} {ci:.4f}", flush=True)


if __name__ == "__main__":
    main()
