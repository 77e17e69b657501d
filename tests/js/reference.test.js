'use strict';
// The JS reference model is only a credible oracle if it reproduces
// PyTorch: check it on every valid golden case (no wasm involved).
const { referenceForward } = require('./reference');
const { loadGoldenCases, bytes, expectedOf } = require('./golden-cases');

const valid = loadGoldenCases().filter((c) => !c.expected_error);

test.each(valid.map((c) => [c.id, c]))('reference model reproduces golden %s', (id, c) => {
  const p = c.params;
  const w = c.weight;
  const cout = p.out_channels;
  const shape = c.input.shape.length === 3 ? c.input.shape : [1, ...c.input.shape];
  let outputLength;
  if (c.output_size) {
    outputLength = c.output_size[c.output_size.length - 1];
  }
  const out = referenceForward({
    kind: c.module, cin: p.in_channels, cout, K: p.kernel_size, stride: p.stride, padding: p.padding,
    outputPadding: p.output_padding || 0, dilation: p.dilation, groups: p.groups,
    paddingMode: p.padding_mode,
    w: bytes(w.data_b64, Int8Array),
    ws: w.scales.length === 1 ? new Array(cout).fill(w.scales[0]) : w.scales,
    wzp: w.zero_points.length === 1 ? new Array(cout).fill(w.zero_points[0]) : w.zero_points,
    bias: c.bias ? bytes(c.bias.data_b64, Float32Array) : null,
    x: bytes(c.input.data_b64, Uint8Array), N: shape[0], L: shape[2],
    xs: c.input.scale, xzp: c.input.zero_point, os: c.output_scale, ozp: c.output_zero_point,
    outputLength,
  });
  const exp = expectedOf(c);
  expect(out.shape.slice(-2)).toEqual(exp.shape.slice(-2));
  expect(Buffer.from(out.data).equals(Buffer.from(exp.data))).toBe(true);
});
