#!/usr/bin/env python3
# SPDX-License-Identifier: BSL-1.0
"""Formats the JSON of propel_bench_mlp (Google Benchmark) as one Markdown table.

usage: format_results.py results.json

Times are CPU time per sample (the median of the repetitions when there are several), so a
busy machine inflates them less than wall time. GFLOP/s counts 2 in*out per layer per sample
forward, and for a training step that plus dJ/dW of every layer and dJ/dx of every layer but the
first (bench::train_flops); "% peak" is propel's GFLOP/s over the measured peak
FMA throughput of one core (machine/fma, the widest vectors the core has).
"""
import sys

from bench_json import OPS, WORKLOADS, fmt_ns, load, machine_line, ns

PEERS = ["propel", "eigen", "loops", "libxsmm", "onednn", "libtorch"]


def main():
    ctx, rows = load(sys.argv[1])
    peers = [p for p in PEERS if any(k.endswith("/" + p) for k in rows)]

    def per_sample(w, op, peer):
        b = rows.get(f"mlp/{w}/{op}/{peer}")
        return None if b is None else ns(b) / b["samples"]

    peak = {}
    for bits in ("256", "512"):
        b = rows.get(f"machine/fma/{bits}")
        if b:
            peak[bits] = b["flops"] / 1e9
    best_peak = max(peak.values()) if peak else None
    l2 = {}
    for bits in ("256", "512"):
        b = rows.get(f"machine/l2_read/{bits}")
        if b:
            l2[bits] = b["bytes_per_second"] / 1e9
    best_l2 = max(l2.values()) if l2 else None

    print(machine_line(ctx))
    print(f"ns per sample (CPU time, median of {ctx.get('repetitions', '1')} repetitions); "
          "ratios are peer time / propel time (> 1: propel is faster).")
    print()
    head = ["workload", "op"] + [f"{p} ns" for p in peers] + ["propel GFLOP/s"]
    head += ["vs Eigen"] + (["vs LibTorch"] if "libtorch" in peers else []) + ["% peak FMA"]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join(["---"] * 2 + ["---:"] * (len(head) - 2)) + "|")
    for w in WORKLOADS:
        for op in OPS:
            t = {p: per_sample(w, op, p) for p in peers}
            if t.get("propel") is None:
                continue
            b = rows[f"mlp/{w}/{op}/propel"]
            gflops = b["flops_per_sample"] / t["propel"]
            cells = [w, op] + [fmt_ns(t[p]) for p in peers] + [f"{gflops:.2f}"]
            for ref in ["eigen"] + (["libtorch"] if "libtorch" in peers else []):
                cells.append("–" if t.get(ref) is None else f"{t[ref] / t['propel']:.2f}x")
            cells.append(f"{100 * gflops / best_peak:.1f}%" if best_peak else "–")
            print("| " + " | ".join(cells) + " |")
    print()
    if peak:
        print("Peak FMA (one core): " + ", ".join(f"{v:.1f} GFLOP/s with {k}-bit vectors"
                                                  for k, v in sorted(peak.items())) + ".")
    if best_l2:
        b = rows.get("machine/l2_read/512") or rows.get("machine/l2_read/256")
        size = b["bytes"]
        bound = size / best_l2
        line = (f"L2 read bandwidth: {best_l2:.1f} GB/s (streaming {size / 1000:.0f} KB, the mnist "
                f"parameters); mnist infer1 must read them all: bound {bound:,.0f} ns")
        t = per_sample("mnist", "infer1", "propel")
        if t:
            line += f", propel {t:,.0f} ns = {100 * bound / t:.0f}% of the bound"
        print(line + ".")


if __name__ == "__main__":
    main()
