#!/usr/bin/env bash
# The fuzz smoke run: builds every cargo-fuzz target and runs each for a
# short fixed time (default 20 s, or $1) starting from the committed seed
# corpus (seeds/TARGET/, never written to: new units go to a temporary
# corpus). Exits nonzero if any target crashes (a panic — a model or ABI
# assertion — or a sanitizer error); the crashing input is kept in
# artifacts/TARGET/ and can be replayed with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run TARGET artifacts/TARGET/crash-...
set -euo pipefail
cd "$(dirname "$0")"
source ./common.sh
secs=${1:-20}
ensure_cargo_fuzz
build_targets
status=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '%-15s %10s %7s %7s %8s  %s\n' target execs cov ft corpus result
for t in "${TARGETS[@]}"; do
  log="$tmp/$t.log"
  if run_target "$t" "$secs" "$tmp/corpus-$t" "$log"; then
    result=ok
  else
    result="CRASH: $(finding "$log")"
    status=1
  fi
  parse_stats "$log"
  printf '%-15s %10s %7s %7s %8s  %s\n' "$t" "$EXECS" "$COV" "$FT" "$CORPUS_UNITS" "$result"
  if [ "$result" != ok ]; then
    tail -40 "$log"
  fi
done
exit $status
