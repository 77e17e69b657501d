'use strict';
// ConvTranspose1d.fromFloat / Conv1d.fromFloat against PyTorch's own
// observers and from_float (tests/data/from_float.json, written by
// tools/gen_from_float_cases.py), plus hand-derived cases, explicit qparams,
// inputQuantization, and hostile arguments.
const fs = require('fs');
const path = require('path');
const q = require('../..');
const { bytes } = require('./golden-cases');

const doc = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'data', 'from_float.json'), 'utf8'));
const f32 = Math.fround;
const EPS = 2 ** -23;

beforeAll(() => q.init());

const buf = (a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

function fromFloatOptions(c, extra = {}) {
  const p = c.params;
  const options = {
    weight: bytes(c.weight_f32_b64, Float32Array),
    bias: c.bias_f32_b64 === null ? null : bytes(c.bias_f32_b64, Float32Array),
    inChannels: p.in_channels, outChannels: p.out_channels, kernelSize: p.kernel_size,
    stride: p.stride, padding: p.padding, groups: p.groups, dilation: p.dilation, paddingMode: p.padding_mode,
    weightQScheme: c.weight_qscheme,
    calibration: c.calibration.map((b) => ({ data: bytes(b.data_f32_b64, Float32Array), shape: b.shape })),
    ...extra,
  };
  if (c.module === 'ConvTranspose1d') options.outputPadding = p.output_padding;
  return options;
}

function expectWeightLikeTorch(m, c) {
  const e = c.expected;
  const w = m.weight();
  expect(w.qscheme).toBe(c.weight_qscheme === 'per_channel' ? 'per_channel_affine' : 'per_tensor_affine');
  expect(w.scale).toEqual(e.weight_scale);        // toEqual on numbers / number[]: exact
  expect(w.zeroPoint).toEqual(e.weight_zero_point);
  expect(buf(w.data).equals(buf(bytes(e.weight_int8_b64, Int8Array)))).toBe(true);
  if (e.bias_f32_b64 === null) {
    expect(m.bias()).toBeNull();
  } else {
    expect(buf(m.bias()).equals(buf(bytes(e.bias_f32_b64, Float32Array)))).toBe(true);
  }
}

// ---- PyTorch-generated cases -------------------------------------------------------
test('the PyTorch data is present', () => {
  expect(doc.format).toBe('from-float-v1');
  expect(doc.cases.length).toBeGreaterThanOrEqual(150);
  expect(doc.cases.filter((c) => c.forward !== null).length).toBeGreaterThanOrEqual(30);
  expect(doc.cases.filter((c) => c.dyadic).length).toBeGreaterThanOrEqual(20);
});

describe.each(doc.cases.map((c) => [c.id, c]))('%s', (id, c) => {
  const Module = q[c.module];
  const e = c.expected;

  test('weight qparams, int8 weights, bias and input observer equal torch exactly', () => {
    const m = Module.fromFloat(fromFloatOptions(c));
    try {
      expectWeightLikeTorch(m, c);
      expect(m.inputQuantization).toEqual({ scale: e.input_scale, zeroPoint: e.input_zero_point });
    } finally {
      m.dispose();
    }
  });

  test(c.dyadic
    ? 'output qparams from calibration equal torch exactly (dyadic: float forwards agree)'
    : 'output qparams from calibration equal torch up to float32 rounding of the float forward', () => {
    const m = Module.fromFloat(fromFloatOptions(c));
    try {
      if (c.dyadic) {
        expect([m.scale, m.zeroPoint]).toEqual([e.output_scale, e.output_zero_point]);
      } else {
        // A float32 ulp or two of the observed range moves the scale by as
        // much (up to 2 ulps seen), and could move the zero point by one.
        expect(Math.abs(m.scale / e.output_scale - 1)).toBeLessThan(4 * 2 ** -23);
        expect(Math.abs(m.zeroPoint - e.output_zero_point)).toBeLessThanOrEqual(1);
      }
    } finally {
      m.dispose();
    }
  });

  test('explicit output and input qparams are used as given, weights unchanged', () => {
    const output = { scale: e.output_scale, zeroPoint: e.output_zero_point };
    const input = { scale: e.input_scale, zeroPoint: e.input_zero_point };
    const m = Module.fromFloat(fromFloatOptions(c, { calibration: undefined, output, input }));
    try {
      expectWeightLikeTorch(m, c);
      expect([m.scale, m.zeroPoint]).toEqual([e.output_scale, e.output_zero_point]);
      expect(m.inputQuantization).toEqual(input);
    } finally {
      m.dispose();
    }
  });

  if (c.forward !== null) {
    test('forward on the quantized calibration input gives torch\'s bytes', () => {
      const f = c.forward;
      const m = Module.fromFloat(fromFloatOptions(c));
      try {
        if (!c.dyadic) {
          // Non-dyadic float forwards may round differently (tested above):
          // take torch's output qparams to compare the quantized bytes.
          m.scale = e.output_scale;
          m.zeroPoint = e.output_zero_point;
        }
        expect([m.scale, m.zeroPoint]).toEqual([e.output_scale, e.output_zero_point]);
        const { scale, zeroPoint } = m.inputQuantization;
        const x = q.quantizePerTensor(bytes(c.calibration[0].data_f32_b64, Float32Array), f.input_shape,
          scale, zeroPoint);
        expect(buf(x.data).equals(buf(bytes(f.input_q_b64, Uint8Array)))).toBe(true);
        const y = m.forward(x);
        expect(y.shape).toEqual(f.output_shape);
        expect(buf(y.data).equals(buf(bytes(f.output_b64, Uint8Array)))).toBe(true);
      } finally {
        m.dispose();
      }
    });
  }
});

test('non-dyadic cases: most calibrated output qparams still equal torch exactly', () => {
  // float64 sums rounded once usually round like torch's float32 sums (137
  // of 168 cases when this was written); a systematic error would not.
  const cases = doc.cases.filter((c) => !c.dyadic);
  let exact = 0;
  for (const c of cases) {
    const m = q[c.module].fromFloat(fromFloatOptions(c));
    if (m.scale === c.expected.output_scale && m.zeroPoint === c.expected.output_zero_point) exact += 1;
    m.dispose();
  }
  expect(exact).toBeGreaterThanOrEqual(Math.ceil(cases.length * 0.7));
});

// ---- derived by hand ---------------------------------------------------------------
describe('derived by hand', () => {
  const conv = (weight, extra = {}) => q.Conv1d.fromFloat({
    inChannels: 1, outChannels: weight.length, kernelSize: 1, weight, ...extra,
  });

  test('weights [-1, 0.5]: scale f32(1/127.5); 1/scale rounds below 127.5, so -1 -> -127, 0.5 -> 64', () => {
    const m = conv([-1, 0.5]);
    const scale = f32(1 / 127.5);
    const inverse = f32(1 / scale);
    expect(inverse).toBeLessThan(127.5);   // so -1 * inverse is not a tie: rounds to -127
    expect(m.weight().scale).toBe(scale);
    expect(Array.from(m.weight().data)).toEqual([-127, 64]);
    // Without calibration or explicit qparams: torch's defaults.
    expect([m.scale, m.zeroPoint, m.inputQuantization]).toEqual([1, 0, null]);
    m.dispose();
  });

  test('max |w| = 127.5: scale exactly 1, ties round to even, 128 clamps to 127', () => {
    const m = conv([127.5, -127.5, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3]);
    expect(m.weight().scale).toBe(1);
    expect(Array.from(m.weight().data)).toEqual([127, -128, 0, 2, 2, 0, -2, -2, 3]);
    m.dispose();
  });

  test('all-zero and tiny weights: the scale is float32 eps (2^-23)', () => {
    for (const weight of [[0, 0, 0], [1e-9, -2e-9, 0], [-0, 0]]) {
      const m = conv(weight);
      expect(m.weight().scale).toBe(EPS);
      expect(Array.from(m.weight().data)).toEqual(weight.map(() => 0));
      m.dispose();
    }
    const m = conv([10 * EPS, -3 * EPS]);  // below eps * 127.5: still eps, integer multiples survive
    expect(m.weight().scale).toBe(EPS);
    expect(Array.from(m.weight().data)).toEqual([10, -3]);
    m.dispose();
  });

  test('per-channel Conv1d: one scale per output channel (row of the weight)', () => {
    const m = q.Conv1d.fromFloat({
      inChannels: 2, outChannels: 2, kernelSize: 1, weight: [1, -2, 0.5, 0], weightQScheme: 'per_channel',
    });
    const w = m.weight();
    expect(w.qscheme).toBe('per_channel_affine');
    expect(w.scale).toEqual([f32(2 / 127.5), f32(0.5 / 127.5)]);
    expect(w.zeroPoint).toEqual([0, 0]);
    // Channel 0: 1/scale rounds just below 63.75 (as 1/f32(1/127.5) is below
    // 127.5), so 1 -> 63.749.. -> 64 and -2 -> -127.499.. -> -127.
    // Channel 1: 0.5/scale is about 127.5: 127 or 128 clamped to 127.
    expect(f32(1 / f32(2 / 127.5))).toBeLessThan(63.75);
    expect(Array.from(w.data)).toEqual([64, -127, 127, 0]);
    m.dispose();
  });

  test('per-channel ConvTranspose1d: output channel c = group * outChannels/groups + j of weight[ci, j, k]', () => {
    // groups 1, weight [Cin = 2, Cout = 3, K = 1]: channel j takes w[0, j] and w[1, j].
    const t1 = q.ConvTranspose1d.fromFloat({
      inChannels: 2, outChannels: 3, kernelSize: 1, weightQScheme: 'per_channel',
      weight: [1, 2, 3, -4, 0.5, 0.25],
    });
    expect(t1.weight().scale).toEqual([f32(4 / 127.5), f32(2 / 127.5), f32(3 / 127.5)]);
    t1.dispose();
    // groups 2, weight [Cin = 2, Cout/groups = 2, K = 1]: w[0, j] -> channel j, w[1, j] -> channel 2 + j.
    const t2 = q.ConvTranspose1d.fromFloat({
      inChannels: 2, outChannels: 4, kernelSize: 1, groups: 2, weightQScheme: 'per_channel',
      weight: [1, 2, 4, 8],
    });
    expect(t2.weight().scale).toEqual([1, 2, 4, 8].map((v) => f32(v / 127.5)));
    expect(Array.from(t2.weight().data)).toEqual([127, 127, 127, 127]);
    t2.dispose();
  });

  test('input observer: [-1, 0, 3] gives scale f32(4/255), zero point rint(1/scale) = 64', () => {
    const m = conv([1], { calibration: [{ data: [-1, 0, 3], shape: [1, 3] }] });
    const scale = f32(4 / 255);
    expect(f32(-1 / scale)).toBeCloseTo(-63.75, 4);
    expect(m.inputQuantization).toEqual({ scale, zeroPoint: 64 });
    m.dispose();
    const positive = conv([1], { calibration: [{ data: [1, 2], shape: [1, 1, 2] }] });
    expect(positive.inputQuantization).toEqual({ scale: f32(2 / 255), zeroPoint: 0 });
    positive.dispose();
    const negative = conv([1], { calibration: [{ data: [-2, -1], shape: [1, 2] }] });
    expect(negative.inputQuantization).toEqual({ scale: f32(2 / 255), zeroPoint: 255 });
    negative.dispose();
  });

  test('output observer: Conv1d y = 2x + 0.5 over x in {1, -1} spans [-1.5, 2.5]', () => {
    const m = q.Conv1d.fromFloat({
      inChannels: 1, outChannels: 1, kernelSize: 1, weight: [2], bias: [0.5],
      calibration: [{ data: [1], shape: [1, 1] }, { data: [-1], shape: [1, 1, 1] }],
    });
    const scale = f32(4 / 255);   // 1.5 / scale = 95.625 -> 96
    expect([m.scale, m.zeroPoint]).toEqual([scale, 96]);
    // -1 / f32(2/255) rounds to -127.49999 in float32 (not the tie -127.5): zero point 127
    expect(f32(-1 / f32(2 / 255))).toBeGreaterThan(-127.5);
    expect(m.inputQuantization).toEqual({ scale: f32(2 / 255), zeroPoint: 127 });
    m.dispose();
  });

  test('ConvTranspose1d calibration sees the bias-only positions (outputPadding) and skips empty batches', () => {
    // K 1, stride 2, outputPadding 1: L = 2 gives outputs [x0*w+b, b, x1*w+b, b].
    const m = q.ConvTranspose1d.fromFloat({
      inChannels: 1, outChannels: 1, kernelSize: 1, stride: 2, outputPadding: 1, weight: [1], bias: [-3],
      calibration: [{ data: [], shape: [0, 1, 5] }, { data: [4, 5], shape: [1, 1, 2] }],
    });
    // outputs [1, -3, 2, -3]: range [-3, 2]
    expect([m.scale, m.zeroPoint]).toEqual([f32(5 / 255), 153]);  // 3 / f32(5/255) = 153.0000...
    expect(m.inputQuantization).toEqual({ scale: f32(5 / 255), zeroPoint: 0 });
    m.dispose();
  });

  test('Conv1d reflect padding mirrors without repeating the edge', () => {
    // x = [1, 2, 3], padding 2 reflect -> [3, 2, 1, 2, 3, 2, 1]; K 1 weight 1: outputs are those values.
    // With zeros padding they would include 0; a 5-tap sum distinguishes the modes.
    const m = q.Conv1d.fromFloat({
      inChannels: 1, outChannels: 1, kernelSize: 5, padding: 2, paddingMode: 'reflect', weight: [1, 0, 0, 0, -1],
      calibration: [{ data: [1, 2, 3], shape: [1, 3] }],
    });
    // outputs o: p[o] - p[o+4] = [3-3, 2-2, 1-1] = [0, 0, 0]
    expect([m.scale, m.zeroPoint]).toEqual([EPS, 0]);
    m.dispose();
    const z = q.Conv1d.fromFloat({
      inChannels: 1, outChannels: 1, kernelSize: 5, padding: 2, weight: [1, 0, 0, 0, -1],
      calibration: [{ data: [1, 2, 3], shape: [1, 3] }],
    });
    // zeros: [0, 0, 1, 2, 3, 0, 0] -> [0-3, 0-0, 1-0] = [-3, 0, 1]
    expect([z.scale, z.zeroPoint]).toEqual([f32(4 / 255), 191]);  // 3 / f32(4/255) = 191.25 -> 191
    z.dispose();
  });

  test("padding 'same' with an even kernel pads 1 before and 2 after (torch's split); 'valid' none", () => {
    // x = [1, 2, 3], K 4, weight [1, 0, 0, -1]: out[o] = p[o] - p[o+3].
    // 'same' pads [0, 1, 2, 3, 0, 0] -> [0-3, 1-0, 2-0] = [-3, 1, 2]: range [-3, 2].
    // (The other split, [0, 0, 1, 2, 3, 0], would give [0-2, 0-3, 1-0]: range [-3, 1].)
    const same = q.Conv1d.fromFloat({
      inChannels: 1, outChannels: 1, kernelSize: 4, padding: 'same', weight: [1, 0, 0, -1],
      calibration: [{ data: [1, 2, 3], shape: [1, 3] }],
    });
    expect(same.padding).toBe('same');
    expect([same.scale, same.zeroPoint]).toEqual([f32(5 / 255), 153]);  // 3 / f32(5/255) = 153.0000 -> 153
    same.dispose();
    // 'valid', K 2, weight [1, -1] over [1, 2, 4]: [-1, -2]; the range includes 0: [-2, 0].
    const valid = q.Conv1d.fromFloat({
      inChannels: 1, outChannels: 1, kernelSize: 2, padding: 'valid', weight: [1, -1],
      calibration: [{ data: [1, 2, 4], shape: [1, 3] }],
    });
    expect([valid.scale, valid.zeroPoint]).toEqual([f32(2 / 255), 255]);
    valid.dispose();
  });

  test('explicit qparams win over observed ones; output alone leaves the input observed', () => {
    const calibration = [{ data: [-1, 0, 3], shape: [1, 3] }];
    const m = conv([1], { calibration, output: { scale: 0.5, zeroPoint: 7 } });
    expect([m.scale, m.zeroPoint]).toEqual([0.5, 7]);
    expect(m.inputQuantization).toEqual({ scale: f32(4 / 255), zeroPoint: 64 });
    m.dispose();
    const n = conv([1], { calibration, input: { scale: 0.25, zeroPoint: 3 } });
    expect([n.scale, n.zeroPoint]).toEqual([f32(4 / 255), 64]);   // output = input here (w = 1)
    expect(n.inputQuantization).toEqual({ scale: 0.25, zeroPoint: 3 });
    n.dispose();
    const o = conv([1], { input: null, output: null, bias: null, calibration: null });
    expect([o.scale, o.zeroPoint, o.inputQuantization, o.bias()]).toEqual([1, 0, null, null]);
    o.dispose();
  });

  test('number[] weights are rounded to float32 first, like torch.tensor', () => {
    const a = conv([0.1, -0.3]);
    const b = conv(Float32Array.of(0.1, -0.3));
    expect(a.weight()).toEqual(b.weight());
    expect(a.weight().scale).toBe(f32(f32(0.3) / 127.5));
    a.dispose();
    b.dispose();
  });
});

// ---- inputQuantization -----------------------------------------------------------
describe('inputQuantization', () => {
  test('defaults to null, round-trips, returns a copy, is validated', () => {
    for (const m of [new q.ConvTranspose1d(2, 2, 1), new q.Conv1d(2, 2, 1)]) {
      expect(m.inputQuantization).toBeNull();
      m.inputQuantization = { scale: 0.1, zeroPoint: 5 };
      expect(m.inputQuantization).toEqual({ scale: 0.1, zeroPoint: 5 });
      m.inputQuantization.scale = 7;                       // a copy: no effect
      expect(m.inputQuantization).toEqual({ scale: 0.1, zeroPoint: 5 });
      m.inputQuantization = q.quantizePerTensor([1, 2], [2, 1], 0.25, 9);  // a QTensor works
      expect(m.inputQuantization).toEqual({ scale: 0.25, zeroPoint: 9 });
      const bad = [
        [undefined, TypeError, /inputQuantization must be an object/], [5, TypeError, /inputQuantization/],
        ['x', TypeError, /inputQuantization/], [[0.1, 5], TypeError, /inputQuantization/],
        [{ scale: '0.1', zeroPoint: 5 }, TypeError, /inputQuantization\.scale must be a number/],
        [{ scale: 0, zeroPoint: 5 }, RangeError, /inputQuantization\.scale \(0\)/],
        [{ scale: 1e-39, zeroPoint: 5 }, RangeError, /normal float32/],
        [{ scale: Infinity, zeroPoint: 5 }, RangeError, /inputQuantization\.scale/],
        [{ scale: 0.1 }, TypeError, /inputQuantization\.zeroPoint must be an integer, got undefined/],
        [{ scale: 0.1, zeroPoint: 1.5 }, TypeError, /inputQuantization\.zeroPoint/],
        [{ scale: 0.1, zeroPoint: 256 }, RangeError, /inputQuantization\.zeroPoint \(256\).*\[0, 255\]/],
        [{ scale: 0.1, zeroPoint: -1 }, RangeError, /inputQuantization\.zeroPoint/],
      ];
      for (const [value, Error_, pattern] of bad) {
        expect(() => { m.inputQuantization = value; }).toThrow(Error_);
        expect(() => { m.inputQuantization = value; }).toThrow(pattern);
        expect(m.inputQuantization).toEqual({ scale: 0.25, zeroPoint: 9 });   // unchanged
      }
      m.inputQuantization = null;
      expect(m.inputQuantization).toBeNull();
      m.dispose();
      expect(() => m.inputQuantization).toThrow(/disposed/);
      expect(() => { m.inputQuantization = null; }).toThrow(/disposed/);
    }
  });
});

// ---- hostile arguments ---------------------------------------------------------------
describe('hostile arguments', () => {
  // A torch forward case: after each bad call it must still give torch's bytes.
  const ref = doc.cases.find((c) => c.forward !== null && c.dyadic && c.module === 'ConvTranspose1d');
  let module;
  beforeAll(() => { module = q.ConvTranspose1d.fromFloat(fromFloatOptions(ref)); });
  afterAll(() => module.dispose());
  const refForward = (m) => {
    const x = { data: bytes(ref.forward.input_q_b64, Uint8Array), shape: ref.forward.input_shape,
      ...m.inputQuantization };
    return Buffer.from(m.forward(x).data).equals(Buffer.from(bytes(ref.forward.output_b64, Uint8Array)));
  };

  const T = { inChannels: 2, outChannels: 4, kernelSize: 3, weight: new Float32Array(2 * 4 * 3).fill(0.5) };
  const C = { inChannels: 2, outChannels: 4, kernelSize: 3, weight: new Float32Array(4 * 2 * 3).fill(0.5) };
  const calib = (shape, data) => [{ shape, data: data || new Float32Array(shape.reduce((a, b) => a * b, 1)) }];
  const sparse = [1, 2]; sparse.length = 24; // holes
  const cases = [];
  for (const [name, base] of [['ConvTranspose1d', T], ['Conv1d', C]]) {
    const add = (label, options, Error_, pattern) => cases.push([`${name}: ${label}`, name, options, Error_, pattern]);
    for (const v of [undefined, null, 5, 'x', [], () => 1]) add(`options ${String(v)}`, v, TypeError, /options must be an object/);
    add('an unknown option', { ...base, scale: 1 }, TypeError, /unknown option 'scale'/);
    add('no weight', { ...base, weight: undefined }, TypeError, /weight .*is required/);
    for (const v of ['abc', new Float64Array(24), new Int8Array(24), 3, null, { length: 24 }]) {
      add(`weight ${Object.prototype.toString.call(v)}`, { ...base, weight: v }, TypeError, /weight must be a Float32Array or an array of numbers/);
    }
    const arr = (i, v) => { const a = Array(24).fill(0.5); a[i] = v; return a; };
    add('weight with a string', { ...base, weight: arr(3, '1') }, TypeError, /weight\[3\] must be a number, got "1"/);
    add('weight with a hole', { ...base, weight: sparse }, TypeError, /weight\[2\] must be a number, got undefined/);
    add('weight with a BigInt', { ...base, weight: arr(0, 1n) }, TypeError, /weight\[0\]/);
    add('weight NaN', { ...base, weight: arr(5, NaN) }, RangeError, /weight\[5\] \(NaN\) must be finite as a float32/);
    add('weight -Infinity', { ...base, weight: arr(1, -Infinity) }, RangeError, /weight\[1\] \(-Infinity\)/);
    add('weight 1e39 (inf as float32)', { ...base, weight: arr(2, 1e39) }, RangeError, /weight\[2\] \(1e\+39\) must be finite/);
    add('weight too short', { ...base, weight: new Float32Array(23) }, RangeError, /weight has 23 elements but its shape \[.*\] needs 24/);
    add('weight too long', { ...base, weight: Array(25).fill(0) }, RangeError, /weight has 25 elements/);
    add('bias true', { ...base, bias: true }, TypeError, /bias must be a Float32Array or an array of numbers, got true/);
    add('bias NaN', { ...base, bias: [0, NaN, 0, 0] }, RangeError, /bias\[1\] \(NaN\) must be finite/);
    add('bias too short', { ...base, bias: [0, 0, 0] }, RangeError, /bias has 3 elements but outChannels is 4/);
    add('inChannels "2"', { ...base, inChannels: '2' }, TypeError, /inChannels must be an integer/);
    add('outChannels missing', { ...base, outChannels: undefined }, TypeError, /outChannels must be an integer, got undefined/);
    add('kernelSize 0', { ...base, kernelSize: 0 }, RangeError, /kernelSize/);
    add('groups 3', { ...base, groups: 3 }, RangeError, /groups/);
    add('stride 0', { ...base, stride: 0 }, RangeError, /stride/);
    add('weightQScheme per_axis', { ...base, weightQScheme: 'per_axis' }, RangeError, /weightQScheme \("per_axis"\) must be 'per_tensor' or 'per_channel'/);
    add('weightQScheme 1', { ...base, weightQScheme: 1 }, TypeError, /weightQScheme must be a string/);
    add('output scale 0', { ...base, output: { scale: 0, zeroPoint: 0 } }, RangeError, /output: scale \(0\) must be finite, > 0 and a normal float32/);
    add('output zeroPoint 256', { ...base, output: { scale: 1, zeroPoint: 256 } }, RangeError, /output: zeroPoint \(256\) must be an integer in \[0, 255\]/);
    add('output scale "1"', { ...base, output: { scale: '1', zeroPoint: 0 } }, TypeError, /output\.scale must be a number/);
    add('output 5', { ...base, output: 5 }, TypeError, /output must be an object \{ scale, zeroPoint \} or null/);
    add('input subnormal scale', { ...base, input: { scale: 1e-39, zeroPoint: 0 } }, RangeError, /input\.scale .*normal float32/);
    add('input zeroPoint 2.5', { ...base, input: { scale: 1, zeroPoint: 2.5 } }, TypeError, /input\.zeroPoint must be an integer/);
    add('calibration {}', { ...base, calibration: {} }, TypeError, /calibration must be an array/);
    add('calibration "x"', { ...base, calibration: 'x' }, TypeError, /calibration must be an array/);
    add('calibration [null]', { ...base, calibration: [null] }, TypeError, /calibration\[0\] must be an object/);
    add('calibration []', { ...base, calibration: [] }, RangeError, /calibration has no values to observe/);
    add('calibration only empty', { ...base, calibration: calib([0, 2, 5]) }, RangeError, /no values to observe/);
    add('calibration rank 1', { ...base, calibration: calib([10]) }, RangeError, /calibration\[0\]\.shape \(\[10\]\) must be \[N, C, L\] or \[C, L\]/);
    add('calibration rank 4', { ...base, calibration: calib([1, 1, 2, 5]) }, RangeError, /must be \[N, C, L\] or \[C, L\]/);
    add('calibration wrong channels', { ...base, calibration: calib([1, 3, 5]) }, RangeError, /has 3 channels but inChannels is 2/);
    add('calibration shape -1', { ...base, calibration: calib([2, 5]).map((b) => ({ ...b, shape: [2, -5] })) }, RangeError, /shape\[1\] \(-5\) must be >= 0/);
    add('calibration shape 2.5', { ...base, calibration: calib([2, 5]).map((b) => ({ ...b, shape: [2, 2.5] })) }, TypeError, /shape\[1\] must be an integer/);
    add('calibration no shape', { ...base, calibration: [{ data: [1] }] }, TypeError, /calibration\[0\]\.shape must be an array/);
    add('calibration no data', { ...base, calibration: [{ shape: [2, 5] }] }, TypeError, /calibration\[0\]\.data is required/);
    add('calibration Float64Array', { ...base, calibration: [{ shape: [2, 5], data: new Float64Array(10) }] }, TypeError, /calibration\[0\]\.data must be a Float32Array/);
    add('calibration length mismatch', { ...base, calibration: calib([2, 5], new Float32Array(9)) }, RangeError, /calibration\[0\]\.data has 9 elements but shape \[2,5\] needs 10/);
    add('calibration NaN', { ...base, calibration: calib([2, 5], Float32Array.of(0, 0, 0, NaN, 0, 0, 0, 0, 0, 0)) }, RangeError, /calibration\[0\]\.data\[3\] \(NaN\)/);
    add('calibration L 0', { ...base, calibration: calib([1, 2, 0]) }, RangeError, /calibration\[0\]: .*input length \(0\)/);
    const wide = new Float32Array(2 * 3).fill(3e38);
    wide[0] = -3e38;
    add('calibration inputs too wide for float32', { ...base, calibration: calib([2, 3], wide) }, RangeError, /calibration inputs span \[-3.*e\+38, 3.*e\+38\], too wide for a float32 scale/);
    add('calibration outputs overflow float32', { ...base, weight: new Float32Array(24).fill(3e38), calibration: calib([2, 3], new Float32Array(6).fill(3e38)) }, RangeError, /float outputs on the calibration data span .*Infinity\], beyond float32 range/);
    if (name === 'Conv1d') {
      add('outputPadding', { ...base, outputPadding: 0 }, TypeError, /unknown option 'outputPadding'/);
      add('calibration shorter than the kernel', { ...base, calibration: calib([2, 2]) }, RangeError, /calibration\[0\]: .*shorter than the dilated kernel/);
      add('reflect padding >= L', { ...base, padding: 3, paddingMode: 'reflect', calibration: calib([2, 3]) }, RangeError, /calibration\[0\]: .*padding \(3\) must be smaller than the input length \(3\)/);
    } else {
      add('paddingMode reflect', { ...base, paddingMode: 'reflect' }, RangeError, /paddingMode/);
      add('outputPadding 1 with stride 1', { ...base, outputPadding: 1 }, RangeError, /outputPadding/);
      add('calibration output length < 1', { ...base, padding: 5, calibration: calib([2, 1]) }, RangeError, /calibration\[0\]: .*output length/);
    }
  }

  test.each(cases)('%s', (label, name, options, Error_, pattern) => {
    const live = q.memoryStats().liveModules;
    let thrown = null;
    try {
      q[name].fromFloat(options);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(Error_);
    expect(thrown.message).toMatch(pattern);
    if (thrown.message.includes('fromFloat')) expect(thrown.message).toMatch(new RegExp(`^${name}\\.fromFloat: `));
    else expect(thrown.message).toMatch(new RegExp(`^${name}: `));   // the constructor's own checks
    expect(q.memoryStats().liveModules).toBe(live);    // nothing left allocated
    expect(refForward(module)).toBe(true);            // an existing module still works
    const again = q.ConvTranspose1d.fromFloat(fromFloatOptions(ref));   // and so does a new one
    expect(refForward(again)).toBe(true);
    again.dispose();
  });
});
