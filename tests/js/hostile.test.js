'use strict';
// Hostile calls, generated: every entry point against wrong types, odd
// numbers, bad shapes, mismatched lengths, impossible outputSize, detached
// buffers, sizes beyond wasm memory and calls after dispose(). Each call
// must throw the class docs/API.md prescribes (TypeError/RangeError; a plain Error
// after dispose) with a message naming the argument; afterwards a golden case
// still gives exactly its bytes on the same instance and on a new one.
// Unusual but valid inputs (views with offsets, SharedArrayBuffer-backed
// arrays) must compute exactly instead.
const q = require('../..');
const { loadGoldenCases, runGoldenCase, constructModule, expectedOf, inputOf, weightOf, bytes } = require('./golden-cases');

const valid = loadGoldenCases().filter((c) => !c.expected_error);
const caseT = valid.find((c) => c.module === 'ConvTranspose1d' && c.bias && c.weight.qscheme === 'per_tensor' &&
  !c.output_size && c.input.shape.length === 3 && c.input.shape[0] > 0);
const caseC = valid.find((c) => c.module === 'Conv1d' && c.bias && c.input.shape.length === 3 && c.input.shape[0] > 0);

beforeAll(() => q.init());

// ---- hostile values ----------------------------------------------------------
const NOT_NUMBERS = [['"3"', '3'], ['{}', {}], ['null', null], ['3n', 3n], ['true', true],
  ['Symbol()', Symbol('s')], ['a function', () => 3], ['[3]', [3]], ['a Date', new Date(0)]];
const NOT_INTEGERS = [['NaN', NaN], ['Infinity', Infinity], ['-Infinity', -Infinity], ['2.5', 2.5], ['1e-300', 1e-300]];
const BAD_SCALES = [['0', 0], ['-1', -1], ['-0', -0], ['NaN', NaN], ['Infinity', Infinity], ['-Infinity', -Infinity],
  ['1e-45 (subnormal as float32)', 1e-45], ['1e-39', 1e-39], ['1e39 (inf as float32)', 1e39], ['Number.MIN_VALUE', Number.MIN_VALUE]];
const NOT_SCALES = [['"0.1"', '0.1'], ['null', null], ['1n', 1n], ['{}', {}], ['[0.1] for a scalar', undefined]];

const calls = [];  // { what, target: 'T' | 'C' | 'none', call(m), error, pattern }
const add = (what, target, call, error, pattern) => calls.push({ what, target, call, error, pattern });

// ---- constructors ------------------------------------------------------------
const SIZE_ARGS = [['inChannels', 1], ['outChannels', 1], ['kernelSize', 1]];
const SIZE_OPTIONS = [['stride', 1], ['padding', 0], ['outputPadding', 0], ['dilation', 1], ['groups', 1]];
for (const [cls, name] of [['ConvTranspose1d', 'T'], ['Conv1d', 'C']]) {
  const make = (...args) => new q[cls](...args);
  SIZE_ARGS.forEach(([arg, min], index) => {
    const args = (v) => { const a = [4, 4, 3]; a[index] = v; return a; };
    // ([3] is PyTorch's one-element tuple: valid.)
    for (const [label, v] of [...NOT_NUMBERS.filter(([l]) => l !== '[3]'), ...NOT_INTEGERS]) {
      add(`new ${cls}: ${arg} ${label}`, 'none', () => make(...args(v)), TypeError, new RegExp(arg));
    }
    for (const v of [min - 1, -5, 2 ** 31, 2 ** 53]) {
      add(`new ${cls}: ${arg} ${v}`, 'none', () => make(...args(v)), RangeError, new RegExp(arg));
    }
  });
  for (const [option, min] of SIZE_OPTIONS) {
    if (cls === 'Conv1d' && option === 'outputPadding') {
      add(`new Conv1d: option outputPadding`, 'none', () => make(4, 4, 3, { outputPadding: 1 }), TypeError, /outputPadding/);
      continue;
    }
    for (const [label, v] of [...NOT_NUMBERS.filter(([l]) => l !== '[3]'), ...NOT_INTEGERS]) {
      // Conv1d's padding takes strings ('same', 'valid'): another one is a wrong value.
      const error = cls === 'Conv1d' && option === 'padding' && typeof v === 'string' ? RangeError : TypeError;
      add(`new ${cls}: ${option} ${label}`, 'none', () => make(4, 4, 3, { [option]: v }), error, new RegExp(option));
    }
    for (const v of [min - 1, -7, 2 ** 31]) {
      add(`new ${cls}: ${option} ${v}`, 'none', () => make(4, 4, 3, { [option]: v }), RangeError, new RegExp(option));
    }
  }
  for (const [label, v] of [['"yes"', 'yes'], ['1', 1], ['null', null], ['{}', {}]]) {
    add(`new ${cls}: bias ${label}`, 'none', () => make(4, 4, 3, { bias: v }), TypeError, /bias/);
  }
  for (const [label, v, error] of [['1', 1, TypeError], ['{}', {}, TypeError], ['"circular"', 'circular', RangeError],
    ['"replicate"', 'replicate', RangeError], ['"ZEROS"', 'ZEROS', RangeError]]) {
    add(`new ${cls}: paddingMode ${label}`, 'none', () => make(4, 4, 3, { paddingMode: v }), error, /paddingMode/);
  }
  add(`new ${cls}: options null`, 'none', () => make(4, 4, 3, null), TypeError, /stride|options|null/);
  add(`new ${cls}: unknown option`, 'none', () => make(4, 4, 3, { kernel: 3 }), TypeError, /unknown option 'kernel'/);
  add(`new ${cls}: groups 3 with 4 channels`, 'none', () => make(4, 6, 3, { groups: 3 }), RangeError, /groups/);
  add(`new ${cls}: weight beyond wasm memory`, 'none', () => make(65536, 65536, 64), RangeError, /wasm memory/);
}

// ---- setWeightBias -----------------------------------------------------------
const w = () => weightOf(caseT);
const cout = caseT.params.out_channels;
for (const [label, v] of [['null', null], ['undefined', undefined], ['"w"', 'w'], ['3', 3], ['[]', []], ['an Int8Array', new Int8Array(4)]]) {
  add(`setWeightBias: weight ${label}`, 'T', (m) => m.setWeightBias(v, null), TypeError, /weight/);
}
for (const [label, make] of [['Uint8Array', (n) => new Uint8Array(n)], ['Int16Array', (n) => new Int16Array(n)],
  ['Float32Array', (n) => new Float32Array(n)], ['Uint8ClampedArray', (n) => new Uint8ClampedArray(n)],
  ['plain array', (n) => new Array(n).fill(0)], ['DataView', (n) => new DataView(new ArrayBuffer(n))],
  ['ArrayBuffer', (n) => new ArrayBuffer(n)], ['string', () => 'weights']]) {
  add(`setWeightBias: weight.data ${label}`, 'T', (m) => m.setWeightBias({ ...w(), data: make(w().data.length) }, null), TypeError, /weight\.data/);
}
for (const [label, v] of BAD_SCALES) {
  add(`setWeightBias: weight.scale ${label}`, 'T', (m) => m.setWeightBias({ ...w(), scale: v }, null), RangeError, /weight scale/);
}
for (const [label, v] of NOT_SCALES.filter(([, x]) => x !== undefined)) {
  add(`setWeightBias: weight.scale ${label}`, 'T', (m) => m.setWeightBias({ ...w(), scale: v }, null), TypeError, /weight\.scale/);
}
for (const [label, v, error] of [['128', 128, RangeError], ['-129', -129, RangeError], ['1e9', 1e9, RangeError],
  ['0.5', 0.5, TypeError], ['"0"', '0', TypeError], ['null', null, TypeError], ['0n', 0n, TypeError], ['NaN', NaN, TypeError]]) {
  add(`setWeightBias: weight.zeroPoint ${label}`, 'T', (m) => m.setWeightBias({ ...w(), zeroPoint: v }, null), error, /zeroPoint/);
}
add('setWeightBias: weight data one short', 'T', (m) => m.setWeightBias({ ...w(), data: w().data.subarray(1) }, null), RangeError, /weight[ .]data/);
add('setWeightBias: weight data one long', 'T', (m) => m.setWeightBias({ ...w(), data: new Int8Array(w().data.length + 1) }, null), RangeError, /weight[ .]data/);
add('setWeightBias: weight.shape wrong', 'T', (m) => m.setWeightBias({ ...w(), shape: [1, 1, 1] }, null), RangeError, /weight\.shape/);
add('setWeightBias: weight.shape a string', 'T', (m) => m.setWeightBias({ ...w(), shape: 'abc' }, null), TypeError, /weight\.shape/);
add('setWeightBias: detached weight data', 'T', (m) => {
  const data = w().data.slice();
  structuredClone(data.buffer, { transfer: [data.buffer] });
  m.setWeightBias({ ...w(), data }, null);
}, RangeError, /weight[ .]data/);
for (const n of [0, 1, cout + 1]) {
  if (n === cout) continue;
  add(`setWeightBias: ${n} per-channel scales`, 'T', (m) => m.setWeightBias({ ...w(), scale: new Array(n).fill(0.1), zeroPoint: new Array(n).fill(0) }, null), RangeError, /scales|weight\.scale|outChannels/);
}
add('setWeightBias: per-channel scale NaN', 'T', (m) => m.setWeightBias({ ...w(), scale: new Array(cout).fill(NaN), zeroPoint: new Array(cout).fill(0) }, null), RangeError, /weight scale\[0\]/);
add('setWeightBias: per-channel scale as string', 'T', (m) => m.setWeightBias({ ...w(), scale: new Array(cout).fill('0.1'), zeroPoint: new Array(cout).fill(0) }, null), TypeError, /weight\.scale\[0\]/);
for (const [label, v] of [['Float64Array', new Float64Array(cout)], ['Int8Array', new Int8Array(cout)], ['"b"', 'b'],
  ['{}', {}], ['3', 3], ['true', true]]) {
  add(`setWeightBias: bias ${label}`, 'T', (m) => m.setWeightBias(w(), v), TypeError, /bias/);
}
for (const [label, v] of [['one short', new Float32Array(cout - 1)], ['one long', new Float32Array(cout + 1)],
  ['NaN', new Float32Array(cout).fill(NaN)], ['Infinity', new Float32Array(cout).fill(Infinity)],
  ['1e39 in an array', new Array(cout).fill(1e39)]]) {
  add(`setWeightBias: bias ${label}`, 'T', (m) => m.setWeightBias(w(), v), RangeError, /bias/);
}

// ---- output quantization -----------------------------------------------------
for (const [label, v] of BAD_SCALES) add(`scale = ${label}`, 'T', (m) => { m.scale = v; }, RangeError, /scale/);
for (const [label, v] of [['"1"', '1'], ['null', null], ['1n', 1n], ['{}', {}], ['undefined', undefined]]) {
  add(`scale = ${label}`, 'T', (m) => { m.scale = v; }, TypeError, /scale/);
}
for (const [label, v, error] of [['256', 256, RangeError], ['-1', -1, RangeError], ['2**31', 2 ** 31, RangeError],
  ['1.5', 1.5, TypeError], ['NaN', NaN, TypeError], ['"0"', '0', TypeError], ['null', null, TypeError], ['0n', 0n, TypeError]]) {
  add(`zeroPoint = ${label}`, 'T', (m) => { m.zeroPoint = v; }, error, /zeroPoint/);
}

// ---- forward -----------------------------------------------------------------
const x = () => inputOf(caseT);
for (const [label, v] of [['null', null], ['undefined', undefined], ['"x"', 'x'], ['3', 3], ['[]', []], ['a Uint8Array', new Uint8Array(4)]]) {
  add(`forward: input ${label}`, 'T', (m) => m.forward(v), TypeError, /input/);
}
for (const [label, make] of [['Int8Array', (n) => new Int8Array(n)], ['Uint16Array', (n) => new Uint16Array(n)],
  ['Float32Array', (n) => new Float32Array(n)], ['Uint8ClampedArray', (n) => new Uint8ClampedArray(n)],
  ['plain array', (n) => new Array(n).fill(0)], ['DataView', (n) => new DataView(new ArrayBuffer(n))],
  ['ArrayBuffer', (n) => new ArrayBuffer(n)], ['Buffer-like object', (n) => ({ length: n })]]) {
  add(`forward: input.data ${label}`, 'T', (m) => m.forward({ ...x(), data: make(x().data.length) }), TypeError, /input\.data/);
}
const [N, C, L] = caseT.input.shape;
for (const [label, shape, error] of [
  ['a string', 'abc', TypeError], ['null', null, TypeError], ['{}', {}, TypeError],
  ['rank 1', [N * C * L], RangeError], ['rank 4', [1, N, C, L], RangeError], ['rank 0', [], RangeError],
  ['N -1', [-1, C, L], RangeError], ['C -1', [N, -1, L], RangeError], ['L -1', [N, C, -1], RangeError],
  ['N 1.5', [1.5, C, L], TypeError], ['L NaN', [N, C, NaN], TypeError], ['C "4"', [N, String(C), L], TypeError],
  ['L Infinity', [N, C, Infinity], TypeError], ['N 2**53', [2 ** 53, C, L], RangeError],
  ['a missing entry', [N, , L], TypeError],  // eslint-disable-line no-sparse-arrays
  ['C + 1', [N, C + 1, L], RangeError], ['L + 1', [N, C, L + 1], RangeError],
]) {
  add(`forward: input.shape ${label}`, 'T', (m) => m.forward({ ...x(), shape }), error, /input|shape|channels|length/);
}
add('forward: data one element short', 'T', (m) => m.forward({ ...x(), data: x().data.subarray(1) }), RangeError, /input\.data/);
add('forward: data one element long', 'T', (m) => m.forward({ ...x(), data: new Uint8Array(x().data.length + 1) }), RangeError, /input\.data/);
add('forward: wrong channel count with matching data', 'T', (m) => m.forward({ ...x(), data: new Uint8Array(N * (C + 1) * L), shape: [N, C + 1, L] }), RangeError, /input channels/);
add('forward: L = 0', 'T', (m) => m.forward({ ...x(), data: new Uint8Array(0), shape: [N, C, 0] }), RangeError, /input length/);
add('forward: detached input', 'T', (m) => {
  const data = x().data.slice();
  structuredClone(data.buffer, { transfer: [data.buffer] });
  m.forward({ ...x(), data });
}, RangeError, /input\.data/);
for (const [label, v] of BAD_SCALES) add(`forward: input.scale ${label}`, 'T', (m) => m.forward({ ...x(), scale: v }), RangeError, /input scale/);
for (const [label, v] of [['"1"', '1'], ['null', null], ['1n', 1n], ['undefined', undefined]]) {
  add(`forward: input.scale ${label}`, 'T', (m) => m.forward({ ...x(), scale: v }), TypeError, /input\.scale/);
}
for (const [label, v, error] of [['256', 256, RangeError], ['-1', -1, RangeError], ['0.5', 0.5, TypeError],
  ['NaN', NaN, TypeError], ['"0"', '0', TypeError], ['undefined', undefined, TypeError]]) {
  add(`forward: input.zeroPoint ${label}`, 'T', (m) => m.forward({ ...x(), zeroPoint: v }), error, /input\.?zeroPoint|input zeroPoint/);
}
for (const [label, v, error] of [['"big"', 'big', TypeError], ['5 (a bare number)', 5, TypeError], ['{ outputSize: {} }', { outputSize: {} }, TypeError],
  ['{ outputSise: [5] } (an unknown option)', { outputSise: [5] }, TypeError],
  ['[2.5]', [2.5], TypeError], ['["5"]', ['5'], TypeError], ['[NaN]', [NaN], TypeError], ['[0]', [0], RangeError],
  ['[-3]', [-3], RangeError], ['[100000]', [100000], RangeError], ['[1, 5]', [1, 5], RangeError],
  ['[1, 2, 3, 4]', [1, 2, 3, 4], RangeError], ['[2**40]', [2 ** 40], RangeError]]) {
  add(`forward: outputSize ${label}`, 'T', (m) => m.forward(x(), v), error, /outputSize/);
}
add('forward: input beyond wasm memory', 'T', (m) => m.forward({ ...x(), data: new Uint8Array(0), shape: [2 ** 20, C, 2 ** 20] }), RangeError, /input/);
add('forward: output beyond wasm memory', 'T', (m) => m.forward({ data: new Uint8Array(C * 4), shape: [1, C, 4] }.data && { ...x(), data: new Uint8Array(C * 4), shape: [1, C, 4] }, [2 ** 31]), RangeError, /outputSize/);
add('Conv1d forward: outputSize given', 'C', (m) => m.forward(inputOf(caseC), [5]), TypeError, /outputSize/);

// ---- outputLength ------------------------------------------------------------
for (const [label, v, error] of [['0', 0, RangeError], ['-4', -4, RangeError], ['"5"', '5', TypeError], ['2.5', 2.5, TypeError],
  ['NaN', NaN, TypeError], ['null', null, TypeError], ['5n', 5n, TypeError], ['2**31', 2 ** 31, RangeError]]) {
  add(`outputLength(${label})`, 'T', (m) => m.outputLength(v), error, /inputLength|input length/);
}

// ---- quantizePerTensor / dequantize --------------------------------------------
for (const [label, values, shape, scale, zp, error, pattern] of [
  ['values null', null, [1], 0.1, 0, TypeError, /values/],
  ['values Uint8Array', new Uint8Array(2), [2], 0.1, 0, TypeError, /values/],
  ['values Float64Array', new Float64Array(2), [2], 0.1, 0, TypeError, /values/],
  ['values with a string', [1, '2'], [2], 0.1, 0, TypeError, /values\[1\]/],
  ['shape mismatch', new Float32Array(3), [2], 0.1, 0, RangeError, /values has 3 elements/],
  ['shape fractional', new Float32Array(2), [1.5], 0.1, 0, TypeError, /shape/],
  ['shape negative', new Float32Array(2), [-2], 0.1, 0, RangeError, /shape/],
  ['scale 0', new Float32Array(2), [2], 0, 0, RangeError, /scale/],
  ['scale NaN', new Float32Array(2), [2], NaN, 0, RangeError, /scale/],
  ['scale 1e-40', new Float32Array(2), [2], 1e-40, 0, RangeError, /scale/],
  ['scale "0.1"', new Float32Array(2), [2], '0.1', 0, TypeError, /scale/],
  ['zeroPoint 256', new Float32Array(2), [2], 0.1, 256, RangeError, /zeroPoint/],
  ['zeroPoint -1', new Float32Array(2), [2], 0.1, -1, RangeError, /zeroPoint/],
  ['zeroPoint 0.5', new Float32Array(2), [2], 0.1, 0.5, TypeError, /zeroPoint/],
]) {
  add(`quantizePerTensor: ${label}`, 'none', () => q.quantizePerTensor(values, shape, scale, zp), error, pattern);
}
for (const [label, tensor, error, pattern] of [
  ['null', null, TypeError, /q/],
  ['data Int8Array', { data: new Int8Array(2), shape: [2], scale: 0.1, zeroPoint: 0 }, TypeError, /q\.data/],
  ['length mismatch', { data: new Uint8Array(3), shape: [2], scale: 0.1, zeroPoint: 0 }, RangeError, /q\.data/],
  ['scale -1', { data: new Uint8Array(2), shape: [2], scale: -1, zeroPoint: 0 }, RangeError, /scale/],
  ['zeroPoint 300', { data: new Uint8Array(2), shape: [2], scale: 1, zeroPoint: 300 }, RangeError, /zeroPoint/],
  ['shape null', { data: new Uint8Array(2), shape: null, scale: 1, zeroPoint: 0 }, TypeError, /shape/],
]) {
  add(`dequantize: ${label}`, 'none', () => q.dequantize(tensor), error, pattern);
}

// ---- after dispose() (docs/API.md: a plain Error) -------------------------------------
for (const [label, call] of [['forward', (m) => m.forward(x())], ['setWeightBias', (m) => m.setWeightBias(w(), null)],
  ['scale get', (m) => m.scale], ['scale set', (m) => { m.scale = 1; }], ['zeroPoint get', (m) => m.zeroPoint],
  ['zeroPoint set', (m) => { m.zeroPoint = 1; }], ['weight()', (m) => m.weight()], ['bias()', (m) => m.bias()],
  ['outputLength', (m) => m.outputLength(5)]]) {
  add(`after dispose: ${label}`, 'disposed', call, Error, /disposed/);
}

// ---- the suite ---------------------------------------------------------------
test('at least 300 hostile calls are generated', () => {
  expect(calls.length).toBeGreaterThanOrEqual(300);
});

const goldenT = expectedOf(caseT).data;
const goldenC = expectedOf(caseC).data;

describe.each(calls.map((c) => [c.what, c]))('%s', (what, c) => {
  test('throws the right error class, naming the argument, and nothing else changes', () => {
    let m = null;
    if (c.target === 'T' || c.target === 'disposed') {
      m = constructModule(q, caseT);
      runGoldenCase(q, caseT, m);
      if (c.target === 'disposed') m.dispose();
    } else if (c.target === 'C') {
      m = constructModule(q, caseC);
      runGoldenCase(q, caseC, m);
    }
    let error = null;
    try { c.call(m); } catch (e) { error = e; }
    expect(error).not.toBeNull();
    expect(error.constructor).toBe(c.error);
    expect(error.message).toMatch(c.pattern);
    if (c.target === 'T') expect(m.forward(inputOf(caseT)).data).toEqual(goldenT);       // same instance
    if (c.target === 'C') expect(m.forward(inputOf(caseC)).data).toEqual(goldenC);
    if (m && !m.disposed) m.dispose();
    expect(runGoldenCase(q, caseT).data).toEqual(goldenT);                                // a new instance
  });
});

// ---- unusual but valid ---------------------------------------------------------
describe('unusual but valid inputs compute exactly', () => {
  const offsetView = (typed, Type, offset) => {
    const buffer = new ArrayBuffer(offset + typed.byteLength + 16);
    const view = new Type(buffer, offset, typed.length);
    view.set(typed);
    return view;
  };
  test('input and weight views at an offset into a larger buffer', () => {
    const m = constructModule(q, caseT);
    const wt = weightOf(caseT);
    m.setWeightBias({ ...wt, data: offsetView(wt.data, Int8Array, 7) }, offsetView(bytes(caseT.bias.data_b64, Float32Array), Float32Array, 12));
    m.scale = caseT.output_scale;
    m.zeroPoint = caseT.output_zero_point;
    expect(m.forward({ ...x(), data: offsetView(x().data, Uint8Array, 5) }).data).toEqual(goldenT);
    m.dispose();
  });
  test('SharedArrayBuffer-backed input, weights and bias', () => {
    const shared = (typed, Type) => {
      const view = new Type(new SharedArrayBuffer(typed.byteLength), 0, typed.length);
      view.set(typed);
      return view;
    };
    const m = constructModule(q, caseT);
    const wt = weightOf(caseT);
    m.setWeightBias({ ...wt, data: shared(wt.data, Int8Array) }, shared(bytes(caseT.bias.data_b64, Float32Array), Float32Array));
    m.scale = caseT.output_scale;
    m.zeroPoint = caseT.output_zero_point;
    expect(m.forward({ ...x(), data: shared(x().data, Uint8Array) }).data).toEqual(goldenT);
    m.dispose();
  });
  test('the output is the caller\'s: changing it does not affect the next forward', () => {
    const m = constructModule(q, caseT);
    runGoldenCase(q, caseT, m);
    const first = m.forward(x());
    first.data.fill(7);
    expect(m.forward(x()).data).toEqual(goldenT);
    m.dispose();
  });
});
