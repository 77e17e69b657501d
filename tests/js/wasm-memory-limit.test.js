'use strict';
// Inputs too large for wasm memory: a RangeError naming what does not fit,
// and every instance stays usable. The last test really fills the 2 GiB
// wasm32 heap (about 5 s and 2.5 GB of process memory), so this file has a
// Jest worker to itself; the memory it grows is never returned (wasm memory
// cannot shrink), which README says.
const q = require('../..');
const { loadGoldenCases, runGoldenCase, constructModule, expectedOf, inputOf } = require('./golden-cases');

const golden = loadGoldenCases().find((c) => !c.expected_error && c.module === 'ConvTranspose1d' &&
  c.input.shape.length === 3 && c.input.shape[0] > 0 && !c.output_size);

beforeAll(() => q.init());

function upsampler() {
  const m = new q.ConvTranspose1d(1, 1, 1);
  m.setWeightBias({ data: new Int8Array([3]), scale: 0.1, zeroPoint: 0 }, null);
  m.scale = 0.1;
  m.zeroPoint = 0;
  return m;
}
// 1 -> 1 channel, K 1, weight 3 * 0.1, input scale 1, output scale 0.1: y = 3x.
const small = { data: Uint8Array.of(1, 2, 50, 90), shape: [1, 1, 4], scale: 1, zeroPoint: 0 };
const smallExpected = Uint8Array.of(3, 6, 150, 255);

test('an input longer than 2^31 - 1 is a RangeError; the instance still works', () => {
  const m = upsampler();
  const n = 2 ** 31 + 16;  // allocated lazily by the OS: nothing is touched
  expect(() => m.forward({ data: new Uint8Array(n), shape: [1, 1, n], scale: 1, zeroPoint: 0 }))
    .toThrow(new RangeError(`ConvTranspose1d.forward: input length (${n}) must be at most 2147483647`));
  expect(m.forward(small).data).toEqual(smallExpected);
  m.dispose();
});

test('input + output + scratch beyond 2 GiB is a RangeError before anything is allocated', () => {
  const m = upsampler();
  const before = q.memoryStats();
  const n = 2 ** 31 - 1;
  let error = null;
  try { m.forward({ data: new Uint8Array(n), shape: [1, 1, n], scale: 1, zeroPoint: 0 }); } catch (e) { error = e; }
  expect(error).toBeInstanceOf(RangeError);
  expect(error.message).toMatch(/^ConvTranspose1d\.forward: the input, output and scratch buffers needs \d+ bytes, more than wasm memory can hold \(2 GiB\)$/);
  expect(q.memoryStats().wasmBytes).toBe(before.wasmBytes);
  expect(m.forward(small).data).toEqual(smallExpected);
  m.dispose();
});

test('when the heap is full, a forward that needs more is a RangeError; freeing memory makes it work', () => {
  const big = upsampler();
  // 500 MB in, 500 MB out, 1 GB of scratch: passes the size rules, and fills the heap.
  const n = 500e6;
  const bigOut = big.forward({ data: new Uint8Array(n).fill(2), shape: [1, 1, n], scale: 1, zeroPoint: 0 });
  expect(bigOut.shape).toEqual([1, 1, n]);
  expect(bigOut.data[0]).toBe(6);
  expect(bigOut.data[n - 1]).toBe(6);
  const other = constructModule(q, golden);
  runGoldenCase(q, golden, other);  // sized while memory is still there
  const needy = upsampler();
  const m = 60e6;  // 240 MB more than the heap has left
  let error = null;
  try { needy.forward({ data: new Uint8Array(m), shape: [1, 1, m], scale: 1, zeroPoint: 0 }); } catch (e) { error = e; }
  expect(error).toBeInstanceOf(RangeError);
  expect(error.message).toMatch(/^ConvTranspose1d\.forward: out of memory: needs \d+ bytes for .*, \d+ in use$/);
  // Everyone still works, including the module that failed.
  expect(needy.forward(small).data).toEqual(smallExpected);
  expect(other.forward(inputOf(golden)).data).toEqual(expectedOf(golden).data);
  // Freeing the big module's buffers lets the same call succeed.
  big.dispose();
  const grown = q.memoryStats().wasmBytes;
  const out = needy.forward({ data: new Uint8Array(m).fill(1), shape: [1, 1, m], scale: 1, zeroPoint: 0 });
  expect(out.data[m - 1]).toBe(3);
  expect(q.memoryStats().wasmBytes).toBe(grown);  // wasm memory never shrinks, and was reused
  needy.dispose();
  other.dispose();
  expect(q.memoryStats().liveModules).toBe(0);
}, 60000);
