#!/usr/bin/env python3
"""Pauses of Lua on CapGC against stock Lua, both in incremental mode.

    benches/scripts/lua_pauses.py [--pairs 3] [--bin target/release]
                                  [--mib 256] [--rounds 40]

Interleaved runs (stock, capgc, stock, ...) of
  - binary-trees 16 under bindings/lua/bench/pauses.lua (the gaps between
    count-hook calls every 1000 VM instructions), and
  - bindings/lua/bench/live_heap.lua MIB ROUNDS (a live heap of MIB MiB
    while a small loop allocates; the gaps between its iterations),
all gaps in process CPU time (os.clock), so time spent descheduled on a
loaded machine does not count. Prints a markdown table of medians over
the pairs: the longest gap, p99 and p99.9, gaps over 1 ms, CPU time, peak
RSS (GNU time %M of the same run), and for lua-capgc the longest and p99
collector entry (luaC_step, thread CPU time) and the longest atomic phase
from its CAPGC_LOG=gc summary. Outputs must be equal.
"""
import argparse
import os
import re
import resource
import statistics
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
BENCH = os.path.join(ROOT, "bindings", "lua", "bench")
GAPS = re.compile(r"^(?:pauses|loop gaps): (?:gaps )?(\d+), max ([0-9.]+) ms, p99 ([0-9.]+) ms, "
                  r"p99\.9 ([0-9.]+) ms, over 0\.5 ms (\d+), over 1 ms (\d+)")
ENTRIES = re.compile(r"^\[capgc lua\] collector entries .*: (\d+), max ([0-9.]+) ms, "
                     r"p99 ([0-9.]+) ms, p99\.9 ([0-9.]+) ms; longest atomic phase ([0-9.]+) ms")


def run(binary, args):
    env = dict(os.environ, LUA_GC_MODE="incremental", CAPGC_LOG="gc")
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(["/usr/bin/time", "-f", "rss %M", binary] + args, cwd=BENCH, env=env,
                       capture_output=True, text=True)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise SystemExit(f"{binary} {args} failed:\n{p.stderr[-2000:]}")
    lines = p.stderr.splitlines()
    g = next(m for m in map(GAPS.match, lines) if m)
    e = next((m for m in map(ENTRIES.match, lines) if m), None)
    rss = int(next(x for x in lines if x.startswith("rss ")).split()[1])
    return {
        "out": p.stdout,
        "cpu": (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime),
        "max": float(g.group(2)), "p99": float(g.group(3)), "p999": float(g.group(4)),
        "over1": int(g.group(6)), "rss": rss / 1024,
        "emax": float(e.group(2)) if e else None, "ep99": float(e.group(3)) if e else None,
        "atomic": float(e.group(5)) if e else None,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release"))
    ap.add_argument("--mib", default="256")
    ap.add_argument("--rounds", default="40")
    a = ap.parse_args()
    cases = [("binary-trees 16", ["pauses.lua", "binary_trees.lua", "16"]),
             (f"live heap {a.mib} MiB", ["live_heap.lua", a.mib, a.rounds])]
    peers = [("stock incremental", os.path.join(a.bin, "lua-stock")),
             ("capgc incremental", os.path.join(a.bin, "lua-capgc"))]
    print("| workload | Lua | max gap ms | p99 gap ms | p99.9 gap ms | gaps > 1 ms | CPU s | peak RSS MiB "
          "| max entry ms | p99 entry ms | longest atomic ms |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, args in cases:
        res = {p[0]: [] for p in peers}
        for _ in range(a.pairs):
            for label, binary in peers:
                res[label].append(run(binary, args))
        if len({r["out"] for rs in res.values() for r in rs}) != 1:
            raise SystemExit(f"{name}: outputs differ")
        for label, _ in peers:
            rs = res[label]
            med = lambda k: statistics.median(r[k] for r in rs)  # noqa: E731
            capgc = (f"{med('emax'):.2f} | {med('ep99'):.2f} | {med('atomic'):.2f}"
                     if rs[0]["emax"] is not None else "— | — | —")
            print(f"| {name} | {label} | {med('max'):.2f} | {med('p99'):.3f} | {med('p999'):.2f} | "
                  f"{med('over1'):.0f} | {med('cpu'):.2f} | {med('rss'):.0f} | {capgc} |", flush=True)


if __name__ == "__main__":
    main()
