'use strict';
// Memory: forward allocates nothing after the first call of a shape; dispose()
// frees native modules; modules never disposed are freed by the
// FinalizationRegistry once collected (child process with --expose-gc).
const { execFileSync } = require('child_process');
const path = require('path');
const q = require('../..');

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
  // Lout = (L - 1) * 2 + 3 for ConvTranspose1d(1, 4, 3, stride 2); L - 2 for Conv1d(1, 6, 3).
  const modules = [
    [new q.ConvTranspose1d(1, 4, 3, { stride: 2 }), 4, (l) => (l - 1) * 2 + 3],
    [new q.Conv1d(1, 6, 3), 6, (l) => l - 2],
    [new q.ConvTranspose1d(8, 16, 3, { stride: 2 }), 16, (l) => (l - 1) * 2 + 3],
  ];
  for (const [m, cout, outLength] of modules) {
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
