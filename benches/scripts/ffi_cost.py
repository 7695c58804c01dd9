#!/usr/bin/env python3
"""The FFI cost: binary-trees in C on capgc.h (the slot API) against the
same program in Rust on gc-core (`workloads --child`), same plan and mode,
paired runs (C R C R ...), whole-process wall time; prints medians and the
C/Rust ratio per mode.

    benches/scripts/ffi_cost.py WORKLOADS_BIN C_BIN [--n 18] [--rounds 3]
        [--plan generational] [--modes native,p128,morello]
"""
import argparse, statistics, subprocess, sys, time

p = argparse.ArgumentParser()
p.add_argument("rust"); p.add_argument("c")
p.add_argument("--n", default="18"); p.add_argument("--rounds", type=int, default=3)
p.add_argument("--plan", default="generational")
p.add_argument("--modes", default="native,p128,morello")
a = p.parse_args()
rust_mode = {"native": "native", "p128": "p128", "morello": "softcheri-morello"}
t = {}
for r in range(a.rounds):
    for m in a.modes.split(","):
        for tag, cmd in (("C", [a.c, m, a.plan, a.n]), ("Rust", [a.rust, "--child", a.plan, rust_mode[m], "binary-trees", a.n])):
            start = time.monotonic()
            out = subprocess.run(cmd, capture_output=True, text=True)
            dt = time.monotonic() - start
            if out.returncode != 0:
                sys.exit(f"{cmd}: {out.stderr[-400:]}")
            t.setdefault((m, tag), []).append(dt)
            print(f"round {r+1} {m} {tag}: {dt:.2f} s", file=sys.stderr)
print(f"binary-trees {a.n}, {a.plan}, {a.rounds} paired rounds, wall seconds (median)\n")
print("| mode | C on capgc.h (slot API) | Rust on gc-core | C / Rust |\n|---|---:|---:|---:|")
for m in a.modes.split(","):
    c, rr = t[(m, "C")], t[(m, "Rust")]
    ratios = [x / y for x, y in zip(c, rr)]
    print(f"| {m} | {statistics.median(c):.2f} | {statistics.median(rr):.2f} | {statistics.median(ratios):.2f} ({min(ratios):.2f}–{max(ratios):.2f}) |")
