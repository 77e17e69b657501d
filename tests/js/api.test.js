'use strict';
// Behaviour of the public API (docs/API.md). Expected values here are
// derived by hand in the comments next to them, or taken from PyTorch's
// golden cases and documentation.
const q = require('../..');
const { loadGoldenCases, runGoldenCase, expectedOf, weightOf, inputOf } = require('./golden-cases');

const golden = loadGoldenCases().filter((c) => !c.expected_error);
const perChannelT = golden.find((c) => c.module === 'ConvTranspose1d' && c.weight.qscheme === 'per_channel');

beforeAll(() => q.init());

describe('init', () => {
  test('is idempotent: calls that ask for nothing else share one promise', async () => {
    const a = q.init();
    const info = await a;
    expect(typeof info.simd).toBe('boolean');
    expect(info.version).toBe(require('../../package.json').version);
    expect(info.flavour).toBe(info.simd ? 'wasmsimd' : 'scalar');
    // Left out, 'auto', or the same as what runs: the first call's promise.
    for (const same of [undefined, {}, { simd: 'auto' }, { simd: info.simd }, { numThreads: 1 },
      { simd: info.simd, numThreads: 1 }]) {
      expect(q.init(same)).toBe(a);
    }
    // Where the files are no longer matters once they are loaded.
    expect(q.init({ locateFile: () => '/nowhere/qconv.wasm' })).toBe(a);
    expect(q.init({ wasmBinary: new Uint8Array(8) })).toBe(a);
  });

  test('a later call asking for another module rejects with an Error naming both, and nothing changes', async () => {
    const first = await q.init();
    const otherSimd = q.init({ simd: !first.simd });
    await expect(otherSimd).rejects.toThrow(Error);
    await expect(otherSimd).rejects.toThrow(`init: qconv-wasm is already initialised with { simd: ${first.simd}, ` +
      `numThreads: 1 }; init({ simd: ${!first.simd} }) asks for another module. The first init() chooses for ` +
      'the whole page or process: call init() without options (or with the same ones) to share it');
    await expect(q.init({ numThreads: 2 })).rejects.toThrow(/already initialised with .*; init\(\{ numThreads: 2 \}\) asks for another module/);
    await expect(q.init({ simd: !first.simd, numThreads: 3 })).rejects
      .toThrow(`init({ simd: ${!first.simd}, numThreads: 3 }) asks for another module`);
    // Still the first module, still working.
    expect(await q.init()).toBe(first);
    const m = new q.ConvTranspose1d(1, 1, 1);
    m.setWeightBias({ data: new Int8Array([2]), scale: 1, zeroPoint: 0 }, null);
    // 2 * 3 = 6 at output scale 1, zero point 0.
    expect(Array.from(m.forward(q.quantizePerTensor([3], [1, 1, 1], 1, 0)).data)).toEqual([6]);
    m.dispose();
  });

  test('bad options are refused even once initialised', async () => {
    await q.init();
    await expect(q.init({ simd: 'yes' })).rejects.toThrow(TypeError);
    await expect(q.init({ numThreads: 0 })).rejects.toThrow(RangeError);
    await expect(q.init({ threads: 2 })).rejects.toThrow(/unknown option 'threads'/);
  });
});

describe('quantizePerTensor / dequantize', () => {
  test('ties round half to even (torch: [0.5, 1.5, 2.5] with zp 10 -> [10, 12, 12])', () => {
    const t = q.quantizePerTensor([0.5, 1.5, 2.5], [3], 1.0, 10);
    expect(Array.from(t.data)).toEqual([10, 12, 12]);
    expect(t.shape).toEqual([3]);
    expect(t.scale).toBe(1.0);
    expect(t.zeroPoint).toBe(10);
  });
  test('saturates per the port policy: +inf -> 255, -inf -> 0, NaN -> 0, huge -> 255', () => {
    const t = q.quantizePerTensor([Infinity, -Infinity, NaN, 1e30, -1e30], [5], 0.5, 3);
    expect(Array.from(t.data)).toEqual([255, 0, 0, 255, 0]);
  });
  test('uses the float32 reciprocal of the scale, as torch does', () => {
    // 1/f32(0.1) in float32 is 10.0 (rounded); 0.25 * 10 = 2.5 -> 2 (even); +5 -> 7.
    // With 0.35: f32(0.35) * 10 = 3.5 -> 4 (even) -> 9.
    const t = q.quantizePerTensor(new Float32Array([0.25, 0.35]), [2], 0.1, 5);
    expect(Array.from(t.data)).toEqual([7, 9]);
  });
  test('dequantize is f32(scale) * (q - zp)', () => {
    const x = q.dequantize({ data: Uint8Array.of(0, 10, 255), shape: [3], scale: 0.5, zeroPoint: 10 });
    expect(x).toBeInstanceOf(Float32Array);
    expect(Array.from(x)).toEqual([-5, 0, 122.5]);
  });
  test('round trip of representable values is exact', () => {
    const values = Float32Array.from({ length: 256 }, (_, i) => (i - 100) * 0.25);
    const t = q.quantizePerTensor(values, [16, 16], 0.25, 100);
    expect(Array.from(q.dequantize(t))).toEqual(Array.from(values));
  });
});

describe('ConvTranspose1d', () => {
  test('a new module has zero weights, zero bias, scale 1, zero point 0', () => {
    const m = new q.ConvTranspose1d(4, 6, 3, { groups: 2 });
    const w = m.weight();
    expect(w.shape).toEqual([4, 3, 3]);
    expect(w.data).toEqual(new Int8Array(36));
    expect(w.scale).toBe(1);
    expect(w.zeroPoint).toBe(0);
    expect(w.qscheme).toBe('per_tensor_affine');
    expect(m.bias()).toEqual(new Float32Array(6));
    expect(m.scale).toBe(1);
    expect(m.zeroPoint).toBe(0);
    expect(new q.ConvTranspose1d(4, 6, 3, { bias: false }).bias()).toBeNull();
    m.dispose();
  });

  test('hand-computed stride-2 upsampling', () => {
    // w = [1, 2], x = [1, 2, 3], all scales 1, zero points 0:
    // o = 2i + k: o0 = 1*1, o1 = 1*2, o2 = 2*1, o3 = 2*2, o4 = 3*1, o5 = 3*2.
    const m = new q.ConvTranspose1d(1, 1, 2, 2);
    m.setWeightBias({ data: Int8Array.of(1, 2), scale: 1 }, null);
    const y = m.forward({ data: Uint8Array.of(1, 2, 3), shape: [1, 1, 3], scale: 1, zeroPoint: 0 });
    expect(y.shape).toEqual([1, 1, 6]);
    expect(Array.from(y.data)).toEqual([1, 2, 2, 4, 3, 6]);
    // With output zero point 10 and bias 0.5 (-> rint(0.5) = 0, half to even): +10 each.
    m.setWeightBias({ data: Int8Array.of(1, 2), scale: 1 }, [0.5]);
    m.zeroPoint = 10;
    const y2 = m.forward({ data: Uint8Array.of(1, 2, 3), shape: [1, 1, 3], scale: 1, zeroPoint: 0 });
    expect(Array.from(y2.data)).toEqual([11, 12, 12, 14, 13, 16]);
    m.dispose();
  });

  test('positional and options-object constructors build the same module', () => {
    const c = golden.find((g) => g.module === 'ConvTranspose1d' && g.params.groups > 1 && g.params.dilation > 1) ||
      golden.find((g) => g.module === 'ConvTranspose1d' && g.params.groups > 1);
    const p = c.params;
    const m = new q.ConvTranspose1d(p.in_channels, p.out_channels, [p.kernel_size], {
      stride: [p.stride], padding: p.padding, outputPadding: p.output_padding, groups: p.groups,
      bias: p.bias, dilation: p.dilation, paddingMode: 'zeros',
    });
    expect(m.outputPadding).toBe(p.output_padding);
    const out = runGoldenCase(q, c, m);
    expect(Buffer.from(out.data).equals(Buffer.from(expectedOf(c).data))).toBe(true);
    m.dispose();
  });

  test('per-channel weights report their qparams as arrays', () => {
    const c = perChannelT;
    const p = c.params;
    const m = new q.ConvTranspose1d(p.in_channels, p.out_channels, p.kernel_size, p.stride, p.padding,
      p.output_padding, p.groups, p.bias, p.dilation);
    const w = weightOf(c);
    m.setWeightBias(w, null);
    const got = m.weight();
    expect(got.qscheme).toBe('per_channel_affine');
    expect(got.scale).toEqual(c.weight.scales);
    expect(got.zeroPoint).toEqual(c.weight.zero_points);
    expect(got.data).toEqual(w.data);
    expect(got.data).not.toBe(w.data);  // a copy
    m.dispose();
  });

  test('outputSize selects among the valid lengths and overrides outputPadding', () => {
    // L = 6, stride 2, padding 1, K = 3: min = 5*2 - 2 + 2 + 1 = 11, max = 12.
    const m = new q.ConvTranspose1d(16, 16, 3, { stride: 2, padding: 1 });
    const x = { data: new Uint8Array(16 * 6).fill(3), shape: [1, 16, 6], scale: 1, zeroPoint: 0 };
    expect(m.forward(x).shape).toEqual([1, 16, 11]);
    expect(m.forward(x, [12]).shape).toEqual([1, 16, 12]);
    expect(m.forward(x, [1, 16, 12]).shape).toEqual([1, 16, 12]);
    expect(m.forward(x, [7, 99, 11]).shape).toEqual([1, 16, 11]);  // N, C entries unchecked, as torch
    expect(m.outputLength(6)).toBe(11);
    expect(m.outputLength(6, [12])).toBe(12);
    expect(m.outputLength(6, 12)).toBe(12);
    expect(() => m.forward(x, [13])).toThrow(RangeError);
    expect(() => m.forward(x, [10])).toThrow(/between 11 and 12/);
    expect(() => m.forward(x, [1, 12])).toThrow(RangeError);
    // unbatched input takes [L] or [C, L]
    const xu = { data: x.data, shape: [16, 6], scale: 1, zeroPoint: 0 };
    expect(m.forward(xu, [16, 12]).shape).toEqual([16, 12]);
    expect(() => m.forward(xu, [1, 16, 12])).toThrow(RangeError);
    // outputPadding 1 gives the same bytes as outputSize 12
    const m2 = new q.ConvTranspose1d(16, 16, 3, { stride: 2, padding: 1, outputPadding: 1 });
    expect(m2.forward(x).data).toEqual(m.forward(x, [12]).data);
    m.dispose();
    m2.dispose();
  });

  test('unbatched [C, L] input equals the batched result without the batch axis', () => {
    const c = golden.find((g) => g.module === 'ConvTranspose1d' && g.input.shape.length === 3 && g.input.shape[0] === 1 && !g.output_size);
    const out = runGoldenCase(q, c);
    const p = c.params;
    const m = new q.ConvTranspose1d(p.in_channels, p.out_channels, p.kernel_size, p.stride, p.padding,
      p.output_padding, p.groups, p.bias, p.dilation);
    m.setWeightBias(weightOf(c), c.bias ? require('./golden-cases').bytes(c.bias.data_b64, Float32Array) : null);
    m.scale = c.output_scale;
    m.zeroPoint = c.output_zero_point;
    const x = inputOf(c);
    const y = m.forward({ ...x, shape: x.shape.slice(1) });
    expect(y.shape).toEqual(out.shape.slice(1));
    expect(y.data).toEqual(out.data);
    m.dispose();
  });

  test('an empty batch returns an empty [0, Cout, Lout] output', () => {
    const m = new q.ConvTranspose1d(3, 5, 4, 2);
    const y = m.forward({ data: new Uint8Array(0), shape: [0, 3, 7], scale: 0.1, zeroPoint: 3 });
    // Lout = 6*2 + 3 + 1 = 16
    expect(y.shape).toEqual([0, 5, 16]);
    expect(y.data.length).toBe(0);
    m.dispose();
  });

  test('changing scale, zeroPoint or the input qparams always takes effect (no stale cache)', () => {
    const c = golden.find((g) => g.module === 'ConvTranspose1d' && g.bias);
    const p = c.params;
    const m = new q.ConvTranspose1d(p.in_channels, p.out_channels, p.kernel_size, p.stride, p.padding,
      p.output_padding, p.groups, p.bias, p.dilation);
    const before = runGoldenCase(q, c, m);
    // Perturb everything, forward, then restore: the bytes come back exactly.
    m.scale = c.output_scale * 3;
    m.zeroPoint = (c.output_zero_point + 50) % 256;
    const x = inputOf(c);
    const other = m.forward({ ...x, scale: x.scale * 2, zeroPoint: (x.zeroPoint + 7) % 256 });
    expect(other.data).not.toEqual(before.data);
    const again = runGoldenCase(q, c, m);
    expect(again.data).toEqual(expectedOf(c).data);
    m.dispose();
  });

  test('forward returns fresh output arrays owned by the caller', () => {
    const m = new q.ConvTranspose1d(2, 2, 2);
    const x = { data: Uint8Array.of(1, 2, 3, 4), shape: [1, 2, 2], scale: 1, zeroPoint: 0 };
    const a = m.forward(x);
    const b = m.forward(x);
    expect(a.data).not.toBe(b.data);
    a.data.fill(7);
    expect(Array.from(m.forward(x).data)).toEqual(Array.from(b.data));
    m.dispose();
  });
});

describe('Conv1d', () => {
  test('hand-computed zeros and reflect padding', () => {
    // x = [1, 2, 3], w = [1, 1, 1], padding 1.
    // zeros:   [0,1,2,3,0] -> [0+1+2, 1+2+3, 2+3+0] = [3, 6, 5]
    // reflect: [2,1,2,3,2] -> [2+1+2, 1+2+3, 2+3+2] = [5, 6, 7]
    const x = { data: Uint8Array.of(1, 2, 3), shape: [1, 1, 3], scale: 1, zeroPoint: 0 };
    const w = { data: Int8Array.of(1, 1, 1), scale: 1 };
    const zeros = new q.Conv1d(1, 1, 3, 1, 1);
    zeros.setWeightBias(w, null);
    expect(Array.from(zeros.forward(x).data)).toEqual([3, 6, 5]);
    const reflect = new q.Conv1d(1, 1, 3, { padding: 1, paddingMode: 'reflect' });
    reflect.setWeightBias(w, null);
    expect(Array.from(reflect.forward(x).data)).toEqual([5, 6, 7]);
    expect(reflect.paddingMode).toBe('reflect');
    zeros.dispose();
    reflect.dispose();
  });

  test('positional order is PyTorch\'s (stride, padding, dilation, groups, bias, paddingMode)', () => {
    const m = new q.Conv1d(4, 4, 3, 2, 1, 2, 2, false, 'zeros');
    expect([m.stride, m.padding, m.dilation, m.groups]).toEqual([2, 1, 2, 2]);
    expect(m.bias()).toBeNull();
    expect(m.weight().shape).toEqual([4, 2, 3]);
    // L = 9: (9 + 2 - 2*2 - 1) / 2 + 1 = 4
    expect(m.outputLength(9)).toBe(4);
    m.dispose();
  });

  test('the docs example downsamples [1, 16, 12] to [1, 16, 6]', () => {
    const m = new q.Conv1d(16, 16, 3, { stride: 2, padding: 1 });
    const x = q.quantizePerTensor(new Float32Array(16 * 12).fill(0.5), [1, 16, 12], 1.0, 0);
    expect(m.forward(x).shape).toEqual([1, 16, 6]);
    m.dispose();
  });
});

describe('dispose', () => {
  test('dispose() and Symbol.dispose free the module; later calls throw a plain Error', () => {
    const m = new q.ConvTranspose1d(2, 2, 2);
    expect(m.disposed).toBe(false);
    m.dispose();
    expect(m.disposed).toBe(true);
    m.dispose();  // idempotent
    const x = { data: new Uint8Array(4), shape: [1, 2, 2], scale: 1, zeroPoint: 0 };
    for (const call of [() => m.forward(x), () => m.weight(), () => m.bias(), () => m.scale,
      () => { m.zeroPoint = 1; }, () => m.setWeightBias({ data: new Int8Array(8), scale: 1 }, null),
      () => m.outputLength(3)]) {
      let error = null;
      try { call(); } catch (e) { error = e; }
      expect(error).not.toBeNull();
      expect(error.constructor).toBe(Error);
      expect(error.message).toMatch(/disposed/);
    }
    if (typeof Symbol.dispose === 'symbol') {
      const m2 = new q.Conv1d(1, 1, 1);
      m2[Symbol.dispose]();
      expect(m2.disposed).toBe(true);
    }
  });
});

describe('typed array views', () => {
  test('SharedArrayBuffer-backed and offset views give the same bytes as plain arrays', () => {
    const m = new q.ConvTranspose1d(2, 2, 3, 2);
    m.setWeightBias({ data: Int8Array.from({ length: 12 }, (_, i) => i * 11 - 60), scale: 0.1 }, [1, -1]);
    m.scale = 0.05;
    m.zeroPoint = 99;
    const x = { data: Uint8Array.from({ length: 10 }, (_, i) => i * 20), shape: [1, 2, 5], scale: 0.05, zeroPoint: 10 };
    const ref = m.forward(x).data;
    const shared = new Uint8Array(new SharedArrayBuffer(10));
    shared.set(x.data);
    expect(m.forward({ ...x, data: shared }).data).toEqual(ref);
    const big = new Uint8Array(20);
    big.set(x.data, 7);
    expect(m.forward({ ...x, data: big.subarray(7, 17) }).data).toEqual(ref);
    m.dispose();
  });
});
