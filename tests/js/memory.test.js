'use strict';
// Memory: forward allocates nothing after the first call of a shape; dispose()
// frees native modules; modules never disposed are freed by the
// FinalizationRegistry once collected (child process with --expose-gc).
const { execFileSync } = require('child_process');
const path = require('path');
const q = require('../..');
const { outputLength } = require('./reference');

beforeAll(() => q.init());

test('repeated forwards of one shape do not grow wasm memory; dispose frees modules', () => {
  const before = q.memoryStats();
  const m = new q.ConvTranspose1d(64, 64, 4, { stride: 2, padding: 1 });
  const x = { data: new Uint8Array(64 * 2000).fill(9), shape: [1, 64, 2000], scale: 0.1, zeroPoint: 3 };
  m.forward(x);
  const after1 = q.memoryStats();
  expect(after1.liveModules).toBe(before.liveModules + 1);
  for (let i = 0; i < 50; i++) m.forward(x);
  const after51 = q.memoryStats();
  expect(after51.wasmBytes).toBe(after1.wasmBytes);
  // not one byte more allocated: a forward of a known shape allocates nothing
  expect(after51.heapBytesInUse).toBe(after1.heapBytesInUse);
  // a smaller shape reuses the buffers too
  m.forward({ ...x, data: x.data.subarray(0, 64 * 100), shape: [1, 64, 100] });
  expect(q.memoryStats().heapBytesInUse).toBe(after1.heapBytesInUse);
  m.dispose();
  const end = q.memoryStats();
  expect(end.liveModules).toBe(before.liveModules);
  expect(end.heapBytesInUse).toBe(before.heapBytesInUse);  // everything the module held is freed
});

test('modules that are never disposed are freed after garbage collection', () => {
  const script = `
    const q = require(${JSON.stringify(path.join(__dirname, '..', '..'))});
    (async () => {
      await q.init();
      // 200 modules of 3 MB of weights each would need 600 MB if none were freed.
      for (let i = 0; i < 200; i++) {
        const m = new q.ConvTranspose1d(1024, 1024, 1);
        m.forward({ data: new Uint8Array(1024), shape: [1, 1024, 1], scale: 1, zeroPoint: 0 });
        if (i % 10 === 9) { global.gc(); await new Promise((r) => setTimeout(r, 0)); }
      }
      for (let i = 0; i < 5; i++) { global.gc(); await new Promise((r) => setTimeout(r, 10)); }
      console.log(JSON.stringify(q.memoryStats()));
    })();
  `;
  const out = execFileSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8' });
  const stats = JSON.parse(out.trim().split('\n').pop());
  expect(stats.liveModules).toBeLessThan(20);
  expect(stats.wasmBytes).toBeLessThan(200 * 1024 * 1024);
});

test('an empty batch needs no memory, however long its input (issue 11)', () => {
  const modules = [
    [new q.ConvTranspose1d(1, 4, 3, { stride: 2 }), 4, 'ConvTranspose1d'],
    [new q.Conv1d(1, 6, 3), 6, 'Conv1d'],
    [new q.ConvTranspose1d(8, 16, 3, { stride: 2 }), 16, 'ConvTranspose1d'],
  ];
  for (const [m, cout, kind] of modules) {
    const { kernelSize: K, stride, padding, dilation, outputPadding } = m;
    const outLength = (L) => outputLength({ kind, L, K, stride, padding, dilation, outputPadding });
    m.forward({ data: new Uint8Array(m.inChannels * 4).fill(7), shape: [1, m.inChannels, 4], scale: 1, zeroPoint: 0 });
    for (const L of [2 ** 29, 2 ** 30]) {
      const before = q.memoryStats();
      const y = m.forward({ data: new Uint8Array(0), shape: [0, m.inChannels, L], scale: 0.5, zeroPoint: 3 });
      const after = q.memoryStats();
      expect(y.shape).toEqual([0, cout, outLength(L)]);
      expect(y.data.length).toBe(0);
      expect(after.heapBytesInUse - before.heapBytesInUse).toBeLessThan(4096);
      expect(after.wasmBytes - before.wasmBytes).toBeLessThan(4096);
    }
    m.dispose();
  }
});

// What a module holds stays within a small factor of its weights (issue 11:
// a 4 MB ConvTranspose1d with stride >= K took 430 MB to load). The core's
// guarantee (tests/native/operator_test.cc, OperatorMemory): at most
// 5 bytes per weight + 32 per output channel + 80 KiB.
test.each([
  ['ConvTranspose1d(1, 1, 2^22, { stride: 2^22 })', 1, 1, 2 ** 22, { stride: 2 ** 22 }],
  ['ConvTranspose1d(1, 9, 466033, { stride: 2^20 })', 1, 9, 466033, { stride: 2 ** 20 }],
  ['ConvTranspose1d(3, 9, 155344, { stride: 155344, dilation: 2 })', 3, 9, 155344, { stride: 155344, dilation: 2 }],
  ['ConvTranspose1d(256, 512, 4096, { stride: 4099, groups: 256 })', 256, 512, 4096, { stride: 4099, groups: 256 }],
])('load() of %s holds at most 5x its weight bytes', (_, cin, cout, K, options) => {
  const groups = options.groups || 1;
  const weights = cin * (cout / groups) * K;
  const original = new q.ConvTranspose1d(cin, cout, K, options);
  const w = new Int8Array(weights);
  for (let i = 0; i < weights; i++) w[i] = (Math.imul(i, 2654435761) >>> 24) - 128;
  original.setWeightBias({ data: w, scale: 0.01, zeroPoint: 1 }, Float32Array.from({ length: cout }, (_, i) => i / 8));
  original.scale = 0.5;
  original.zeroPoint = 100;
  const input = { data: Uint8Array.from({ length: cin * 2 }, (_, i) => (i * 37) & 255), shape: [1, cin, 2], scale: 0.05, zeroPoint: 128 };
  const want = original.forward(input);
  const bytes = original.save();
  expect(bytes.length).toBeGreaterThan(weights);
  original.dispose();
  const before = q.memoryStats().heapBytesInUse;
  const loaded = q.ConvTranspose1d.load(bytes);
  const held = q.memoryStats().heapBytesInUse - before;
  expect(held).toBeLessThanOrEqual(5 * weights + 32 * cout + 80 * 1024);
  const got = loaded.forward(input);
  expect(got.shape).toEqual(want.shape);
  expect(Buffer.from(got.data).equals(Buffer.from(want.data))).toBe(true);
  loaded.dispose();
});
