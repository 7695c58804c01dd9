#!/usr/bin/env python3
"""The first screen of the results page: what purecap costs, per workload.

    benches/scripts/summary.py docs/results.md docs/results           # rewrite the page's summary in place
    benches/scripts/summary.py docs/results.md docs/results --print   # print it

Reads each section's `results.json` — the harness's own figures, kept by
benches/results.sh beside the charts as DIR/NAME.json for every `## NAME`
section of the page — and puts, between the markers `<!-- summary -->`
and `<!-- /summary -->` right under the title, one table per workload:
each plan's Native wall time, its Native : P128 : SoftCheri ratio, and
every configuration against idiomatic bdwgc, idiomatic glibc malloc and
MMTk's best plan in that run (the ratios the harness computed, `ratios`
in the JSON); then the headline figures, each naming the table it comes
from. Nothing is measured or typed in here: a figure missing from the
JSON is a dash.
"""
import json
import os
import re
import sys

BEGIN, END = "<!-- summary -->", "<!-- /summary -->"
MODES = ["native", "p128", "softcheri-morello"]
# The JSON's ratio baselines (benches/src/bin/workloads/report.rs) of the
# first screen's columns; the shaped peers ("bdwgc shaped", …) stay in
# the sections, labelled, never a headline.
PEERS = [("bdwgc", "× idiomatic bdwgc"), ("malloc", "× idiomatic malloc"), ("mmtk best", "× MMTk's best")]
PEER_MODES = ("native (C)", "native (MMTk)")
FAST_C = "C on capgc_fast.h: "
SLOT_C = "C on capgc.h: "
SCHEME = "Scheme on capgc.h: "
VIA_C = (FAST_C, SLOT_C, SCHEME)
# live-sweep allocates the same bytes in every mode, so Native holds more
# objects there: its ratios compare nothing across modes, and it is left
# out of the first screen.
WITHIN_A_MODE_ONLY = {"live-sweep"}


def section_names(text):
    return [line[3:].strip() for line in text.splitlines() if line.startswith("## ")]


class Run:
    """One section's results.json."""

    def __init__(self, name, path):
        self.name = name
        r = json.load(open(path))
        self.label = r["parameters"]["label"]
        self.configs = r["configurations"]
        self.ratios = {}
        for x in r["ratios"]:
            self.ratios[(x["baseline"], x["config"])] = x

    def median(self, c, key):
        return c["summary"]["median"][key]

    def plans(self):
        """CapGC's plans through the Rust API, then the programs on capgc.h,
        in the harness's order."""
        out = []
        for c in self.configs:
            if c["mode"] not in PEER_MODES and c["plan"] not in out:
                out.append(c["plan"])
        return [p for p in out if not p.startswith(VIA_C)] + [p for p in out if p.startswith(VIA_C)]

    def config(self, plan, mode):
        return next((c for c in self.configs if c["plan"] == plan and c["mode"] == mode), None)

    def ratio(self, baseline, plan, mode, what="wall"):
        r = self.ratios.get((baseline, f"{plan} {mode}"))
        return None if r is None else r[what]

    def peer(self, baseline):
        """The row a baseline names: (label, wall ms, rss MiB)."""
        r = next((x for (b, _), x in self.ratios.items() if b == baseline), None)
        if r is None:
            return None
        plan = r["against"].rsplit(" native", 1)[0]
        c = next((c for c in self.configs if c["plan"] == plan and c["mode"] in PEER_MODES), None)
        if c is None:
            return None
        return plan, self.median(c, "wall_ms"), self.median(c, "rss_mib")

    def best_native(self, via_rust=True):
        """The fastest CapGC configuration in Native (through the Rust API)."""
        cs = [
            c
            for c in self.configs
            if c["mode"] == "native" and (not via_rust or not c["plan"].startswith(VIA_C))
        ]
        return min(cs, key=lambda c: self.median(c, "wall_ms"), default=None)


def fmt(x):
    return "—" if x is None else f"{x:.2f}"


def peer_columns(run):
    """(baseline, column title) of the peers this run has; MMTk's names
    its best plan."""
    out = []
    for key, title in PEERS:
        peer = run.peer(key)
        if peer and key == "mmtk best":
            title += f" ({peer[0].replace('MMTk: ', '')})"
        if peer:
            out.append((key, title))
    return out


def table(run):
    cols = peer_columns(run)
    head = ["configuration", "Native wall ms", "Native : P128 : SoftCheri"]
    for key, title in cols:
        head.append(f"{title} (Native / P128 / SoftCheri)")
    rows = ["| " + " | ".join(head) + " |", "|---|---:|---|" + "---:|" * len(cols)]
    for plan in run.plans():
        native = run.config(plan, "native")
        p = run.ratio("native", plan, "p128")
        s = run.ratio("native", plan, "softcheri-morello")
        row = [
            plan,
            "—" if native is None else f"{run.median(native, 'wall_ms'):.0f}",
            f"1 : {fmt(p)} : {fmt(s)}",
        ]
        for key, _ in cols:
            xs = [run.ratio(key, plan, m) for m in MODES]
            row.append(" / ".join(fmt(x) for x in xs))
        rows.append("| " + " | ".join(row) + " |")
    title = f"**{run.name}**" + ("" if run.label == run.name else f" ({run.label})")
    out = [title, ""] + rows + [""]
    peers = []
    for key, _ in cols:
        if key == "mmtk best":
            continue  # in the list of MMTk's plans below
        label, wall, rss = run.peer(key)
        peers.append(f"{label.replace('C peer: ', 'idiomatic ')} {wall:.0f} ms, {rss:.0f} MiB peak RSS")
    mmtk = [c for c in run.configs if c["mode"] == "native (MMTk)"]
    if mmtk:
        peers.append(
            "MMTk "
            + ", ".join(
                f"{c['plan'].replace('MMTk: ', '')} {run.median(c, 'wall_ms'):.0f} ms "
                f"({run.median(c, 'rss_mib'):.0f} MiB)"
                for c in mmtk
            )
        )
    if peers:
        out += ["Peers in this run: " + "; ".join(peers) + ".", ""]
    return out


def spread(xs):
    xs = [x for x in xs if x is not None]
    return None if not xs else (min(xs), max(xs))


def span(r):
    if r is None:
        return "—"
    lo, hi = (f"{x:.2f}" for x in r)
    return f"{lo}×" if lo == hi else f"{lo}–{hi}×"


def headlines(runs):
    """The figures the README quotes, each from the tables below."""
    rust = [(run, p) for run in runs for p in run.plans() if not p.startswith(VIA_C)]
    wide = spread([run.ratio("native", p, "p128") for run, p in rust])
    soft = spread([run.ratio("native", p, "softcheri-morello") for run, p in rust if run.name != "large"])
    soft_large = spread([run.ratio("native", p, "softcheri-morello") for run, p in rust if run.name == "large"])
    def vs_rust(prefix, modes=MODES):
        return spread(
            [run.ratio("rust api", p, m) for run in runs for p in run.plans() if p.startswith(prefix) for m in modes]
        )

    via_c = vs_rust(SLOT_C)
    fast_c = vs_rust(FAST_C, ("native", "p128"))
    fast_soft = vs_rust(FAST_C, ("softcheri-morello",))
    out = [
        f"- **Wide pointers** (Native → P128, 16-byte references alone): {span(wide)} "
        "across every workload and plan through the Rust API.",
        f"- **Software capability checks** (Native → SoftCheri-Morello, what CHERI hardware "
        f"does for free): {span(soft)} on the allocation-heavy workloads"
        + (f"; {span(soft_large)} on `large` (few, big byte arrays, barely touched)." if soft_large else "."),
    ]
    if via_c:
        out.append(
            f"- **The slot API from C** (the C program on capgc.h, a checked call per access) "
            f"vs the same plan and mode through the Rust API: {span(via_c)}."
        )
    if fast_c:
        out.append(
            f"- **The fast path from C** (the same C program on capgc_fast.h: inline allocation, "
            f"field access and barrier filter) vs the Rust API: {span(fast_c)} in Native and P128"
            + (f"; {span(fast_soft)} in SoftCheri-Morello, where every access is a checked call." if fast_soft else ".")
        )
    scheme = vs_rust(SCHEME)
    if scheme:
        out.append(
            f"- **A whole VM in C** (binary-trees in the Scheme interpreter of bindings/scheme, "
            f"its hot paths on capgc_fast.h) vs the same program through the Rust API: {span(scheme)}."
        )
    for run in runs:
        best = run.best_native()
        if best is None or not run.peer("bdwgc"):
            continue
        plan = best["plan"]
        parts = []
        for key, title in peer_columns(run):
            wall = run.ratio(key, plan, "native")
            cpu = run.ratio(key, plan, "native", "cpu")
            parts.append(f"{wall:.2f}× {title[2:]}" + (f" (CPU time {cpu:.2f}×)" if cpu else ""))
        soft_b = run.ratio("bdwgc", plan, "softcheri-morello")
        rss = run.ratio("bdwgc", plan, "native", "rss")
        out.append(
            f"- **{run.name}**"
            + ("" if run.label == run.name else f" ({run.label} through the Rust API)")
            + f", CapGC's fastest plan in Native ({plan}): "
            + ", ".join(parts)
            + (f"; peak RSS {rss:.2f}× bdwgc's" if rss else "")
            + (f"; the same plan in SoftCheri {soft_b:.2f}× idiomatic bdwgc" if soft_b else "")
            + "."
        )
    return out


def summary(text, jsondir):
    runs = []
    for name in section_names(text):
        path = os.path.join(jsondir, f"{name}.json")
        if name in WITHIN_A_MODE_ONLY or not os.path.exists(path):
            continue
        runs.append(Run(name, path))
    out = [BEGIN, "", "## What purecap costs (the first screen)", ""]
    out += [
        "Wall time of the same workload and collector in three reference modes, and of "
        "the same program on the peers as their users write it, measured side by side "
        "(interleaved, one process per run, medians of the rounds) in one run per "
        "workload; the sections below give every figure with its min–max, CPU time, "
        "peak RSS and the charts. Every figure here is copied by "
        "`benches/scripts/summary.py` from the sections' `results.json`.",
        "",
    ]
    # The load results.sh recorded at each section's start and end.
    loads = [
        float(x)
        for line in text.splitlines()
        if line.startswith("Load average (1, 5, 15 min) when this run started:")
        for x in re.findall(r"(\d+\.\d+) \d+\.\d+ \d+\.\d+", line)
    ]
    if loads:
        out += [
            f"**Machine load:** the 1-minute load average was {min(loads):.1f}–{max(loads):.1f} "
            "at the sections' starts and ends (each section gives its own). Above the "
            "CPU count, every configuration ran slower and noisier: the ratios are "
            "within one interleaved run, but the min–max ranges in the sections are wide, "
            "and the CPU-time ratios beside the headline figures say how much of a wall-time "
            "ratio is scheduling.",
            "",
        ]
    out += headlines(runs)
    out += [
        "",
        "In the tables, `× X` is a configuration's wall time over X's in the same run "
        "(below 1: faster than X). Peers: idiomatic bdwgc and glibc malloc/free (the "
        "program as their users write it: pointers in C locals, no stack of reference slots), MMTk 0.33's "
        "fastest of GenImmix, Immix, SemiSpace and MarkSweep in that run (MMTk's GC runs one "
        "worker thread per CPU, so its CPU time exceeds its wall time; the sections give "
        "both). The programs in `capgc.h`'s shape are in the sections, labelled, never here.",
        "",
    ]
    for run in runs:
        out += table(run)
    out += [
        "`live-sweep` (pause against live data, 1 MiB to 1 GiB) is compared within a mode "
        "only — at equal bytes Native holds more objects (its cells are smaller) — and is "
        "in its section below.",
        "",
        END,
    ]
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: summary.py PAGE JSON-DIR [--print]")
    path, jsondir = sys.argv[1], sys.argv[2]
    text = open(path).read()
    s = summary(text, jsondir)
    if "--print" in sys.argv:
        sys.stdout.write(s)
        return
    if BEGIN in text and END in text:
        pre, rest = text.split(BEGIN, 1)
        post = rest.split(END, 1)[1].lstrip("\n")
        text = pre + s + "\n" + post
    else:
        title, _, rest = text.partition("\n")
        text = title + "\n\n" + s + "\n" + rest.lstrip("\n")
    open(path, "w").write(text)


if __name__ == "__main__":
    main()
