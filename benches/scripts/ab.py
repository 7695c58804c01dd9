#!/usr/bin/env python3
"""Interleaved A/B comparison of two `workloads` binaries (e.g. before and
after a change): every configuration runs as a child process of each
binary in turn, A B A B ..., round after round, so both share the
machine's noise; prints a markdown table of medians per binary and the
B/A ratio of total time per configuration.

    benches/scripts/ab.py OLD_BIN NEW_BIN [--workload binary-trees] [--n 18]
        [--rounds 3] [--plans marksweep,semispace,generational]
        [--modes native,p128,softcheri-morello,softcheri-morello/tags]
"""
import argparse, statistics, subprocess, sys

p = argparse.ArgumentParser()
p.add_argument("a"); p.add_argument("b")
p.add_argument("--workload", default="binary-trees")
p.add_argument("--n", default="18")
p.add_argument("--rounds", type=int, default=3)
p.add_argument("--plans", default="marksweep,semispace,generational")
p.add_argument("--modes", default="native,p128,softcheri-morello,softcheri-morello/tags")
args = p.parse_args()

configs = [(pl, m) for pl in args.plans.split(",") for m in args.modes.split(",")]
runs = {}  # (bin, plan, mode) -> [dict]
for r in range(args.rounds):
    for pl, m in configs:
        for tag, binary in (("A", args.a), ("B", args.b)):
            out = subprocess.run([binary, "--child", pl, m, args.workload, args.n],
                                 capture_output=True, text=True)
            line = next((l for l in out.stdout.splitlines() if "total_ms=" in l), None)
            if out.returncode != 0 or line is None:
                sys.exit(f"{tag} {pl} {m}: failed: {out.stderr[-500:]}")
            d = dict(kv.split("=") for kv in line.split())
            runs.setdefault((tag, pl, m), []).append({k: float(v) for k, v in d.items()})
            print(f"round {r+1} {tag} {pl} {m}: {d['total_ms']} ms", file=sys.stderr)

med = lambda tag, pl, m, k: statistics.median(x[k] for x in runs[(tag, pl, m)])
cols = ["total_ms", "gc_ms", "p50_ms", "p99_ms", "max_ms", "minor_p99_ms", "collections", "copied_mib", "rss_mib"]
print(f"`{args.workload} {args.n}`, {args.rounds} interleaved rounds, medians; A = {args.a}, B = {args.b}\n")
print("| plan | mode | bin | " + " | ".join(c.replace("_", " ") for c in cols) + " | B/A total |")
print("|---|---|---|" + "---:|" * (len(cols) + 1))
for pl, m in configs:
    for tag in ("A", "B"):
        vals = " | ".join(f"{med(tag, pl, m, c):.2f}" if c.endswith("ms") and c != "total_ms" else f"{med(tag, pl, m, c):.0f}" for c in cols)
        ratio = ""
        if tag == "B":
            pairs = [b["total_ms"] / a["total_ms"] for a, b in zip(runs[("A", pl, m)], runs[("B", pl, m)])]
            ratio = f"{statistics.median(pairs):.3f} ({min(pairs):.2f}–{max(pairs):.2f})"
        print(f"| {pl} | {m} | {tag} | {vals} | {ratio} |")
