'use strict';
// The package through its ESM entry in Node (a child process, since Jest
// runs CommonJS here): it resolves through package.json "exports", shares
// the CommonJS instance, and computes the same bytes.
const { execFileSync } = require('child_process');
const path = require('path');

const root = path.join(__dirname, '..', '..');

test('import("qconv-wasm") works in Node and equals require("qconv-wasm")', () => {
  const script = `
    import * as esm from 'qconv-wasm';
    import { createRequire } from 'node:module';
    const cjs = createRequire(import.meta.url)('qconv-wasm');
    const info = await esm.init();
    const m = new esm.ConvTranspose1d(2, 3, 3, { stride: 2 });
    m.setWeightBias({ data: Int8Array.from({ length: 18 }, (_, i) => i * 7 - 60), scale: 0.05 }, [0.5, -1, 2]);
    m.scale = 0.1; m.zeroPoint = 100;
    const y = m.forward({ data: Uint8Array.from({ length: 10 }, (_, i) => i * 25), shape: [1, 2, 5], scale: 0.02, zeroPoint: 7 });
    const m2 = new cjs.ConvTranspose1d(2, 3, 3, 2);
    m2.setWeightBias(m.weight(), m.bias());
    m2.scale = 0.1; m2.zeroPoint = 100;
    const y2 = m2.forward({ data: Uint8Array.from({ length: 10 }, (_, i) => i * 25), shape: [1, 2, 5], scale: 0.02, zeroPoint: 7 });
    console.log(JSON.stringify({ same: esm.ConvTranspose1d === cjs.ConvTranspose1d && typeof esm.load === 'function' && esm.load === cjs.load, simd: info.simd,
      shape: y.shape, equal: Buffer.from(y.data).equals(Buffer.from(y2.data)), nonzero: y.data.some((v) => v !== 100) }));
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
  const r = JSON.parse(out.trim().split('\n').pop());
  expect(r.same).toBe(true);
  expect(r.shape).toEqual([1, 3, 11]);  // (5-1)*2 + 3 = 11
  expect(r.equal).toBe(true);
  expect(r.nonzero).toBe(true);
});

test('the seed example prints both PyTorch documentation shapes', () => {
  const out = execFileSync(process.execPath, [path.join(root, 'examples', 'seed.mjs')], { cwd: root, encoding: 'utf8' });
  expect(out).toMatch(/input \[20, 16, 50\] -> output \[20, 33, 101\]/);
  expect(out).toMatch(/input \[1, 16, 12\] -> h \[1, 16, 6\]/);
  expect(out).toMatch(/outputSize=\[1, 16, 12\]\) -> output \[1, 16, 12\]/);
});
