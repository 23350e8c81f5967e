#!/usr/bin/python3
# SPDX-License-Identifier: BSL-1.0
"""Reference numbers for tests/unit/model_reference_test.cpp: general models (not only
nn.Sequential MLPs) computed with PyTorch, and one safetensors file per model.

Generated with Debian's python3-torch 1.13.1 (torch.__version__ 1.13.0a0), numpy 1.24.2,
Python 3.11.2, on the CPU with one thread, by running from the repository root:

    /usr/bin/python3 tests/data/make_model_reference.py > tests/data/model_reference.txt

which also (re)writes tests/data/<model>.safetensors for each model below. The test only reads
the committed files; it never runs this script. The formulas for parameters, inputs and targets
are those of make_reference.py (imported from it).

The models, each a torch.nn.Module whose state_dict keys are the tensor names of the propel model
that mirrors it (tensors in state_dict order: a module's own parameters, then its children's in
the order they were assigned):
  residual          inp = Linear(4, 8); res = Linear(8, 8); out = Linear(8, 2)
                    h = tanh(inp(x)); y = out(h + tanh(res(h))); loss mse(y, t)
  actor_critic      trunk = Linear(5, 8); actor = Linear(8, 3); critic = Linear(8, 1)
                    h = tanh(trunk(x)); two heads actor(h) (logits) and critic(h) (a value);
                    loss cross_entropy(actor(h), labels) + mse(critic(h), values)
  tied_autoencoder  dec_bias = Parameter [6]; enc = Linear(6, 4) (weight [4, 6])
                    h = tanh(enc(x)); y = h @ enc.weight + dec_bias; loss mse(y, x)
                    (state_dict order: dec_bias, enc.weight, enc.bias; the input gradient is
                    taken with the target x held constant, as a loss's target is)
  layer_norm_net    fc1 = Linear(5, 8); ln = LayerNorm(8) (eps 1e-5); fc2 = Linear(13, 3)
                    h = tanh(ln(fc1(x))); y = fc2(concat(h, x)) (features 8 + 5);
                    loss cross_entropy(y, labels)
Every loss has reduction 'mean'.

For each model, form (batch: 4 samples, one per row; vec: one sample as a vector, its label a
scalar) and dtype (f64, f32) the output holds, under <key> = <model>.<form>.<dtype>:
  <key>.params            the initial parameters, flat in state_dict order (matrices row-major),
                          written in float64 and rounded to the dtype by the reader
  <key>.input             the inputs (one sample per row), likewise
  <key>.target            the targets of a one-output model (values, or integer class labels);
  <key>.target.<h>        those of head h (0, 1) of a model with several heads
  <key>.output            the model's outputs; <key>.output.<h> those of head h
  <key>.loss              the loss
  <key>.grad              d loss / d every parameter, flat in state_dict order
  <key>.input_grad        d loss / d input
  <key>.<opt>.loss        the loss before each of STEPS steps of optimizer opt (OPTIMIZERS)
  <key>.<opt>.params      the parameters after the last step
Per model, once:
  <model>.tensor.<i>.<name>      rows and columns of state_dict tensor i, called <name> (columns
                                 0 for a vector)
  <model>.safetensors.params     the parameters in tests/data/<model>.safetensors (F32), flat in
                                 state_dict order, written in float64 (exactly the file's values)
  <model>.safetensors.input      a batch of LOAD_ROWS inputs (float64, rounded by the reader)
  <model>.safetensors.<dtype>.output[.<h>]
                                 the model's outputs on that batch with the file's parameters, in
                                 float64 (parameters widened exactly) and in float32
Parameters and data come from fixed formulas (no random numbers). Each model is smooth (tanh,
layer norm, cross-entropy, mse), so no value lies near a kink; the script checks that the layer
norm's variances are far from 0 and that the tanh's are not saturated.

The safetensors files are written with the safetensors package when it is installed, otherwise
by hand in the format it defines: an 8-byte little-endian header length n, n bytes of JSON
({name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}, padded with
spaces to a multiple of 8), then the raw little-endian data. The script reads each file back and
checks it against the module's state_dict.
"""

import json
import os
import sys

import numpy
import torch
import torch.nn as nn
import torch.nn.functional as F

from make_reference import input_value, label, param_value, regression_target

STEPS = 5
BATCH = 4
LOAD_ROWS = 3
DATA_DIR = os.path.dirname(os.path.abspath(__file__))

OPTIMIZERS = {
    "sgd_momentum": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
    "adam": lambda p: torch.optim.Adam(p, lr=0.01),
    "adamw": lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1),
}


class Residual(nn.Module):
    inputs, outputs = 4, (2,)

    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(4, 8)
        self.res = nn.Linear(8, 8)
        self.out = nn.Linear(8, 2)

    def forward(self, x):
        h = torch.tanh(self.inp(x))
        return (self.out(h + torch.tanh(self.res(h))),)

    @staticmethod
    def loss(outputs, targets):
        return F.mse_loss(outputs[0], targets[0])


class ActorCritic(nn.Module):
    inputs, outputs = 5, (3, 1)

    def __init__(self):
        super().__init__()
        self.trunk = nn.Linear(5, 8)
        self.actor = nn.Linear(8, 3)
        self.critic = nn.Linear(8, 1)

    def forward(self, x):
        h = torch.tanh(self.trunk(x))
        return (self.actor(h), self.critic(h))

    @staticmethod
    def loss(outputs, targets):
        return F.cross_entropy(outputs[0], targets[0]) + F.mse_loss(outputs[1], targets[1])


class TiedAutoencoder(nn.Module):
    inputs, outputs = 6, (6,)

    def __init__(self):
        super().__init__()
        self.dec_bias = nn.Parameter(torch.zeros(6))
        self.enc = nn.Linear(6, 4)

    def forward(self, x):
        h = torch.tanh(self.enc(x))
        return (h @ self.enc.weight + self.dec_bias,)

    @staticmethod
    def loss(outputs, targets):
        return F.mse_loss(outputs[0], targets[0])


class LayerNormNet(nn.Module):
    inputs, outputs = 5, (3,)

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(5, 8)
        self.ln = nn.LayerNorm(8)
        self.fc2 = nn.Linear(13, 3)

    def forward(self, x):
        h = torch.tanh(self.ln(self.fc1(x)))
        return (self.fc2(torch.cat([h, x], dim=-1)),)

    @staticmethod
    def loss(outputs, targets):
        return F.cross_entropy(outputs[0], targets[0])


# name: (module, parameter offset, input offset, target kinds per head, safetensors offset)
MODELS = {
    "residual": (Residual, 1, 0, ["values"], 40),
    "actor_critic": (ActorCritic, 3, 5, ["labels", "values"], 50),
    "tied_autoencoder": (TiedAutoencoder, 6, 9, ["input"], 60),
    "layer_norm_net": (LayerNormNet, 8, 14, ["labels"], 70),
}


def parameter_values(module, offset):
    """The flat parameters, in state_dict order: the formula of make_reference.py, except that
    a LayerNorm's scale is 1 plus it (near PyTorch's initial ones, but not all equal)."""
    values, i = [], offset
    for name, p in module.state_dict().items():
        for _ in range(p.numel()):
            v = param_value(i, 0)
            values.append(1.0 + v if name == "ln.weight" else v)
            i += 1
    return values


def build(cls, dtype, values):
    module = cls().to(dtype)
    with torch.no_grad():
        i = 0
        for p in module.state_dict().values():  # the parameters themselves (views), in order
            flat = p.view(-1)
            for j in range(flat.numel()):
                flat[j] = values[i]
                i += 1
    assert i == len(values)
    return module


def make_data(cls, kinds, rows, dtype, offset):
    """Inputs and per-head targets (as given to the loss) and the targets as written (the
    target kind "input" is the input itself)."""
    r = max(rows, 1)
    x = torch.tensor([input_value(k + offset) for k in range(r * cls.inputs)],
                     dtype=torch.float64).reshape(r, cls.inputs).to(dtype)
    targets, written = [], []
    for head, (kind, size) in enumerate(zip(kinds, cls.outputs)):
        if kind == "labels":
            t = torch.tensor([label(k + head + offset, size) for k in range(r)], dtype=torch.long)
        elif kind == "values":
            t = torch.tensor([regression_target(k + 7 * head + offset) / 2 for k in range(r * size)],
                             dtype=torch.float64).reshape(r, size).to(dtype)
        else:
            t = x.clone()
        written.append(t.reshape(-1).tolist())
        targets.append(t)
    if rows == 0:  # one sample: a vector, and a scalar label
        x = x[0]
        targets = [t[0] for t in targets]
    return x, targets, written


def check_smooth(module, x):
    """The layer norm's variances are far from 0 (its derivative grows as 1/sqrt(var)) and no
    tanh saturates (its derivative would vanish and the gradients say little)."""
    with torch.no_grad():
        if isinstance(module, LayerNormNet):
            z = module.fc1(x)
            assert z.var(dim=-1, unbiased=False).min().item() > 1e-2, "layer norm variance near 0"
            pre = module.ln(z)
        elif isinstance(module, ActorCritic):
            pre = module.trunk(x)
        elif isinstance(module, TiedAutoencoder):
            pre = module.enc(x)
        else:
            pre = module.inp(x)
        assert pre.abs().max().item() < 3, f"tanh saturated: {pre}"


def fmt(values, dtype):
    form = "%.17g" if dtype == torch.float64 else "%.9g"
    return " ".join(form % v for v in values)


def flat(tensors):
    return torch.cat([t.detach().reshape(-1) for t in tensors]).tolist()


def write_outputs(out, key, outputs, dtype):
    if len(outputs) == 1:
        out.write(f"{key} {fmt(outputs[0].detach().reshape(-1).tolist(), dtype)}\n")
    else:
        for h, y in enumerate(outputs):
            out.write(f"{key}.{h} {fmt(y.detach().reshape(-1).tolist(), dtype)}\n")


def write_case(out, name, cls, offset, data_offset, kinds, rows, dtype):
    key = f"{name}.{'batch' if rows else 'vec'}.{'f64' if dtype == torch.float64 else 'f32'}"
    values = parameter_values(cls(), offset)
    module = build(cls, dtype, values)
    x, targets, written = make_data(cls, kinds, rows, dtype, data_offset)
    check_smooth(module, x)
    out.write(f"{key}.params {fmt(values, torch.float64)}\n")
    out.write(f"{key}.input {fmt(x.reshape(-1).tolist(), torch.float64)}\n")
    if len(written) == 1:
        out.write(f"{key}.target {fmt(written[0], torch.float64)}\n")
    else:
        for h, w in enumerate(written):
            out.write(f"{key}.target.{h} {fmt(w, torch.float64)}\n")

    xg = x.clone().requires_grad_(True)
    outputs = module(xg)
    value = cls.loss(outputs, targets)  # the targets do not depend on xg
    value.backward()
    write_outputs(out, f"{key}.output", outputs, dtype)
    out.write(f"{key}.loss {fmt([value.item()], dtype)}\n")
    out.write(f"{key}.grad {fmt(flat(p.grad for p in module.parameters()), dtype)}\n")
    out.write(f"{key}.input_grad {fmt(xg.grad.reshape(-1).tolist(), dtype)}\n")

    for opt_name, make_opt in OPTIMIZERS.items():
        module = build(cls, dtype, values)
        opt = make_opt(module.parameters())
        losses = []
        for _ in range(STEPS):
            opt.zero_grad()
            value = cls.loss(module(x), targets)
            value.backward()
            opt.step()
            losses.append(value.item())
        out.write(f"{key}.{opt_name}.loss {fmt(losses, dtype)}\n")
        out.write(f"{key}.{opt_name}.params {fmt(flat(module.state_dict().values()), dtype)}\n")


# ---------------------------------------------------------------------------------------------
# safetensors

SAFETENSORS_DTYPES = {torch.float32: ("F32", "<f4"), torch.float64: ("F64", "<f8")}


def save_safetensors(path, tensors, metadata):
    try:
        from safetensors.torch import save_file
    except ImportError:
        save_file = None
    if save_file is not None:
        save_file(tensors, path, metadata=metadata)
        return
    header, chunks, begin = {"__metadata__": metadata}, [], 0
    for name, t in tensors.items():
        code, little = SAFETENSORS_DTYPES[t.dtype]
        raw = t.detach().contiguous().numpy().astype(little).tobytes()
        header[name] = {"dtype": code, "shape": list(t.shape),
                        "data_offsets": [begin, begin + len(raw)]}
        chunks.append(raw)
        begin += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little") + text + b"".join(chunks))


def read_safetensors(path):
    """{name: float64 numpy array}, independently of the writer (a check of the file)."""
    with open(path, "rb") as f:
        blob = f.read()
    n = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8:8 + n])
    header.pop("__metadata__", None)
    data = blob[8 + n:]
    codes = {code: little for code, little in SAFETENSORS_DTYPES.values()}
    out = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        array = numpy.frombuffer(data[begin:end], dtype=codes[info["dtype"]])
        out[name] = array.reshape(info["shape"]).astype(numpy.float64)
    return out


def write_safetensors_case(out, name, cls, offset, data_offset):
    module32 = build(cls, torch.float32, parameter_values(cls(), offset))
    path = os.path.join(DATA_DIR, f"{name}.safetensors")
    state = module32.state_dict()
    save_safetensors(path, {k: v.contiguous() for k, v in state.items()},
                     {"format": "pt", "written_by": "tests/data/make_model_reference.py"})
    back = read_safetensors(path)
    assert sorted(back) == sorted(state), f"{path}: {sorted(back)}"
    for k, v in state.items():
        assert numpy.array_equal(back[k], v.double().numpy()), f"{path}: {k} differs"
    values = flat(state.values())  # float32 values, exactly in float64
    out.write(f"{name}.safetensors.params {fmt(values, torch.float64)}\n")
    x64 = torch.tensor([input_value(k + data_offset + 20) for k in range(LOAD_ROWS * cls.inputs)],
                       dtype=torch.float64).reshape(LOAD_ROWS, cls.inputs)
    out.write(f"{name}.safetensors.input {fmt(x64.reshape(-1).tolist(), torch.float64)}\n")
    for dtype, dname in ((torch.float64, "f64"), (torch.float32, "f32")):
        module = build(cls, dtype, values)
        x = x64.to(dtype)
        check_smooth(module, x)
        with torch.no_grad():
            write_outputs(out, f"{name}.safetensors.{dname}.output", module(x), dtype)


def main():
    torch.set_num_threads(1)
    out = sys.stdout
    out.write("# propel model reference numbers; made by tests/data/make_model_reference.py\n")
    out.write(f"# torch {torch.__version__}, numpy {numpy.__version__}, python "
              f"{sys.version.split()[0]}\n")
    for name, (cls, offset, data_offset, kinds, load_offset) in MODELS.items():
        for i, (tname, t) in enumerate(cls().state_dict().items()):
            shape = list(t.shape) + [0] * (2 - t.dim())
            out.write(f"{name}.tensor.{i}.{tname} {shape[0]} {shape[1]}\n")
        for rows in (BATCH, 0):
            for dtype in (torch.float64, torch.float32):
                write_case(out, name, cls, offset, data_offset, kinds, rows, dtype)
        write_safetensors_case(out, name, cls, load_offset, data_offset)


if __name__ == "__main__":
    main()
