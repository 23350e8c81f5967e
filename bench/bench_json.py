#!/usr/bin/env python3
# SPDX-License-Identifier: BSL-1.0
"""What bench/format_*.py share: the workloads and operations of propel_bench_mlp and
propel_bench_hostile, and reading Google Benchmark's JSON (the median of the repetitions
when there are several; CPU time in ns)."""
import json
import re
import statistics

WORKLOADS = ["tiny", "ctrl", "digits", "mnist"]
OPS = ["infer1", "infer32", "train1", "train32"]


def load(path):
    with open(path) as f:
        doc = json.load(f)
    rows = {}
    have_aggregates = any(b.get("run_type") == "aggregate" for b in doc["benchmarks"])
    for b in doc["benchmarks"]:
        if have_aggregates and b.get("aggregate_name") != "median":
            continue
        name = b.get("run_name", b["name"])
        rows[name] = b
    return doc["context"], rows


def load_rounds(paths):
    """The runs of several files (rounds of one repetition each, run in turn with another
    program's rounds) as one: each benchmark's CPU time the median over the rounds, the
    context of the first with `repetitions` the number of rounds."""
    if len(paths) == 1:
        return load(paths[0])
    ctx, rows = None, {}
    times = {}
    for path in paths:
        c, r = load(path)
        ctx = ctx or dict(c)
        for name, b in r.items():
            rows.setdefault(name, dict(b))
            times.setdefault(name, []).append(ns(b))
    for name, b in rows.items():
        b["cpu_time"] = statistics.median(times[name])
        b["time_unit"] = "ns"
    ctx["repetitions"] = str(len(paths))
    return ctx, rows


def ns(b):
    scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
    return b["cpu_time"] * scale


def fmt_ns(v):
    if v is None:
        return "–"
    if v >= 100:
        return f"{v:,.0f}"
    return f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def machine_line(ctx):
    """The table's first line: the CPU (from /proc/cpuinfo), the compiler and the flags."""
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"model name\s*:\s*(.*)", f.read())
            cpu = m.group(1).strip() if m else cpu
    except OSError:
        pass
    return (f"Machine: {cpu}, {ctx.get('num_cpus')} cores; compiler {ctx.get('compiler', '?')}; "
            f"flags `{ctx.get('flags', '?')}` for propel and every peer; one thread.")
