#!/usr/bin/env python3
"""Wall and CPU time of lua-capgc before/after a change and with the
compartment report on, interleaved (docs/results/2026-12-07-lua-compartments.md).

    python3 benches/scripts/lua_report_wall.py BEFORE_BIN AFTER_BIN [--rounds 7]

Each round runs every benchmark with BEFORE_BIN, AFTER_BIN, and AFTER_BIN
with one empty compartment made first (so every traced pointer is looked
up and counted: the report on), one after the other, from
bindings/lua/bench. Prints, per benchmark, the median wall and CPU
(user + sys of the child) times and the ratios after/before and
report/after. On a shared machine wall time is noisy; the CPU column and
callgrind instruction counts are the figures to trust.
"""
import argparse
import os
import resource
import statistics
import subprocess
import time

BENCHES = [
    ["binary_trees.lua", "14"],
    ["closures_coroutines.lua", "300000"],
    ["strings_tables.lua", "100000"],
    ["weak_gc.lua", "100000"],
]
REPORT_ON = ["-e", "require'capgc'.compartment('x', function() end)"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--rounds", type=int, default=7)
    a = ap.parse_args()
    variants = {
        "before": [os.path.abspath(a.before)],
        "after": [os.path.abspath(a.after)],
        "report": [os.path.abspath(a.after)] + REPORT_ON,
    }
    here = os.path.dirname(os.path.abspath(__file__))
    os.chdir(os.path.join(here, "..", "..", "bindings", "lua", "bench"))
    for b in BENCHES:
        wall = {k: [] for k in variants}
        cpu = {k: [] for k in variants}
        for _ in range(a.rounds):
            for k, cmd in variants.items():
                t = time.perf_counter()
                r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                subprocess.run(cmd + b, stdout=subprocess.DEVNULL, check=True)
                r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                wall[k].append(time.perf_counter() - t)
                cpu[k].append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
        m = {k: statistics.median(v) for k, v in wall.items()}
        c = {k: statistics.median(v) for k, v in cpu.items()}
        print(
            " ".join(b),
            "wall", {k: round(v, 3) for k, v in m.items()},
            "after/before %.3f report/after %.3f" % (m["after"] / m["before"], m["report"] / m["after"]),
            "| cpu after/before %.3f report/after %.3f" % (c["after"] / c["before"], c["report"] / c["after"]),
            flush=True,
        )


if __name__ == "__main__":
    main()
