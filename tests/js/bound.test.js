'use strict';
// Zero-copy running (issue 15): m.bind(inputShape, options) -> a runner with
// views of wasm memory, and forward(x, { out }). Same bytes as forward on
// every flavour (SIMD, scalar, threaded on 2 threads), the same errors, and
// safe against what a caller can do: memory growth between runs, dispose,
// other runners and forwards on the same module, getters, lying `out`s.
const { createQconv } = require('../../dist/api.cjs');
const { loadNativeModule, threadSupport, releaseWorkers } = require('../../js/node-loader.cjs');
const { randomBytes, randomInt8 } = require('./bound-helpers');

const FLAVOURS = [
  ['simd', { simd: true }],
  ['scalar', { simd: false }],
  ['threads (2)', { simd: true, numThreads: 2 }],
];
const apis = {};

beforeAll(async () => {
  for (const [label, options] of FLAVOURS) {
    const api = createQconv(loadNativeModule, { threadSupport, releaseWorkers });
    const info = await api.init(options);
    expect(info.threads).toBe(options.numThreads || 1);
    apis[label] = api;
  }
}, 60000);

// A module with seeded weights, bias and output quantization.
function makeModule(q, kind, cin, cout, k, options = {}, seed = 1) {
  const m = new q[kind](cin, cout, k, options);
  const groups = options.groups || 1;
  const n = kind === 'Conv1d' ? cout * (cin / groups) * k : cin * (cout / groups) * k;
  const bias = Array.from({ length: cout }, (_, i) => ((i * 7 + seed) % 11) / 5 - 1);
  m.setWeightBias({ data: randomInt8(n, seed), scale: 0.02, zeroPoint: 0 }, bias);
  m.scale = 0.05;
  m.zeroPoint = 120;
  return m;
}

const qtensor = (shape, seed) => ({
  data: randomBytes(shape.reduce((a, b) => a * b, 1), seed), shape, scale: 0.03, zeroPoint: 117,
});

// [label, kind, cin, cout, k, options, input shape, outputSize]
const CASES = [
  ['S2 ConvTranspose1d', 'ConvTranspose1d', 16, 16, 3, { stride: 2, padding: 1, outputPadding: 1 }, [1, 16, 6]],
  ['ConvTranspose1d batched, bias-only outputs', 'ConvTranspose1d', 8, 12, 2, { stride: 5, padding: 1 }, [3, 8, 9]],
  ['ConvTranspose1d outputSize', 'ConvTranspose1d', 8, 8, 4, { stride: 3, padding: 1 }, [2, 8, 7], [22]],
  ['ConvTranspose1d unbatched', 'ConvTranspose1d', 4, 6, 3, { stride: 2 }, [4, 10]],
  ['ConvTranspose1d unbatched outputSize', 'ConvTranspose1d', 4, 6, 3, { stride: 2 }, [4, 10], [6, 22]],
  ['ConvTranspose1d depthwise', 'ConvTranspose1d', 16, 16, 5, { stride: 2, groups: 16, padding: 2 }, [2, 16, 33]],
  ['ConvTranspose1d N=0', 'ConvTranspose1d', 4, 6, 3, { stride: 2 }, [0, 4, 10]],
  ['Conv1d', 'Conv1d', 12, 10, 3, { stride: 2, padding: 1 }, [2, 12, 31]],
  ['Conv1d reflect, relu', 'Conv1d', 6, 8, 5, { padding: 2, paddingMode: 'reflect', relu: true }, [1, 6, 17]],
  ['Conv1d depthwise dilated', 'Conv1d', 8, 8, 3, { groups: 8, dilation: 2, padding: 'same' }, [3, 8, 20]],
  ['Conv1d unbatched', 'Conv1d', 3, 5, 3, {}, [3, 9]],
  ['Conv1d N=0', 'Conv1d', 3, 5, 3, {}, [0, 3, 9]],
  // Big enough for the threaded flavour to split it.
  ['ConvTranspose1d split over threads', 'ConvTranspose1d', 64, 64, 4, { stride: 2, padding: 1 }, [1, 64, 600]],
];

describe.each(FLAVOURS.map(([label]) => [label]))('%s flavour', (label) => {
  test.each(CASES.map((c) => [c[0], c]))('%s: run() and forward(x, { out }) give forward\'s bytes', (_, c) => {
    const q = apis[label];
    const [, kind, cin, cout, k, options, shape, outputSize] = c;
    const m = makeModule(q, kind, cin, cout, k, options, cin + k);
    const x = qtensor(shape, shape.length + cout);
    const expected = outputSize === undefined ? m.forward(x) : m.forward(x, outputSize);
    const bindOptions = { scale: x.scale, zeroPoint: x.zeroPoint };
    if (outputSize !== undefined) bindOptions.outputSize = outputSize;
    const r = m.bind(shape, bindOptions);
    expect(r.inputShape).toEqual(shape);
    expect(r.outputShape).toEqual(expected.shape);
    expect(r.input.length).toBe(x.data.length);
    expect(r.output.length).toBe(expected.data.length);
    r.input.set(x.data);
    const y = r.run();
    expect(y).toBe(r.output);
    expect(Buffer.from(y).equals(Buffer.from(expected.data))).toBe(true);
    // Again, after a forward of another shape used the operator.
    m.forward(qtensor(shape.length === 3 ? [1, cin, 40] : [cin, 40], 5));
    expect(Buffer.from(r.run()).equals(Buffer.from(expected.data))).toBe(true);
    // forward into the caller's buffer (options.outputSize too).
    const out = new Uint8Array(expected.data.length).fill(1);
    const viaOut = m.forward(x, outputSize === undefined ? { out } : { out, outputSize });
    expect(viaOut.data).toBe(out);
    expect(viaOut.shape).toEqual(expected.shape);
    expect(viaOut.scale).toBe(expected.scale);
    expect(viaOut.zeroPoint).toBe(expected.zeroPoint);
    expect(Buffer.from(out).equals(Buffer.from(expected.data))).toBe(true);
    r.dispose();
    m.dispose();
  });

  test('two runners and forwards interleaved on one module, each with its own bytes', () => {
    const q = apis[label];
    const m = makeModule(q, 'ConvTranspose1d', 8, 8, 3, { stride: 2 }, 3);
    const xa = qtensor([1, 8, 10], 1), xb = qtensor([2, 8, 25], 2), xc = qtensor([8, 4], 3);
    const want = [m.forward(xa).data, m.forward(xb).data, m.forward(xc).data];
    const ra = m.bind(xa.shape, { scale: xa.scale, zeroPoint: xa.zeroPoint });
    const rb = m.bind(xb.shape, { scale: xb.scale, zeroPoint: xb.zeroPoint });
    // Same shape as ra, other input scale: its own requantization.
    const xa2 = { ...xa, scale: 0.011, zeroPoint: 3 };
    const ra2 = m.bind(xa2.shape, { scale: xa2.scale, zeroPoint: xa2.zeroPoint });
    const wantA2 = m.forward(xa2).data;
    ra.input.set(xa.data);
    rb.input.set(xb.data);
    ra2.input.set(xa2.data);
    for (let i = 0; i < 3; i++) {
      expect(Buffer.from(ra.run()).equals(Buffer.from(want[0]))).toBe(true);
      expect(Buffer.from(m.forward(xc).data).equals(Buffer.from(want[2]))).toBe(true);
      expect(Buffer.from(rb.run()).equals(Buffer.from(want[1]))).toBe(true);
      expect(Buffer.from(ra2.run()).equals(Buffer.from(wantA2))).toBe(true);
      expect(Buffer.from(ra.output).equals(Buffer.from(want[0]))).toBe(true);  // not overwritten by the others
    }
    m.dispose();
  });
});

describe('hostile callers (SIMD flavour)', () => {
  const q = () => apis.simd;

  test('memory growth between runs: fresh views, same bytes, old views write nothing', () => {
    const api = q();
    const m = makeModule(api, 'ConvTranspose1d', 16, 16, 3, { stride: 2, padding: 1, outputPadding: 1 });
    const x = qtensor([1, 16, 6], 9);
    const want = m.forward(x).data;
    const r = m.bind([1, 16, 6], { scale: x.scale, zeroPoint: x.zeroPoint });
    const oldInput = r.input;
    oldInput.set(x.data);
    expect(Buffer.from(r.run()).equals(Buffer.from(want))).toBe(true);
    const before = api.memoryStats().wasmBytes;
    const big = [];
    while (api.memoryStats().wasmBytes === before) big.push(new api.ConvTranspose1d(512, 512, 32, { bias: false }));
    expect(oldInput.length).toBe(0);  // detached by the growth
    oldInput[3] = 77;                  // writes nothing anywhere
    expect(r.input.length).toBe(96);
    expect(Buffer.from(r.input).equals(Buffer.from(x.data))).toBe(true);
    expect(Buffer.from(r.run()).equals(Buffer.from(want))).toBe(true);
    for (const b of big) b.dispose();
    m.dispose();
  });

  test('run, input and output after runner.dispose() or m.dispose(): the usual "disposed" Error', () => {
    const api = q();
    const m = makeModule(api, 'Conv1d', 4, 4, 3);
    const r1 = m.bind([1, 4, 8], { scale: 0.1, zeroPoint: 0 });
    const r2 = m.bind([1, 4, 8], { scale: 0.1, zeroPoint: 0 });
    r1.dispose();
    r1.dispose();  // idempotent
    expect(r1.disposed).toBe(true);
    expect(() => r1.run()).toThrow(new Error('Conv1d.run: the runner was disposed'));
    expect(() => r1.input).toThrow(/^Conv1d\.input: the runner was disposed$/);
    expect(r2.run().length).toBe(24);  // the other runner is untouched
    m.dispose();
    expect(r2.disposed).toBe(true);
    expect(() => r2.run()).toThrow(new Error('Conv1d.run: the module was disposed'));
    expect(() => r2.output).toThrow(/the module was disposed/);
    expect(() => m.bind([1, 4, 8], { scale: 0.1, zeroPoint: 0 })).toThrow('Conv1d.bind: the module was disposed');
    if (typeof Symbol.dispose === 'symbol') {
      const m2 = makeModule(api, 'Conv1d', 4, 4, 3);
      const r = m2.bind([1, 4, 8], { scale: 0.1, zeroPoint: 0 });
      r[Symbol.dispose]();
      expect(r.disposed).toBe(true);
      m2.dispose();
    }
  });

  test('no leak: runners are counted and their memory is freed by either dispose', () => {
    const api = q();
    const base = api.memoryStats();
    const m = makeModule(api, 'ConvTranspose1d', 8, 8, 3, { stride: 2 });
    const withModule = api.memoryStats();
    const runners = [1, 2, 3, 4, 5, 6].map((n) => m.bind([n, 8, 100], { scale: 0.1, zeroPoint: 1 }));
    expect(api.memoryStats().liveRunners).toBe(base.liveRunners + 6);
    for (const r of runners) r.run();
    for (const r of runners.slice(0, 3)) r.dispose();
    expect(api.memoryStats().liveRunners).toBe(base.liveRunners + 3);
    m.dispose();  // the other three end with the module
    const end = api.memoryStats();
    expect(end.liveRunners).toBe(base.liveRunners);
    expect(end.liveModules).toBe(base.liveModules);
    expect(end.heapBytesInUse).toBe(base.heapBytesInUse);
    expect(withModule.heapBytesInUse).toBeGreaterThan(base.heapBytesInUse);
    // A steady run allocates nothing.
    const m2 = makeModule(api, 'ConvTranspose1d', 8, 8, 3, { stride: 2 });
    const r = m2.bind([2, 8, 100], { scale: 0.1, zeroPoint: 1 });
    r.run();
    const steady = api.memoryStats().heapBytesInUse;
    for (let i = 0; i < 100; i++) r.run();
    expect(api.memoryStats().heapBytesInUse).toBe(steady);
    r.dispose();
    m2.dispose();
    expect(api.memoryStats().heapBytesInUse).toBe(base.heapBytesInUse);
  });

  test('bind refuses what forward refuses, with the same messages', () => {
    const api = q();
    const ct = makeModule(api, 'ConvTranspose1d', 4, 4, 3, { stride: 2 });
    const c1 = makeModule(api, 'Conv1d', 4, 4, 3);
    const cases = [
      [ct, [1, 5, 8], {}, undefined],          // channels
      [ct, [1, 4, 0], {}, undefined],          // length
      [ct, [1, 4, 8], { scale: 0 }, undefined],
      [ct, [1, 4, 8], { scale: -1 }, undefined],
      [ct, [1, 4, 8], { zeroPoint: 256 }, undefined],
      [ct, [1, 4, 8], {}, [3]],                // outputSize out of range
      [c1, [1, 4, 2], {}, undefined],          // shorter than the kernel
      [c1, [1, 4, 8], { zeroPoint: 1.5 }, undefined],
      [c1, [1, 4, 8], { scale: '1' }, undefined],
      [ct, [1, 4, 8, 1], {}, undefined],
      [ct, [1, 4, -8], {}, undefined],
      [ct, [1, 4, 8], {}, [1, 2, 3, 4]],
      [c1, [1, 4, 8], {}, 17],                 // Conv1d takes no outputSize
    ];
    for (const [m, shape, q8, outputSize] of cases) {
      const x = { data: new Uint8Array(Math.max(0, shape.reduce((a, b) => a * b, 1))), shape, scale: 0.1, zeroPoint: 0, ...q8 };
      let forwardError = null, bindError = null;
      try { m.forward(x, outputSize); } catch (e) { forwardError = e; }
      const options = { scale: x.scale, zeroPoint: x.zeroPoint };
      if (outputSize !== undefined) options.outputSize = outputSize;
      try { m.bind(shape, options); } catch (e) { bindError = e; }
      expect(forwardError).not.toBeNull();
      expect(bindError).not.toBeNull();
      expect([shape, bindError.constructor.name]).toEqual([shape, forwardError.constructor.name]);
      const normalise = (e) => e.message.replace(/\.(forward|bind):/, '.X:').replace(/input\.(scale|zeroPoint)|options\.(scale|zeroPoint)/, '$1$2')
        .replace(/input\.shape|inputShape/, 'SHAPE').replace(/ \(the input's scale\)/, '');
      expect(normalise(bindError)).toBe(normalise(forwardError));
    }
    expect(api.memoryStats().liveRunners).toBe(0);
    // Type errors of bind's own arguments.
    expect(() => ct.bind('1,4,8', { scale: 1, zeroPoint: 0 })).toThrow(TypeError);
    expect(() => ct.bind([1, 4, 8], 0.5)).toThrow(/ConvTranspose1d\.bind: options must be an object/);
    expect(() => ct.bind([1, 4, 8])).toThrow(/options\.scale \(the input's scale\) must be a number, got undefined \(or set the module's inputQuantization\)/);
    // inputQuantization is the default.
    ct.inputQuantization = { scale: 0.1, zeroPoint: 3 };
    const r = ct.bind([1, 4, 8]);
    const want = ct.forward({ data: r.input, shape: [1, 4, 8], scale: 0.1, zeroPoint: 3 }).data;
    expect(Buffer.from(r.run()).equals(Buffer.from(want))).toBe(true);
    ct.dispose();
    c1.dispose();
  });

  test('bind options and shape are read once; a getter that disposes the module is caught', () => {
    const api = q();
    const m = makeModule(api, 'ConvTranspose1d', 4, 4, 3, { stride: 2 });
    const reads = { scale: 0, zeroPoint: 0, outputSize: 0, shape: 0 };
    const options = {
      get scale() { reads.scale++; return reads.scale === 1 ? 0.1 : -5; },
      get zeroPoint() { reads.zeroPoint++; return reads.zeroPoint === 1 ? 2 : 999; },
      get outputSize() { reads.outputSize++; return reads.outputSize === 1 ? 17 : 1; },
    };
    const shape = [1, 4];
    Object.defineProperty(shape, 2, { get() { reads.shape++; return reads.shape === 1 ? 8 : 1e9; }, enumerable: true });
    const r = m.bind(shape, options);
    expect(reads).toEqual({ scale: 1, zeroPoint: 1, outputSize: 1, shape: 1 });
    expect(r.outputShape).toEqual([1, 4, 17]);
    r.input.fill(5);
    const want = m.forward({ data: new Uint8Array(32).fill(5), shape: [1, 4, 8], scale: 0.1, zeroPoint: 2 }, [17]).data;
    expect(Buffer.from(r.run()).equals(Buffer.from(want))).toBe(true);
    expect(reads).toEqual({ scale: 1, zeroPoint: 1, outputSize: 1, shape: 1 });
    const killer = { scale: 0.1, get zeroPoint() { m.dispose(); return 0; } };
    expect(() => m.bind([1, 4, 8], killer)).toThrow(new Error('ConvTranspose1d.bind: the module was disposed'));
    expect(r.disposed).toBe(true);
  });

  test('new weights or output scale after bind: run gives what forward gives, or forward\'s error', () => {
    const api = q();
    const m = makeModule(api, 'ConvTranspose1d', 8, 8, 3, { stride: 2, padding: 1 });
    const x = qtensor([2, 8, 12], 4);
    const r = m.bind(x.shape, { scale: x.scale, zeroPoint: x.zeroPoint });
    r.input.set(x.data);
    const first = Buffer.from(r.run());
    m.setWeightBias({ data: randomInt8(8 * 8 * 3, 99), scale: 0.015, zeroPoint: 0 }, null);
    const afterWeights = Buffer.from(r.run());
    expect(afterWeights.equals(Buffer.from(m.forward(x).data))).toBe(true);
    expect(afterWeights.equals(first)).toBe(false);
    m.scale = 0.5;
    expect(Buffer.from(r.run()).equals(Buffer.from(m.forward(x).data))).toBe(true);
    m.zeroPoint = 3;
    expect(Buffer.from(r.run()).equals(Buffer.from(m.forward(x).data))).toBe(true);
    // An output scale that makes the requantization scale a subnormal float32:
    // forward and run refuse it alike, and recover with a good scale.
    m.scale = 1e36;
    let forwardError = null;
    try { m.forward(x); } catch (e) { forwardError = e; }
    expect(forwardError).toBeInstanceOf(RangeError);
    expect(() => r.run()).toThrow(new RangeError(forwardError.message.replace('.forward:', '.run:')));
    m.scale = 0.05;
    expect(Buffer.from(r.run()).equals(Buffer.from(m.forward(x).data))).toBe(true);
    m.dispose();
    // Outputs no tap reaches (stride > kernel) hold the requantized bias:
    // a new zero point must reach them too, whichever call comes first.
    const sparse = makeModule(api, 'ConvTranspose1d', 4, 6, 2, { stride: 5 }, 8);
    const xs = qtensor([1, 4, 7], 8);
    const rs = sparse.bind(xs.shape, { scale: xs.scale, zeroPoint: xs.zeroPoint });
    rs.input.set(xs.data);
    const before = Buffer.from(rs.run());
    for (const zp of [7, 250, 120]) {
      sparse.zeroPoint = zp;
      const y = Buffer.from(rs.run());
      expect(y.equals(Buffer.from(sparse.forward(xs).data))).toBe(true);
      if (zp !== 120) expect(y.equals(before)).toBe(false);
    }
    sparse.dispose();
  });

  test('forward(x, { out }) refuses lying outs and leaves the instance working', () => {
    const api = q();
    const m = makeModule(api, 'ConvTranspose1d', 4, 4, 3, { stride: 2 });
    const x = qtensor([1, 4, 8], 6);
    const want = m.forward(x).data;
    const n = want.length;
    expect(() => m.forward(x, { out: new Uint8Array(n - 1) }))
      .toThrow(new RangeError(`ConvTranspose1d.forward: options.out has ${n - 1} elements but the output needs ${n}`));
    expect(() => m.forward(x, { out: new Uint8Array(n + 1) })).toThrow(RangeError);
    for (const bad of [new Int8Array(n), new Uint8ClampedArray(n), Array(n).fill(0), new DataView(new ArrayBuffer(n)), 'x', 5]) {
      expect(() => m.forward(x, { out: bad })).toThrow(/^ConvTranspose1d\.forward: options\.out must be a Uint8Array, got/);
    }
    // A Proxy of a Uint8Array is not one (its traps would run in the copy).
    expect(() => m.forward(x, { out: new Proxy(new Uint8Array(n), {}) })).toThrow(TypeError);
    // A length that lies.
    const liar = new Uint8Array(n - 2);
    Object.defineProperty(liar, 'length', { value: n });
    expect(() => m.forward(x, { out: liar })).toThrow(RangeError);
    // A detached buffer.
    const detached = new Uint8Array(n);
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    expect(() => m.forward(x, { out: detached })).toThrow(/options\.out is a Uint8Array on a detached ArrayBuffer/);
    // Views of the library's own memory (a runner's buffers).
    const r = m.bind(x.shape, { scale: x.scale, zeroPoint: x.zeroPoint });
    expect(() => m.forward(x, { out: r.output })).toThrow(/options\.out must not be a view of qconv-wasm's own memory/);
    const input = r.input;
    expect(() => m.forward(x, { out: new Uint8Array(input.buffer, input.byteOffset, n) })).toThrow(/own memory/);
    // Shared memory and a Node Buffer are the caller's own: fine.
    const shared = new Uint8Array(new SharedArrayBuffer(n + 8), 8, n);
    expect(m.forward(x, { out: shared }).data).toBe(shared);
    expect(Buffer.from(shared).equals(Buffer.from(want))).toBe(true);
    const buffer = Buffer.alloc(n);
    m.forward(x, { out: buffer });
    expect(buffer.equals(Buffer.from(want))).toBe(true);
    // An out getter that disposes the module.
    const m2 = makeModule(api, 'Conv1d', 4, 4, 3);
    expect(() => m2.forward(x, { get out() { m2.dispose(); return new Uint8Array(24); } }))
      .toThrow(new Error('Conv1d.forward: the module was disposed'));
    // The positional outputSize and an options object both work; a Conv1d refuses it either way.
    expect(Buffer.from(m.forward(x, [17]).data).equals(Buffer.from(m.forward(x, { outputSize: [1, 4, 17] }).data))).toBe(true);
    const c1 = makeModule(api, 'Conv1d', 4, 4, 3);
    expect(() => c1.forward(x, { outputSize: 5 })).toThrow(/outputSize is a ConvTranspose1d argument/);
    // An empty options object is no option; an unknown one is refused.
    expect(Buffer.from(m.forward(x, {}).data).equals(Buffer.from(want))).toBe(true);
    expect(() => m.forward(x, { output: new Uint8Array(n) }))
      .toThrow(new TypeError("ConvTranspose1d.forward: unknown option 'output' (known: outputSize, out)"));
    expect(() => m.bind(x.shape, { scale: 1, zeroPoint: 0, outputsize: 5 })).toThrow(/bind: unknown option 'outputsize'/);
    expect(Buffer.from(m.forward(x).data).equals(Buffer.from(want))).toBe(true);
    r.dispose();
    m.dispose();
    c1.dispose();
  });
});

test('runners dropped without dispose() are freed by the garbage collector', () => {
  const { execFileSync } = require('child_process');
  const path = require('path');
  const script = `
    const q = require(${JSON.stringify(path.join(__dirname, '..', '..'))});
    (async () => {
      await q.init();
      const m = new q.Conv1d(8, 8, 3);
      // The module's own scratch for the shape, and its runner table, first.
      for (let i = 0; i < 50; i++) m.bind([4, 8, 1000], { scale: 1, zeroPoint: 0 }).dispose();
      const base = q.memoryStats();
      for (let i = 0; i < 50; i++) m.bind([4, 8, 1000], { scale: 1, zeroPoint: 0 }).run();
      const held = q.memoryStats();
      for (let i = 0; i < 5; i++) { global.gc(); await new Promise((r) => setTimeout(r, 10)); }
      console.log(JSON.stringify({ base, held, end: q.memoryStats() }));
    })();
  `;
  const out = execFileSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8' });
  const { base, held, end } = JSON.parse(out.trim().split('\n').pop());
  expect(held.liveRunners).toBeGreaterThan(base.liveRunners);
  expect(end.liveRunners).toBe(base.liveRunners);
  expect(end.heapBytesInUse).toBe(base.heapBytesInUse);
});
