#!/usr/bin/env bash
# npm test: set up what is missing, build everything, run the native
# GoogleTest suite (ctest) and the Jest suite, then print one summary line.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh || exit 1
bash scripts/build.sh all || exit 1
mkdir -p build

echo "== native tests (GoogleTest via ctest)"
ctest --test-dir build/native --output-on-failure -j "$(nproc 2>/dev/null || echo 2)" | tee build/ctest.log | tail -n 4
native_status=${PIPESTATUS[0]}

echo "== native tests under AddressSanitizer + UBSan"
bash scripts/build.sh native-asan || exit 1
ctest --test-dir build/native-asan --output-on-failure -j "$(nproc 2>/dev/null || echo 2)" >build/ctest-asan.log 2>&1
asan_status=$?
tail -n 3 build/ctest-asan.log

echo "== thread tests under ThreadSanitizer (30 cases, each on 1-4 threads; failed calls on 1-2)"
bash scripts/build.sh native-tsan || exit 1
QCONV_THREADS_TEST_CASES=30 TSAN_OPTIONS=halt_on_error=1 ./build/native-tsan/qconv_native_tests \
  --gtest_filter='Threads.*:Threads/FailedCalls.*:ThreadsModel.*' >build/tsan.log 2>&1
tsan_status=$?
tail -n 3 build/tsan.log

echo "== fuzz smoke (libFuzzer, ASan + UBSan; 'npm run fuzz -- <seconds>' for longer)"
# (The JS API fuzz runs in the Jest suite: tests/js/api-fuzz.test.js.)
bash scripts/fuzz.sh "${QCONV_FUZZ_SECONDS:-25}" operator kernels 2>&1 | tee build/fuzz-smoke.log
fuzz_status=${PIPESTATUS[0]}

echo "== JS tests (Jest)"
npx jest --ci --json --outputFile=build/jest-results.json 2>&1 | tail -n 40
js_status=${PIPESTATUS[0]}

summary=$(node -e '
const fs = require("fs");
const log = fs.readFileSync("build/ctest.log", "utf8");
const m = /(\d+) tests failed out of (\d+)/.exec(log);
const nativeTotal = m ? +m[2] : 0, nativeFailed = m ? +m[1] : 0;
// GTEST_SKIP()ped tests (e.g. no XNNPACK in this build) count as neither.
const nativeSkipped = (log.match(/\*\*\*Skipped/g) || []).length;
let js = { numPassedTests: 0, numFailedTests: 0, numPendingTests: 0, numTodoTests: 0 };
try { js = JSON.parse(fs.readFileSync("build/jest-results.json", "utf8")); } catch (e) {}
const goldenOf = (flavour) => (js.testResults || [])
  .filter((f) => f.name.endsWith(`golden.${flavour}.test.js`))
  .flatMap((f) => f.assertionResults || [])
  .filter((a) => a.ancestorTitles.some((t) => /^(valid|error) /.test(t)));
const goldenLine = ["simd", "scalar", "threads"].map((flavour) => {
  const g = goldenOf(flavour);
  return `${flavour} ${g.filter((a) => a.status === "passed").length} of ${g.length}`;
}).join(", ");
console.log(`native: ${nativeTotal - nativeFailed - nativeSkipped} passed, ${nativeFailed} failed, ${nativeSkipped} skipped`);
if (nativeSkipped > 0) {
  for (const line of log.split("\n").filter((l) => /\*\*\*Skipped/.test(l))) console.log(`  skipped: ${line.trim()}`);
}
const asanLog = fs.readFileSync("build/ctest-asan.log", "utf8");
const a = /(\d+) tests failed out of (\d+)/.exec(asanLog);
console.log(`native under ASan+UBSan (the same tests, not counted again below): ${a ? +a[2] - +a[1] : 0} passed, ${a ? +a[1] : "?"} failed`);
const tsanLog = fs.readFileSync("build/tsan.log", "utf8");
const tsanPassed = /\[  PASSED  \] (\d+) test/.exec(tsanLog);
console.log(`thread tests under ThreadSanitizer (also not counted again): ${tsanPassed ? tsanPassed[1] : 0} passed` +
  `${/WARNING: ThreadSanitizer/.test(tsanLog) ? ", DATA RACE reported (build/tsan.log)" : ", no race reported"}`);
const fuzzLog = fs.readFileSync("build/fuzz-smoke.log", "utf8");
const execs = [...fuzzLog.matchAll(/== fuzz (\w+): (\d+) s[\s\S]*?(\d+) executions, 0 findings/g)].map((m) => `${m[1]} ${m[3]} executions in ${m[2]} s`);
console.log(`fuzz smoke: ${execs.length ? execs.join(", ") : "FAILED"}${/FINDING/.test(fuzzLog) ? " (FINDING: see build/fuzz/)" : execs.length ? ", 0 findings" : ""}`);
console.log(`jest: ${js.numPassedTests} passed, ${js.numFailedTests} failed, ${js.numPendingTests + js.numTodoTests} skipped`);
if (js.numRuntimeErrorTestSuites > 0) console.log(`  ${js.numRuntimeErrorTestSuites} test file(s) failed to run (see the Jest output above)`);
// Of which the browser tests (tests/browser, headless Chromium); when there
// is no Chromium they are skipped and the reason is in their describe title.
const browser = (js.testResults || []).filter((f) => /[\\/]tests[\\/]browser[\\/]/.test(f.name))
  .flatMap((f) => f.assertionResults || []);
const count = (status) => browser.filter((a) => a.status === status).length;
console.log(`  of which browser (Chromium): ${count("passed")} passed, ${count("failed")} failed, ${count("pending") + count("skipped") + count("todo")} skipped`);
// Skipped tests anywhere say why in their describe title: "[skipped: why]".
const all = (js.testResults || []).flatMap((f) => f.assertionResults || []);
const skippedWith = new Map();
for (const a of all.filter((t) => t.status !== "passed" && t.status !== "failed")) {
  const m = a.ancestorTitles.map((t) => /\[skipped: (.*)\]$/.exec(t)).find(Boolean);
  const reason = m ? m[1] : "(no reason given)";
  skippedWith.set(reason, (skippedWith.get(reason) || 0) + 1);
}
for (const [reason, n] of skippedWith) console.log(`  skipped: ${n} test(s): ${reason}`);
const countIn = (file) => (js.testResults || []).filter((f) => f.name.endsWith(file))
  .flatMap((f) => f.assertionResults || []).filter((a) => a.status === "passed").length;
console.log(`  of which threads: ${countIn("/threads.test.js") + countIn("/threads-differential.test.js") + countIn("/golden.threads.test.js")} passed, fromFloat: ${countIn("/from-float.test.js")}, ` +
  `save/load: ${countIn("/save-load.test.js")}, PyTorch export: ${countIn("/export-torch.test.js")}, padding same/valid: ${countIn("/padding-modes.test.js")}`);
// Whole PyTorch models (tests/data/models): per flavour, the models whose
// every tensor and float output equal those of torch.
const modelsIn = (file) => (js.testResults || []).filter((f) => f.name.endsWith(file))
  .flatMap((f) => f.assertionResults || []).filter((a) => a.title.startsWith("every tensor"));
const modelLine = ["simd", "scalar", "threads"].map((flavour) => {
  const m = modelsIn(`/models.${flavour}.test.js`);
  return `${flavour}${flavour === "threads" ? " (2 and 4)" : ""} ${m.filter((a) => a.status === "passed").length} of ${m.length}`;
}).join(", ");
console.log(`  of which whole PyTorch models (every tensor byte-exact): ${modelLine}; model tests ${countIn("/model.test.js")}, ` +
  `model fuzz ${countIn("/model-fuzz.test.js")}, export ${countIn("/export-model.test.js")}`);
console.log(`  of which streaming (each test: streams byte-equal to one forward): simd ${countIn("/stream.simd.test.js")}, ` +
  `scalar ${countIn("/stream.scalar.test.js")}, threads ${countIn("/stream.threads.test.js")}, hostile ${countIn("/stream-hostile.test.js")}, ` +
  `AudioWorklet demo ${countIn("/demo-stream.test.js")}; zero-copy (bind, forward into out) ${countIn("/bound.test.js")}`);
console.log(`  of which hostile callers: trust ${countIn("/trust.test.js")}, full heap ${countIn("/full-heap.test.js")}, ` +
  `init failures ${countIn("/init-failure.test.js")}, API fuzz ${countIn("/api-fuzz.test.js")} of 2 runs (200000 + 20000 calls)`);
// The consumer tests (tests/consumers): the packed tarball installed in
// fresh projects, one describe per consumer ("consumer: <name>").
const consumers = new Map();
for (const a of all) {
  const title = a.ancestorTitles.find((t) => t.startsWith("consumer: "));
  if (!title) continue;
  const name = title.slice("consumer: ".length).replace(/ \[skipped: .*\]$/, "").replace(/ \(.*$/, "");
  const c = consumers.get(name) || { passed: 0, failed: 0, skipped: 0 };
  if (a.status === "passed") c.passed++; else if (a.status === "failed") c.failed++; else c.skipped++;
  consumers.set(name, c);
}
if (consumers.size) {
  console.log(`  of which consumers (the packed tarball installed in fresh projects): ${[...consumers].map(([name, c]) =>
    `${name} ${c.failed ? "FAILED" : c.skipped && !c.passed ? "skipped" : "ok"} (${c.passed} passed` +
    `${c.failed ? `, ${c.failed} failed` : ""}${c.skipped ? `, ${c.skipped} skipped` : ""})`).join("; ")}`);
}
try {
  const t = JSON.parse(fs.readFileSync("build/consumers/tarball.json", "utf8"));
  console.log(`  the tarball: ${t.files} files, ${t.size} bytes (packed from a clean copy of the sources)`);
} catch (e) {}
console.log(`golden cases passed (PyTorch-generated; valid bit-exact, errors rejected): ${goldenLine}`);
const passed = nativeTotal - nativeFailed - nativeSkipped + js.numPassedTests;
const failed = nativeFailed + js.numFailedTests;
console.log(`total: ${passed} passed, ${failed} failed`);
')
echo "== summary"
echo "$summary"
if [[ $native_status != 0 || $asan_status != 0 || $tsan_status != 0 || $fuzz_status != 0 || $js_status != 0 ]]; then exit 1; fi
