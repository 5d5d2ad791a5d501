"""PyTorch reference for cajal's optimizer and scheduler tests (tests/optim/).

The C++ test writes the inputs into OUT_DIR and lists its cases in OUT_DIR/cases.txt, one
per line, fields separated by '|':

    <id>|<dtype>|<hidden>|<steps>|<optimizer expression>|<scheduler expression or empty>

The model is a two-layer tanh MLP on fixed data, loss = mean((tanh(x @ w1 + b1) @ w2 + b2 - t)^2),
with x, t and the initial w1, b1, w2, b2 read from x_<dtype>.npy, t_<dtype>.npy and
init_<dtype>_<hidden>_<k>.npy (k = 0..3). The optimizer expression is evaluated with
torch.optim's names and `params` (all four parameters), `g0` (w1, b1) and `g1` (w2, b2) in
scope, e.g. "SGD(params, lr=0.1, momentum=0.9)"; the scheduler expression with
torch.optim.lr_scheduler's names and `opt`. ReduceLROnPlateau is stepped with metric.npy[step].

Each step is: zero_grad, loss, backward, optimizer step, scheduler step (LBFGS steps with a
closure that does the first three). After each step the
script records every parameter value (flattened, concatenated), each group's lr, and each
group's momentum (SGD/RMSprop momentum or beta1; NaN if none), into <id>_params.npy [steps, N],
<id>_lr.npy [steps, groups] and <id>_momentum.npy [steps, groups].

usage: optim_reference.py OUT_DIR
"""
import math
import os
import sys

import numpy as np
import torch
import torch.optim as optim
import torch.optim.lr_scheduler as lr_scheduler


def loss_of(params, x, t):
    w1, b1, w2, b2 = params
    y = torch.tanh(x @ w1 + b1) @ w2 + b2
    return ((y - t) ** 2).mean()


def momentum_of(group):
    if "momentum" in group:
        return group["momentum"]
    if "betas" in group:
        return group["betas"][0]
    return math.nan


def run_case(out_dir, case_id, dtype, hidden, steps, optimizer_expr, scheduler_expr):
    def load(name):
        return torch.from_numpy(np.load(os.path.join(out_dir, name)))

    x, t = load(f"x_{dtype}.npy"), load(f"t_{dtype}.npy")
    params = [load(f"init_{dtype}_{hidden}_{k}.npy").requires_grad_() for k in range(4)]
    scope = dict(vars(optim))
    scope.update(params=params, g0=params[:2], g1=params[2:])
    opt = eval(optimizer_expr, scope)
    scheduler = None
    if scheduler_expr:
        scope = dict(vars(lr_scheduler))
        scope.update(opt=opt)
        scheduler = eval(scheduler_expr, scope)
    metric = np.load(os.path.join(out_dir, "metric.npy"))

    values, lrs, momenta = [], [], []
    def closure():
        opt.zero_grad()
        loss = loss_of(params, x, t)
        loss.backward()
        return loss

    for step in range(steps):
        if isinstance(opt, optim.LBFGS):
            opt.step(closure)
        else:
            closure()
            opt.step()
        if isinstance(scheduler, lr_scheduler.ReduceLROnPlateau):
            scheduler.step(float(metric[step]))
        elif scheduler is not None:
            scheduler.step()
        values.append(np.concatenate([p.detach().numpy().ravel() for p in params]))
        lrs.append([g["lr"] for g in opt.param_groups])
        momenta.append([momentum_of(g) for g in opt.param_groups])

    np.save(os.path.join(out_dir, f"{case_id}_params.npy"), np.stack(values))
    np.save(os.path.join(out_dir, f"{case_id}_lr.npy"), np.array(lrs, dtype=np.float64))
    np.save(os.path.join(out_dir, f"{case_id}_momentum.npy"), np.array(momenta, dtype=np.float64))


def main(out_dir):
    torch.set_num_threads(1)
    with open(os.path.join(out_dir, "cases.txt")) as f:
        for line in f:
            if not line.strip():
                continue
            case_id, dtype, hidden, steps, optimizer_expr, scheduler_expr = line.rstrip("\n").split("|")
            run_case(out_dir, case_id, dtype, int(hidden), int(steps), optimizer_expr, scheduler_expr)


if __name__ == "__main__":
    main(sys.argv[1])
