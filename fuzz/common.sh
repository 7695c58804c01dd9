# Shared by smoke.sh and campaign.sh (sourced, not run).
#
# run_target TARGET SECONDS CORPUS_DIR LOG: runs one target for SECONDS on
# CORPUS_DIR (written to) and seeds/TARGET (read only), crash artifacts in
# artifacts/TARGET/; returns libFuzzer's status. parse_stats LOG sets
# EXECS, COV, FT, CORPUS_UNITS, CORPUS_BYTES from libFuzzer's final lines.

TARGETS=(capability_ops decode heap_ops c_abi)

ensure_cargo_fuzz() {
  if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked --version 0.13.2
  fi
}

build_targets() {
  # Stable Rust: cargo-fuzz's nightly flags (-Z sanitizer) are allowed by
  # RUSTC_BOOTSTRAP; AddressSanitizer is on (cargo-fuzz's default).
  RUSTC_BOOTSTRAP=1 cargo fuzz build
}

run_target() {
  local t=$1 secs=$2 corpus=$3 log=$4
  mkdir -p "$corpus" "artifacts/$t"
  RUSTC_BOOTSTRAP=1 cargo fuzz run "$t" "$corpus" "seeds/$t" -- \
    -max_total_time="$secs" -print_final_stats=1 \
    -artifact_prefix="artifacts/$t/" >"$log" 2>&1
}

parse_stats() {
  local log=$1 last
  EXECS=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$log" | awk '{print $2}' | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | grep -E 'cov: ' | tail -1)
  COV=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
  FT=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
  CORPUS_UNITS=$(sed -nE 's/.* corp: ([0-9]+)\/([0-9a-zA-Z]+).*/\1/p' <<<"$last")
  CORPUS_BYTES=$(sed -nE 's/.* corp: ([0-9]+)\/([0-9a-zA-Z]+).*/\2/p' <<<"$last")
  : "${EXECS:=0}" "${COV:=?}" "${FT:=?}" "${CORPUS_UNITS:=?}" "${CORPUS_BYTES:=?}"
}

# The first panic message or sanitizer error of a failed run.
finding() {
  grep -m1 -E "panicked at|ERROR: AddressSanitizer|ERROR: libFuzzer" -A1 "$1" \
    | tr '\n' ' ' | sed 's/|/\\|/g' | cut -c1-300
}
