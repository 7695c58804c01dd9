#!/bin/bash
# Lua's own test files, each alone: as it is (one compartment) and in a
# sandbox compartment sharing the host's standard library; exit status
# and the non-local access report.
root=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$root/target/lua-testes/testes"  # from bindings/lua/tests/official_suite.sh
D=$root/bindings/lua/bench/divide.lua
L=${LUA_CAPGC:-$root/target/release/lua-capgc}
tmp=$(mktemp)
for f in api attrib bitwise bwcoercion calls closure code constructs coroutine cstack db errors events files gc gengc goto literals locals math nextvar pm sort strings tpack tracegc utf8 vararg; do
  echo "== $f"
  for way in one shared; do
    echo | timeout 300 env LUA_INIT= $L -e "_U=true" $D $way $f.lua > /dev/null 2> "$tmp"
    echo "$way rc $?"
    grep "^edges" "$tmp"
  done
done
rm -f "$tmp"
