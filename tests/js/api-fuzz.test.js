'use strict';
// The randomized JS API fuzz with hostile callers (fuzz/js-api-fuzz.cjs says
// what it does and what it checks): 200,000 calls with a fixed seed on the
// SIMD128 flavour and 20,000 on the threaded one (2 threads), no finding
// allowed. Each runs in a child Node process (Jest's module sandbox makes
// the getter- and Proxy-heavy loop about 5x slower). A longer run with a
// random seed: npm run fuzz -- <seconds> js.
const { spawnSync } = require('child_process');
const path = require('path');

const FUZZER = path.join(__dirname, '..', '..', 'fuzz', 'js-api-fuzz.cjs');

function run(args) {
  const child = spawnSync(process.execPath, [FUZZER, ...args], { encoding: 'utf8', timeout: 240000 });
  const last = (child.stdout || '').trim().split('\n').pop();
  let stats = null;
  try { stats = JSON.parse(last); } catch (e) { /* reported below */ }
  return { child, stats };
}

function expectClean({ child, stats }, calls) {
  expect(child.stderr).toBe('');
  expect(stats).not.toBeNull();
  // Findings first, so that a failure prints what went wrong.
  expect(stats.findings).toEqual([]);
  expect(child.status).toBe(0);
  expect(stats.calls).toBeGreaterThanOrEqual(calls);
  // The run really was hostile, and really computed.
  expect(stats.TypeError).toBeGreaterThan(calls / 50);
  expect(stats.RangeError).toBeGreaterThan(calls / 200);
  expect(stats.disposed).toBeGreaterThan(calls / 500);
  expect(stats.callerError).toBeGreaterThan(calls / 1000);
  expect(stats.reentrantCalls).toBeGreaterThan(calls / 1000);
  expect(stats.forwardsVerified).toBeGreaterThan(calls / 10);
  expect(stats.resets).toBeGreaterThanOrEqual(3);
  expect(stats.heapAtEnd).toBe(stats.heapAtStart);
}

test('200000 hostile calls (seed 20261125): no crash, only TypeError/RangeError/"disposed"/the caller\'s own errors, exact bytes, nothing leaked', () => {
  const result = run(['--calls', '200000', '--seed', '20261125']);
  expectClean(result, 200000);
  expect(result.stats.flavour).toBe('wasmsimd');
}, 250000);

test('20000 hostile calls on the threaded flavour (2 threads), the same checks', () => {
  const result = run(['--calls', '20000', '--seed', '7', '--threads', '2']);
  expectClean(result, 20000);
  expect(result.stats.threads).toBe(2);
}, 250000);
