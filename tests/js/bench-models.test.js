'use strict';
// Keeps the benchmark's peer models honest: the ONNX bytes bench/onnx-writer.mjs
// writes must load in onnxruntime-web, and the float model must compute
// PyTorch's ConvTranspose1d (checked against a direct JS loop below). Runs
// in a child process: onnxruntime-web and the writer are ES modules, which
// Jest's CommonJS runtime here cannot import.
const { execFileSync } = require('child_process');
const path = require('path');
const { outputLength } = require('./reference');

const root = path.join(__dirname, '..', '..');

// PyTorch's ConvTranspose1d in float64, as a scatter loop: input position i
// and tap k write output position i*stride - padding + k*dilation.
function convTranspose1dReference(shape, x, weight, bias) {
  const { N, Cin, Cout, K, L, stride, padding, dilation, groups, outputPadding } = shape;
  const Lout = outputLength({ kind: 'ConvTranspose1d', ...shape });
  const cinPerGroup = Cin / groups, coutPerGroup = Cout / groups;
  const y = new Float64Array(N * Cout * Lout);
  for (let n = 0; n < N; n++) {
    for (let co = 0; co < Cout; co++) y.fill(bias[co], (n * Cout + co) * Lout, (n * Cout + co + 1) * Lout);
    for (let ci = 0; ci < Cin; ci++) {
      const g = Math.floor(ci / cinPerGroup);
      for (let c = 0; c < coutPerGroup; c++) {
        const co = g * coutPerGroup + c;
        for (let i = 0; i < L; i++) {
          for (let k = 0; k < K; k++) {
            const o = i * stride - padding + k * dilation;
            if (o < 0 || o >= Lout) continue;
            y[(n * Cout + co) * Lout + o] += x[(n * Cin + ci) * L + i] * weight[(ci * coutPerGroup + c) * K + k];
          }
        }
      }
    }
  }
  return { y, shape: [N, Cout, Lout] };
}

const cases = [
  { N: 2, Cin: 3, Cout: 4, K: 3, L: 5, stride: 2, padding: 0, outputPadding: 0, dilation: 1, groups: 1 },
  { N: 1, Cin: 4, Cout: 6, K: 3, L: 7, stride: 3, padding: 2, outputPadding: 1, dilation: 2, groups: 2 },
  { N: 1, Cin: 4, Cout: 4, K: 4, L: 6, stride: 2, padding: 1, outputPadding: 0, dilation: 1, groups: 4 },
];

function valuesFor(shape, seed) {
  // small exact-in-float32 values, so the reference and ORT see the same numbers
  const sequence = (length, salt) => Array.from({ length }, (_, i) => (((i + 1) * (seed + salt) * 37) % 29 - 14) / 8);
  return {
    x: sequence(shape.N * shape.Cin * shape.L, 1),
    weight: sequence(shape.Cin * (shape.Cout / shape.groups) * shape.K, 2),
    bias: sequence(shape.Cout, 3),
  };
}

test('onnxruntime-web accepts the bench models; the float model equals a direct ConvTranspose1d', () => {
  const inputs = cases.map((shape, i) => ({ shape, ...valuesFor(shape, i + 3) }));
  const script = `
    import { createRequire } from 'node:module';
    import { floatConvTransposeModel, qdqConvTransposeModel } from './bench/onnx-writer.mjs';
    const ort = createRequire(process.cwd() + '/')('onnxruntime-web');
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.proxy = false;
    const inputs = ${JSON.stringify(inputs)};
    const results = [];
    for (const { shape, x, weight, bias } of inputs) {
      const floatSession = await ort.InferenceSession.create(
        floatConvTransposeModel(shape, { weight: Float32Array.from(weight), bias: Float32Array.from(bias) }));
      const y = (await floatSession.run({ x: new ort.Tensor('float32', Float32Array.from(x), [shape.N, shape.Cin, shape.L]) })).y;
      const qdqSession = await ort.InferenceSession.create(qdqConvTransposeModel(shape, {
        weight: Int8Array.from(weight, (w) => w * 8), weightScale: 0.125, biasInt32: Int32Array.from(bias, (b) => b * 64),
        inputScale: 0.125, inputZeroPoint: 128, outputScale: 0.25, outputZeroPoint: 100,
      }));
      const q = (await qdqSession.run({ x: new ort.Tensor('uint8', Uint8Array.from(x, (v) => v * 8 + 128), [shape.N, shape.Cin, shape.L]) })).y;
      results.push({ floatDims: y.dims, floatValues: Array.from(y.data), qdqDims: q.dims, qdqType: q.type, qdqValues: Array.from(q.data) });
    }
    console.log(JSON.stringify(results));
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
  const results = JSON.parse(out.trim().split('\n').pop());
  cases.forEach((shape, i) => {
    const { x, weight, bias } = inputs[i];
    const reference = convTranspose1dReference(shape, x, weight, bias);
    const r = results[i];
    expect(r.floatDims).toEqual(reference.shape);
    expect(r.floatValues).toHaveLength(reference.y.length);
    r.floatValues.forEach((v, j) => expect(Math.abs(v - reference.y[j])).toBeLessThanOrEqual(1e-4));
    // The QDQ model holds the same numbers (x*8 at scale 1/8, w*8 at scale
    // 1/8, bias*64 at scale 1/64), so it must give round(y/0.25) + 100.
    expect(r.qdqDims).toEqual(reference.shape);
    expect(r.qdqType).toBe('uint8');
    r.qdqValues.forEach((v, j) => {
      const expected = Math.min(255, Math.max(0, Math.round(reference.y[j] / 0.25) + 100));
      expect(Math.abs(v - expected)).toBeLessThanOrEqual(1);
    });
  });
});

// The bench's models section (bench/models.mjs) end to end on a small model
// (the example model instead of the MelGAN-size one, a tiny budget): it
// prints the time per forward, the real-time factor, the per-op table and the
// slowest nodes, and (where Chromium is) checks the page's output against
// Node's; the JSON it writes has the same figures.
test('the models section runs a model file in Node (and Chromium) and reports per-op times', () => {
  const fs = require('fs');
  const os = require('os');
  const { chromiumStatus } = require('../browser/browser');
  const browser = chromiumStatus() === null;
  const resultsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'qconv-bench-models-'));
  const out = execFileSync(process.execPath, ['bench/run.mjs', '--models-only', '--budget-ms=20', `--results-dir=${resultsDir}`,
    '--melgan-file=examples/example.qconv', ...(browser ? [] : ['--no-browser'])], { cwd: root, encoding: 'utf8' });
  expect(out).toMatch(/Node +\d+(\.\d+)? ms per forward \(median of \d+, min [\d.]+\), real-time factor [\d.]+x/);
  expect(out).toMatch(/time per op kind/);
  expect(out).toMatch(/conv_transpose1d +2 \|/);
  expect(out).toMatch(/5 slowest nodes \(Node\):\n( {4}\S+ +\S+ +[\d.]+ ms +[\d.]+%\n){5}/);
  if (browser) {
    expect(out).toMatch(/Chromium +\d+(\.\d+)? ms per forward/);
    expect(out).toMatch(/Chromium's output bytes equal Node's/);
  }
  const report = JSON.parse(fs.readFileSync(path.join(resultsDir, 'models.json'), 'utf8'));
  fs.rmSync(resultsDir, { recursive: true, force: true });
  expect(report.model).toMatchObject({ file: 'examples/example.qconv', nodes: 33, inputChannels: 16 });
  expect(report.input.shape).toEqual([1, 16, 86]);
  expect(report.output.shape).toEqual([1, 1, 86 * 16]);
  expect(report.node.forwards).toBeGreaterThanOrEqual(7);
  expect(report.node.nodes).toHaveLength(33);
  expect(report.node.ops.reduce((a, o) => a + o.count, 0)).toBe(33);
  expect(report.node.realTimeFactor).toBeCloseTo(report.output.audioSeconds / (report.node.medianMs / 1000), 6);
  if (browser) expect(report.chromium.outputHash).toBe(report.output.fnv1a);
}, 120000);
