'use strict';
// Conv1d padding 'same' and 'valid', in both wasm flavours:
// - the cases PyTorch generated (tests/data/conv1d_padding_modes.json, from
//   tools/gen_padding_cases.py), bit for bit, and its error cases with the
//   error class PyTorch's exception maps to;
// - hand-derived checks: which side gets the extra padding, 'same' against
//   explicit padding of a manually padded input, 'valid' against padding 0;
// - the messages of bad padding arguments, and a module that still works
//   after a rejected forward.
const fs = require('fs');
const path = require('path');
const { runGoldenCase, constructModule, expectedOf } = require('./golden-cases');
const { mulberry32 } = require('../../tools/mulberry32.cjs');
const { outputLength } = require('./reference');

const DATA = path.join(__dirname, '..', 'data', 'conv1d_padding_modes.json');
const doc = JSON.parse(fs.readFileSync(DATA, 'utf8'));
const cases = doc.cases;
const errorCases = doc.errors;

// One instance per flavour: each isolated registry loads its own api.cjs,
// whose init() then loads the SIMD128 or the scalar module.
function loadInstance() {
  let instance;
  jest.isolateModules(() => { instance = require('../..'); });
  return instance;
}
const FLAVOURS = [['simd', true, loadInstance()], ['scalar', false, loadInstance()]];

beforeAll(async () => {
  const flavours = [];
  for (const [, simd, q] of FLAVOURS) {
    const info = await q.init({ simd });
    expect(info.simd).toBe(simd);
    flavours.push(info.flavour);
  }
  // Two modules, not one instance shared.
  expect(flavours).toEqual(['wasmsimd', 'scalar']);
});

function firstDifference(a, b) {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return -1;
}

test('the PyTorch data covers odd and even K, dilation 1-3, groups, both modes, both weight kinds, batched and unbatched', () => {
  expect(doc.format).toBe('qconv1d-padding-v1');
  const count = (f) => cases.filter(f).length;
  const p = (c) => c.params;
  const K = (c) => p(c).kernel_size;
  expect(cases.length).toBeGreaterThanOrEqual(200);
  expect(count((c) => p(c).padding === 'same')).toBeGreaterThan(150);
  expect(count((c) => p(c).padding === 'valid')).toBeGreaterThan(20);
  for (const mode of ['zeros', 'reflect']) {
    expect(count((c) => p(c).padding === 'same' && p(c).padding_mode === mode)).toBeGreaterThan(40);
  }
  expect(count((c) => p(c).padding === 'same' && K(c) % 2 === 0)).toBeGreaterThan(50);
  expect(count((c) => p(c).padding === 'same' && K(c) % 2 === 1 && K(c) > 1)).toBeGreaterThan(50);
  for (const d of [1, 2, 3]) expect(count((c) => p(c).dilation === d)).toBeGreaterThan(40);
  // Asymmetric: the extra position after the input.
  const asym = cases.filter((c) => c.explicit_padding[0] !== c.explicit_padding[1]);
  expect(asym.length).toBeGreaterThan(40);
  for (const c of asym) expect(c.explicit_padding[1]).toBe(c.explicit_padding[0] + 1);
  expect(count((c) => p(c).groups > 1)).toBeGreaterThan(60);
  expect(count((c) => c.weight.qscheme === 'per_channel')).toBeGreaterThan(60);
  expect(count((c) => c.weight.qscheme === 'per_tensor')).toBeGreaterThan(60);
  expect(count((c) => c.input.shape.length === 2)).toBeGreaterThan(30);
  expect(count((c) => c.input.shape.length === 3 && c.input.shape[0] > 1)).toBeGreaterThan(60);
  const lengths = cases.map((c) => c.input.shape[c.input.shape.length - 1]);
  expect(Math.min(...lengths)).toBe(1);
  expect(Math.max(...lengths)).toBeGreaterThanOrEqual(38);
  expect(errorCases.length).toBeGreaterThanOrEqual(10);
});

describe.each(FLAVOURS)('%s flavour', (flavour, simd, q) => {
  test.each(cases.map((c) => [c.id, c]))('%s matches PyTorch bit for bit', (id, c) => {
    const m = constructModule(q, c);
    try {
      expect(m.padding).toBe(c.params.padding);
      const L = c.input.shape[c.input.shape.length - 1];
      const exp = expectedOf(c);
      expect(m.outputLength(L)).toBe(exp.shape[exp.shape.length - 1]);
      if (c.params.padding === 'same') expect(m.outputLength(L)).toBe(L);
      const out = runGoldenCase(q, c, m);
      expect(out.shape).toEqual(exp.shape);
      const at = firstDifference(out.data, exp.data);
      if (at >= 0) {
        throw new Error(`${id}: first differing byte at ${at}: got ${out.data[at]}, expected ${exp.data[at]}`);
      }
    } finally {
      m.dispose();
    }
  });

  // PyTorch's exception -> ours: ValueError/RuntimeError (a wrong value) ->
  // RangeError, TypeError -> TypeError. Ours comes no later than PyTorch's
  // (ConvTranspose1d's string is refused at construction; torch fails at forward).
  test.each(errorCases.map((c) => [c.id, c.torch_error.type, c]))('%s (torch: %s) is rejected the same way', (id, torchType, c) => {
    const want = torchType === 'TypeError' ? TypeError : RangeError;
    let thrown = null;
    let stage = 'construct';
    try {
      const m = constructModule(q, c);
      stage = 'forward';
      try {
        runGoldenCase(q, c, m);
      } finally {
        m.dispose();
      }
    } catch (e) {
      thrown = e;
    }
    expect(thrown).not.toBeNull();
    expect(thrown.constructor).toBe(want);
    if (c.torch_error.stage === 'construct') expect(stage).toBe('construct');
    // The module, and the method when it was forward that refused.
    expect(thrown.message).toMatch(new RegExp(`^${c.module}${stage === 'forward' ? '\\.forward' : ''}: `));
    expect(thrown.message).toMatch(/padding/);
    const torchMessage = c.torch_error.message;
    const L = c.input.shape[2];
    if (/strided convolutions/.test(torchMessage)) {
      expect(thrown.message).toContain(`stride (${c.params.stride}) must be 1 with padding 'same'`);
    } else if (/Padding size should be less/.test(torchMessage)) {
      expect(thrown.message).toContain(`must be smaller than the input length (${L})`);
      expect(thrown.message).toContain("'same'");
    } else if (/Kernel size can't be greater/.test(torchMessage)) {
      expect(thrown.message).toContain('is shorter than the dilated kernel');
    } else if (/Invalid padding string/.test(torchMessage)) {
      expect(thrown.message).toContain(`padding (${JSON.stringify(c.params.padding)}) must be an integer, 'same' or 'valid'`);
    } else {
      expect(torchType).toBe('TypeError');
      expect(thrown.message).toContain(`padding must be an integer (ConvTranspose1d takes no 'same' or 'valid'`);
    }
  });

  // ---- hand-derived --------------------------------------------------------

  // Unit scales and a one-hot weight make output o the padded input at
  // o + k*dilation: y = ozp + (xpad - xzp). Input values 20..20+L-1 with
  // zero points 10: a zero-padded position reads 10 (= the zero point).
  function oneHot(K, d, k, L, mode) {
    const m = new q.Conv1d(1, 1, K, { padding: 'same', dilation: d, bias: false, paddingMode: mode });
    const w = new Int8Array(K);
    w[k] = 1;
    m.setWeightBias({ data: w, scale: 1, zeroPoint: 0 }, null);
    m.scale = 1;
    m.zeroPoint = 10;
    const x = Uint8Array.from({ length: L }, (_, i) => 20 + i);
    const y = m.forward({ data: x, shape: [1, L], scale: 1, zeroPoint: 10 });
    m.dispose();
    return Array.from(y.data);
  }

  test("K 2: 'same' pads after the input (PyTorch: left = total // 2 = 0, right = 1)", () => {
    // Tap 0 reads x[o]; tap 1 reads x[o + 1], past the end the zero point.
    expect(oneHot(2, 1, 0, 5, 'zeros')).toEqual([20, 21, 22, 23, 24]);
    expect(oneHot(2, 1, 1, 5, 'zeros')).toEqual([21, 22, 23, 24, 10]);
    // Reflect: x[5] reflects to x[3].
    expect(oneHot(2, 1, 1, 5, 'reflect')).toEqual([21, 22, 23, 24, 23]);
    // L 1: the one padded position after the input.
    expect(oneHot(2, 1, 0, 1, 'zeros')).toEqual([20]);
    expect(oneHot(2, 1, 1, 1, 'zeros')).toEqual([10]);
  });

  test("K 4: 'same' pads 1 before and 2 after", () => {
    // Tap k reads x[o + k - 1].
    expect(oneHot(4, 1, 0, 5, 'zeros')).toEqual([10, 20, 21, 22, 23]);
    expect(oneHot(4, 1, 1, 5, 'zeros')).toEqual([20, 21, 22, 23, 24]);
    expect(oneHot(4, 1, 3, 5, 'zeros')).toEqual([22, 23, 24, 10, 10]);
    // Reflect: x[-1] -> x[1]; x[5], x[6] -> x[3], x[2].
    expect(oneHot(4, 1, 0, 5, 'reflect')).toEqual([21, 20, 21, 22, 23]);
    expect(oneHot(4, 1, 3, 5, 'reflect')).toEqual([22, 23, 24, 23, 22]);
  });

  test("K 2, dilation 3: total 3, 1 before and 2 after; K 3, dilation 2: 2 and 2", () => {
    expect(oneHot(2, 3, 0, 6, 'zeros')).toEqual([10, 20, 21, 22, 23, 24]);   // x[o - 1]
    expect(oneHot(2, 3, 1, 6, 'zeros')).toEqual([22, 23, 24, 25, 10, 10]);   // x[o + 2]
    expect(oneHot(3, 2, 0, 6, 'reflect')).toEqual([22, 21, 20, 21, 22, 23]); // x[o - 2]
    expect(oneHot(3, 2, 2, 6, 'reflect')).toEqual([22, 23, 24, 25, 24, 23]); // x[o + 2]
  });

  // Random weights, scales and inputs for the comparisons below.
  function randomSetup(seed, cin, cout, K, groups, L, N) {
    const rand = mulberry32(seed);
    const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
    const nw = cout * (cin / groups) * K;
    return {
      weight: {
        data: Int8Array.from({ length: nw }, () => int(-128, 127)),
        scale: Array.from({ length: cout }, () => 0.002 + rand() * 0.02),
        zeroPoint: Array.from({ length: cout }, () => int(-20, 20)),
      },
      bias: Float32Array.from({ length: cout }, () => (rand() - 0.5) * 4),
      x: { data: Uint8Array.from({ length: N * cin * L }, () => int(0, 255)), shape: [N, cin, L], scale: 0.05, zeroPoint: int(0, 255) },
    };
  }

  function forward(options, cin, cout, K, s, x) {
    const m = new q.Conv1d(cin, cout, K, options);
    m.setWeightBias(s.weight, s.bias);
    m.scale = 0.2;
    m.zeroPoint = 120;
    const y = m.forward(x);
    m.dispose();
    return y;
  }

  // x padded by hand: `before` and `after` positions per row, the zero
  // point (zeros) or the mirrored values without the edge (reflect).
  function padByHand(x, before, after, mode) {
    const [N, C, L] = x.shape;
    const Lp = L + before + after;
    const data = new Uint8Array(N * C * Lp);
    for (let r = 0; r < N * C; r++) {
      for (let i = 0; i < Lp; i++) {
        let j = i - before;
        if (mode === 'reflect') {
          if (j < 0) j = -j;
          if (j >= L) j = 2 * (L - 1) - j;
        }
        data[r * Lp + i] = j >= 0 && j < L ? x.data[r * L + j] : x.zeroPoint;
      }
    }
    return { ...x, data, shape: [N, C, Lp] };
  }

  test.each([
    // K, dilation, groups, L, mode
    [4, 1, 1, 9, 'zeros'], [4, 1, 1, 9, 'reflect'], [4, 3, 2, 17, 'zeros'], [6, 1, 3, 30, 'reflect'],
    [2, 1, 1, 1, 'zeros'], [5, 2, 1, 12, 'zeros'], [7, 1, 6, 40, 'reflect'], [1, 3, 1, 4, 'zeros'],
  ])("'same' (K %i, dilation %i, groups %i, L %i, %s) equals padding 0 on the input padded by hand", (K, d, groups, L, mode) => {
    const cin = 6, cout = 12;
    const s = randomSetup(1000 * K + 10 * d + L, cin, cout, K, groups, L, 2);
    const total = d * (K - 1);
    const before = Math.floor(total / 2), after = total - before;
    const same = forward({ padding: 'same', dilation: d, groups, paddingMode: mode }, cin, cout, K, s, s.x);
    const byHand = forward({ padding: 0, dilation: d, groups }, cin, cout, K, s, padByHand(s.x, before, after, mode));
    expect(same.shape).toEqual([2, cout, L]);
    expect(byHand.shape).toEqual(same.shape);
    expect(firstDifference(same.data, byHand.data)).toBe(-1);
    if (before === after) {
      const explicit = forward({ padding: before, dilation: d, groups, paddingMode: mode }, cin, cout, K, s, s.x);
      expect(firstDifference(same.data, explicit.data)).toBe(-1);
    }
    // The sides matter: the mirror image of the split gives other bytes.
    if (before !== after) {
      const swapped = forward({ padding: 0, dilation: d, groups }, cin, cout, K, s, padByHand(s.x, after, before, mode));
      expect(firstDifference(same.data, swapped.data)).not.toBe(-1);
    }
  });

  test.each([[3, 1, 'zeros'], [4, 2, 'reflect'], [1, 1, 'zeros']])("'valid' (K %i, dilation %i, %s) equals padding 0", (K, d, mode) => {
    const s = randomSetup(77 + K, 4, 8, K, 1, 20, 1);
    const valid = forward({ padding: 'valid', dilation: d, paddingMode: mode }, 4, 8, K, s, s.x);
    const zero = forward({ padding: 0, dilation: d, paddingMode: mode }, 4, 8, K, s, s.x);
    expect(valid.shape).toEqual([1, 8, outputLength({ kind: 'Conv1d', L: 20, K, stride: 1, padding: 0, dilation: d })]);
    expect(firstDifference(valid.data, zero.data)).toBe(-1);
  });

  test('outputLength and the padding property', () => {
    for (const K of [1, 2, 3, 4, 7]) {
      for (const d of [1, 2, 3]) {
        const same = new q.Conv1d(2, 2, K, { padding: 'same', dilation: d });
        const valid = new q.Conv1d(2, 2, K, 1, 'valid', d);
        for (const L of [1, 5, 40]) {
          expect(same.outputLength(L)).toBe(L);
          const want = outputLength({ kind: 'Conv1d', L, K, stride: 1, padding: 0, dilation: d });
          if (want >= 1) expect(valid.outputLength(L)).toBe(want);
          else expect(() => valid.outputLength(L)).toThrow(RangeError);
        }
        expect(same.padding).toBe('same');
        expect(valid.padding).toBe('valid');
        same.dispose();
        valid.dispose();
      }
    }
    const numeric = new q.Conv1d(2, 2, 3, { padding: [2] });
    expect(numeric.padding).toBe(2);
    numeric.dispose();
  });

  // ---- bad padding arguments --------------------------------------------------
  const C = (...args) => () => new q.Conv1d(...args);
  const T = (...args) => () => new q.ConvTranspose1d(...args);
  test.each([
    ["'same' with stride 2", C(2, 2, 3, { stride: 2, padding: 'same' }), RangeError,
      "Conv1d: stride (2) must be 1 with padding 'same' (PyTorch does not support padding='same' for strided convolutions)"],
    ["'same' with stride 3, positional", C(2, 2, 3, 3, 'same'), RangeError, 'stride (3) must be 1 with padding'],
    ['"full"', C(2, 2, 3, { padding: 'full' }), RangeError, `Conv1d: padding ("full") must be an integer, 'same' or 'valid'`],
    ['"Same"', C(2, 2, 3, { padding: 'Same' }), RangeError, `padding ("Same") must be an integer, 'same' or 'valid'`],
    ['""', C(2, 2, 3, { padding: '' }), RangeError, `padding ("") must be an integer, 'same' or 'valid'`],
    ["['same']", C(2, 2, 3, { padding: ['same'] }), TypeError, 'Conv1d: padding must be an integer, got "same"'],
    ['null', C(2, 2, 3, { padding: null }), TypeError, "Conv1d: padding must be an integer, 'same' or 'valid', got null"],
    ["ConvTranspose1d 'same'", T(2, 2, 3, { padding: 'same' }), TypeError,
      `ConvTranspose1d: padding must be an integer (ConvTranspose1d takes no 'same' or 'valid'; torch.nn.ConvTranspose1d fails on them with a TypeError at forward), got "same"`],
    ["ConvTranspose1d 'valid', positional", T(2, 2, 3, 1, 'valid'), TypeError, 'got "valid"'],
  ])('%s', (label, make, error, message) => {
    expect(make).toThrow(error);
    expect(make).toThrow(message);
  });

  test('a forward rejected for its length leaves the module usable', () => {
    const s = randomSetup(5, 2, 2, 4, 1, 6, 1);
    const m = new q.Conv1d(2, 2, 4, { padding: 'same', paddingMode: 'reflect' });
    m.setWeightBias(s.weight, s.bias);
    m.scale = 0.2;
    m.zeroPoint = 120;
    const expected = m.forward(s.x);
    const short = { data: new Uint8Array(4), shape: [1, 2, 2], scale: 0.05, zeroPoint: 3 };
    expect(() => m.forward(short)).toThrow(RangeError);
    expect(() => m.forward(short)).toThrow(
      "Conv1d.forward: padding ('same': 1 before and 2 after the input) must be smaller than the input length (2) on each side for reflect padding");
    expect(() => m.outputLength(2)).toThrow('must be smaller than the input length (2)');
    const again = m.forward(s.x);
    expect(firstDifference(again.data, expected.data)).toBe(-1);
    m.dispose();

    const valid = new q.Conv1d(2, 2, 3, { padding: 'valid', dilation: 2 });
    expect(() => valid.forward(short)).toThrow(
      'Conv1d.forward: padded input length (L + 2*padding = 2) is shorter than the dilated kernel (dilation*(kernelSize-1) + 1 = 5)');
    valid.dispose();
  });
});
