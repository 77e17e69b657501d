'use strict';
// Streams against hostile and wrong calls: a chunk that changes the input
// quantization, shape or batch, lying data lengths, getters that change or
// dispose the module, calls after flush/dispose. Each throws the class
// docs/API.md prescribes, naming the argument; afterwards the stream (when
// still open) gives the forward's bytes, and nothing leaks.
const q = require('../..');
const { rng, sliceChunk, concatOutputs } = require('./stream-helpers');

beforeAll(() => q.init());

function makeModule() {
  const m = new q.Conv1d(2, 3, 5, { padding: 2, dilation: 2 });
  const random = rng(5);
  const w = Int8Array.from({ length: 3 * 2 * 5 }, () => Math.floor(random() * 255) - 127);
  m.setWeightBias({ data: w, shape: [3, 2, 5], scale: 0.01, zeroPoint: 0 }, new Float32Array([0.1, -0.3, 0.2]));
  m.scale = 0.03;
  m.zeroPoint = 100;
  return m;
}

const L = 64;
const signal = Uint8Array.from({ length: 2 * L }, (_, i) => (i * 37 + 11) % 256);
const chunk = (at, l, extra = {}) => ({ data: sliceChunk(signal, 2, L, at, l), shape: [1, 2, l], scale: 0.05, zeroPoint: 128, ...extra });

// Pushes the signal's rest from `at` in chunks of 7 and flushes; the
// outputs concatenated with `outs`.
function finish(s, at, outs) {
  for (; at < L; at += 7) outs.push(s.push(chunk(at, Math.min(7, L - at))));
  outs.push(s.flush());
  return concatOutputs(outs, 3).data;
}

function wholeForward(m) {
  return m.forward({ data: signal, shape: [1, 2, L], scale: 0.05, zeroPoint: 128 }).data;
}

test('a chunk that changes the stream\'s quantization, batch, rank or channels is refused; the stream goes on', () => {
  const m = makeModule();
  const expected = wholeForward(m);
  const s = m.stream();
  const outs = [s.push(chunk(0, 10))];
  const refused = [
    [chunk(10, 5, { scale: 0.06 }), RangeError, /Conv1d\.stream\.push: chunk\.scale \(0\.06\) must be 0\.05/],
    [chunk(10, 5, { zeroPoint: 127 }), RangeError, /chunk\.zeroPoint \(127\) must be 128/],
    [{ ...chunk(10, 5), data: new Uint8Array(3 * 5), shape: [1, 3, 5] }, RangeError, /chunk has 3 channels, the module takes 2/],
    [{ ...chunk(10, 5), data: new Uint8Array(2 * 2 * 5), shape: [2, 2, 5] }, RangeError, /chunk batch \(2\) must be 1/],
    [{ ...chunk(10, 5), shape: [2, 5] }, RangeError, /chunk\.shape must be \[N, C, L\]/],
    [{ ...chunk(10, 5), data: new Uint8Array(9) }, RangeError, /chunk\.data has 9 elements but shape \[1,2,5\] needs 10/],
    [{ ...chunk(10, 5), data: new Int8Array(10) }, TypeError, /chunk\.data must be a Uint8Array/],
    [{ ...chunk(10, 5), shape: [10] }, RangeError, /chunk\.shape/],
    [chunk(10, 5, { scale: '0.05' }), TypeError, /chunk\.scale must be a number/],
    [chunk(10, 5, { zeroPoint: 1.5 }), TypeError, /chunk\.zeroPoint must be an integer/],
    [null, TypeError, /chunk must be a QTensor/],
    [42, TypeError, /chunk must be a QTensor/],
  ];
  for (const [value, error, pattern] of refused) {
    expect(() => s.push(value)).toThrow(error);
    expect(() => s.push(value)).toThrow(pattern);
  }
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  expect(() => s.push(proxy)).toThrow(TypeError);
  const buffer = new ArrayBuffer(10);
  structuredClone(buffer, { transfer: [buffer] });
  expect(() => s.push({ ...chunk(10, 5), data: new Uint8Array(buffer) })).toThrow(/detached/);
  expect(Buffer.compare(Buffer.from(finish(s, 10, outs)), Buffer.from(expected))).toBe(0);
  m.dispose();
});

test('the first chunk\'s quantization is checked like forward\'s input', () => {
  const m = makeModule();
  for (const [scale, zeroPoint, pattern] of [[0, 0, /chunk\.scale/], [NaN, 0, /chunk\.scale/], [1e-45, 0, /chunk\.scale/],
    [0.1, 256, /chunk\.zeroPoint/], [0.1, -1, /chunk\.zeroPoint/]]) {
    const s = m.stream();
    expect(() => s.push(chunk(0, 3, { scale, zeroPoint }))).toThrow(RangeError);
    expect(() => s.push(chunk(0, 3, { scale, zeroPoint }))).toThrow(pattern);
    // Nothing was fixed by the refused chunk: a valid one is the first.
    s.push(chunk(0, 3));
    s.dispose();
  }
  m.dispose();
});

test('each chunk field is read once, in order: getters that change give the value read first', () => {
  const m = makeModule();
  const expected = wholeForward(m);
  const s = m.stream();
  const reads = [];
  const sly = (at, l) => {
    const c = chunk(at, l);
    const counts = { data: 0, shape: 0, scale: 0, zeroPoint: 0 };
    return new Proxy(c, {
      get(target, key) {
        if (typeof key === 'string') reads.push(key);
        if (key in counts) counts[key]++;
        // A second read would see a different tensor.
        if (counts[key] > 1) return key === 'shape' ? [1, 2, l + 1] : key === 'scale' ? 9 : key === 'data' ? new Uint8Array(1) : 0;
        return target[key];
      },
    });
  };
  const outs = [];
  for (let at = 0; at < 20; at += 4) outs.push(s.push(sly(at, 4)));
  expect(reads.slice(0, 4)).toEqual(['data', 'shape', 'scale', 'zeroPoint']);
  expect(reads.length).toBe(5 * 4);
  expect(Buffer.compare(Buffer.from(finish(s, 20, outs)), Buffer.from(expected))).toBe(0);
  m.dispose();
});

test('a getter that disposes the module mid-push: Error, the stream is disposed with it, nothing leaks', () => {
  const before = q.memoryStats();
  const m = makeModule();
  const s = m.stream();
  s.push(chunk(0, 8));
  const evil = { ...chunk(8, 8) };
  Object.defineProperty(evil, 'zeroPoint', { get() { m.dispose(); return 128; } });
  expect(() => s.push(evil)).toThrow(/Conv1d\.stream\.push: the stream was disposed/);
  expect(s.disposed).toBe(true);
  expect(() => s.flush()).toThrow(Error);
  expect(() => m.stream()).toThrow(/Conv1d\.stream: the module was disposed/);
  const after = q.memoryStats();
  expect(after.liveModules).toBe(before.liveModules);
  expect(after.heapBytesInUse).toBe(before.heapBytesInUse);
});

test('push and flush after flush or dispose throw an Error; dispose is idempotent; Symbol.dispose', () => {
  const m = makeModule();
  const s = m.stream();
  s.push(chunk(0, 8));
  s.flush();
  expect(s.ended).toBe(true);
  expect(() => s.push(chunk(8, 8))).toThrow(/Conv1d\.stream\.push: the stream has ended/);
  expect(() => s.flush()).toThrow(/Conv1d\.stream\.flush: the stream has ended/);
  s.dispose();
  s.dispose();
  expect(s.disposed).toBe(true);
  expect(() => s.push(chunk(8, 8))).toThrow(/disposed/);
  const t = m.stream();
  if (typeof Symbol.dispose === 'symbol') {
    t[Symbol.dispose]();
    expect(t.disposed).toBe(true);
  } else {
    t.dispose();
  }
  expect(() => t.flush()).toThrow(/disposed/);
  // The module's dispose ends every open stream.
  const u = m.stream();
  m.dispose();
  expect(u.disposed).toBe(true);
  expect(() => u.push(chunk(0, 1))).toThrow(/disposed/);
});

test('the stream is a snapshot: weights and output quantization changed mid-stream do not reach it', () => {
  const m = makeModule();
  const expected = wholeForward(m);
  const s = m.stream();
  const outs = [s.push(chunk(0, 30))];
  m.setWeightBias({ data: new Int8Array(30).fill(5), shape: [3, 2, 5], scale: 0.5, zeroPoint: 0 }, null);
  m.scale = 0.9;
  m.zeroPoint = 3;
  const data = finish(s, 30, outs);
  expect(outs[outs.length - 1].scale).toBe(0.03);
  expect(outs[outs.length - 1].zeroPoint).toBe(100);
  expect(Buffer.compare(Buffer.from(data), Buffer.from(expected))).toBe(0);
  expect(Buffer.compare(Buffer.from(wholeForward(m)), Buffer.from(expected))).not.toBe(0);
  m.dispose();
});

test('chunk views with offsets and SharedArrayBuffer data stream exactly', () => {
  const m = makeModule();
  const expected = wholeForward(m);
  const s = m.stream();
  const outs = [];
  for (let at = 0; at < L; at += 9) {
    const l = Math.min(9, L - at);
    const own = sliceChunk(signal, 2, L, at, l);
    const backing = at % 2 === 0 ? new SharedArrayBuffer(own.length + 5) : new ArrayBuffer(own.length + 5);
    const view = new Uint8Array(backing, 3, own.length);
    view.set(own);
    outs.push(s.push({ data: view, shape: [1, 2, l], scale: 0.05, zeroPoint: 128 }));
  }
  outs.push(s.flush());
  expect(Buffer.compare(Buffer.from(concatOutputs(outs, 3).data), Buffer.from(expected))).toBe(0);
  m.dispose();
});

test('many streams opened, used, refused, flushed and disposed leak nothing', () => {
  const before = q.memoryStats();
  const m = makeModule();
  for (let i = 0; i < 50; i++) {
    const s = m.stream();
    s.push(chunk(0, 20));
    if (i % 3 === 0) expect(() => s.push(chunk(20, 3, { scale: 1 }))).toThrow(RangeError);
    if (i % 2 === 0) s.flush();
    else s.dispose();
  }
  m.stream();  // left open: disposed with the module
  m.dispose();
  const after = q.memoryStats();
  expect(after.liveModules).toBe(before.liveModules);
  expect(after.heapBytesInUse).toBe(before.heapBytesInUse);
});

test('flush with nothing pushed: the forward\'s RangeError for an empty input', () => {
  const m = makeModule();
  expect(() => m.stream().flush()).toThrow(/Conv1d\.stream\.flush: input length \(0\) must be >= 1/);
  m.dispose();
});

test('random chunk sizes are reproducible: the generator is seeded', () => {
  const a = rng(3), b = rng(3);
  const xs = Array.from({ length: 5 }, () => a());
  expect(Array.from({ length: 5 }, () => b())).toEqual(xs);
  expect(new Set(xs).size).toBe(5);
});
