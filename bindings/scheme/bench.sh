#!/usr/bin/env bash
# bench.sh — times tests/bench/binary-trees.scm in the interpreter for every
# mode x plan, interleaved (round 1 runs every configuration once, then
# round 2, ...), and prints the median wall time per configuration and its
# ratio to Native under the same plan.
#
#   ./bench.sh [DEPTH] [ROUNDS]       default: depth 12, 3 rounds
#   BENCH_FLAGS="--throughput" ./bench.sh    extra interpreter flags
#
# The heap uses the library's defaults (the latency preset) unless
# BENCH_FLAGS says otherwise. Output: a markdown table on stdout.
set -u
cd "$(dirname "$0")"
DEPTH=${1:-12}
ROUNDS=${2:-3}
FLAGS=${BENCH_FLAGS:-}
[ -x ./scheme ] || make -s || exit 2
MODES="native p128 morello cheri-v9 riscv-std"
PLANS="marksweep semispace generational"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/scheme-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

want=$(./scheme tests/bench/binary-trees.scm -- "$DEPTH")
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

for r in $(seq 1 "$ROUNDS"); do
  for plan in $PLANS; do
    for mode in $MODES; do
      t0=$(now_ms)
      # shellcheck disable=SC2086
      out=$(./scheme --mode "$mode" --plan "$plan" $FLAGS tests/bench/binary-trees.scm -- "$DEPTH")
      t1=$(now_ms)
      if [ "$out" != "$want" ]; then
        echo "bench.sh: wrong output for $mode $plan" >&2
        exit 1
      fi
      echo $((t1 - t0)) >> "$TMP/$mode.$plan"
    done
  done
  echo "round $r of $ROUNDS done" >&2
done

median() { sort -n "$1" | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2] + a[NR/2+1]) / 2)}'; }

echo "binary-trees depth $DEPTH in the CapGC Scheme interpreter: median wall ms of $ROUNDS interleaved rounds${FLAGS:+ (flags: $FLAGS)}"
echo
printf '| %-12s |' "plan"
for mode in $MODES; do printf ' %-16s |' "$mode"; done
echo
printf '|%s|' "--------------"
for mode in $MODES; do printf '%s|' "------------------"; done
echo
for plan in $PLANS; do
  base=$(median "$TMP/native.$plan")
  printf '| %-12s |' "$plan"
  for mode in $MODES; do
    m=$(median "$TMP/$mode.$plan")
    ratio=$(awk -v a="$m" -v b="$base" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
    printf ' %-16s |' "$m ms (${ratio}x)"
  done
  echo
done
