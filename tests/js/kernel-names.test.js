'use strict';
// Micro-kernel files and functions are named alike, the XNNPACK way: the file
// <datatype>-<op>-<tile>[-fp32]-<isa>[-<trick>].cc defines
// <datatype>_<op>[_fp32]_ukernel_<tile>__<isa>[_<trick>], declared in
// microkernels.h, so that a name found in a profile leads to its file.
const fs = require('fs');
const path = require('path');

const dir = path.join(__dirname, '..', '..', 'src', 'microkernels');
const header = fs.readFileSync(path.join(dir, 'microkernels.h'), 'utf8');
const kernelFiles = fs.readdirSync(dir).filter((f) => /^(qu8|x8)-.*\.cc$/.test(f));

// The function a kernel file must define, from its name alone.
function expectedFunction(file) {
  const parts = file.replace(/\.cc$/, '').split('-');
  const isaAt = parts.findIndex((p) => p === 'scalar' || p === 'wasmsimd');
  if (isaAt < 0) throw new Error(`${file}: no ISA (scalar or wasmsimd) in the name`);
  const tileAt = parts.findIndex((p) => /^\d+x(\d+\w*)?$/.test(p));  // 4x8c2, 8x8, or 64x (elementwise)
  if (tileAt < 0 || tileAt > isaAt) throw new Error(`${file}: no tile (e.g. 4x8c2) before the ISA`);
  const requantization = parts.slice(tileAt + 1, isaAt);
  return `${[...parts.slice(0, tileAt), ...requantization].join('_')}_ukernel_${parts[tileAt]}__` +
    parts.slice(isaAt).join('_');
}

test('the rule reads a known name as expected', () => {
  expect(expectedFunction('qu8-conv1d-4x8c2-fp32-wasmsimd-dot16.cc'))
    .toBe('qu8_conv1d_fp32_ukernel_4x8c2__wasmsimd_dot16');
  expect(expectedFunction('qu8-transpose-widen-8x8-scalar.cc')).toBe('qu8_transpose_widen_ukernel_8x8__scalar');
  expect(expectedFunction('x8-lut-64x-wasmsimd-swizzle.cc')).toBe('x8_lut_ukernel_64x__wasmsimd_swizzle');
  expect(expectedFunction('qu8-vadd-16x-scalar.cc')).toBe('qu8_vadd_ukernel_16x__scalar');
});

test('there are kernels, each with its scalar twin', () => {
  expect(kernelFiles.length).toBeGreaterThanOrEqual(6);
  for (const file of kernelFiles.filter((f) => f.includes('-wasmsimd'))) {
    const twin = file.replace(/-wasmsimd(-[a-z0-9]+)?\.cc$/, '-scalar.cc');
    expect(kernelFiles).toContain(twin);
  }
});

test.each(kernelFiles)('%s defines and declares the function its name says', (file) => {
  const name = expectedFunction(file);
  const source = fs.readFileSync(path.join(dir, file), 'utf8');
  expect(source).toMatch(new RegExp(`^void ${name}\\(`, 'm'));
  expect(header).toMatch(new RegExp(`^void ${name}\\(`, 'm'));
  // No other kernel entry point hides in the file.
  const defined = [...source.matchAll(/^void (\w+_ukernel_\w+)\(/gm)].map((m) => m[1]);
  expect(defined).toEqual([name]);
});
