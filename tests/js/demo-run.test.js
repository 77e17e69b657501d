'use strict';
// The demo's DOM-free run module (web-demo/src/run.js) under Node: what it
// computes for the page's controls is what the library computes, byte for
// byte against this suite's independent reference (tests/js/reference.js);
// its error statistics are right on a hand-derived case and within rounding
// of its float reference; its own input checks throw its DemoInputError.
// The module is ESM, so it runs in a child process (fixtures/demo-run-child.mjs).
const { execFileSync } = require('child_process');
const path = require('path');
const { referenceForward } = require('./reference');

const root = path.join(__dirname, '..', '..');
const TYPES = { Int8Array, Uint8Array, Float32Array, Float64Array };
const decode = (e) => (e && e.b64 ? new TYPES[e.type](new Uint8Array(Buffer.from(e.b64, 'base64')).buffer) : e);

// The values readControls() reads from the page's controls, for a module.
function controls(module, args, overrides = {}) {
  return {
    module,
    args: { stride: 1, padding: 0, ...(module === 'ConvTranspose1d' ? { outputPadding: 0 } : {}),
      dilation: 1, groups: 1, bias: true, paddingMode: 'zeros', ...args },
    batch: 2, length: 9, outputSize: null, signal: 'noise', frequency: 3, amplitude: 1, offset: 0,
    deriveInput: true, inputScale: NaN, inputZeroPoint: NaN, weights: 'random', seed: 5,
    biasValues: 'random', deriveOutput: true, outputScale: NaN, outputZeroPoint: NaN,
    ...overrides,
  };
}

function runChild(request) {
  const out = execFileSync(process.execPath,
    ['--disable-warning=MODULE_TYPELESS_PACKAGE_JSON', path.join(__dirname, 'fixtures', 'demo-run-child.mjs'),
      JSON.stringify(request)], { cwd: root, encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop());
}

// The run's bytes from tests/js/reference.js, given the run's own weight,
// bias, quantized input and qparams.
function referenceBytes(c, r, outputLength) {
  const a = c.args;
  const perChannel = typeof r.weight.scale !== 'number';
  return referenceForward({
    kind: c.module, cin: a.inChannels, cout: a.outChannels, K: a.kernelSize, stride: a.stride,
    padding: a.padding, outputPadding: a.outputPadding || 0, dilation: a.dilation, groups: a.groups,
    paddingMode: a.paddingMode, w: decode(r.weight.data),
    ws: perChannel ? r.weight.scale : Array(a.outChannels).fill(r.weight.scale),
    wzp: perChannel ? r.weight.zeroPoint : Array(a.outChannels).fill(r.weight.zeroPoint),
    bias: decode(r.bias), x: decode(r.input.data), N: c.batch, L: c.length,
    xs: r.input.scale, xzp: r.input.zeroPoint, os: r.output.scale, ozp: r.output.zeroPoint, outputLength,
  });
}

const RUNS = [
  // A grouped, strided ConvTranspose1d with outputPadding: random weights and bias, noise.
  controls('ConvTranspose1d', { inChannels: 4, outChannels: 6, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1, groups: 2 }),
  // Conv1d with reflect padding, dilation and groups: the moving-average filter, a chirp.
  controls('Conv1d', { inChannels: 4, outChannels: 8, kernelSize: 3, stride: 2, padding: 2, dilation: 2, groups: 2, paddingMode: 'reflect' },
    { weights: 'from-float', signal: 'chirp', length: 11, biasValues: 'zeros' }),
  // PyTorch's upsample example: outputSize [1, 16, 12] from a [1, 16, 6] input, no bias.
  controls('ConvTranspose1d', { inChannels: 16, outChannels: 16, kernelSize: 3, stride: 2, padding: 1, bias: false },
    { batch: 1, length: 6, outputSize: [1, 16, 12], signal: 'sine', weights: 'from-float' }),
];

let result;
beforeAll(() => {
  result = runChild({
    runs: [
      ...RUNS.map((c) => ({ controls: c })),
      // An audio file as input: one channel of 5 samples, 3 input channels, 2 batch items.
      { controls: controls('Conv1d', { inChannels: 3, outChannels: 3, kernelSize: 1 }, { signal: 'wav', length: 4 }),
        audio: { sampleRate: 8000, frames: 5, channels: [[0.5, -0.25, 1, -1, 0.75]] } },
      // The page's own checks, then the library's.
      { controls: controls('Conv1d', { inChannels: 2, outChannels: 2, kernelSize: 3 }, { batch: -1 }) },
      { controls: controls('Conv1d', { inChannels: 2, outChannels: 2, kernelSize: 3 }, { signal: 'wav' }) },
      { controls: controls('Conv1d', { inChannels: 2, outChannels: 2, kernelSize: 3 }, { seed: 1.5 }) },
      { controls: controls('ConvTranspose1d', { inChannels: 16, outChannels: 33, kernelSize: 3, groups: 5 }) },
      // Typed output qparams far too fine: most outputs saturate.
      { controls: controls('ConvTranspose1d', { inChannels: 4, outChannels: 4, kernelSize: 3 },
        { deriveOutput: false, outputScale: 1e-4, outputZeroPoint: 128, amplitude: 5 }) },
    ],
    statistics: [{
      outputDequantized: [0.5, 1, 0, 25.5], reference: [0.45, 1.2, -0.3, 25.5], output: { scale: 0.1, data: [5, 10, 0, 255] },
    }],
  });
}, 60000);

test('its output is the library\'s, byte for byte against the independent reference', () => {
  RUNS.forEach((c, i) => {
    const r = result.runs[i];
    expect(r.error).toBeUndefined();
    // The reference's own output length, but outputSize's where one is given.
    const expected = referenceBytes(c, r, c.outputSize ? c.outputSize[2] : undefined);
    expect(r.output.shape).toEqual(expected.shape);
    expect(r.output.shape.slice(0, 2)).toEqual([c.batch, c.args.outChannels]);
    const bytes = decode(r.output.data);
    expect(bytes.findIndex((v, j) => v !== expected.data[j])).toBe(-1);
    // Not a constant output: the comparison saw real values.
    expect(new Set(bytes).size).toBeGreaterThan(3);
    expect(r.bias === null).toBe(!c.args.bias);
    expect(r.lastRunIsTheRun).toBe(true);
    expect(r.lastRunKeys).toEqual(['args', 'bias', 'input', 'module', 'output', 'outputScale', 'outputSize',
      'outputZeroPoint', 'weight']);
  });
});

test('with derived output qparams it stays within rounding of its float reference', () => {
  RUNS.forEach((c, i) => {
    const r = result.runs[i];
    const macsExpected = c.batch * c.args.inChannels * (c.args.outChannels / c.args.groups) * c.args.kernelSize * c.length;
    expect(r.macs).toBe(macsExpected);
    expect(r.saturated).toBe(0);
    expect(r.maxError).toBeLessThanOrEqual(0.5 + 1e-3);
    expect(r.meanError).toBeGreaterThan(0);
    expect(r.meanError).toBeLessThanOrEqual(r.maxError);
    // The derived output range covers the reference: 0 and 255 are its ends.
    const reference = decode(r.reference);
    const lowest = Math.min(...reference);
    const highest = Math.max(...reference);
    expect(r.outputQ.scale).toBeCloseTo((Math.max(highest, 0) - Math.min(lowest, 0)) / 255, 6);
    expect(r.timing.ms).toBeGreaterThan(0);
    expect(r.timing.samples === 3 || r.timing.samples === 7).toBe(true);
  });
});

test('its error statistics on a hand-derived case', () => {
  // errors (output − reference) / 0.1: 0.5, −2, 3, 0. Only the third sits at
  // 0 or 255 more than rounding away from its reference.
  const s = result.statistics[0];
  [0.5, -2, 3, 0].forEach((e, i) => expect(s.error[i]).toBeCloseTo(e, 5));
  expect(s.maxError).toBeCloseTo(3, 5);
  expect(s.meanError).toBeCloseTo((0.5 + 2 + 3 + 0) / 4, 5);
  expect(s.saturated).toBe(1);
});

test('an audio file feeds channel c from its channel c mod its channels, batch n from frames [nL, (n+1)L)', () => {
  const r = result.runs[RUNS.length];
  expect(r.error).toBeUndefined();
  const x = decode(r.input.data);
  const { scale, zeroPoint } = r.input;
  const samples = [0.5, -0.25, 1, -1, 0.75];
  const expected = (n, i) => (n * 4 + i < samples.length ? samples[n * 4 + i] : 0);
  for (let n = 0; n < 2; n++) {
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < 4; i++) {
        expect(Math.abs(scale * (x[(n * 3 + c) * 4 + i] - zeroPoint) - expected(n, i))).toBeLessThanOrEqual(scale / 2 + 1e-7);
      }
    }
  }
});

test('its own checks throw DemoInputError; the library\'s errors pass through', () => {
  const [negativeBatch, noAudio, fractionalSeed, badGroups] = result.runs.slice(RUNS.length + 1, RUNS.length + 5);
  expect(negativeBatch.error).toEqual({ name: 'Input', message: 'batch N must be an integer >= 0, got -1', demoInput: true });
  expect(noAudio.error).toMatchObject({ name: 'Input', demoInput: true, message: expect.stringMatching(/no audio file loaded/) });
  expect(fractionalSeed.error).toEqual({ name: 'Input', message: 'seed must be an integer, got 1.5', demoInput: true });
  expect(badGroups.error).toMatchObject({ name: 'RangeError', demoInput: false, message: expect.stringMatching(/groups/) });
});

test('typed output qparams that are far too fine saturate, and it counts them', () => {
  const r = result.runs[RUNS.length + 5];
  expect(r.error).toBeUndefined();
  expect(r.outputQ).toEqual({ scale: 1e-4, zeroPoint: 128 });
  const bytes = decode(r.output.data);
  const atEnds = bytes.filter((v) => v === 0 || v === 255).length;
  expect(r.saturated).toBeGreaterThan(bytes.length / 2);
  expect(r.saturated).toBeLessThanOrEqual(atEnds);
  expect(r.maxError).toBeGreaterThan(100);
});
