'use strict';
// The golden suite for one wasm flavour: every valid case bit-exact, every
// error case rejected with a TypeError or RangeError.
const { loadGoldenCases, runGoldenCase, expectedOf } = require('./golden-cases');

function firstDifference(a, b) {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return -1;
}

// simd: true or false; threads: init's numThreads (the threaded flavour when > 1).
function defineGoldenSuite(simd, threads = 1) {
  const q = require('../..');
  const cases = loadGoldenCases();
  const valid = cases.filter((c) => !c.expected_error);
  const errors = cases.filter((c) => c.expected_error);

  beforeAll(async () => {
    const info = await q.init(threads > 1 ? { simd, numThreads: threads } : { simd });
    expect(info.simd).toBe(simd);
    expect(info.threads).toBe(threads);
  });

  test('the golden set is present', () => {
    expect(valid.length).toBeGreaterThan(100);
    expect(errors.length).toBeGreaterThan(10);
  });

  describe.each(valid.map((c) => [c.id, c]))('valid %s', (id, c) => {
    test('matches PyTorch bit for bit', () => {
      const out = runGoldenCase(q, c);
      const exp = expectedOf(c);
      expect(out.shape).toEqual(exp.shape);
      expect(out.scale).toBe(c.output_scale);
      expect(out.zeroPoint).toBe(c.output_zero_point);
      expect(out.data.length).toBe(exp.data.length);
      const at = firstDifference(out.data, exp.data);
      if (at >= 0) {
        throw new Error(`${id}: first differing byte at ${at}: got ${out.data[at]}, expected ${exp.data[at]}`);
      }
    });
  });

  describe.each(errors.map((c) => [c.id, c.error_category, c]))('error %s (%s)', (id, category, c) => {
    test('is rejected with a TypeError or RangeError', () => {
      let thrown = null;
      try {
        runGoldenCase(q, c);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).not.toBeNull();
      expect([TypeError, RangeError]).toContain(thrown.constructor);
      expect(thrown.message).toMatch(/^(ConvTranspose1d|Conv1d)/);
    });
  });
}

module.exports = { defineGoldenSuite };
