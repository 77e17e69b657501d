'use strict';
// The micro-kernel tests (tests/kernels/kernel_test.cc) compiled to wasm with
// SIMD128 and run under Node: the same tests as natively, but on the real
// wasm instructions instead of SIMDe. Each GoogleTest case is one Jest test.
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const program = path.join(__dirname, '..', '..', 'build', 'wasm', 'qconv-kernel-tests.cjs');

function runKernelTests() {
  if (!fs.existsSync(program)) return { error: `${program} is missing: run 'npm run build'` };
  let output;
  try {
    output = execFileSync(process.execPath, [program], { encoding: 'utf8', maxBuffer: 64 << 20 });
  } catch (e) {
    output = `${e.stdout || ''}${e.stderr || ''}`;  // failures exit non-zero; results are in the output
  }
  const results = new Map();
  for (const line of output.split('\n')) {
    const m = /^\[\s+(OK|FAILED)\s+\] (\S+\.\S+?)(?:, where .*)? \(\d+ ms\)$/.exec(line);
    if (m) results.set(m[2], m[1]);
  }
  return { output, results };
}

const run = runKernelTests();

test('the wasm kernel test program ran and reported its cases', () => {
  expect(run.error).toBeUndefined();
  expect(run.results.size).toBeGreaterThanOrEqual(25);
  // Both twins of every kernel family ran.
  const names = [...run.results.keys()].join(' ');
  for (const family of ['WasmSimdDot16/Conv1dKernel', 'Scalar/Conv1dKernel', 'WasmSimdMul16/Dwconv1dKernel',
    'Scalar/Dwconv1dKernel', 'WasmSimdDot16/Dwconv1dPairKernel', 'Scalar/Dwconv1dPairKernel',
    'Dwconv1dPairKernelTwins', 'WasmSimd/TransposeWidenKernel', 'Conv1dKernelTwins', 'Dwconv1dKernelTwins',
    'WasmSimdSwizzle/LutKernel', 'Scalar/LutKernel', 'LutKernelTwins', 'WasmSimd/VaddKernel', 'Scalar/VaddKernel',
    'VaddKernelTwins']) {
    expect(names).toContain(family);
  }
});

describe('micro-kernels in wasm SIMD128', () => {
  for (const [name, status] of run.results || []) {
    test(name, () => {
      if (status !== 'OK') throw new Error(`${name} failed:\n${run.output}`);
    });
  }
});
