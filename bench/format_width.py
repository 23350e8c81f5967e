#!/usr/bin/env python3
# SPDX-License-Identifier: BSL-1.0
"""Formats propel_bench_width's JSON: propel vs Eigen per width, and the crossover width.

usage: format_width.py width.json
"""
import json
import sys


def main():
    with open(sys.argv[1]) as f:
        doc = json.load(f)
    aggregates = any(b.get("run_type") == "aggregate" for b in doc["benchmarks"])
    t = {}
    for b in doc["benchmarks"]:
        if aggregates and b.get("aggregate_name") != "median":
            continue
        _, width, op, peer = b.get("run_name", b["name"]).split("/")
        t[(int(width), op, peer)] = b["cpu_time"] / b["samples"]
    widths = sorted({k[0] for k in t})
    ops = ["infer1", "train1", "train32"]
    print("Width sweep, depth 3 (W -> W relu -> W relu -> W, MSE): ns per sample, "
          "Eigen time / propel time (> 1: propel faster).")
    print()
    print("| width | " + " | ".join(f"{op} propel | {op} Eigen | {op} ratio" for op in ops) + " |")
    print("|---:|" + "---:|" * (3 * len(ops)))
    for w in widths:
        cells = []
        for op in ops:
            p, e = t.get((w, op, "propel")), t.get((w, op, "eigen"))
            cells += [f"{p:,.0f}", f"{e:,.0f}", f"{e / p:.2f}x"] if p and e else ["–"] * 3
        print(f"| {w} | " + " | ".join(cells) + " |")
    print()
    for op in ops:
        slower = [w for w in widths if t.get((w, op, "propel"), 0) > t.get((w, op, "eigen"), 1e30)]
        print(f"{op}: propel faster than Eigen at every width" if not slower else
              f"{op}: propel slower than Eigen at width {', '.join(map(str, slower))}, "
              "faster at the others")


if __name__ == "__main__":
    main()
