#!/usr/bin/env bash
# Lua's official test suite ("testes") on lua-capgc (and lua-stock).
#
# The suite is not in the lua-src crate. The PyPI package lupa 2.8 carries
# the Lua 5.4 repository (5.4.8) in its source distribution, tests
# included: this script downloads that sdist from PyPI (checksum pinned),
# extracts only testes/ into target/lua-testes, builds the suite's C
# modules against Lua's headers, and runs
#   1. the portable suite (`-e_U=true all.lua`, the mode for a build
#      without Lua's internal test library), main.lua included, on
#      lua-stock, lua-capgc and lua-capgc in the checked mode;
#   2. the whole non-portable suite but main.lua (whose interactive-mode
#      checks expect GNU readline to echo input, which this front end,
#      like lua.c built without readline, does not) on lua-capgc and in
#      the checked mode, with stdin a pipe (files.lua seeks it);
#   3. both again with the collector in incremental mode from the start
#      (LUA_GC_MODE=incremental; the front end's default is generational,
#      like lua.c's: there lua-capgc makes whole collections), checked.
#   With --zeal, only the portable suite in the checked mode under GC zeal
#   (CAPGC_ZEAL=collect:N,verify,poison; N = $CAPGC_LUA_ZEAL_EVERY, default 100;
#   at 1 gc.lua's memory-count assertions, which assume Lua's own pacing, fail).
# Usage: bindings/lua/tests/official_suite.sh [target/release] [--zeal]
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
bin=$root/target/release
[ -n "${1:-}" ] && [ "$1" != --zeal ] && bin=$1
dir=$root/target/lua-testes
url=https://files.pythonhosted.org/packages/c3/a6/0f869fbb07c393f15473b1eefefb7b5bec162fb7481803d040ed4dc46002/lupa-2.8.tar.gz
sha=d8022641b9ec8ecf2c5ecbe9f47e5a70e0b87c4b5ae921b92cb02a638e0acd08
if [ ! -f "$dir/testes/all.lua" ]; then
  mkdir -p "$dir"
  python3 -c 'import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])' "$url" "$dir/lupa.tar.gz"
  echo "$sha  $dir/lupa.tar.gz" | sha256sum -c --quiet
  tar xzf "$dir/lupa.tar.gz" -C "$dir" --strip-components=3 lupa-2.8/third-party/lua54/testes
  rm "$dir/lupa.tar.gz"
fi
make -s -C "$root/bindings/lua" lib > /dev/null
make -s -C "$dir/testes/libs" LUA_DIR="$root/target/release/lua" > /dev/null
cd "$dir/testes"
skip_main="local lf = loadfile; loadfile = function(f, ...) if f == 'main.lua' then return function() print('(main.lua: readline-dependent, skipped)') end end return lf(f, ...) end"
run() { # label, env..., then the lua binary and its arguments
  local label=$1; shift
  if echo | env "$@" > "$dir/$label.log" 2>&1 && grep -q "final OK" "$dir/$label.log"; then
    echo "official suite, $label: final OK"
  else
    tail -20 "$dir/$label.log"; echo "official suite, $label: FAILED"; exit 1
  fi
}
if [ "${1:-}" = --zeal ] || [ "${2:-}" = --zeal ]; then
  # GC zeal (docs/porting.md): a collection due every N allocations, run
  # at Lua's next safepoint, the cell heap's verifier after each, freed
  # cells poisoned; in the checked mode. N from CAPGC_LUA_ZEAL_EVERY.
  n=${CAPGC_LUA_ZEAL_EVERY:-100}
  run portable-capgc-zeal LUA_INIT= CAPGC_LUA_CHECKED=1 CAPGC_ZEAL="collect:$n,verify,poison" \
    "$bin/lua-capgc" -e_U=true all.lua
  exit 0
fi
run portable-stock LUA_INIT= "$bin/lua-stock" -e_U=true all.lua
run portable-capgc LUA_INIT= "$bin/lua-capgc" -e_U=true all.lua
run portable-capgc-checked LUA_INIT= CAPGC_LUA_CHECKED=1 "$bin/lua-capgc" -e_U=true all.lua
run full-capgc LUA_INIT= "$bin/lua-capgc" -e "$skip_main" all.lua
run full-capgc-checked LUA_INIT= CAPGC_LUA_CHECKED=1 "$bin/lua-capgc" -e "$skip_main" all.lua
run portable-capgc-incremental-checked LUA_INIT= LUA_GC_MODE=incremental CAPGC_LUA_CHECKED=1 \
  "$bin/lua-capgc" -e_U=true all.lua
run full-capgc-incremental-checked LUA_INIT= LUA_GC_MODE=incremental CAPGC_LUA_CHECKED=1 \
  "$bin/lua-capgc" -e "$skip_main" all.lua
