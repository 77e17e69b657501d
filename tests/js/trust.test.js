'use strict';
// Hostile callers (issue "Trust"): values that change when read again,
// getters that dispose the module mid-call, lying lengths, buffers resized or
// detached after they were checked, getters that throw, a full wasm heap
// (tests/js/full-heap.test.js), unbounded calibration work and non-canonical
// saved files. Each case says what it proves; every one failed before the
// JS layer read caller values once and the bindings stopped reading JS
// values from inside wasm.
const zlib = require('zlib');
const q = require('../..');
const { loadGoldenCases, runGoldenCase, constructModule, expectedOf, inputOf, weightOf, bytes } = require('./golden-cases');

const valid = loadGoldenCases().filter((c) => !c.expected_error);
const caseT = valid.find((c) => c.module === 'ConvTranspose1d' && c.bias && c.weight.qscheme === 'per_tensor' &&
  !c.output_size && c.input.shape.length === 3 && c.input.shape[0] > 0);
const goldenT = expectedOf(caseT).data;
const biasT = () => bytes(caseT.bias.data_b64, Float32Array);
const cout = caseT.params.out_channels;

beforeAll(() => q.init());

// A module of caseT with its weights and output quantization set.
function moduleT() {
  const m = constructModule(q, caseT);
  runGoldenCase(q, caseT, m);
  return m;
}

// The library still works: the same module (when given and alive) and a new
// one compute caseT's golden bytes, and no native module is left behind.
function expectIntact(m = null) {
  if (m !== null && !m.disposed) expect(m.forward(inputOf(caseT)).data).toEqual(goldenT);
  const fresh = moduleT();
  expect(fresh.forward(inputOf(caseT)).data).toEqual(goldenT);
  fresh.dispose();
}

function thrown(call) {
  try {
    call();
  } catch (e) {
    return e;
  }
  return null;
}

// An object whose properties are getters counting their reads; `onRead(key,
// count)` may return a replacement value (or do anything).
function counted(values, onRead = () => undefined) {
  const reads = {};
  const object = {};
  for (const key of Object.keys(values)) {
    reads[key] = 0;
    Object.defineProperty(object, key, {
      enumerable: true,
      get() {
        reads[key] += 1;
        const replaced = onRead(key, reads[key]);
        return replaced === undefined ? values[key] : replaced;
      },
    });
  }
  return { object, reads };
}

describe('item 2: a getter that disposes the module mid-call', () => {
  test('forward: input.scale disposes on its first read -> "disposed" Error, never native code on freed memory', () => {
    const m = moduleT();
    const live = q.memoryStats().liveModules;
    const { object, reads } = counted(inputOf(caseT), (key) => { if (key === 'scale') m.dispose(); });
    const e = thrown(() => m.forward(object));
    expect(e).toBeInstanceOf(Error);
    expect(e.message).toBe('ConvTranspose1d.forward: the module was disposed');
    expect(reads.scale).toBe(1);
    expect(q.memoryStats().liveModules).toBe(live - 1);
    expectIntact();
  });

  test('forward: a getter disposing on the second read of any property is never triggered', () => {
    for (const key of ['data', 'shape', 'scale', 'zeroPoint']) {
      const m = moduleT();
      const { object, reads } = counted(inputOf(caseT), (k, n) => { if (k === key && n === 2) m.dispose(); });
      expect(m.forward(object).data).toEqual(goldenT);
      expect(reads[key]).toBe(1);
      expect(m.disposed).toBe(false);
      m.dispose();
    }
    expectIntact();
  });

  test('setWeightBias: weight.scale / bias getters that dispose -> "disposed" Error, nothing leaked', () => {
    const live = q.memoryStats().liveModules;
    for (const key of ['data', 'scale', 'zeroPoint', 'shape']) {
      const m = moduleT();
      const { object } = counted(weightOf(caseT), (k) => { if (k === key) m.dispose(); });
      const e = thrown(() => m.setWeightBias(object, biasT()));
      expect(e && e.message).toBe('ConvTranspose1d.setWeightBias: the module was disposed');
    }
    // A bias array whose element getter disposes.
    const m = moduleT();
    const bias = Array.from(biasT());
    Object.defineProperty(bias, 0, { get() { m.dispose(); return 0.5; } });
    expect(thrown(() => m.setWeightBias(weightOf(caseT), bias)).message).toMatch(/setWeightBias: the module was disposed/);
    expect(q.memoryStats().liveModules).toBe(live);
    expectIntact();
  });

  test('setWeightBias: a bias Float32Array whose constructor[Symbol.species] disposes is copied without asking it', () => {
    for (const length of [cout, cout + 1]) {  // right length, and one too many (a slice/subarray would ask)
      const m = moduleT();
      let asked = 0;
      const bias = new Float32Array(length);
      bias.set(biasT().subarray(0, Math.min(length, cout)));
      bias.constructor = { get [Symbol.species]() { asked += 1; m.dispose(); return Float32Array; } };
      const e = thrown(() => m.setWeightBias(weightOf(caseT), bias));
      expect(asked).toBe(0);
      expect(m.disposed).toBe(false);
      if (length === cout) {
        expect(e).toBeNull();
        expect(m.forward(inputOf(caseT)).data).toEqual(goldenT);
      } else {
        expect(e).toBeInstanceOf(RangeError);
        expect(e.message).toBe(`ConvTranspose1d.setWeightBias: bias has ${length} elements but outChannels is ${cout}`);
      }
      m.dispose();
    }
    expectIntact();
  });

  test('outputLength and inputQuantization with disposing getters: "disposed" Error', () => {
    const m = moduleT();
    // outputSize is an array whose entry getter disposes.
    const outputSize = [];
    Object.defineProperty(outputSize, 0, { get() { m.dispose(); return 5; } });
    expect(thrown(() => m.outputLength(3, outputSize)).message).toBe('ConvTranspose1d.outputLength: the module was disposed');
    const n = moduleT();
    expect(thrown(() => { n.inputQuantization = { get scale() { n.dispose(); return 0.5; }, zeroPoint: 3 }; }).message)
      .toBe('ConvTranspose1d.inputQuantization: the module was disposed');
    expectIntact();
  });
});

describe('item 3: lying lengths', () => {
  const lie = (typed, claimed) => Object.defineProperty(typed, 'length', { value: claimed });
  class LyingUint8Array extends Uint8Array {
    get length() { return 10 ** 6; }
  }

  test('forward: an own length property claiming more is refused with the real count', () => {
    const m = moduleT();
    const x = inputOf(caseT);
    const real = x.data.length;
    const shortData = lie(x.data.slice(0, real - 4), real);
    const e = thrown(() => m.forward({ ...x, data: shortData }));
    expect(e).toBeInstanceOf(RangeError);
    expect(e.message).toBe(`ConvTranspose1d.forward: input.data has ${real - 4} elements but shape [${x.shape}] needs ${real}`);
    // Claiming fewer than it has: refused too (no "offset is out of bounds").
    const longData = lie(new Uint8Array(real + 8), real);
    expect(thrown(() => m.forward({ ...x, data: longData })).message)
      .toBe(`ConvTranspose1d.forward: input.data has ${real + 8} elements but shape [${x.shape}] needs ${real}`);
    // A subclass with a length getter.
    const sub = new LyingUint8Array(real - 1);
    expect(thrown(() => m.forward({ ...x, data: sub })).message).toMatch(new RegExp(`input.data has ${real - 1} elements`));
    expectIntact(m);
    m.dispose();
  });

  test('setWeightBias: weight data, bias and per-channel scales with lying lengths', () => {
    const m = moduleT();
    const w = weightOf(caseT);
    const n = w.data.length;
    expect(thrown(() => m.setWeightBias({ ...w, data: lie(new Int8Array(n - 1), n) }, biasT())).message)
      .toMatch(new RegExp(`^ConvTranspose1d.setWeightBias: weight data has ${n - 1} elements but shape .* needs ${n}$`));
    expect(thrown(() => m.setWeightBias(w, lie(new Float32Array(cout - 1), cout))).message)
      .toBe(`ConvTranspose1d.setWeightBias: bias has ${cout - 1} elements but outChannels is ${cout}`);
    const scales = lie(new Float64Array(cout - 1).fill(0.1), cout);
    expect(thrown(() => m.setWeightBias({ ...w, scale: scales, zeroPoint: 0 }, biasT())).message)
      .toBe(`ConvTranspose1d.setWeightBias: per-channel weight scales must have outChannels (${cout}) entries, got ${cout - 1}`);
    // The failed calls changed nothing.
    expectIntact(m);
    m.dispose();
  });

  test('a weight of 2^32 elements is reported as 4294967296 elements, not 0', () => {
    const m = moduleT();
    const huge = new Int8Array(2 ** 32);  // allocated lazily: never touched
    const e = thrown(() => m.setWeightBias({ ...weightOf(caseT), data: huge }, biasT()));
    expect(e).toBeInstanceOf(RangeError);
    expect(e.message).toMatch(/^ConvTranspose1d\.setWeightBias: weight data has 4294967296 elements but shape \[.*\] needs \d+$/);
    expectIntact(m);
    m.dispose();
  });
});

describe('item 4: buffers changed after they were checked', () => {
  test('a getter shrinking a resizable input buffer: refused on the final size, no stale bytes', () => {
    const m = moduleT();
    const x = inputOf(caseT);
    const n = x.data.length;
    for (const tracking of [true, false]) {
      const buffer = new ArrayBuffer(n, { maxByteLength: 2 * n });
      const data = tracking ? new Uint8Array(buffer) : new Uint8Array(buffer, 0, n);
      data.set(x.data);
      const input = { data, shape: x.shape, get scale() { buffer.resize(n - 3); return x.scale; }, zeroPoint: x.zeroPoint };
      const e = thrown(() => m.forward(input));
      expect(e).toBeInstanceOf(RangeError);
      // length-tracking: n - 3 elements; fixed-length: out of bounds, 0 elements.
      expect(e.message).toBe(`ConvTranspose1d.forward: input.data has ${tracking ? n - 3 : 0} elements but shape [${x.shape}] needs ${n}`);
    }
    // Growing it instead is fine when the final size matches the shape.
    const buffer = new ArrayBuffer(n - 5, { maxByteLength: 2 * n });
    const data = new Uint8Array(buffer);
    const input = {
      data, shape: x.shape, zeroPoint: x.zeroPoint,
      get scale() { buffer.resize(n); data.set(x.data); return x.scale; },
    };
    expect(m.forward(input).data).toEqual(goldenT);
    expectIntact(m);
    m.dispose();
  });

  test('a getter detaching the input or the weights after they were read: RangeError naming them', () => {
    const m = moduleT();
    const x = inputOf(caseT);
    const data = x.data.slice();
    const input = { data, shape: x.shape, scale: x.scale, get zeroPoint() { structuredClone(data.buffer, { transfer: [data.buffer] }); return x.zeroPoint; } };
    const e = thrown(() => m.forward(input));
    expect(e).toBeInstanceOf(RangeError);
    expect(e.message).toBe('ConvTranspose1d.forward: input.data is a Uint8Array on a detached ArrayBuffer (its bytes were transferred): it holds no data');
    const w = weightOf(caseT);
    const wdata = w.data.slice();
    const weight = { data: wdata, get scale() { structuredClone(wdata.buffer, { transfer: [wdata.buffer] }); return w.scale; }, zeroPoint: w.zeroPoint };
    const e2 = thrown(() => m.setWeightBias(weight, biasT()));
    expect(e2).toBeInstanceOf(RangeError);
    expect(e2.message).toMatch(/^ConvTranspose1d\.setWeightBias: weight\.data is an Int8Array on a detached ArrayBuffer/);
    expectIntact(m);
    m.dispose();
  });

  test('a detached per-channel scale array: RangeError naming weight.scale', () => {
    const m = moduleT();
    const scales = new Float64Array(cout).fill(0.01);
    structuredClone(scales.buffer, { transfer: [scales.buffer] });
    const e = thrown(() => m.setWeightBias({ ...weightOf(caseT), scale: scales, zeroPoint: 0 }, biasT()));
    expect(e).toBeInstanceOf(RangeError);
    expect(e.message).toBe('ConvTranspose1d.setWeightBias: weight.scale is a Float64Array on a detached ArrayBuffer (its values were transferred)');
    expectIntact(m);
    m.dispose();
  });

});

describe('item 5: no exception unwinds through wasm', () => {
  test('a bias whose own length getter throws: never consulted, no heap growth over 3000 calls', () => {
    const m = moduleT();
    const w = weightOf(caseT);
    const makeBias = () => {
      const b = biasT();
      Object.defineProperty(b, 'length', { get() { throw new Error('length getter'); } });
      return b;
    };
    m.setWeightBias(w, makeBias());  // sizes everything once
    const before = q.memoryStats().heapBytesInUse;
    for (let i = 0; i < 3000; i++) m.setWeightBias(w, makeBias());
    expect(q.memoryStats().heapBytesInUse).toBe(before);
    expectIntact(m);
    m.dispose();
  });

  test('getters that throw: the caller\'s exception propagates, from JS only, leaving nothing behind', () => {
    class Marker extends Error {}
    const m = moduleT();
    const x = inputOf(caseT);
    const w = weightOf(caseT);
    m.forward(x);
    const before = q.memoryStats().heapBytesInUse;
    const throwing = (values, key) => counted(values, (k) => { if (k === key) throw new Marker(key); }).object;
    for (let i = 0; i < 500; i++) {
      for (const key of ['data', 'shape', 'scale', 'zeroPoint']) {
        expect(thrown(() => m.forward(throwing(x, key)))).toBeInstanceOf(Marker);
        expect(thrown(() => m.setWeightBias(throwing(w, key), biasT()))).toBeInstanceOf(Marker);
      }
      const bias = Array.from(biasT());
      Object.defineProperty(bias, 1, { get() { throw new Marker('bias'); } });
      expect(thrown(() => m.setWeightBias(w, bias))).toBeInstanceOf(Marker);
    }
    expect(q.memoryStats().heapBytesInUse).toBe(before);
    expectIntact(m);
    m.dispose();
  });
});

describe('item 8: fromFloat bounds the calibration\'s work as forward bounds its own', () => {
  test('a 2-value batch whose output forward refuses is refused at once, not computed for minutes', () => {
    const options = {
      inChannels: 1, outChannels: 1024, kernelSize: 1, stride: 2 ** 25,
      weight: new Float32Array(1024).fill(0.5),
      calibration: [{ data: [0.5, 1], shape: [1, 1, 2] }],
    };
    const live = q.memoryStats().liveModules;
    const start = Date.now();
    const e = thrown(() => q.ConvTranspose1d.fromFloat(options));
    expect(Date.now() - start).toBeLessThan(5000);
    expect(e).toBeInstanceOf(RangeError);
    expect(e.message).toMatch(/^ConvTranspose1d\.fromFloat: calibration\[0\]: the output \[1, 1024, 33554433\] has 34359739392 values, more than a forward can produce/);
    expect(q.memoryStats().liveModules).toBe(live);
    // forward refuses the same shape at once too.
    const m = new q.ConvTranspose1d(1, 1024, 1, { stride: 2 ** 25 });
    expect(thrown(() => m.forward({ data: Uint8Array.of(1, 2), shape: [1, 1, 2], scale: 1, zeroPoint: 0 })))
      .toBeInstanceOf(RangeError);
    m.dispose();
    // One output channel fits: it is calibrated (the same stride and batch).
    const small = q.ConvTranspose1d.fromFloat({ ...options, outChannels: 1, weight: [0.5] });
    expect(small.inputQuantization).not.toBeNull();
    small.dispose();
  });
});

// Not a regression test (it passed before too): shared memory is a valid input.
describe('unusual but valid bytes', () => {
  test('load() from a SharedArrayBuffer-backed view: its own copy, unaffected by later writes', () => {
    const m = moduleT();
    const saved = m.save();
    const shared = new Uint8Array(new SharedArrayBuffer(saved.length));
    shared.set(saved);
    const loaded = q.ConvTranspose1d.load(shared);
    shared.fill(0);  // after the call: the module is its own
    expect(loaded.forward(inputOf(caseT)).data).toEqual(goldenT);
    loaded.dispose();
    m.dispose();
  });
});

describe('item 10: validated values are never read again', () => {
  const flipping = (first, then) => { let n = 0; return () => (++n === 1 ? first : then); };

  test('dequantize: q.scale 0.5 then -3 -> every output uses 0.5', () => {
    const next = flipping(0.5, -3);
    const tensor = { data: Uint8Array.of(10, 20), shape: [2], get scale() { return next(); }, zeroPoint: 4 };
    expect(Array.from(q.dequantize(tensor))).toEqual([3, 8]);
  });

  test('quantizePerTensor: shape entries that become strings come back as the numbers checked', () => {
    const shape = [];
    const first = flipping(2, '2');
    Object.defineProperty(shape, 0, { get: first, enumerable: true });
    const values = [1.25, -0.5];
    const t = q.quantizePerTensor(values, shape, 0.25, 3);
    expect(t.shape).toEqual([2]);
    expect(typeof t.shape[0]).toBe('number');
    expect(Array.from(t.data)).toEqual([8, 1]);
    // A values array whose entries change when read again: each read once.
    const reads = [0, 0];
    const changing = [];
    for (let i = 0; i < 2; i++) {
      Object.defineProperty(changing, i, { get() { reads[i] += 1; return reads[i] === 1 ? values[i] : 'x'; }, enumerable: true });
    }
    expect(Array.from(q.quantizePerTensor(changing, [2], 0.25, 3).data)).toEqual([8, 1]);
    expect(reads).toEqual([1, 1]);
  });

  test('inputQuantization and save(): flipping getters store the checked values; load() accepts the file', () => {
    const m = moduleT();
    const scale = flipping(0.5, -3);
    const zeroPoint = flipping(7, 'seven');
    m.inputQuantization = { get scale() { return scale(); }, get zeroPoint() { return zeroPoint(); } };
    expect(m.inputQuantization).toEqual({ scale: 0.5, zeroPoint: 7 });
    const loaded = q.ConvTranspose1d.load(m.save());
    expect(loaded.inputQuantization).toEqual({ scale: 0.5, zeroPoint: 7 });
    expect(Buffer.from(loaded.save()).equals(Buffer.from(m.save()))).toBe(true);
    loaded.dispose();
    m.dispose();
  });

  test('every public entry point reads each caller property exactly once', () => {
    const m = moduleT();
    const input = counted(inputOf(caseT));
    m.forward(input.object, undefined);
    expect(input.reads).toEqual({ data: 1, shape: 1, scale: 1, zeroPoint: 1 });
    const weight = counted(weightOf(caseT));
    m.setWeightBias(weight.object, biasT());
    expect(weight.reads).toEqual({ data: 1, shape: 1, scale: 1, zeroPoint: 1 });
    const t = counted({ data: Uint8Array.of(1), shape: [1], scale: 1, zeroPoint: 0 });
    q.dequantize(t.object);
    expect(t.reads).toEqual({ data: 1, shape: 1, scale: 1, zeroPoint: 1 });
    const iq = counted({ scale: 0.5, zeroPoint: 1 });
    m.inputQuantization = iq.object;
    expect(iq.reads).toEqual({ scale: 1, zeroPoint: 1 });
    const options = counted({ stride: 2, padding: 1, outputPadding: 1 });
    new q.ConvTranspose1d(2, 2, 3, options.object).dispose();
    expect(options.reads).toEqual({ stride: 1, padding: 1, outputPadding: 1 });
    const batch = counted({ data: [0.5, -1, 2, 0.25], shape: [1, 2, 2] });
    const ff = counted({
      inChannels: 2, outChannels: 2, kernelSize: 1, weight: [0.5, -0.5, 0.25, 1], bias: [0.1, 0.2],
      weightQScheme: 'per_channel', calibration: [batch.object],
    });
    q.ConvTranspose1d.fromFloat(ff.object).dispose();
    expect(ff.reads).toEqual({ inChannels: 1, outChannels: 1, kernelSize: 1, weight: 1, bias: 1, weightQScheme: 1, calibration: 1 });
    expect(batch.reads).toEqual({ data: 1, shape: 1 });
    m.dispose();
  });
});

describe('item 11: every error names the function and the argument', () => {
  test('messages a caller can act on', () => {
    const m = moduleT();
    const w = weightOf(caseT);
    const x = inputOf(caseT);
    const cases = [
      // was: BindingError "Cannot pass deleted object as a pointer of type NativeConv*"
      [() => { const d = moduleT(); d.forward({ ...x, get scale() { d.dispose(); return x.scale; } }); },
        Error, /^ConvTranspose1d\.forward: the module was disposed$/],
      // was: "RangeError: offset is out of bounds"
      [() => m.forward({ ...x, data: Object.defineProperty(new Uint8Array(x.data.length + 1), 'length', { value: x.data.length }) }),
        RangeError, /^ConvTranspose1d\.forward: input\.data has \d+ elements but shape/],
      // was: "weight zeroPoint must have as many entries as scale" (no module named)
      [() => m.setWeightBias({ ...w, scale: new Float64Array(cout).fill(0.1), zeroPoint: Object.defineProperty(new Float64Array(cout), 'length', { value: cout + 1 }) }, null),
        null, null],
      [() => m.setWeightBias({ ...w, scale: new Array(cout).fill(0.1), zeroPoint: new Array(cout - 1).fill(0) }, null),
        RangeError, new RegExp(`^ConvTranspose1d\\.setWeightBias: weight\\.zeroPoint has ${cout - 1} entries but weight\\.scale has ${cout}$`)],
      // range errors from the core name the method too
      [() => m.forward({ ...x, scale: -1 }), RangeError, /^ConvTranspose1d\.forward: input scale \(-1\) must be/],
      [() => m.setWeightBias({ ...w, scale: 0 }, null), RangeError, /^ConvTranspose1d\.setWeightBias: weight scale \(0\) must be/],
      [() => m.outputLength(0), RangeError, /^ConvTranspose1d\.outputLength: input length \(0\) must be >= 1$/],
    ];
    for (const [call, ErrorClass, pattern] of cases) {
      const e = thrown(call);
      if (ErrorClass === null) {  // accepted: the real lengths agree
        expect(e).toBeNull();
        continue;
      }
      expect(e).toBeInstanceOf(ErrorClass);
      expect(e.message).toMatch(pattern);
    }
    m.setWeightBias(w, biasT());
    expectIntact(m);
    m.dispose();
  });
});

describe('item 12: load() takes canonical encodings only', () => {
  // Sets a header field and fixes both CRCs (zlib's CRC-32, the format's).
  function edited(saved, change) {
    const b = saved.slice();
    const v = new DataView(b.buffer);
    change(v);
    v.setUint32(92, zlib.crc32(b.subarray(0, 92)), true);
    v.setUint32(b.length - 4, zlib.crc32(b.subarray(0, b.length - 4)), true);
    return b;
  }

  test('-0.0 in the input scale of a module without input quantization is refused', () => {
    const m = moduleT();
    const saved = m.save();
    expect(saved[11] & 4).toBe(0);
    expect(q.ConvTranspose1d.load(edited(saved, () => {})).forward(inputOf(caseT)).data).toEqual(goldenT);
    const e = thrown(() => q.ConvTranspose1d.load(edited(saved, (v) => v.setFloat64(64, -0, true))));
    expect(e).toBeInstanceOf(RangeError);
    expect(e.message).toBe('ConvTranspose1d.load: no input quantization is flagged, but its fields hold scale -0 and zero point 0 (must be 0)');
    expectIntact(m);
    m.dispose();
  });
});
