#!/usr/bin/env python3
"""Lua on CapGC against stock Lua, paired runs.

    benches/scripts/lua_bench.py [--pairs 5] [--bin target/release]

Runs each benchmark of bindings/lua/bench on lua-stock (incremental and
generational) and lua-capgc (incremental: stepped marking and lazy sweep on
Lua's barriers; generational: whole collections), interleaved (stock-inc,
stock-gen, capgc-inc, capgc-gen, stock-inc, ...), one process each, and
prints a markdown table of medians: wall time, CPU time (user + system, of
the child: less sensitive than wall time to a loaded machine), peak RSS,
and for lua-capgc the collections and the longest and p99 collector entry
(luaC_step, thread CPU time, from CAPGC_LOG=gc), with ratios to stock
incremental. The timed runs log nothing: CAPGC_LOG=gc costs lua-capgc
alone two clock_gettime system calls per collector entry and a line per
collection (0.1-0.15 s of system time on closures/coroutines, 3,774
collections), so the log is read from the separate run that measures the
peak RSS.
"""
import argparse
import os
import re
import resource
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
PAUSE = re.compile(r"^\[capgc cells\] gc #\d+ .* pause ([0-9.]+) ms")
ENTRIES = re.compile(r"^\[capgc lua\] collector entries .*: (\d+), max ([0-9.]+) ms, p99 ([0-9.]+) ms")


def run(binary, script, args, mode):
    env = dict(os.environ, LUA_GC_MODE=mode)
    env.pop("CAPGC_LOG", None)
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.Popen([binary, script] + args, cwd=BENCH, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = p.communicate()
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    if p.returncode != 0:
        raise SystemExit(f"{binary} {script} failed:\n{err}")
    return wall, cpu, out


def peak_rss_kib(binary, script, args, mode):
    """Peak RSS of one run (a separate run), from GNU time's %M: the
    rusage of a child forked from Python would count Python's own pages;
    and, from the same run's CAPGC_LOG=gc lines, lua-capgc's collections
    and its longest and p99 collector entry."""
    env = dict(os.environ, LUA_GC_MODE=mode, CAPGC_LOG="gc")
    r = subprocess.run(["/usr/bin/time", "-f", "%M", binary, script] + args, cwd=BENCH,
                       env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines = r.stderr.strip().splitlines()
    gcs = sum(1 for line in lines if PAUSE.match(line))
    entries = [m for m in map(ENTRIES.match, lines) if m]
    worst = (float(entries[0].group(2)), float(entries[0].group(3))) if entries else (0.0, 0.0)
    return int(lines[-1]), (gcs, worst)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release"))
    ap.add_argument("--cases", default="")
    a = ap.parse_args()
    peers = [
        ("stock incremental", os.path.join(a.bin, "lua-stock"), "incremental"),
        ("stock generational", os.path.join(a.bin, "lua-stock"), "generational"),
        ("capgc incremental", os.path.join(a.bin, "lua-capgc"), "incremental"),
        ("capgc generational", os.path.join(a.bin, "lua-capgc"), "generational"),
    ]
    cases = [c for c in CASES if not a.cases or any(s in c[0] for s in a.cases.split(","))]
    print("| workload | Lua | wall s | × stock inc | CPU s | × stock inc | peak RSS MiB | × stock inc | GCs | max entry ms | p99 entry ms |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, script, args in cases:
        walls = {p[0]: [] for p in peers}
        cpus = {p[0]: [] for p in peers}
        rss = {p[0]: [] for p in peers}
        gcs = {p[0]: [] for p in peers}
        outs = {}
        for _ in range(a.pairs):
            for label, binary, mode in peers:
                w, cpu, out = run(binary, script, args, mode)
                walls[label].append(w)
                cpus[label].append(cpu)
                outs.setdefault(out, []).append(label)
                peak, pauses = peak_rss_kib(binary, script, args, mode)
                rss[label].append(peak)
                gcs[label].append(pauses)
        if len(outs) != 1:
            raise SystemExit(f"{name}: outputs differ between peers: {list(outs.values())}")
        base_w = statistics.median(walls["stock incremental"])
        base_c = statistics.median(cpus["stock incremental"])
        base_r = statistics.median(rss["stock incremental"])
        for label, _, _ in peers:
            w = statistics.median(walls[label])
            c = statistics.median(cpus[label])
            r = statistics.median(rss[label])
            n, worst = sorted(gcs[label])[len(gcs[label]) // 2]
            worst_max = statistics.median(g[1][0] for g in gcs[label])
            worst_p99 = statistics.median(g[1][1] for g in gcs[label])
            gc = f"{n} | {worst_max:.2f} | {worst_p99:.2f}" if label.startswith("capgc") else "— | — | —"
            print(f"| {name} | {label} | {w:.3f} | {w / base_w:.2f} | {c:.3f} | {c / base_c:.2f} | "
                  f"{r / 1024:.1f} | {r / base_r:.2f} | {gc} |", flush=True)


if __name__ == "__main__":
    main()
