#!/usr/bin/python3
# SPDX-License-Identifier: BSL-1.0
"""Reference numbers for tests/unit/mlp_reference_test.cpp, computed with PyTorch.

Generated with Debian's python3-torch 1.13.1 (torch.__version__ 1.13.0a0), numpy 1.24.2,
Python 3.11.2, on the CPU with one thread, by running from the repository root:

    /usr/bin/python3 tests/data/make_reference.py > tests/data/mlp_reference.txt

The test only reads the committed output; it never runs this script.

For each case (a small nn.Sequential of nn.Linear layers and activations, a batch, a loss)
and each dtype (float64, float32) the output holds:
  <case>.<dtype>.params      the initial parameters, flat in PyTorch order (W0 row-major, b0,
                             W1, ...), written in float64 and rounded to the dtype by the reader
  <case>.<dtype>.input       the inputs (one sample per row), likewise
  <case>.<dtype>.target      the targets (regression values, probabilities, one-hot rows, or
                             integer class labels)
  <case>.<dtype>.output      the network's outputs
  <case>.<dtype>.loss        the loss (reduction 'mean')
  <case>.<dtype>.grad        d loss / d every parameter, flat in PyTorch order
  <case>.<dtype>.input_grad  d loss / d input
  <case>.<dtype>.<opt>.loss     the loss before each of STEPS optimizer steps
  <case>.<dtype>.<opt>.params   the parameters after the last step
Parameters, inputs and targets come from fixed formulas (below), chosen so that no
pre-activation of a non-smooth activation and no Huber residual lies near its kink.

Then long optimizer runs: the network 3 -> 4 tanh -> 2 with the MSE loss, trained for RUN_STEPS
steps by each optimizer configuration of RUNS (every option alone and combined, some with the
learning rate changed in the middle of the run), on a data set of RUN_SAMPLES samples that the
steps go through in turn, either as mini-batches of RUN_BATCH rows ("batch") or one sample at
a time ("sample"; the SGD configurations only, whose single-sample update takes another code
path). The output holds:
  run.params                 the initial parameters (float64, rounded to the dtype by the reader)
  run.input, run.target      the data set, one sample per row (likewise)
  run.<config>.<kind> ...    the hyperparameters of a configuration, kind sgd (lr momentum
                             nesterov weight_decay), adam or adamw (lr beta1 beta2 eps
                             weight_decay)
  run.<config>.lr_schedule   pairs (s, lr): from step s on the learning rate is lr
  run.<config>.<form>.<dtype>.loss          the loss of every step (before its update)
  run.<config>.<form>.<dtype>.params.<s>    the parameters after step s, s in RUN_CHECKPOINTS
  run.<config>.<form>.<dtype>.state.<k>     optimizer state buffer k after the last step (SGD:
                                            the momentum buffer; Adam: exp_avg, exp_avg_sq)
"""

import sys

import numpy
import torch
import torch.nn as nn

STEPS = 4

OPTIMIZERS = {
    "sgd": lambda p: torch.optim.SGD(p, lr=0.1),
    "sgd_momentum": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
    "sgd_nesterov_wd": lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.8, nesterov=True,
                                                 weight_decay=0.01),
    "adam": lambda p: torch.optim.Adam(p, lr=0.01),
    # a large eps, so that where it enters the update shows in the numbers
    "adam_wd": lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.99), eps=1e-3,
                                          weight_decay=0.1),
    "adamw": lambda p: torch.optim.AdamW(p, lr=0.01, eps=1e-4, weight_decay=0.1),
}

# name: (widths, activations, loss, rows (0: one sample as a vector), parameter offset)
CASES = {
    "mse_batch": ([3, 5, 4, 2], ["tanh", "gelu", "identity"], "mse", 5, 0),
    "mse_vec": ([3, 5, 4, 2], ["tanh", "gelu", "identity"], "mse", 0, 0),
    "huber_batch": ([2, 5, 4, 2], ["sigmoid", "gelu_tanh", "leaky_relu_0.2"], "huber", 6, 2),
    "xent_labels_batch": ([4, 6, 5, 3], ["relu", "silu", "identity"], "xent_labels", 5, 0),
    "xent_label_vec": ([4, 6, 5, 3], ["relu", "silu", "identity"], "xent_labels", 0, 0),
    "xent_onehot_batch": ([4, 6, 5, 3], ["relu", "silu", "identity"], "xent_onehot", 5, 0),
    "bce_batch": ([3, 4, 4, 3], ["elu", "softplus", "leaky_relu"], "bce", 5, 0),
}
HUBER_DELTA = 0.5
KINKED = {"relu", "leaky_relu", "leaky_relu_0.2", "elu"}

# The long runs. A configuration: (optimizer kind, hyperparameters, learning-rate schedule as
# pairs (s, lr): from step s on the learning rate is lr).
RUN_STEPS = 60
RUN_CHECKPOINTS = (1, 5, 10, 25, 40, 60)
RUN_SAMPLES = 8
RUN_BATCH = 4
RUN_WIDTHS = [3, 4, 2]
RUN_OFFSET = 5  # of param_value
LR_CHANGE = 31  # the step from which a schedule's second learning rate applies
RUNS = {
    "sgd": ("sgd", dict(lr=0.1), []),
    "sgd_wd": ("sgd", dict(lr=0.1, weight_decay=0.05), []),
    "sgd_momentum": ("sgd", dict(lr=0.05, momentum=0.9), []),
    "sgd_momentum_wd": ("sgd", dict(lr=0.05, momentum=0.9, weight_decay=0.05), []),
    "sgd_nesterov": ("sgd", dict(lr=0.05, momentum=0.8, nesterov=True), []),
    "sgd_nesterov_wd": ("sgd", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.05), []),
    "sgd_momentum_wd_lr": ("sgd", dict(lr=0.05, momentum=0.9, weight_decay=0.05),
                           [(LR_CHANGE, 0.01)]),
    "sgd_nesterov_lr": ("sgd", dict(lr=0.05, momentum=0.8, nesterov=True), [(LR_CHANGE, 0.15)]),
    "adam": ("adam", dict(lr=0.01), []),
    # a large eps, so that where it enters the update shows in the numbers
    "adam_betas_eps": ("adam", dict(lr=0.02, betas=(0.8, 0.99), eps=1e-3), []),
    "adam_wd": ("adam", dict(lr=0.01, weight_decay=0.1), []),
    "adam_lr": ("adam", dict(lr=0.01), [(LR_CHANGE, 0.003)]),
    "adamw": ("adamw", dict(lr=0.01), []),  # PyTorch's default weight_decay 0.01
    "adamw_options": ("adamw", dict(lr=0.02, betas=(0.85, 0.995), eps=1e-6, weight_decay=0.2),
                      []),
    "adamw_lr": ("adamw", dict(lr=0.01, weight_decay=0.1), [(LR_CHANGE, 0.03)]),
}


def activation(name):
    return {
        "identity": nn.Identity(),
        "relu": nn.ReLU(),
        "leaky_relu": nn.LeakyReLU(),
        "leaky_relu_0.2": nn.LeakyReLU(0.2),
        "tanh": nn.Tanh(),
        "sigmoid": nn.Sigmoid(),
        "elu": nn.ELU(),
        "silu": nn.SiLU(),
        "gelu": nn.GELU(),
        "gelu_tanh": nn.GELU(approximate="tanh"),
        "softplus": nn.Softplus(),
    }[name]


def param_value(i, offset):
    """Parameter i of the flat PyTorch order, in the case with the given offset."""
    i += offset
    return ((i * 37 + 11) % 29 - 14) / 32.0 + ((i * 7) % 5 - 2) / 300.0


def input_value(k):
    return ((k * 23 + 7) % 19 - 9) / 8.0 + ((k * 3) % 7 - 3) / 70.0


def regression_target(k):
    return ((k * 31 + 3) % 23 - 11) / 8.0


def probability_target(k):
    return ((k * 7 + 2) % 9) / 8.0


def label(r, classes):
    return (r * 5 + 2) % classes


def one_hot_label(r, classes):
    return (r * 3 + 1) % classes


def build(widths, acts, dtype, offset):
    layers = []
    for l, act in enumerate(acts):
        layers.append(nn.Linear(widths[l], widths[l + 1]))
        if act != "identity":
            layers.append(activation(act))
    net = nn.Sequential(*layers).to(dtype)
    with torch.no_grad():
        i = 0
        for p in net.parameters():  # W0, b0, W1, b1, ...: PyTorch order
            flat = p.view(-1)
            for j in range(flat.numel()):
                flat[j] = param_value(i, offset)
                i += 1
    return net


def make_data(widths, loss, rows, dtype):
    n_in, n_out = widths[0], widths[-1]
    r = max(rows, 1)
    x = torch.tensor([input_value(k) for k in range(r * n_in)], dtype=torch.float64)
    x = x.reshape(r, n_in).to(dtype)
    if loss in ("mse", "huber"):
        t = torch.tensor([regression_target(k) for k in range(r * n_out)], dtype=torch.float64)
        t = t.reshape(r, n_out).to(dtype)
        written = t.reshape(-1).tolist()
    elif loss == "bce":
        t = torch.tensor([probability_target(k) for k in range(r * n_out)], dtype=torch.float64)
        t = t.reshape(r, n_out).to(dtype)
        written = t.reshape(-1).tolist()
    elif loss == "xent_labels":
        t = torch.tensor([label(k, n_out) for k in range(r)], dtype=torch.long)
        written = t.tolist()
    else:  # xent_onehot
        t = torch.zeros(r, n_out, dtype=torch.float64)
        for k in range(r):
            t[k, one_hot_label(k, n_out)] = 1.0
        t = t.to(dtype)
        written = t.reshape(-1).tolist()
    if rows == 0:  # one sample: a vector, and a scalar label
        x = x[0]
        t = t[0]
    return x, t, written


def loss_fn(loss):
    return {
        "mse": nn.MSELoss(),
        "huber": nn.HuberLoss(delta=HUBER_DELTA),
        "xent_labels": nn.CrossEntropyLoss(),
        "xent_onehot": nn.CrossEntropyLoss(),
        "bce": nn.BCEWithLogitsLoss(),
    }[loss]


def check_away_from_kinks(net, acts, x, y, t, loss):
    """No pre-activation of a non-smooth activation within 1e-3 of 0, no Huber residual within
    1e-3 of delta: float32 and float64 then take the same branches as PyTorch."""
    h = x
    modules = [m for m in net if isinstance(m, nn.Linear)]
    for lin, act in zip(modules, acts):
        z = lin(h)
        if act in KINKED:
            assert z.abs().min().item() > 1e-3, f"pre-activation near 0: {z}"
        h = activation(act)(z)
    if loss == "huber":
        assert ((y - t).abs() - HUBER_DELTA).abs().min().item() > 1e-3


def fmt(values, dtype):
    form = "%.17g" if dtype == torch.float64 else "%.9g"
    return " ".join(form % v for v in values)


def flat_params(net):
    return torch.cat([p.detach().reshape(-1) for p in net.parameters()]).tolist()


def main():
    torch.set_num_threads(1)
    out = sys.stdout
    out.write("# propel MLP reference numbers; made by tests/data/make_reference.py\n")
    out.write(f"# torch {torch.__version__}, numpy {numpy.__version__}, python "
              f"{sys.version.split()[0]}\n")
    for name, (widths, acts, loss, rows, offset) in CASES.items():
        for dtype, dname in ((torch.float64, "f64"), (torch.float32, "f32")):
            key = f"{name}.{dname}"
            net = build(widths, acts, dtype, offset)
            x, t, written = make_data(widths, loss, rows, dtype)
            out.write(f"{key}.params {fmt(flat_params(net), torch.float64)}\n")
            out.write(f"{key}.input {fmt(x.reshape(-1).tolist(), torch.float64)}\n")
            out.write(f"{key}.target {fmt(written, torch.float64)}\n")

            xg = x.clone().requires_grad_(True)
            y = net(xg)
            check_away_from_kinks(net, acts, x, y.detach(), t, loss)
            value = loss_fn(loss)(y, t)
            value.backward()
            out.write(f"{key}.output {fmt(y.detach().reshape(-1).tolist(), dtype)}\n")
            out.write(f"{key}.loss {fmt([value.item()], dtype)}\n")
            grads = torch.cat([p.grad.reshape(-1) for p in net.parameters()]).tolist()
            out.write(f"{key}.grad {fmt(grads, dtype)}\n")
            out.write(f"{key}.input_grad {fmt(xg.grad.reshape(-1).tolist(), dtype)}\n")

            for opt_name, make_opt in OPTIMIZERS.items():
                net = build(widths, acts, dtype, offset)
                opt = make_opt(net.parameters())
                losses = []
                for _ in range(STEPS):
                    opt.zero_grad()
                    value = loss_fn(loss)(net(x), t)
                    value.backward()
                    opt.step()
                    losses.append(value.item())
                out.write(f"{key}.{opt_name}.loss {fmt(losses, dtype)}\n")
                out.write(f"{key}.{opt_name}.params {fmt(flat_params(net), dtype)}\n")
    write_runs(out)


def make_optimizer(kind, hyper, params):
    return {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[kind](
        params, **hyper)


def hyperparameters(kind, opt):
    """The record of a configuration: the optimizer's own values, in the order of the fields of
    propel's optimizer."""
    g = opt.param_groups[0]
    if kind == "sgd":
        return [g["lr"], g["momentum"], float(g["nesterov"]), g["weight_decay"]]
    return [g["lr"], g["betas"][0], g["betas"][1], g["eps"], g["weight_decay"]]


def optimizer_state(kind, opt, net):
    """The state buffers after the last step, flat in PyTorch order (none for SGD without
    momentum)."""
    names = ["momentum_buffer"] if kind == "sgd" else ["exp_avg", "exp_avg_sq"]
    params = list(net.parameters())
    out = []
    for name in names:
        bufs = [opt.state[p].get(name) for p in params]
        if any(b is None for b in bufs):
            continue
        out.append(torch.cat([b.reshape(-1) for b in bufs]).tolist())
    return out


def write_runs(out):
    n_in, n_out = RUN_WIDTHS[0], RUN_WIDTHS[-1]
    x64 = torch.tensor([input_value(k + 11) for k in range(RUN_SAMPLES * n_in)],
                       dtype=torch.float64).reshape(RUN_SAMPLES, n_in)
    t64 = torch.tensor([regression_target(k + 5) / 2 for k in range(RUN_SAMPLES * n_out)],
                       dtype=torch.float64).reshape(RUN_SAMPLES, n_out)
    build64 = build(RUN_WIDTHS, ["tanh", "identity"], torch.float64, RUN_OFFSET)
    out.write(f"run.params {fmt(flat_params(build64), torch.float64)}\n")
    out.write(f"run.input {fmt(x64.reshape(-1).tolist(), torch.float64)}\n")
    out.write(f"run.target {fmt(t64.reshape(-1).tolist(), torch.float64)}\n")
    for name, (kind, hyper, schedule) in RUNS.items():
        opt = make_optimizer(kind, hyper, build(RUN_WIDTHS, ["tanh", "identity"], torch.float64,
                                                RUN_OFFSET).parameters())
        out.write(f"run.{name}.{kind} {fmt(hyperparameters(kind, opt), torch.float64)}\n")
        pairs = [v for pair in schedule for v in pair]
        out.write(" ".join([f"run.{name}.lr_schedule"] + ([fmt(pairs, torch.float64)] if pairs
                                                           else [])) + "\n")
        forms = ("batch", "sample") if kind == "sgd" else ("batch",)
        for form in forms:
            for dtype, dname in ((torch.float64, "f64"), (torch.float32, "f32")):
                key = f"run.{name}.{form}.{dname}"
                net = build(RUN_WIDTHS, ["tanh", "identity"], dtype, RUN_OFFSET)
                x, t = x64.to(dtype), t64.to(dtype)
                opt = make_optimizer(kind, hyper, net.parameters())
                losses = []
                for step in range(1, RUN_STEPS + 1):
                    for at, lr in schedule:
                        if at == step:
                            for group in opt.param_groups:
                                group["lr"] = lr
                    if form == "batch":
                        first = (step - 1) * RUN_BATCH % RUN_SAMPLES
                        xs, ts = x[first:first + RUN_BATCH], t[first:first + RUN_BATCH]
                    else:
                        xs, ts = x[(step - 1) % RUN_SAMPLES], t[(step - 1) % RUN_SAMPLES]
                    opt.zero_grad()
                    value = nn.MSELoss()(net(xs), ts)
                    value.backward()
                    opt.step()
                    losses.append(value.item())
                    if step in RUN_CHECKPOINTS:
                        out.write(f"{key}.params.{step} {fmt(flat_params(net), dtype)}\n")
                out.write(f"{key}.loss {fmt(losses, dtype)}\n")
                for k, buf in enumerate(optimizer_state(kind, opt, net)):
                    out.write(f"{key}.state.{k} {fmt(buf, dtype)}\n")


if __name__ == "__main__":
    main()
