'use strict';
// Whole PyTorch models (tests/data/models) through the SIMD128 flavour.
const q = require('../..');
const { defineModelSuite } = require('./models-torch');

beforeAll(async () => {
  const info = await q.init({ simd: true });
  expect(info.flavour).toBe('wasmsimd');
});
defineModelSuite(q, { describe, test, expect });
