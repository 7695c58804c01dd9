#!/usr/bin/env python3
"""The four ways of dividing Lua (divide.lua), measured on the Lua
benchmarks: CPU time (user+sys) and peak RSS per run, medians of
interleaved rounds (way after way within each round), the collector's
longest entry (CAPGC_LOG=gc), and the non-local access report of the
last round. Prints a markdown table.

    bindings/lua/bench/divide.py LUA_CAPGC [--rounds N]
"""
import re
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = [
    ("binary_trees.lua", ["14"]),
    ("closures_coroutines.lua", ["1000000"]),
    ("strings_tables.lua", ["200000"]),
    ("weak_gc.lua", ["300000"]),
]
WAYS = ["one", "copy", "shared", "host"]


def run(lua, way, script, args):
    cmd = ["/usr/bin/time", "-f", "TIME %U %S %M", lua, "divide.lua", way, script, *args]
    p = subprocess.run(cmd, cwd=HERE, capture_output=True, text=True,
                       env={"CAPGC_LOG": "gc", "PATH": "/usr/bin:/bin"})
    if p.returncode != 0:
        sys.exit(f"{way} {script} failed:\n{p.stderr}")
    u, s, rss = re.search(r"TIME ([\d.]+) ([\d.]+) (\d+)", p.stderr).groups()
    m = re.search(r"collector entries \(luaC_step, CPU time\): \d+, max ([\d.]+) ms", p.stderr)
    edges = re.findall(r"edges (\S+) -> (\S+): last (\d+), total (\d+)", p.stderr)
    return float(u) + float(s), int(rss), float(m.group(1)) if m else float("nan"), edges, p.stdout


def main():
    lua = sys.argv[1]
    rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 5
    print("| benchmark | way | CPU s (median) | × one | peak RSS MiB | × one | longest GC entry ms | edges of the last collection (total over all) |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for script, args in BENCHES:
        res = {w: [] for w in WAYS}
        for _ in range(rounds):
            for w in WAYS:
                res[w].append(run(lua, w, script, args))
        outs = {w: res[w][-1][4] for w in WAYS}
        for w in WAYS:
            assert outs[w] == outs["one"], f"{script}: {w} printed something else"
        base_t = statistics.median(r[0] for r in res["one"])
        base_m = statistics.median(r[1] for r in res["one"])
        for w in WAYS:
            t = statistics.median(r[0] for r in res[w])
            m = statistics.median(r[1] for r in res[w])
            p = statistics.median(r[2] for r in res[w])
            e = ", ".join(f"{a}→{b} {l} ({tot})" for a, b, l, tot in res[w][-1][3]) or "—"
            print(f"| {script} {' '.join(args)} | {w} | {t:.2f} | {t / base_t:.2f} | {m / 1024:.1f} | {m / base_m:.2f} | {p:.2f} | {e} |")


if __name__ == "__main__":
    main()
