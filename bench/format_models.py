#!/usr/bin/env python3
# SPDX-License-Identifier: BSL-1.0
"""Formats the models benchmark (propel_bench_models) as one Markdown table.

usage: format_models.py models.json [--callgrind DIR CALLS]

Per pair and operation: ns per call of each of the two networks (CPU time, the median of the
repetitions; a call is one sample for infer1/train1, a batch of 32 for infer32/train32) and
their ratio (first / second); with --callgrind, the instructions per call of each counted by
callgrind (DIR holds one part per cell, named after it, for CALLS calls) and their ratio.
"""
import glob
import re
import sys

from bench_json import OPS, fmt_ns, load, machine_line, ns

PAIRS = [("ctrl", "model", "mlp"), ("digits", "model", "mlp"), ("residual", "residual", "plain"),
         ("heads", "two_heads", "one_head")]


def callgrind_counts(directory, calls):
    """{cell name: instructions per call} from the parts callgrind dumped in directory."""
    counts = {}
    for path in glob.glob(f"{directory}/out.*"):
        name = total = None
        with open(path) as f:
            for line in f:
                m = re.match(r"desc: Trigger: Client Request: (\S+)", line)
                if m:
                    name = m.group(1)
                m = re.match(r"(?:summary|totals): (\d+)", line)
                if m and total is None:
                    total = int(m.group(1))
        if name and total is not None:
            counts[name] = total / calls
    return counts


def main():
    args = sys.argv[1:]
    if len(args) not in (1, 4) or (len(args) == 4 and args[1] != "--callgrind"):
        sys.exit(__doc__)
    ctx, rows = load(args[0])
    counts = callgrind_counts(args[2], int(args[3])) if len(args) == 4 else {}

    print(machine_line(ctx))
    print(f"ns per call (CPU time, median of {ctx.get('repetitions', '1')} repetitions; a call "
          "is one sample for infer1/train1, a batch of 32 for infer32/train32), through a "
          "function pointer from another translation unit.")
    if counts:
        print(f"Instructions per call: callgrind, {args[3]} calls of each cell "
              "(-march=x86-64-v3 build).")
    print()
    head = ["pair", "op", "first", "second", "first ns", "second ns", "time first/second"]
    if counts:
        head += ["first instr.", "second instr.", "instr. first/second"]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join(["---"] * 4 + ["---:"] * (len(head) - 4)) + "|")
    for pair, first, second in PAIRS:
        for op in OPS:
            a = rows.get(f"models/{pair}/{op}/{first}")
            b = rows.get(f"models/{pair}/{op}/{second}")
            if a is None or b is None:
                continue
            ta, tb = ns(a), ns(b)
            cells = [pair, op, first, second, fmt_ns(ta), fmt_ns(tb), f"{ta / tb:.3f}"]
            if counts:
                ia = counts.get(f"models/{pair}/{op}/{first}")
                ib = counts.get(f"models/{pair}/{op}/{second}")
                if ia is None or ib is None:
                    cells += ["–", "–", "–"]
                else:
                    cells += [f"{ia:,.0f}", f"{ib:,.0f}", f"{ia / ib:.3f}"]
            print("| " + " | ".join(cells) + " |")

if __name__ == "__main__":
    main()
