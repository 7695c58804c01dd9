#!/usr/bin/env bash
# Regenerates the results page, docs/results.md, and its charts beside it
# in docs/results/: the purecap cost comparison (the `workloads` harness)
# on every workload, each in one run with its configurations interleaved.
#
#   benches/results.sh            # the page (about 15 minutes on a quiet 2-core machine, 31 at load 9-14, 19 at 1-4.5)
#   benches/results.sh --quick    # the same sections at toy sizes (CI's smoke)
#
# Run it on a quiet machine: every ratio on the page is measured side by
# side within one run, but a busy machine widens the min–max ranges.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
quick=0
page=docs/results.md
rel=results/
charts=docs/results
if [[ ${1:-} == --quick ]]; then
  quick=1
  page=target/capgc-results/quick/results.md
  charts=target/capgc-results/quick
  rel=
fi
mkdir -p "$charts" "$(dirname "$page")"
cargo build --release -q -p capgc-benches -p mmtk-peer
harness=$root/target/release/workloads
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
# The code measured: the commit when the run starts (and whether the tree
# differed from it then).
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo " (with uncommitted changes)" || true)

# name | arguments (the full-size run) | arguments (--quick)
sections=(
  "binary-trees|binary-trees 16 --rounds 3|binary-trees 8 --rounds 1 --plans marksweep,generational --presets latency"
  "gcbench|gcbench --rounds 3|gcbench --rounds 1 --plans generational --modes native,softcheri-morello --presets latency --mmtk-plans GenImmix"
  "churn|churn 50000 --rounds 3 --presets latency|churn 500 --rounds 1 --plans semispace --modes native,softcheri-morello"
  "large|large 20000 --rounds 3 --presets latency|large 200 --rounds 1 --plans marksweep --modes native,softcheri-morello"
  "scheme|binary-trees 14 --scheme --rounds 3 --presets latency --modes native,p128,softcheri-morello,softcheri-morello/tags --c-plans generational|binary-trees 6 --scheme --rounds 1 --plans semispace --modes native,softcheri-morello --no-peers"
  "live-sweep|live-sweep --max-live 1024 --rounds 3 --plans marksweep,semispace,generational --modes native,p128,softcheri-morello --presets latency|live-sweep --max-live 4 --rounds 1 --plans marksweep,generational --modes native,softcheri-morello --presets latency"
)

body=$(mktemp)
trap 'rm -f "$body"' EXIT
for s in "${sections[@]}"; do
  IFS='|' read -r name full small <<< "$s"
  args=$full
  [[ $quick == 1 ]] && args=$small
  out=$root/target/capgc-results/page/$name
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  echo "== $name: workloads $args (load average $load)" >&2
  # shellcheck disable=SC2086 # the arguments are words
  "$harness" $args --out "$out" > /dev/null
  python3 - "$out/results.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["configurations"], "no configurations"
for c in r["configurations"]:
    assert c["runs"] and c["summary"]["median"]["wall_ms"] > 0, c["plan"]
EOF
  {
    echo "## $name"
    echo
    echo '```sh'
    echo "cargo run --release -p capgc-benches --bin workloads -- $args"
    echo '```'
    echo
    echo "Load average (1, 5, 15 min) when this run started: $load, after it: $(cut -d' ' -f1-3 /proc/loadavg)."
    echo
    sed -e '/^written: /d' "$out/results.md"
    echo
    # The run's JSON is kept beside its charts, so they can be redrawn
    # without running it again: workloads --charts-from DIR/NAME.json NEWDIR
    cp "$out/results.json" "$charts/$name.json"
    for svg in "$out"/*.svg; do
      base=$(basename "$svg" .svg)
      cp "$svg" "$charts/$name-$base.svg"
      echo "![$name: $base](${rel}$name-$base.svg)"
      echo
    done
  } >> "$body"
done

json=$root/target/capgc-results/page/binary-trees/results.json
machine=$(python3 - "$json" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))["machine"]
print("{}, {} CPUs, {:.0f} GiB, Linux {}; memcpy {:.2f} GB/s, memset {:.2f} GB/s".format(
    m["cpu"], m["cpus"], m["memory_mib"] / 1024, m["kernel"], m["memcpy_gbps"], m["memset_gbps"]))
EOF
)
date=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["machine"]["date"])' "$json")
# How many more two-reference nodes Native holds than P128 at equal bytes
# (live-sweep's caveat): their cells' ratio, from binary-trees' bytes
# allocated (the same nodes in both modes).
node_ratio=$(python3 - "$json" <<'EOF'
import json, sys
cs = json.load(open(sys.argv[1]))["configurations"]
mib = {c["mode"]: c["summary"]["median"]["allocated_mib"] for c in cs if c["plan"] == cs[0]["plan"]}
print("{:.1f}".format(mib["p128"] / mib["native"]) if mib.get("p128") and mib.get("native") else "more")
EOF
)
{
  echo "# CapGC results — $date"
  echo
  echo "The purecap cost comparison on every workload of the harness, produced by"
  echo
  echo '```sh'
  if [[ $quick == 1 ]]; then echo "benches/results.sh --quick"; else echo "benches/results.sh"; fi
  echo '```'
  echo
  echo "at commit \`$commit\`$dirty, on $machine;"
  echo "load average $load_before before, $(cut -d' ' -f1-3 /proc/loadavg) after."
  echo "Each section is one run of the harness (the command under its heading):"
  echo "every configuration in a process of its own, interleaved round by round"
  echo "(A B C … A B C …), medians with min–max over the rounds; every ratio is"
  echo "taken within that run. Modes: \`native\` (8-byte references, no checks),"
  echo "\`p128\` (16-byte references, no checks), \`softcheri-morello\` (every"
  echo "capability check in software, Morello format; \`/tags\`: scanning by tag"
  echo "bits instead of the type map). Peers: the same program on glibc"
  echo "malloc/free and on bdwgc (Debian's libgc-dev) as their users write it"
  echo "(\`C peer: bdwgc\`, \`C peer: malloc\`: pointers in C locals; every \"vs bdwgc\""
  echo "figure is against this one), the same two shaped like the \`capgc.h\` program"
  echo "(\`…, capgc.h's shape\`: references through a stack of slots, 3-word nodes),"
  echo "on MMTk under GenImmix, Immix, SemiSpace and MarkSweep (\`benches/mmtk-peer\`:"
  echo "a minimal VM binding, shadow-stack roots, MMTk's bump-pointer fast path,"
  echo "MemBalancer heap from 64 MiB, one GC thread per CPU), and on CapGC through"
  echo "\`capgc.h\`; each configuration is compared with idiomatic bdwgc and malloc"
  echo "and with MMTk's fastest plan in the same run."
  echo "Figures: wall and CPU time of the whole process, the workload's own time,"
  echo "GC time, pause percentiles (the pause chart gives p50/p90/p99/p99.9/max),"
  echo "collections, bytes allocated and copied, copy throughput (bytes copied /"
  echo "GC time, tracing included; compare with memcpy above), capabilities"
  echo "derived and capability checks performed (0 in the unchecked modes, which"
  echo "perform none), peak RSS. live-sweep builds 1 MiB … 1 GiB of live data and"
  echo "allocates the same 128 MiB at each size: \`live.svg\` plots one full"
  echo "collection (forced after the allocation phase) and the allocation phase's"
  echo "GC time per collection against live data. Live data and allocation are"
  echo "measured in bytes of cells, so at each step Native (8-byte slots) holds and"
  echo "allocates more objects than P128 and SoftCheri (16-byte slots; ${node_ratio}×"
  echo "with this build's two-reference nodes, headers included) and does"
  echo "more work per MiB — which is why P128 can be faster than Native there:"
  echo "compare modes on the other workloads, and live-sweep within a mode."
  echo "Charts: \`time.svg\` gives one bar per configuration (median wall time,"
  echo "min–max whiskers), coloured by mode, with the whole programs on the C ABI"
  echo "(the C program on \`capgc.h\`, the Scheme interpreter) in panels of their own scale so that"
  echo "they do not squash the rest; \`pauses.svg\` one row per CapGC configuration"
  echo "(the peers report no pauses), p50 to max on a log axis."
  echo "The scheme section runs"
  echo "binary-trees in the Scheme interpreter of \`bindings/scheme\` (a whole VM in C"
  echo "on \`capgc_fast.h\`, every heap object a CapGC object) beside the same program"
  echo "through the Rust API and the C peers."
  echo
  cat "$body"
} > "$page"
# The first screen: what purecap costs, per workload, from the sections'
# results.json (kept beside the charts).
python3 benches/scripts/summary.py "$page" "$charts"
echo "written: $page and $charts/*.svg, *.json" >&2
