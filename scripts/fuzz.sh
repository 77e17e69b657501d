#!/usr/bin/env bash
# npm run fuzz -- [seconds] [fuzzer...]: builds the libFuzzer harnesses of
# fuzz/ with clang, ASan and UBSan (build/fuzz), then runs each for the given
# seconds (default 60) from the committed corpus (fuzz/corpus/<name>); new
# inputs go to build/fuzz/corpus/<name>, not into the repository. A finding
# stops with the crashing input saved in build/fuzz/findings/.
# The `js` fuzzer is fuzz/js-api-fuzz.cjs: the public JS API with hostile
# callers, on the wasm build, with a random seed (printed, to replay it).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
fuzzers=("$@")
((${#fuzzers[@]})) || fuzzers=(operator kernels js)
if ! [[ $seconds =~ ^[0-9]+$ ]]; then
  echo "usage: npm run fuzz -- [seconds] [operator|kernels|js ...]" >&2
  exit 2
fi
native=()
for name in "${fuzzers[@]}"; do [[ $name == js ]] || native+=("$name"); done
if [[ " ${fuzzers[*]} " == *" js "* ]]; then
  bash scripts/bootstrap.sh
  bash scripts/build.sh wasm
else
  bash scripts/bootstrap.sh --no-npm
fi
jobs=$(nproc 2>/dev/null || echo 2)
# fuzzer-no-link: the library itself is coverage-instrumented, so libFuzzer
# steers into its branches (not only the harness's).
sanitizers="-fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=all -fno-omit-frame-pointer -g -O1"
mkdir -p build
if ((${#native[@]})) && [[ ! -f build/fuzz/CMakeCache.txt ]]; then
  CXX=clang++ cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQCONV_FUZZ=ON \
    -DQCONV_BUILD_TESTS=OFF -DQCONV_WITH_XNNPACK=OFF "-DCMAKE_CXX_FLAGS=$sanitizers" >build/fuzz-configure.log 2>&1 \
    || { cat build/fuzz-configure.log >&2; exit 1; }
fi
if ((${#native[@]})); then
  cmake --build build/fuzz -j "$jobs" >build/fuzz-build.log 2>&1 || { cat build/fuzz-build.log >&2; exit 1; }
fi

status=0
for name in "${fuzzers[@]}"; do
  if [[ $name == js ]]; then
    mkdir -p build/fuzz
    seed=$(( $(date +%s) % 4294967296 ))
    echo "== fuzz js: ${seconds} s (the JS API, hostile callers), seed $seed"
    if node fuzz/js-api-fuzz.cjs --seconds "$seconds" --seed "$seed" >build/fuzz/js.log 2>&1; then
      node -e 'const s = JSON.parse(require("fs").readFileSync("build/fuzz/js.log", "utf8").trim().split("\n").pop());
        console.log(`   ${s.calls} executions (${s.forwardsVerified} forwards checked against the reference), 0 findings`);'
    else
      status=1
      tail -c 4000 build/fuzz/js.log >&2
      echo "   FINDING: see build/fuzz/js.log (replay: node fuzz/js-api-fuzz.cjs --seed $seed --seconds $seconds)" >&2
    fi
    continue
  fi
  corpus=build/fuzz/corpus/$name
  mkdir -p "$corpus" build/fuzz/findings fuzz/corpus/$name
  log=build/fuzz/$name.log
  echo "== fuzz $name: ${seconds} s (ASan + UBSan), seeds from fuzz/corpus/$name"
  if build/fuzz/${name}_fuzzer -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix=build/fuzz/findings/ "$corpus" "fuzz/corpus/$name" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "   $runs executions, 0 findings"
  else
    status=1
    tail -n 40 "$log" >&2
    echo "   FINDING: see $log and build/fuzz/findings/" >&2
  fi
done
exit $status
