'use strict';
// Every call before init() resolves throws a plain Error saying to await init().
const q = require('../..');

test('calls before init() throw an Error naming init()', () => {
  const calls = [
    () => new q.ConvTranspose1d(1, 1, 1),
    () => new q.Conv1d(1, 1, 1),
    () => q.ConvTranspose1d.fromFloat({ inChannels: 1, outChannels: 1, kernelSize: 1, weight: [1] }),
    () => q.Conv1d.fromFloat({ inChannels: 1, outChannels: 1, kernelSize: 1, weight: [1] }),
    () => q.quantizePerTensor([1], [1], 1, 0),
    () => q.dequantize({ data: new Uint8Array(1), shape: [1], scale: 1, zeroPoint: 0 }),
    () => q.load(new Uint8Array(0)),
  ];
  for (const call of calls) {
    let error = null;
    try { call(); } catch (e) { error = e; }
    expect(error).not.toBeNull();
    expect(error.constructor).toBe(Error);
    expect(error.message).toMatch(/await init\(\)/);
  }
});

test('init rejects bad options with a TypeError, then still works', async () => {
  await expect(q.init({ simd: 'yes' })).rejects.toThrow(TypeError);
  await expect(q.init({ wasmBinry: new Uint8Array(1) })).rejects.toThrow(/unknown option 'wasmBinry'/);
  await expect(q.init(42)).rejects.toThrow(TypeError);
  const info = await q.init({ simd: false });
  expect(info.simd).toBe(false);
  expect(info.flavour).toBe('scalar');
});

test('while the first init() is pending, a call asking for another module rejects; one asking nothing shares it', async () => {
  // This file's instance is already initialised (scalar) by the test above;
  // a fresh one starts here.
  jest.resetModules();
  const fresh = require('../..');
  const pending = fresh.init({ simd: false });
  const other = fresh.init({ numThreads: 2 });
  expect(fresh.init()).toBe(pending);
  await expect(other).rejects.toThrow('init: qconv-wasm is already being initialised with { simd: false, numThreads: 1 }; ' +
    'init({ numThreads: 2 }) asks for another module');
  expect((await pending).flavour).toBe('scalar');
});
