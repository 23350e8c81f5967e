#!/usr/bin/env python3
# SPDX-License-Identifier: BSL-1.0
"""Formats the hostile-caller run (propel_bench_hostile) and the friendly one
(propel_bench_mlp) of the same build as one Markdown table.

usage: format_hostile.py hostile.json[,hostile2.json...] friendly.json[,friendly2.json...]

Several files per program are rounds of one repetition each (bench/hostile_run runs the two
programs' rounds in turn, so a slow spell of the machine falls on both): a benchmark's time
is then its median over the rounds. Per cell: ns per sample of every peer in the hostile
caller (CPU time, the median of the repetitions), propel's speed-up over hand-written Eigen and over the best of the other
peers (peer time / propel time: > 1 means propel is faster), and propel's hostile time over
its friendly time (the two callers must agree within 10%). Below the table: the L2 read
bound of mnist infer1 (its 437 KB of parameters streamed from L2 at the measured read
bandwidth) and the peak FMA rate of the widest vectors the build has, both measured in the
hostile run, with propel's mnist infer1 as % of that bound and mnist train32 as % of peak.
"""
import sys

from bench_json import OPS, WORKLOADS, fmt_ns, load_rounds, machine_line, ns

PEERS = [("propel", "propel"), ("eigen", "Eigen"), ("libxsmm", "LIBXSMM"),
         ("onednn", "oneDNN"), ("libtorch", "LibTorch")]


def per_sample(rows, w, op, peer):
    b = rows.get(f"mlp/{w}/{op}/{peer}")
    return None if b is None else ns(b) / b["samples"]


def best_of(rows, kind, key):
    found = {}
    for bits in ("256", "512"):
        b = rows.get(f"machine/{kind}/{bits}")
        if b:
            found[bits] = b
    if not found:
        return None, None
    bits = max(found, key=lambda k: found[k][key])
    return bits, found[bits]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    ctx, hostile = load_rounds(sys.argv[1].split(","))
    _, friendly = load_rounds(sys.argv[2].split(","))
    peers = [(p, label) for p, label in PEERS if any(k.endswith("/" + p) for k in hostile)]
    others = [p for p, _ in peers if p != "propel"]

    print(machine_line(ctx))
    print(f"Hostile caller, ns per sample (CPU time, median of {ctx.get('repetitions', '1')} "
          "repetitions). \"vs\": peer time / propel time (> 1: propel is faster); "
          "\"hostile/friendly\": propel's time in this harness over its time in bench_mlp.")
    print()
    head = ["cell"] + [label for _, label in peers]
    head += ["propel vs Eigen", "propel vs best peer", "hostile/friendly"]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|")
    misses = {"eigen": 0, "best": 0, "agree": 0, "cells": 0}
    for w in WORKLOADS:
        for op in OPS:
            t = {p: per_sample(hostile, w, op, p) for p, _ in peers}
            if t.get("propel") is None:
                continue
            misses["cells"] += 1
            cells = [f"{w} {op}"] + [fmt_ns(t[p]) for p, _ in peers]
            e = t.get("eigen")
            cells.append("–" if e is None else f"{e / t['propel']:.2f}x")
            misses["eigen"] += e is not None and e < t["propel"]
            rivals = [(t[p], p) for p in others if t[p] is not None]
            if rivals:
                best, who = min(rivals)
                cells.append(f"{best / t['propel']:.2f}x ({dict(peers)[who]})")
                misses["best"] += best < t["propel"]
            else:
                cells.append("–")
            f = per_sample(friendly, w, op, "propel")
            if f is None:
                cells.append("–")
            else:
                ratio = t["propel"] / f
                misses["agree"] += abs(ratio - 1) > 0.10
                cells.append(f"{ratio:.2f}")
            print("| " + " | ".join(cells) + " |")
    print()
    print(f"propel is slower than Eigen on {misses['eigen']} of {misses['cells']} cells, "
          f"slower than the best peer on {misses['best']}; its hostile and friendly times "
          f"differ by more than 10% on {misses['agree']}.")

    bits, l2 = best_of(hostile, "l2_read", "bytes_per_second")
    if l2:
        gbs = l2["bytes_per_second"] / 1e9
        bound = l2["bytes"] / gbs  # ns
        line = (f"L2 read bound: {l2['bytes']:,.0f} B (the mnist parameters) streamed at "
                f"{gbs:.1f} GB/s ({bits}-bit loads) = {bound:,.0f} ns")
        t = per_sample(hostile, "mnist", "infer1", "propel")
        if t:
            line += f"; propel mnist infer1 {t:,.0f} ns = {100 * bound / t:.0f}% of the bound"
        print(line + ".")
    bits, fma = best_of(hostile, "fma", "flops")
    if fma:
        peak = fma["flops"] / 1e9
        line = f"Peak FMA: {peak:.1f} GFLOP/s ({bits}-bit vectors, the widest this build has)"
        b = hostile.get("mlp/mnist/train32/propel")
        if b:
            gflops = b["flops_per_sample"] / per_sample(hostile, "mnist", "train32", "propel")
            line += (f"; propel mnist train32 {gflops:.1f} GFLOP/s = {100 * gflops / peak:.0f}% "
                     "of peak")
        print(line + ".")


if __name__ == "__main__":
    main()
