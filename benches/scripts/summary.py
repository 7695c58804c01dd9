#!/usr/bin/env python3
"""The first screen of the results page: what purecap costs, per workload.

    benches/scripts/summary.py docs/results.md          # rewrite the page's summary in place
    benches/scripts/summary.py docs/results.md --print  # print it

Reads the page's own sections (written by benches/results.sh from the
harness's tables) and puts, between the markers
`<!-- summary -->` and `<!-- /summary -->` right under the title, one
table per workload: each plan's Native wall time, its Native : P128 :
SoftCheri ratio, and every configuration against every peer the section
measured ("vs bdwgc", "vs malloc", and any peer added later, e.g. MMTk:
a new `vs PEER` block becomes a new column, a new configuration a new
row). Every number is copied from the section below it; nothing is
measured here.
"""
import re
import sys

BEGIN, END = "<!-- summary -->", "<!-- /summary -->"
MODES = ["native", "p128", "softcheri-morello"]
RATIO = re.compile(r"^(?P<plan>.+): Native : P128 : SoftCheri = 1 : (?P<p>[\d.]+) : (?P<s>[\d.]+)")
PEER = re.compile(r"^vs (?P<peer>\S+) \(ratio|^vs (?P<long>.+?), [\d.]+ ms \(ratio")
# The programs "in capgc.h's shape" are labelled as such in the sections
# and never a headline: the first screen compares with the idiomatic peers.
SHAPED = "capgc.h's shape"


def peer_name(m):
    """A column name for a `vs PEER` block: `bdwgc`, `malloc`, `MMTk's best
    (GenImmix)`; None for the shaped programs."""
    if m.group("peer"):
        return m.group("peer")
    name = m.group("long")
    if SHAPED in name:
        return None
    name = re.sub(r"^idiomatic ", "", name)
    name = re.sub(r" \((pointers|references)[^)]*\)", "", name)
    name = name.replace("malloc/free", "malloc").replace(" plan here", "")
    return name
PEER_ROW = re.compile(r"^  (?P<conf>.+) (?P<mode>\S+): (?P<x>[\d.]+)x")
BETWEEN = re.compile(r"^(?P<a>\S+) vs (?P<b>\S+): (?P<x>[\d.]+)x")
C_VS_RUST = re.compile(r"^the C program on capgc\.h vs the same plan")


def sections(text):
    """(name, lines) of every `## name` section."""
    out, name, lines = [], None, []
    for line in text.splitlines():
        if line.startswith("## "):
            if name:
                out.append((name, lines))
            name, lines = line[3:].strip(), []
        elif name:
            lines.append(line)
    if name:
        out.append((name, lines))
    return out


def parse(lines):
    """The ratios, wall times, peer comparisons of one section."""
    ratios, wall, peers, between, c_vs_rust = {}, {}, {}, [], []
    peer, in_c = None, False
    for line in lines:
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > 4 and cells[2] in MODES + [m + "/tags" for m in MODES] and cells[3]:
            m = re.match(r"([\d.]+)", cells[3])
            if m:
                wall[(cells[1], cells[2])] = float(m.group(1))
        m = RATIO.match(line)
        if m:
            ratios[m.group("plan")] = (float(m.group("p")), float(m.group("s")))
            peer, in_c = None, False
            continue
        m = PEER.match(line)
        if m:
            peer, in_c = peer_name(m), False
            if peer:
                peers.setdefault(peer, {})
            continue
        if C_VS_RUST.match(line):
            peer, in_c = None, True
            continue
        m = PEER_ROW.match(line)
        if m and peer:
            peers[peer][(m.group("conf"), m.group("mode"))] = float(m.group("x"))
            continue
        if m and in_c:
            c_vs_rust.append(float(m.group("x")))
            continue
        m = BETWEEN.match(line)
        if m:
            between.append((m.group("a"), m.group("b"), float(m.group("x"))))
        if not line.strip():
            peer, in_c = None, False
    return ratios, wall, peers, between, c_vs_rust


def fmt(x):
    return "—" if x is None else f"{x:.2f}"


def table(name, parsed):
    ratios, wall, peers, between, c_vs_rust = parsed
    if not ratios:
        return []
    peer_names = list(peers)  # in the harness's order: bdwgc, malloc, MMTk
    head = ["configuration", "Native wall ms", "Native : P128 : SoftCheri"]
    head += [f"vs {p} (Native / P128 / SoftCheri)" for p in peer_names]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for plan, (p, s) in ratios.items():
        native = wall.get((plan, "native"))
        row = [plan, "—" if native is None else f"{native:.0f}", f"1 : {p:.2f} : {s:.2f}"]
        for peer in peer_names:
            xs = [peers[peer].get((plan, m)) for m in MODES]
            row.append(" / ".join(fmt(x) for x in xs) if any(xs) else "—")
        rows.append("| " + " | ".join(row) + " |")
    out = [f"**{name}**", ""] + rows + [""]
    notes = [f"{a} is {x:.2f}× {b}" for a, b, x in between]
    if c_vs_rust:
        notes.append(
            "the C program on capgc.h (slot API, a checked call per access) is "
            f"{min(c_vs_rust):.2f}–{max(c_vs_rust):.2f}× the same plan and mode through the Rust API"
        )
    if notes:
        out += ["Beside it: " + "; ".join(notes) + ".", ""]
    return out


# live-sweep allocates the same bytes in every mode, so Native holds about
# twice the objects of P128 and SoftCheri there: its ratios compare
# nothing across modes, and it is left out of the first screen.
WITHIN_A_MODE_ONLY = {"live-sweep"}


def summary(text):
    parsed = [(n, parse(lines)) for n, lines in sections(text) if n not in WITHIN_A_MODE_ONLY]
    wide, soft = [], []
    for n, (ratios, *_rest) in parsed:
        for plan, (p, s) in ratios.items():
            if plan.startswith(("C on", "Scheme on")):
                continue
            wide.append((p, n))
            soft.append((s, n))
    out = [BEGIN, "", "## What purecap costs (the first screen)", ""]
    if wide:
        gc_heavy = [s for s, n in soft if n != "large"]
        out += [
            "Wall time of the same workload and collector in three reference modes, "
            "measured side by side in one run per workload (the sections below give "
            "every figure, its min–max, and the charts):",
            "",
            f"- **Wide pointers** (Native → P128, the cost of 16-byte references alone): "
            f"{min(w for w, _ in wide):.2f}–{max(w for w, _ in wide):.2f}× across every workload and plan.",
            f"- **Software capability checks** (Native → SoftCheri, what CHERI hardware does for free): "
            f"{min(gc_heavy):.2f}–{max(gc_heavy):.2f}× on the allocation-heavy workloads"
            + (
                f"; {min(s for s, n in soft if n == 'large'):.2f}–{max(s for s, n in soft if n == 'large'):.2f}× "
                "on `large` (few, big byte arrays, barely touched)."
                if any(n == "large" for _, n in soft)
                else "."
            ),
            "- **Against the peers** (the same program as its users write it): each table's last "
            "columns give every configuration's wall time as a multiple of idiomatic bdwgc, of "
            "idiomatic glibc malloc/free and of MMTk's best plan in that run (programs in capgc.h's "
            "shape are in the sections, labelled, never here).",
            "",
        ]
    for n, p in parsed:
        out += table(n, p)
    out += [
        "`live-sweep` (pause against live data, 1 MiB to 1 GiB) is compared within a mode "
        "only — at equal bytes Native holds about twice the objects — and is in its "
        "section below.",
        "",
        END,
    ]
    return "\n".join(out) + "\n"


def main():
    path = sys.argv[1]
    text = open(path).read()
    s = summary(text)
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
