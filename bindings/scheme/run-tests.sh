#!/usr/bin/env bash
# run-tests.sh — every test program under every plan x mode, compared with
# its expected output; then the flag checks and the fault-injection test.
#
#   ./run-tests.sh                 the full matrix (+ checks + inject)
#   ./run-tests.sh --valgrind      the same, then the valgrind subset
#   VALGRIND=1 ./run-tests.sh      (the same)
#   ./run-tests.sh --only-valgrind just the valgrind subset
#   ./run-tests.sh -j N            N runs at a time (default: the CPU count)
#   ./run-tests.sh --filter RE     only the programs whose name matches RE
#   ./run-tests.sh --small         the matrix runs the programs' small sizes
#                                  ("-- small", as the valgrind runs do)
#   SCHEME_FLAGS="--scan tags" ./run-tests.sh   extra flags for every run
#
# A test is tests/NAME.scm with
#   NAME.out         the exact expected stdout (required)
#   NAME.err         the expected stderr (normalised: every "<digits> bytes"
#                    becomes "N bytes"); without it stderr must be empty
#   NAME.code        the expected exit status (default 0)
#   NAME.args        the arguments instead of "NAME.scm" (flags, several files)
#   NAME.stdin       (empty marker) NAME.scm is fed to the REPL on stdin
#   NAME.small.out   the stdout with "-- small" (the valgrind runs use the
#                    small size; without it NAME.out is expected there too)
# Every run also gets --verify (the heap verifier after every (gc) and at
# exit) and --initial 256K --nursery 64K, so that even the short
# programs collect often (hundreds of collections for binary-trees); the
# valgrind runs also --heap-limit 64M (a test's own flags come after).
#
# Prints PASS/FAIL per run and "N passed, M failed"; exits 1 on any failure.
set -u
cd "$(dirname "$0")"
HERE=$(pwd)

VG=${VALGRIND:-0}
MATRIX=1
JOBS=$(nproc 2>/dev/null || echo 2)
FILTER=.
SMALL=0
while [ $# -gt 0 ]; do
  case "$1" in
    --valgrind) VG=1 ;;
    --only-valgrind) VG=1; MATRIX=0 ;;
    -j) JOBS=$2; shift ;;
    --filter) FILTER=$2; shift ;;
    --small) SMALL=1 ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "run-tests.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
[ "$VG" = 0 ] || [ "$VG" = 1 ] || VG=1
if [ "$VG" = 1 ] && ! command -v valgrind > /dev/null; then
  echo "FAIL valgrind is not installed"
  echo "0 passed, 1 failed"
  exit 1
fi

if [ ! -x ./scheme ] || [ ! -x ./scheme-inject ]; then
  make -s all inject || { echo "run-tests.sh: build failed (make PKG_CONFIG_PATH=...)" >&2; exit 2; }
fi

MODES="native p128 morello cheri-v9 riscv-std"
PLANS="marksweep semispace generational"
HEAP="--initial 256K --nursery 64K --verify ${SCHEME_FLAGS:-}"
TIMEOUT=${TEST_TIMEOUT:-300}
OUT=$(mktemp -d "${TMPDIR:-/tmp}/scheme-tests.XXXXXX")
trap 'rm -rf "$OUT"' EXIT

normalise() { sed -E 's/[0-9]+ bytes/N bytes/g'; }

# run_one ID NAME MODE PLAN VALGRIND: one run; writes $OUT/ID.res
run_one() {
  local id=$1 name=$2 mode=$3 plan=$4 vg=$5
  local t="tests/$name" label="$name [$mode $plan${vg:+ valgrind}]"
  local args=() small=() want_out="$t.out" want_code=0 stdin=/dev/null
  if [ -f "$t.args" ]; then read -r -a args < "$t.args"; else args=("$name.scm"); fi
  [ -f "$t.stdin" ] && { stdin="$name.scm"; args=(); }
  [ -f "$t.code" ] && want_code=$(cat "$t.code")
  if [ -n "$vg" ] || [ "$SMALL" = 1 ]; then
    small=(-- small)
    [ -f "$t.small.out" ] && want_out="$t.small.out"
    [ -f "$t.stdin" ] && small=()
  fi
  local pre=(timeout "$TIMEOUT") heap=($HEAP)
  # under memcheck a 1 GiB heap reservation alone costs seconds per run
  [ -n "$vg" ] && { pre+=(valgrind --error-exitcode=1 --leak-check=full -q); heap+=(--heap-limit 64M); }
  (cd tests && "${pre[@]}" "$HERE/scheme" --mode "$mode" --plan "$plan" "${heap[@]}" "${args[@]}" "${small[@]}" \
     < "$stdin" > "$OUT/$id.stdout" 2> "$OUT/$id.stderr")
  local rc=$? why=""
  if ! cmp -s "$OUT/$id.stdout" "$want_out"; then
    why="stdout differs from $(basename "$want_out"):"$'\n'"$(diff "$want_out" "$OUT/$id.stdout" | head -20)"
  elif [ -f "$t.err" ] && ! normalise < "$OUT/$id.stderr" | cmp -s - <(normalise < "$t.err"); then
    why="stderr differs from $name.err:"$'\n'"$(diff <(normalise < "$t.err") <(normalise < "$OUT/$id.stderr") | head -20)"
  elif [ ! -f "$t.err" ] && [ -s "$OUT/$id.stderr" ]; then
    why="unexpected stderr:"$'\n'"$(head -20 "$OUT/$id.stderr")"
  elif grep -q '^==[0-9]*==' "$OUT/$id.stderr"; then
    why="valgrind reported errors"
  elif [ "$rc" != "$want_code" ]; then
    why="exit status $rc, expected $want_code"
  fi
  if [ -z "$why" ]; then
    echo "PASS $label" > "$OUT/$id.res"
  else
    { echo "FAIL $label"; echo "$why" | sed 's/^/    /'; } > "$OUT/$id.res"
  fi
}

# A small job pool: at most $JOBS runs at a time, results printed as they end.
declare -a PENDING=()
N=0
flush_done() {
  local keep=()
  for id in "${PENDING[@]}"; do
    if [ -f "$OUT/$id.res" ]; then cat "$OUT/$id.res"; else keep+=("$id"); fi
  done
  PENDING=("${keep[@]+"${keep[@]}"}")
}
submit() {
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n 2>/dev/null || true; flush_done; done
  N=$((N + 1))
  run_one "$N" "$@" &
  PENDING+=("$N")
}
drain() { wait; flush_done; }

TESTS=$(cd tests && ls *.scm | sed 's/\.scm$//' | grep -E -- "$FILTER" | sort)
START=$(date +%s)

if [ "$MATRIX" = 1 ]; then
  for name in $TESTS; do
    for mode in $MODES; do
      for plan in $PLANS; do submit "$name" "$mode" "$plan" ""; done
    done
  done
fi
if [ "$VG" = 1 ]; then
  for name in $TESTS; do
    submit "$name" morello semispace vg
    submit "$name" native marksweep vg
  done
fi
drain

# ---- flag checks: --gc-stats, CAPGC_LOG=gc, --help, the REPL's exit ----
check() { # check LABEL COMMAND...: passes when COMMAND succeeds
  local label=$1
  shift
  N=$((N + 1))
  if "$@" > "$OUT/check.$N" 2>&1; then echo "PASS check: $label" > "$OUT/$N.res"
  else { echo "FAIL check: $label"; sed 's/^/    /' "$OUT/check.$N" | head -20; } > "$OUT/$N.res"; fi
  cat "$OUT/$N.res"
}
gc_log_matches_stats() {
  local err
  err=$(cd tests && CAPGC_LOG=gc "$HERE/scheme" --plan "$1" --mode "$2" $HEAP --gc-stats binary-trees.scm -- small 2>&1 > /dev/null)
  local lines colls
  lines=$(grep -c '^\[capgc gc #' <<< "$err")
  colls=$(sed -nE 's/^gc-stats heap: ([0-9]+) collections.*/\1/p' <<< "$err")
  echo "CAPGC_LOG=gc lines: $lines, --gc-stats collections: $colls"
  [ -n "$colls" ] && [ "$lines" -gt 0 ] && [ "$lines" = "$colls" ]
}
if [ "$MATRIX" = 1 ]; then
  for p in $PLANS; do check "CAPGC_LOG=gc: one line per collection ($p softcheri)" gc_log_matches_stats "$p" softcheri; done
  check "CAPGC_LOG=gc in compartments" bash -c "cd tests && CAPGC_LOG=gc '$HERE/scheme' \$(cat compartments.args) 2>&1 >/dev/null | grep -q '^\[capgc gc #'"
  # (exactly one collection: not under GC zeal, which collects on its own)
  check "--gc-stats prints the statistics" bash -c "env -u CAPGC_ZEAL '$HERE/scheme' --gc-stats -e '(gc)' 2>&1 | grep -q 'gc-stats heap: 1 collections'"
  check "--help" bash -c "'$HERE/scheme' --help | grep -q -- '--plan'"
  check "a bad flag is refused" bash -c "! '$HERE/scheme' --plan nonsense -e 1 2>/dev/null"
  check "(exit 3) sets the status" bash -c "'$HERE/scheme' -e '(exit 3)'; [ \$? = 3 ]"
  check "a script with an error exits 1" bash -c "'$HERE/scheme' -e '(car 1)' 2>/dev/null; [ \$? = 1 ]"
  check "a missing file is reported" bash -c "'$HERE/scheme' /nonexistent.scm 2>&1 | grep -q 'cannot read'"

  # ---- fault injection ----
  N=$((N + 1))
  if ./inject-test.sh > "$OUT/inject" 2>&1; then
    sed 's/^/  /' "$OUT/inject"
    echo "PASS inject-test.sh" > "$OUT/$N.res"
  else
    sed 's/^/  /' "$OUT/inject"
    echo "FAIL inject-test.sh" > "$OUT/$N.res"
  fi
  cat "$OUT/$N.res"
fi

PASSED=$(cat "$OUT"/*.res | grep -c '^PASS')
FAILED=$(cat "$OUT"/*.res | grep -c '^FAIL')
echo "$PASSED passed, $FAILED failed ($(( $(date +%s) - START )) s)"
[ "$FAILED" = 0 ]
