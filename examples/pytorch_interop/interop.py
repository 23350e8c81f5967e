#!/usr/bin/env python3
# SPDX-License-Identifier: BSL-1.0
"""PyTorch <-> propel through safetensors files written and read with numpy and json only.

    interop.py export DIR     trains a small nn.Sequential in PyTorch and writes
                              DIR/torch_model.safetensors (its state_dict) and
                              DIR/torch_io.safetensors ("inputs" [32, 4], "outputs" [32, 3])
    interop.py check DIR      loads DIR/propel_model.safetensors (written by propel) into the
                              same nn.Sequential and checks that it reproduces the outputs in
                              DIR/propel_io.safetensors
    interop.py roundtrip --exe PYTORCH_INTEROP --work DIR
                              export, run the C++ example on the files, check (the ctest test)

Exit status 77 means PyTorch cannot be imported (ctest reports the test as skipped). Use
Debian's interpreter, /usr/bin/python3, with python3-torch and python3-numpy installed.
"""
import json
import os
import subprocess
import sys

SKIP = 77
RTOL = 1e-6  # |propel - torch| <= RTOL * max(|torch|, 1)

DTYPES = {"float32": "F32", "float64": "F64"}
NUMPY = {"F32": "<f4", "F64": "<f8"}


def save_safetensors(path, tensors, metadata=None):
    """Writes {name: numpy array} as a safetensors file (8-byte length, JSON header, data)."""
    import numpy as np

    header, chunks, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, array in tensors.items():
        array = np.ascontiguousarray(array)
        raw = array.astype(array.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": DTYPES[array.dtype.name], "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little") + text + b"".join(chunks))


def load_safetensors(path):
    """Reads a safetensors file into {name: numpy array} (F32 and F64 only)."""
    import numpy as np

    with open(path, "rb") as f:
        blob = f.read()
    n = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8:8 + n])
    header.pop("__metadata__", None)
    data = blob[8 + n:]
    out = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        array = np.frombuffer(data[begin:end], dtype=NUMPY[info["dtype"]])
        out[name] = array.reshape(info["shape"]).astype(array.dtype.newbyteorder("="))
    return out


def make_model(torch):
    # propel: mlp<float, input<4>, dense<16, tanh>, dense<16, relu>, dense<3>>
    nn = torch.nn
    return nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3))


def targets(torch, x):
    return torch.stack([torch.sin(x[:, 0] + x[:, 1]), x[:, 2] * x[:, 3], torch.cos(x[:, 0]) - x[:, 3]], 1)


def export(directory, torch):
    torch.manual_seed(0)
    model = make_model(torch)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(300):
        x = torch.rand(32, 4) * 2 - 1
        loss = torch.nn.functional.mse_loss(model(x), targets(torch, x))
        opt.zero_grad()
        loss.backward()
        opt.step()
    inputs = torch.rand(32, 4) * 2 - 1
    with torch.no_grad():
        outputs = model(inputs)
    os.makedirs(directory, exist_ok=True)
    meta = {"written_by": "interop.py export", "torch": torch.__version__}
    save_safetensors(os.path.join(directory, "torch_model.safetensors"),
                     {k: v.numpy() for k, v in model.state_dict().items()}, meta)
    save_safetensors(os.path.join(directory, "torch_io.safetensors"),
                     {"inputs": inputs.numpy(), "outputs": outputs.numpy()}, meta)
    print("PyTorch: trained %s (final loss %.4f), wrote %s" % (
        "4-16 tanh-16 relu-3", loss.item(), directory))


def check(directory, torch):
    import numpy as np

    model = make_model(torch)
    state = load_safetensors(os.path.join(directory, "propel_model.safetensors"))
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in state.items()}, strict=True)
    io = load_safetensors(os.path.join(directory, "propel_io.safetensors"))
    with torch.no_grad():
        ours = model(torch.from_numpy(io["inputs"].copy())).numpy()
    theirs = io["outputs"]
    err = np.abs(ours - theirs)
    worst = float(np.max(err / np.maximum(np.abs(ours), 1.0)))
    print("PyTorch: propel's network reproduced, max |difference| %.3g, max relative %.3g "
          "(tolerance %.0e)" % (float(err.max()), worst, RTOL))
    return 0 if worst <= RTOL else 1


def main(argv):
    try:
        import numpy  # noqa: F401
        import torch
    except ImportError as e:
        print("skipped: cannot import PyTorch and numpy (%s); on Debian install python3-torch "
              "python3-numpy and run this with /usr/bin/python3" % e)
        return SKIP
    torch.set_num_threads(1)
    if len(argv) == 3 and argv[1] == "export":
        export(argv[2], torch)
        return 0
    if len(argv) == 3 and argv[1] == "check":
        return check(argv[2], torch)
    if len(argv) == 6 and argv[1] == "roundtrip" and argv[2] == "--exe" and argv[4] == "--work":
        exe, work = argv[3], argv[5]
        export(work, torch)
        run = subprocess.run([exe, "--from", work, "--to", work])
        if run.returncode != 0:
            print("the propel side failed (exit status %d)" % run.returncode)
            return 1
        return check(work, torch)
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
