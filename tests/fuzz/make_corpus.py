#!/usr/bin/env python3
# SPDX-License-Identifier: BSL-1.0
"""Writes the seed corpus of the safetensors fuzz target into corpus/ beside this script.

Standard library only. The seeds are small valid files for the fuzz target's networks
(float input<2> dense<3,relu> dense<1>: "0.weight" [3, 2], "0.bias" [3], "2.weight" [1, 3],
"2.bias" [1]), F32 and F64, SGD and Adam checkpoints with correct checksums, a file of
other tensors and dtypes, and a few broken files. Run it again after changing the format;
the output is deterministic.
"""
import json
import math
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")
SHAPES = [("0.weight", [3, 2]), ("0.bias", [3]), ("2.weight", [1, 3]), ("2.bias", [1])]
TOPOLOGY = "float input<2> dense<3,relu> dense<1,identity>"


def fnv1a64(data, h=14695981039346656037):
    for b in data:
        h ^= b
        h = (h * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


def safetensors(tensors, metadata=None):
    """tensors: list of (name, dtype, shape, raw bytes)."""
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    data = b""
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


def values(fmt, count, start):
    return struct.pack("<%d%s" % (count, fmt), *[(start + i) / 8.0 for i in range(count)])


def network(fmt="f", dtype="F32", prefix="", start=0.0):
    out = []
    for name, shape in SHAPES:
        n = math.prod(shape)
        out.append((prefix + name, dtype, shape, values(fmt, n, start)))
        start += n
    return out


def checkpoint(optimizer, states, step):
    tensors = network()
    for k in range(states):
        tensors += network(prefix="optimizer.%d." % k, start=100.0 * (k + 1))
    data = b"".join(raw for _, _, _, raw in tensors)
    step_text = str(step)
    meta = {
        "propel.format": "checkpoint",
        "propel.format_version": "1",
        "propel.topology": TOPOLOGY,
        "propel.optimizer": optimizer,
        "propel.optimizer_states": str(states),
        "propel.optimizer_settings": "lr=0.1",
        "propel.step_count": step_text,
        "propel.checksum": "fnv1a64:%016x" % fnv1a64(step_text.encode(), fnv1a64(data)),
    }
    return safetensors(tensors, meta)


def main():
    os.makedirs(OUT, exist_ok=True)
    seeds = {
        "weights_f32": safetensors(network(), {"propel.topology": TOPOLOGY}),
        "weights_f64": safetensors(network("d", "F64")),
        "checkpoint_sgd": checkpoint("sgd", 1, 7),
        "checkpoint_adam": checkpoint("adam", 2, 12),
        "tensors_mixed": safetensors(
            [("0.weight", "F32", [3, 2], values("f", 6, 1)),
             ("0.bias", "F64", [3], values("d", 3, 2)),
             ("ids", "I32", [2], struct.pack("<2i", 1, 2)),
             ("empty", "F32", [0, 4], b"")],
            {"origin": "make_corpus.py"}),
        "nonfinite": safetensors(
            [(n, d, s, struct.pack("<%df" % math.prod(s), *([math.nan] + [math.inf] * (math.prod(s) - 1))))
             for n, d, s, _ in network()]),
    }
    good = seeds["weights_f32"]
    seeds["truncated"] = good[: len(good) - 5]
    seeds["header_too_long"] = struct.pack("<Q", 1 << 40) + good[8:]
    seeds["invalid_json"] = good[:20] + b"]" + good[21:]
    overlap = json.loads(good[8:8 + struct.unpack("<Q", good[:8])[0]])
    overlap["0.bias"]["data_offsets"] = [20, 32]
    text = json.dumps(overlap).encode()
    seeds["overlap"] = struct.pack("<Q", len(text)) + text + good[8 + struct.unpack("<Q", good[:8])[0]:]
    for name, blob in seeds.items():
        with open(os.path.join(OUT, name + ".safetensors"), "wb") as f:
            f.write(blob)
    print("wrote %d seeds to %s" % (len(seeds), OUT))


if __name__ == "__main__":
    main()
