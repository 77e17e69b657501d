'use strict';
// Whole PyTorch models (tests/data/models) through the scalar flavour.
const q = require('../..');
const { defineModelSuite } = require('./models-torch');

beforeAll(async () => {
  const info = await q.init({ simd: false });
  expect(info.flavour).toBe('scalar');
});
defineModelSuite(q, { describe, test, expect });
