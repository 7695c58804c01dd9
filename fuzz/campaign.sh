#!/usr/bin/env bash
# A fuzzing campaign: runs every cargo-fuzz target (or the TARGETs named)
# for MINUTES minutes each (one after the other), keeping the corpus in corpus/TARGET/
# (git-ignored; it grows from run to run, seeded from seeds/TARGET/), and
# appends one record per target to ../docs/fuzzing.md: date, target,
# duration, executions, coverage (libFuzzer's final cov/ft), corpus size,
# findings (crash artifacts are kept in artifacts/TARGET/).
#   usage: fuzz/campaign.sh MINUTES [TARGET...]
set -euo pipefail
cd "$(dirname "$0")"
source ./common.sh
minutes=${1:?usage: campaign.sh MINUTES [TARGET...]}
shift
[[ $minutes =~ ^[0-9]+$ ]] && [ "$minutes" -gt 0 ] || { echo "MINUTES must be a positive integer" >&2; exit 2; }
if [ $# -gt 0 ]; then
  for t in "$@"; do
    [[ " ${TARGETS[*]} " == *" $t "* ]] || { echo "unknown target $t (have: ${TARGETS[*]})" >&2; exit 2; }
  done
  TARGETS=("$@")
fi
ensure_cargo_fuzz
build_targets
doc=../docs/fuzzing.md
rev=$(git -C .. rev-parse --short HEAD 2>/dev/null || echo unknown)
status=0
for t in "${TARGETS[@]}"; do
  log=$(mktemp)
  started=$(date -u +%Y-%m-%dT%H:%MZ)
  t0=$(date +%s)
  if run_target "$t" $((minutes * 60)) "corpus/$t" "$log"; then
    found=none
  else
    found="CRASH $(ls -t "artifacts/$t" | head -1): $(finding "$log")"
    status=1
  fi
  parse_stats "$log"
  # The time it ran: less than asked when a finding stopped it.
  ran=$(( ($(date +%s) - t0 + 30) / 60 ))
  [ "$ran" -lt "$minutes" ] || ran=$minutes
  units=$(find "corpus/$t" -type f | wc -l)
  echo "| $started | $t | ${ran} min | $EXECS | $COV / $FT | $units units ($CORPUS_BYTES in the last run) | $found | $rev |" >>"$doc"
  echo "$t: $EXECS execs, cov $COV ft $FT, corpus $units, $found"
  rm -f "$log"
done
exit $status
