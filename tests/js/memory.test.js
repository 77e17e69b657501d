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
