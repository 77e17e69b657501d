'use strict';
// Every rule of docs/SEMANTICS.md §0 that a caller can break: the error class, a
// message naming the argument and the value, and a module that still works
// afterwards (the same instance reproduces a golden case bit for bit).
const q = require('../..');
const { loadGoldenCases, runGoldenCase, constructModule, expectedOf, inputOf, weightOf } = require('./golden-cases');

const cases = loadGoldenCases().filter((c) => !c.expected_error);
const caseT = cases.find((c) => c.module === 'ConvTranspose1d' && c.bias && c.weight.qscheme === 'per_tensor' && !c.output_size && c.input.shape.length === 3 && c.input.shape[0] > 0);
const caseC = cases.find((c) => c.module === 'Conv1d' && c.bias && c.input.shape.length === 3 && c.input.shape[0] > 0);

beforeAll(() => q.init());

const T = (...args) => () => new q.ConvTranspose1d(...args);
const C = (...args) => () => new q.Conv1d(...args);

const constructorErrors = [
  ['inChannels 0', T(0, 4, 3), RangeError, /inChannels \(0\) must be an integer >= 1/],
  ['outChannels -2', T(4, -2, 3), RangeError, /outChannels \(-2\)/],
  ['kernelSize 0', T(4, 4, 0), RangeError, /kernelSize \(0\)/],
  ['kernelSize [3, 5]', T(4, 4, [3, 5]), RangeError, /kernelSize \(\[3, 5\]\) must be one integer/],
  ['kernelSize []', T(4, 4, []), RangeError, /kernelSize/],
  ['kernelSize 2.5', T(4, 4, 2.5), TypeError, /kernelSize must be an integer, got 2.5/],
  ['kernelSize "3"', T(4, 4, '3'), TypeError, /kernelSize must be an integer, got "3"/],
  ['kernelSize 3n', T(4, 4, 3n), TypeError, /kernelSize must be an integer, got 3n/],
  ['inChannels NaN', T(NaN, 4, 3), TypeError, /inChannels must be an integer, got NaN/],
  ['inChannels missing', T(), TypeError, /inChannels must be an integer, got undefined/],
  ['stride 0', T(4, 4, 3, 0), RangeError, /stride \(0\) must be an integer >= 1/],
  ['stride Infinity', T(4, 4, 3, Infinity), TypeError, /stride must be an integer/],
  ['padding -1', T(4, 4, 3, 1, -1), RangeError, /padding \(-1\) must be an integer >= 0/],
  ['outputPadding -1', T(4, 4, 3, 2, 0, -1), RangeError, /outputPadding \(-1\)/],
  ['outputPadding >= max(stride, dilation)', T(4, 4, 3, 2, 0, 2), RangeError,
    /outputPadding \(2\) must be smaller than stride \(2\) or dilation \(1\)/],
  ['groups 0', T(4, 4, 3, 1, 0, 0, 0), RangeError, /groups \(0\)/],
  ['groups not dividing inChannels', T(4, 6, 3, { groups: 3 }), RangeError, /groups \(3\) must divide inChannels \(4\)/],
  ['dilation 0', T(4, 4, 3, { dilation: 0 }), RangeError, /dilation \(0\) must be an integer >= 1/],
  ['bias "yes"', T(4, 4, 3, { bias: 'yes' }), TypeError, /bias must be true or false, got "yes"/],
  ['paddingMode reflect on ConvTranspose1d', T(4, 4, 3, { paddingMode: 'reflect' }), RangeError, /paddingMode \("reflect"\) must be 'zeros'/],
  ['paddingMode circular on Conv1d', C(4, 4, 3, { paddingMode: 'circular' }), RangeError, /paddingMode \("circular"\) must be 'zeros' or 'reflect'/],
  ['paddingMode 1', C(4, 4, 3, { paddingMode: 1 }), TypeError, /paddingMode must be a string/],
  ['unknown option', T(4, 4, 3, { strides: 2 }), TypeError, /unknown option 'strides'/],
  ['outputPadding option on Conv1d', C(4, 4, 3, { outputPadding: 1 }), TypeError, /unknown option 'outputPadding'/],
  ['too many arguments', C(4, 4, 3, 1, 0, 1, 1, true, 'zeros', 5), TypeError, /at most 9 arguments/],
  ['huge weight', T(100000, 100000, 1000), RangeError, /more than wasm memory can hold/],
  ['channels beyond int32', T(2 ** 40, 1, 1), RangeError, /inChannels \(1099511627776\) must be at most 2147483647/],
];

describe.each(constructorErrors)('constructor: %s', (name, call, ErrorClass, pattern) => {
  test('throws and leaves the library usable', () => {
    expect(call).toThrow(ErrorClass);
    expect(call).toThrow(pattern);
    const out = runGoldenCase(q, caseT);
    expect(out.data).toEqual(expectedOf(caseT).data);
  });
});

// Calls on a live module: each gets the module built for caseT (or caseC),
// with its golden weights, scale and zero point already set.
const x = () => inputOf(caseT);
const w = () => weightOf(caseT);
const cout = caseT.params.out_channels;
const moduleErrors = [
  // setWeightBias
  ['weight null', (m) => m.setWeightBias(null, null), TypeError, /weight must be an object/],
  ['weight.data Uint8Array', (m) => m.setWeightBias({ ...w(), data: new Uint8Array(w().data.length) }, null), TypeError, /weight.data must be an Int8Array, got a Uint8Array/],
  ['weight.data plain array', (m) => m.setWeightBias({ ...w(), data: Array.from(w().data) }, null), TypeError, /weight.data must be an Int8Array/],
  ['weight data too short', (m) => m.setWeightBias({ ...w(), data: w().data.subarray(1) }, null), RangeError, /weight data has \d+ elements but shape/],
  ['weight.shape differs', (m) => m.setWeightBias({ ...w(), shape: [1, 2, 3] }, null), RangeError, /weight.shape \[1,2,3\] must be/],
  ['weight scale 0', (m) => m.setWeightBias({ ...w(), scale: 0 }, null), RangeError, /weight scale \(0\) must be finite, > 0/],
  ['weight scale NaN', (m) => m.setWeightBias({ ...w(), scale: NaN }, null), RangeError, /weight scale \(NaN\)/],
  ['weight scale subnormal as float32', (m) => m.setWeightBias({ ...w(), scale: 1e-39 }, null), RangeError, /weight scale \(1e-39\)/],
  ['weight scale 1e39', (m) => m.setWeightBias({ ...w(), scale: 1e39 }, null), RangeError, /weight scale \(1e\+39\)/],
  ['weight scale "0.1"', (m) => m.setWeightBias({ ...w(), scale: '0.1' }, null), TypeError, /weight.scale must be a number/],
  ['weight zeroPoint 128', (m) => m.setWeightBias({ ...w(), zeroPoint: 128 }, null), RangeError, /weight zeroPoint \(128\) must be an integer in \[-128, 127\]/],
  ['weight zeroPoint 0.5', (m) => m.setWeightBias({ ...w(), zeroPoint: 0.5 }, null), TypeError, /weight.zeroPoint must be an integer, got 0.5/],
  ['scalar scale with array zeroPoint', (m) => m.setWeightBias({ ...w(), zeroPoint: [0, 0] }, null), TypeError, /per-tensor weight \(scalar scale\) needs a scalar zeroPoint/],
  ['per-channel scales of the wrong length', (m) => m.setWeightBias({ ...w(), scale: [0.1, 0.1, 0.1].slice(0, cout === 3 ? 2 : 3) }, null), RangeError, /must have outChannels/],
  ['per-channel zeroPoint length', (m) => m.setWeightBias({ ...w(), scale: new Array(cout).fill(0.1), zeroPoint: new Array(cout + 1).fill(0) }, null), RangeError, /weight.zeroPoint has/],
  ['per-channel zeroPoint out of range', (m) => m.setWeightBias({ ...w(), scale: new Array(cout).fill(0.1), zeroPoint: new Array(cout).fill(-129) }, null), RangeError, /weight zeroPoint\[0\] \(-129\)/],
  ['bias wrong length', (m) => m.setWeightBias(w(), new Float32Array(cout + 1)), RangeError, /bias has \d+ elements but outChannels is/],
  ['bias NaN', (m) => m.setWeightBias(w(), new Float32Array(cout).fill(NaN)), RangeError, /bias\[0\] \(NaN\) must be finite/],
  ['bias 1e39 (inf as float32)', (m) => m.setWeightBias(w(), new Array(cout).fill(1e39)), RangeError, /bias\[0\] \(Infinity\)/],
  ['bias Float64Array', (m) => m.setWeightBias(w(), new Float64Array(cout)), TypeError, /bias must be a Float32Array/],
  ['bias string element', (m) => m.setWeightBias(w(), new Array(cout).fill('1')), TypeError, /bias\[0\] must be a number/],
  // scale / zeroPoint
  ['scale 0', (m) => { m.scale = 0; }, RangeError, /scale \(0\) must be finite, > 0/],
  ['scale -1', (m) => { m.scale = -1; }, RangeError, /scale \(-1\)/],
  ['scale Infinity', (m) => { m.scale = Infinity; }, RangeError, /scale \(Infinity\)/],
  ['scale "1"', (m) => { m.scale = '1'; }, TypeError, /scale must be a number, got "1"/],
  ['scale Symbol', (m) => { m.scale = Symbol('s'); }, TypeError, /scale must be a number, got Symbol\(s\) \(a Symbol\)/],
  ['input.scale BigInt', (m) => m.forward({ ...x(), scale: 1n }), TypeError, /input.scale must be a number, got 1n \(a BigInt\)/],
  ['detached input buffer', (m) => {
    const d = x().data.slice();
    structuredClone(d.buffer, { transfer: [d.buffer] });
    m.forward({ ...x(), data: d });
  }, RangeError, /input\.data is a Uint8Array on a detached ArrayBuffer/],
  ['zeroPoint 256', (m) => { m.zeroPoint = 256; }, RangeError, /zeroPoint \(256\) must be an integer in \[0, 255\]/],
  ['zeroPoint -1', (m) => { m.zeroPoint = -1; }, RangeError, /zeroPoint \(-1\)/],
  ['zeroPoint 1.5', (m) => { m.zeroPoint = 1.5; }, TypeError, /zeroPoint must be an integer, got 1.5/],
  // forward
  ['input null', (m) => m.forward(null), TypeError, /input must be a QTensor/],
  ['input.data Int8Array', (m) => m.forward({ ...x(), data: new Int8Array(x().data.length) }), TypeError, /input.data must be a Uint8Array, got an Int8Array/],
  ['input.data plain array', (m) => m.forward({ ...x(), data: Array.from(x().data) }), TypeError, /input.data must be a Uint8Array/],
  ['input.shape not an array', (m) => m.forward({ ...x(), shape: 'abc' }), TypeError, /input.shape must be an array of integers/],
  ['input.shape rank 4', (m) => m.forward({ ...x(), shape: [1, ...x().shape] }), RangeError, /must be \[N, C, L\] or \[C, L\], got 4 dimensions/],
  ['input.shape rank 1', (m) => m.forward({ ...x(), shape: [x().data.length] }), RangeError, /got 1 dimensions/],
  ['input.shape fractional', (m) => m.forward({ ...x(), shape: [1.5, 2, 3] }), TypeError, /input.shape\[0\] must be an integer, got 1.5/],
  ['input.shape negative', (m) => m.forward({ ...x(), shape: [-1, 2, 3] }), RangeError, /input.shape\[0\] \(-1\) must be >= 0/],
  ['data length mismatch', (m) => m.forward({ ...x(), data: x().data.subarray(1) }), RangeError, /input.data has \d+ elements but shape/],
  ['wrong channel count', (m) => { const s = x().shape; m.forward({ ...x(), data: new Uint8Array(s[0] * (s[1] + 1) * s[2]), shape: [s[0], s[1] + 1, s[2]] }); }, RangeError, /input channels \(\d+\) must equal inChannels/],
  ['L = 0', (m) => m.forward({ ...x(), data: new Uint8Array(0), shape: [1, x().shape[1], 0] }), RangeError, /input length \(0\) must be >= 1/],
  ['input scale NaN', (m) => m.forward({ ...x(), scale: NaN }), RangeError, /input scale \(NaN\)/],
  ['input scale "1"', (m) => m.forward({ ...x(), scale: '1' }), TypeError, /input.scale must be a number/],
  ['input zeroPoint 300', (m) => m.forward({ ...x(), zeroPoint: 300 }), RangeError, /input zeroPoint \(300\) must be an integer in \[0, 255\]/],
  ['input zeroPoint 2.5', (m) => m.forward({ ...x(), zeroPoint: 2.5 }), TypeError, /input.zeroPoint must be an integer/],
  ['requantization scale underflow', (m) => {
    // an output scale of 3e38 pushes weight scale * input scale / output scale below float32's normal range
    const saved = m.scale;
    m.scale = 3e38;
    try { m.forward(x()); } finally { m.scale = saved; }
  }, RangeError, /requantization scale \(.*\) must be a normal positive float32/],
  ['bias scale underflow', (m) => m.forward({ ...x(), scale: 1.2e-38 / Math.min(...[].concat(caseT.weight.scales)) / 4 }), RangeError, /input scale|bias scale/],
  ['outputSize not an array', (m) => m.forward(x(), 'big'), TypeError, /outputSize must be an array of integers/],
  ['outputSize fractional', (m) => m.forward(x(), [2.5]), TypeError, /outputSize\[0\] must be an integer/],
  ['outputSize of length 2 for 3-D input', (m) => m.forward(x(), [1, 5]), RangeError, /must have 1 or 3 entries/],
  ['outputSize out of range', (m) => m.forward(x(), [100000]), RangeError, /outputSize \(100000\) must be between/],
  ['outputSize 0', (m) => m.forward(x(), [0]), RangeError, /outputSize \(0\)/],
  ['input too large for wasm memory', (m) => m.forward({ ...x(), data: new Uint8Array(0), shape: [2 ** 20, x().shape[1], 2 ** 20] }), RangeError, /elements but shape|wasm memory/],
  ['outputLength(0)', (m) => m.outputLength(0), RangeError, /input length \(0\) must be >= 1/],
  ['outputLength("5")', (m) => m.outputLength('5'), TypeError, /inputLength must be an integer/],
];

describe.each(moduleErrors)('ConvTranspose1d: %s', (name, call, ErrorClass, pattern) => {
  test('throws, and the module still computes its golden case exactly', () => {
    const m = constructModule(q, caseT);
    runGoldenCase(q, caseT, m);
    let error = null;
    try { call(m); } catch (e) { error = e; }
    expect(error).not.toBeNull();
    expect(error.constructor).toBe(ErrorClass);
    expect(error.message).toMatch(pattern);
    expect(error.message).toMatch(/^ConvTranspose1d/);
    // unchanged: the weights, scale and zero point set before still give the golden bytes
    const out = m.forward(inputOf(caseT));
    expect(out.data).toEqual(expectedOf(caseT).data);
    m.dispose();
  });
});

const conv1dErrors = [
  ['outputSize on Conv1d', (m) => m.forward(inputOf(caseC), [5]), TypeError, /outputSize is a ConvTranspose1d argument/],
  ['outputLength with outputSize on Conv1d', (m) => m.outputLength(5, 5), TypeError, /outputSize is a ConvTranspose1d argument/],
];

describe.each(conv1dErrors)('Conv1d: %s', (name, call, ErrorClass, pattern) => {
  test('throws, and the module still computes its golden case exactly', () => {
    const m = constructModule(q, caseC);
    runGoldenCase(q, caseC, m);
    let error = null;
    try { call(m); } catch (e) { error = e; }
    expect(error).not.toBeNull();
    expect(error.constructor).toBe(ErrorClass);
    expect(error.message).toMatch(pattern);
    const out = m.forward(inputOf(caseC));
    expect(out.data).toEqual(expectedOf(caseC).data);
    m.dispose();
  });
});

test('a Conv1d input shorter than the dilated kernel is rejected', () => {
  // L + 2p = 3 + 2 = 5 < dilation*(K-1) + 1 = 2*4 + 1 = 9
  const m = new q.Conv1d(2, 2, 5, { padding: 1, dilation: 2 });
  expect(() => m.forward({ data: new Uint8Array(6), shape: [1, 2, 3], scale: 1, zeroPoint: 0 }))
    .toThrow(/padded input length \(L \+ 2\*padding = 5\) is shorter than the dilated kernel \(dilation\*\(kernelSize-1\) \+ 1 = 9\)/);
  // L = 7: 7 + 2 - 9 = 0 -> one output
  expect(m.forward({ data: new Uint8Array(14), shape: [1, 2, 7], scale: 1, zeroPoint: 0 }).shape).toEqual([1, 2, 1]);
  m.dispose();
});

test('reflect padding must be smaller than the input length', () => {
  const m = new q.Conv1d(2, 2, 3, { padding: 5, paddingMode: 'reflect' });
  expect(() => m.forward({ data: new Uint8Array(10), shape: [1, 2, 5], scale: 1, zeroPoint: 0 }))
    .toThrow(/padding \(5\) must be smaller than the input length \(5\) for reflect padding/);
  expect(m.forward({ data: new Uint8Array(12), shape: [1, 2, 6], scale: 1, zeroPoint: 0 }).shape).toEqual([1, 2, 14]);
  m.dispose();
});
