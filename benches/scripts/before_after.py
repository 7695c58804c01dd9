#!/usr/bin/env python3
"""Before/after against the C peers: paired, interleaved runs (A B C … A B C …).

Runs a baseline `workloads` binary (an older commit, built elsewhere) and
the current one as children (`--child PLAN native WORKLOAD N [NURSERY]`)
beside the C peers (glibc malloc, bdwgc) built by the current one, round
after round, and prints whole-process wall time and peak RSS (wait4) as
medians (min–max) and as ratios to bdwgc and to malloc. Needs GNU time
(/usr/bin/time, Debian's `time`).

  benches/scripts/before_after.py BASELINE_WORKLOADS NEW_WORKLOADS PEERS_DIR \\
      [--workload binary-trees|gcbench] [--n 18] [--rounds 5] \\
      [--plans generational,marksweep,semispace]

PEERS_DIR holds binary_trees-{malloc,bdwgc} and gcbench-{malloc,bdwgc}
(target/release/build/capgc-benches-*/out/peers, or target/release/c-bench
after `make -C c-api bench-programs`).
"""
import argparse
import os
import statistics
import subprocess
import time


def run(cmd):
    """stdout, wall ms, peak RSS MiB. The RSS comes from GNU time (a small
    parent, so a forked Python's own pages are not counted as the child's)."""
    start = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, capture_output=True, text=True)
    wall = (time.perf_counter() - start) * 1e3
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr}")
    return p.stdout, wall, int(p.stderr.strip().splitlines()[-1]) / 1024.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("baseline")
    ap.add_argument("new")
    ap.add_argument("peers")
    ap.add_argument("--workload", default="binary-trees")
    ap.add_argument("--n", type=int, default=18)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--plans", default="generational,marksweep,semispace")
    a = ap.parse_args()
    n = str(a.n)
    stem = "gcbench" if a.workload == "gcbench" else "binary_trees"
    entries = []
    for plan in a.plans.split(","):
        entries.append((f"before {plan}", [a.baseline, "--child", plan, "native", a.workload, n]))
        entries.append((f"after {plan} (latency)" if plan == "generational" else f"after {plan}",
                        [a.new, "--child", plan, "native", a.workload, n, ""]))
        if plan == "generational":
            entries.append(("after generational (throughput)",
                            [a.new, "--child", plan, "native", a.workload, n, "throughput"]))
    for peer in ["bdwgc", "malloc"]:
        cmd = [os.path.join(a.peers, f"{stem}-{peer}")]
        if a.workload != "gcbench":
            cmd.append(n)
        entries.append((f"C peer: {peer}", cmd))
    walls = {name: [] for name, _ in entries}
    rss = {name: [] for name, _ in entries}
    for r in range(a.rounds):
        for name, cmd in entries:
            _, w, m = run(cmd)
            walls[name].append(w)
            rss[name].append(m)
        print(f"round {r + 1}/{a.rounds} done", flush=True)
    med = {k: statistics.median(v) for k, v in walls.items()}
    mrss = {k: statistics.median(v) for k, v in rss.items()}
    label = a.workload if a.workload == "gcbench" else f"binary-trees {n}"
    print(f"\n{label}, Native, {a.rounds} interleaved rounds, medians (min–max)\n")
    print("| configuration | wall ms | vs bdwgc | vs malloc | peak RSS MiB | RSS vs bdwgc |")
    print("|---|---:|---:|---:|---:|---:|")
    b, m = med["C peer: bdwgc"], med["C peer: malloc"]
    for name, _ in entries:
        w = walls[name]
        print(f"| {name} | {med[name]:.0f} ({min(w):.0f}–{max(w):.0f}) | "
              f"{med[name] / b:.2f} ({min(w) / b:.2f}–{max(w) / b:.2f}) | {med[name] / m:.2f} | "
              f"{mrss[name]:.0f} | {mrss[name] / mrss['C peer: bdwgc']:.2f} |")


if __name__ == "__main__":
    main()
