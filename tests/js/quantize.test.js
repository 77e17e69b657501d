'use strict';
// quantizePerTensor / dequantize against PyTorch's own outputs
// (tests/data/quantize_per_tensor.json, written by tools/gen_quantize_cases.py
// with torch.quantize_per_tensor(..., torch.quint8) and .dequantize()).
const fs = require('fs');
const path = require('path');
const q = require('../..');
const { bytes } = require('./golden-cases');

const doc = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'data', 'quantize_per_tensor.json'), 'utf8'));

beforeAll(() => q.init());

test('the PyTorch data is present', () => {
  expect(doc.format).toBe('quantize-per-tensor-v1');
  expect(doc.groups.length).toBeGreaterThan(30);
});

describe.each(doc.groups.map((g) => [g.scale, g.zero_point, g]))('scale %d, zero point %d', (scale, zp, g) => {
  const values = bytes(g.values_b64, Float32Array);
  const expectedQ = bytes(g.quantized_b64, Uint8Array);
  const expectedX = bytes(g.dequantized_b64, Float32Array);

  test('quantizePerTensor equals torch.quantize_per_tensor byte for byte', () => {
    const t = q.quantizePerTensor(values, [values.length], scale, zp);
    expect(Buffer.from(t.data).equals(Buffer.from(expectedQ))).toBe(true);
    // number[] input is rounded to float32 first: the same bytes
    const t2 = q.quantizePerTensor(Array.from(values), [4, values.length / 4], scale, zp);
    expect(Buffer.from(t2.data).equals(Buffer.from(expectedQ))).toBe(true);
  });

  test('dequantize equals torch dequantize bit for bit', () => {
    const x = q.dequantize({ data: expectedQ, shape: [expectedQ.length], scale, zeroPoint: zp });
    expect(Buffer.from(x.buffer).equals(Buffer.from(expectedX.buffer))).toBe(true);
  });
});
