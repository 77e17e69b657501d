'use strict';
// 100,000 create -> setWeightBias -> forward -> dispose cycles over mixed
// shapes (both modules, both kernel paths, groups, reflect padding, batches,
// outputSize): the wasm heap grows by at most 1 MiB and no native module is
// left alive. Every 997th output is checked against a reference computed once
// per shape, so the cycles also stay correct. A second block interleaves
// failing calls (caught) with the cycles: errors must not leak either.
const q = require('../..');

beforeAll(() => q.init());

// seeded data, so a shape's output is the same every cycle
function filled(Type, n, seed) {
  const a = new Type(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = Type === Float32Array ? ((s >>> 8) / 16777216 - 0.5) * 4 : (s >>> 24) - (Type === Int8Array ? 128 : 0);
  }
  return a;
}

const SHAPES = [
  { cls: 'ConvTranspose1d', args: [16, 33, 3, { stride: 2 }], x: [2, 16, 10] },
  { cls: 'ConvTranspose1d', args: [8, 8, 4, { stride: 2, padding: 1, groups: 8 }], x: [1, 8, 32] },  // depthwise path
  { cls: 'ConvTranspose1d', args: [12, 24, 5, { stride: 3, padding: 2, dilation: 2, groups: 3, outputPadding: 1 }], x: [1, 12, 9] },
  { cls: 'ConvTranspose1d', args: [4, 20, 2, { stride: 5, bias: false }], x: [3, 4, 7], outputSize: [36] },
  { cls: 'ConvTranspose1d', args: [1, 16, 1, { stride: 4 }], x: [1, 1, 20] },  // taps reach 1 phase of 4
  { cls: 'Conv1d', args: [16, 16, 3, { stride: 2, padding: 1 }], x: [1, 16, 12] },
  { cls: 'Conv1d', args: [6, 10, 3, { padding: 2, paddingMode: 'reflect' }], x: [2, 6, 9] },
  { cls: 'Conv1d', args: [9, 9, 5, { dilation: 2, groups: 9 }], x: [1, 9, 30] },  // depthwise path
  { cls: 'Conv1d', args: [32, 8, 1], x: [1, 32, 5] },  // K = 1 GEMM
];

function weightShape(s) {
  const [cin, cout, k, opts = {}] = s.args;
  const g = opts.groups || 1;
  return s.cls === 'ConvTranspose1d' ? [cin, cout / g, k] : [cout, cin / g, k];
}

function oneCycle(s) {
  const m = new q[s.cls](...s.args);
  m.setWeightBias({ data: s.weight, scale: 0.02, zeroPoint: 0 },
    s.args[3] && s.args[3].bias === false ? null : filled(Float32Array, s.args[1], 3));
  m.scale = 0.25;
  m.zeroPoint = 100;
  const out = m.forward({ data: s.input, shape: s.x, scale: 0.05, zeroPoint: 120 }, s.outputSize);
  m.dispose();
  return out;
}

test('100,000 create/setWeightBias/forward/dispose cycles grow the heap by at most 1 MiB and leave nothing alive', () => {
  for (const s of SHAPES) {
    s.input = filled(Uint8Array, s.x[0] * s.x[1] * s.x[2], 11);
    const shape = weightShape(s);
    s.weight = filled(Int8Array, shape[0] * shape[1] * shape[2], 7);
    s.expected = oneCycle(s).data;  // also the warm-up: the heap reaches its working size
  }
  const before = q.memoryStats();
  const cycles = 100000;
  let checked = 0;
  for (let i = 0; i < cycles; i++) {
    const s = SHAPES[i % SHAPES.length];
    const out = oneCycle(s);
    if (i % 997 === 0) {
      expect(out.data).toEqual(s.expected);
      checked++;
    }
  }
  const after = q.memoryStats();
  expect(after.liveModules).toBe(before.liveModules);
  expect(after.heapBytesInUse - before.heapBytesInUse).toBeLessThanOrEqual(1 << 20);
  expect(after.wasmBytes - before.wasmBytes).toBeLessThanOrEqual(1 << 20);
  expect(checked).toBeGreaterThan(100);
  console.log(`cycles: ${cycles}; heap in use ${before.heapBytesInUse} -> ${after.heapBytesInUse} bytes, ` +
    `wasm memory ${before.wasmBytes} -> ${after.wasmBytes} bytes, live modules ${after.liveModules}`);
}, 120000);

test('cycles that end in thrown errors leak nothing either', () => {
  const s = SHAPES[0];
  const before = q.memoryStats();
  let thrown = 0;
  for (let i = 0; i < 5000; i++) {
    const m = new q.ConvTranspose1d(...s.args);
    try {
      switch (i % 5) {
        case 0: m.setWeightBias({ data: s.weight, scale: NaN, zeroPoint: 0 }, null); break;
        case 1: m.forward({ data: s.input, shape: [s.x[0], s.x[1] + 1, s.x[2]], scale: 0.05, zeroPoint: 120 }); break;
        case 2: m.forward({ data: s.input, shape: s.x, scale: 0.05, zeroPoint: 120 }, [1]); break;
        case 3: m.setWeightBias({ data: s.weight, scale: 0.02, zeroPoint: 0 }, new Float32Array(s.args[1] + 1)); break;
        default: m.forward({ data: new Uint8Array(0), shape: [2 ** 20, s.x[1], 2 ** 20], scale: 0.05, zeroPoint: 120 });
      }
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      thrown++;
    } finally {
      m.dispose();
    }
  }
  const after = q.memoryStats();
  expect(thrown).toBe(5000);
  expect(after.liveModules).toBe(before.liveModules);
  expect(after.heapBytesInUse - before.heapBytesInUse).toBeLessThanOrEqual(1 << 20);
});
