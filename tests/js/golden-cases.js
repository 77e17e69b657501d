'use strict';
// Loads the PyTorch-generated golden cases (tests/golden/*.json; their format
// and how a case runs: docs/SEMANTICS.md §9.1) and runs one through the
// public API: construct with the positional parameters (PyTorch
// order), setWeightBias, set scale and zeroPoint, forward(input, output_size).
const fs = require('fs');
const path = require('path');

const GOLDEN_DIR = path.join(__dirname, '..', 'golden');

function loadGoldenCases() {
  const cases = [];
  for (const name of fs.readdirSync(GOLDEN_DIR).filter((n) => n.endsWith('.json')).sort()) {
    const doc = JSON.parse(fs.readFileSync(path.join(GOLDEN_DIR, name), 'utf8'));
    if (doc.format !== 'qconv1d-golden-v1') continue;
    cases.push(...doc.cases);
  }
  return cases;
}

const bytes = (b64, Type) => {
  const buf = Buffer.from(b64, 'base64');
  const copy = new Uint8Array(buf.length);
  copy.set(buf);
  return new Type(copy.buffer, 0, copy.length / Type.BYTES_PER_ELEMENT);
};

function constructModule(q, c) {
  const p = c.params;
  if (c.module === 'ConvTranspose1d') {
    return new q.ConvTranspose1d(p.in_channels, p.out_channels, p.kernel_size, p.stride, p.padding,
      p.output_padding, p.groups, p.bias, p.dilation, p.padding_mode);
  }
  return new q.Conv1d(p.in_channels, p.out_channels, p.kernel_size, p.stride, p.padding,
    p.dilation, p.groups, p.bias, p.padding_mode);
}

function weightOf(c) {
  const w = c.weight;
  const perChannel = w.qscheme === 'per_channel';
  return {
    data: bytes(w.data_b64, Int8Array),
    shape: w.shape,
    scale: perChannel ? w.scales : w.scales[0],
    zeroPoint: perChannel ? w.zero_points : w.zero_points[0],
  };
}

function inputOf(c) {
  return {
    data: bytes(c.input.data_b64, Uint8Array),
    shape: c.input.shape,
    scale: c.input.scale,
    zeroPoint: c.input.zero_point,
  };
}

// Runs the whole case on a fresh module (or the one given); returns the output.
function runGoldenCase(q, c, module) {
  const m = module || constructModule(q, c);
  try {
    m.setWeightBias(weightOf(c), c.bias ? bytes(c.bias.data_b64, Float32Array) : null);
    m.scale = c.output_scale;
    m.zeroPoint = c.output_zero_point;
    return c.output_size ? m.forward(inputOf(c), c.output_size) : m.forward(inputOf(c));
  } finally {
    if (!module) m.dispose();
  }
}

function expectedOf(c) {
  return { shape: c.expected.shape, data: bytes(c.expected.data_b64, Uint8Array) };
}

module.exports = {
  loadGoldenCases, runGoldenCase, constructModule, weightOf, inputOf, expectedOf, bytes,
};
