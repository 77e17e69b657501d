#!/usr/bin/env bash
# Builds what is asked: `wasm` (dist/: both flavours, ESM + CommonJS glue,
# and the generated CommonJS API), `native` (core + GoogleTest tests), or
# `all` (default). Incremental: quick when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
what=${1:-all}
jobs=$(nproc 2>/dev/null || echo 2)

build_wasm() {
  if [[ ! -f build/wasm/CMakeCache.txt ]]; then
    emcmake cmake -S . -B build/wasm -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  cmake --build build/wasm -j "$jobs" >/dev/null
  node scripts/build-js.mjs
}
build_native() {
  if [[ ! -f build/native/CMakeCache.txt ]]; then
    cmake -S . -B build/native -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  cmake --build build/native -j "$jobs" >/dev/null
}

case $what in
  wasm) build_wasm ;;
  native) build_native ;;
  all) build_wasm; build_native ;;
  *) echo "usage: scripts/build.sh [wasm|native|all]" >&2; exit 2 ;;
esac
