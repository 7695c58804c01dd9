#!/usr/bin/env python3
"""Lua on CapGC against stock Lua, paired runs.

    benches/scripts/lua_bench.py [--pairs 5] [--bin target/release]

Runs each benchmark of bindings/lua/bench on lua-stock (incremental and
generational) and lua-capgc (MarkSweep), interleaved (stock-inc, stock-gen,
capgc, stock-inc, ...), one process each, and prints a markdown table of
medians: wall time, peak RSS, and for lua-capgc the collections and total
and p99 pause (from CAPGC_LOG=gc), with ratios to stock incremental.
"""
import argparse
import os
import re
import statistics
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
BENCH = os.path.join(ROOT, "bindings", "lua", "bench")
CASES = [
    ("binary-trees 14", "binary_trees.lua", ["14"]),
    ("binary-trees 16", "binary_trees.lua", ["16"]),
    ("strings/tables", "strings_tables.lua", ["200000"]),
    ("closures/coroutines", "closures_coroutines.lua", ["2000000"]),
    ("weak tables + __gc", "weak_gc.lua", ["200000"]),
]
PAUSE = re.compile(r"^\[capgc cells\] gc #\d+ .* pause ([0-9.]+) ms$")


def run(binary, script, args, mode):
    env = dict(os.environ, LUA_GC_MODE=mode, CAPGC_LOG="gc")
    t0 = time.perf_counter()
    p = subprocess.Popen([binary, script] + args, cwd=BENCH, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = p.communicate()
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"{binary} {script} failed:\n{err}")
    pauses = [float(m.group(1)) for m in map(PAUSE.match, err.splitlines()) if m]
    return wall, out, pauses


def peak_rss_kib(binary, script, args, mode):
    """Peak RSS of one run (a separate run), from GNU time's %M: the
    rusage of a child forked from Python would count Python's own pages."""
    env = dict(os.environ, LUA_GC_MODE=mode)
    r = subprocess.run(["/usr/bin/time", "-f", "%M", binary, script] + args, cwd=BENCH,
                       env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return int(r.stderr.strip().splitlines()[-1])


def p99(xs):
    if not xs:
        return 0.0
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(0.99 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release"))
    ap.add_argument("--cases", default="")
    a = ap.parse_args()
    peers = [
        ("stock incremental", os.path.join(a.bin, "lua-stock"), "incremental"),
        ("stock generational", os.path.join(a.bin, "lua-stock"), "generational"),
        ("capgc marksweep", os.path.join(a.bin, "lua-capgc"), "incremental"),
    ]
    cases = [c for c in CASES if not a.cases or any(s in c[0] for s in a.cases.split(","))]
    print("| workload | Lua | wall s | × stock inc | peak RSS MiB | × stock inc | GCs | total pause ms | p99 pause ms |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, script, args in cases:
        walls = {p[0]: [] for p in peers}
        rss = {p[0]: [] for p in peers}
        gcs = {p[0]: [] for p in peers}
        outs = {}
        for _ in range(a.pairs):
            for label, binary, mode in peers:
                w, out, pauses = run(binary, script, args, mode)
                walls[label].append(w)
                gcs[label].append(pauses)
                outs.setdefault(out, []).append(label)
                rss[label].append(peak_rss_kib(binary, script, args, mode))
        if len(outs) != 1:
            raise SystemExit(f"{name}: outputs differ between peers: {list(outs.values())}")
        base_w = statistics.median(walls["stock incremental"])
        base_r = statistics.median(rss["stock incremental"])
        for label, _, _ in peers:
            w = statistics.median(walls[label])
            r = statistics.median(rss[label])
            ps = gcs[label][len(gcs[label]) // 2]
            gc = f"{len(ps)} | {sum(ps):.1f} | {p99(ps):.2f}" if label.startswith("capgc") else "— | — | —"
            print(f"| {name} | {label} | {w:.3f} | {w / base_w:.2f} | {r / 1024:.1f} | {r / base_r:.2f} | {gc} |")


if __name__ == "__main__":
    main()
