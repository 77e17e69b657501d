#!/usr/bin/env bash
# Builds what is asked: `wasm` (dist/: both flavours, ESM + CommonJS glue,
# and the generated CommonJS API), `native` (core + GoogleTest tests), `demo`
# (web-demo/dist/: the interactive page, bundled by Vite from the wasm build),
# or `all` (default). Incremental: quick when nothing changed (the demo is
# always rebuilt; it takes about a second).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
what=${1:-all}
jobs=$(nproc 2>/dev/null || echo 2)

# Runs a step quietly, keeping its output in build/<name>.log; prints the log
# and stops if the step fails.
quietly() {
  local name=$1; shift
  mkdir -p build
  if ! "$@" >"build/$name.log" 2>&1; then
    cat "build/$name.log" >&2
    echo "build: '$*' failed (log: build/$name.log)" >&2
    exit 1
  fi
}

build_wasm() {
  if [[ ! -f build/wasm/CMakeCache.txt ]]; then
    quietly wasm-configure emcmake cmake -S . -B build/wasm -DCMAKE_BUILD_TYPE=Release
  fi
  quietly wasm-build cmake --build build/wasm -j "$jobs"
  node scripts/build-js.mjs
}
build_native() {
  if [[ ! -f build/native/CMakeCache.txt ]]; then
    quietly native-configure cmake -S . -B build/native -DCMAKE_BUILD_TYPE=Release
  fi
  quietly native-build cmake --build build/native -j "$jobs"
}

# The native tests again, built with AddressSanitizer and UBSan.
build_native_sanitized() {
  if [[ ! -f build/native-asan/CMakeCache.txt ]]; then
    quietly native-asan-configure cmake -S . -B build/native-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      "-DCMAKE_CXX_FLAGS=-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
  fi
  quietly native-asan-build cmake --build build/native-asan -j "$jobs"
}

# The native tests built with ThreadSanitizer (scripts/test.sh runs the
# thread tests there).
build_native_tsan() {
  if [[ ! -f build/native-tsan/CMakeCache.txt ]]; then
    quietly native-tsan-configure cmake -S . -B build/native-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      "-DCMAKE_CXX_FLAGS=-fsanitize=thread -fno-omit-frame-pointer"
  fi
  quietly native-tsan-build cmake --build build/native-tsan -j "$jobs" --target qconv_native_tests
}

# The demo bundles dist/ (the wasm build), so it always follows build_wasm.
build_demo() {
  quietly demo-build npx --no-install vite build --config web-demo/vite.config.mjs
}

case $what in
  wasm) build_wasm ;;
  native) build_native ;;
  native-asan) build_native_sanitized ;;
  native-tsan) build_native_tsan ;;
  demo) build_wasm; build_demo ;;
  all) build_wasm; build_native; build_demo ;;
  *) echo "usage: scripts/build.sh [wasm|native|native-asan|native-tsan|demo|all]" >&2; exit 2 ;;
esac
