'use strict';
// examples/run-model.mjs as a user runs it (a child process): the output WAV
// holds the model's forward output for the WAV's samples, dequantized and
// converted to int16 as the script documents (Math.round(clamp(y, -1, 1) *
// 32767)), at the input's rate × (output length / input length). Computed
// here with the package for the example model (16 input channels, so
// --frames: channel c of step t = sample t·16 + c) and for a one-channel
// upsampler built in this test (samples in, twice the rate out); a
// multi-channel model without --frames is refused with an explanation.
const { execFileSync, spawnSync } = require('child_process');
const { wav16 } = require('./wav-file.js');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { encodeModelFile } = require('./model-file');

const root = path.join(__dirname, '..', '..');
const SCRIPT = path.join(root, 'examples', 'run-model.mjs');
const EXAMPLE_MODEL = path.join(root, 'examples', 'example.qconv');

let q;
let dir;
beforeAll(async () => {
  q = require('../../js/index.cjs');
  await q.init();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qconv-run-model-'));
});
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});


// The fields of the 44-byte header the script writes, and its samples.
function parseWav16(bytes) {
  const b = Buffer.from(bytes);
  expect(b.toString('latin1', 0, 4)).toBe('RIFF');
  expect(b.toString('latin1', 8, 16)).toBe('WAVEfmt ');
  expect(b.toString('latin1', 36, 40)).toBe('data');
  const size = b.readUInt32LE(40);
  expect(b.length).toBe(44 + size);
  const samples = new Int16Array(size / 2);
  for (let i = 0; i < samples.length; i++) samples[i] = b.readInt16LE(44 + 2 * i);
  return {
    format: b.readUInt16LE(20), channels: b.readUInt16LE(22), sampleRate: b.readUInt32LE(24),
    bits: b.readUInt16LE(34), samples,
  };
}

// Seeded test audio: a chirp plus noise, as int16.
function testSignal(n) {
  let s = 12345;
  const noise = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s / 2 ** 32) - 0.5;
  };
  return Int16Array.from({ length: n }, (_, i) => Math.round(
    32767 * Math.max(-1, Math.min(1, 0.6 * Math.sin(0.00005 * i * i) + 0.2 * noise()))));
}

const toInt16 = (v) => (Number.isNaN(v) ? 0 : Math.round(Math.min(1, Math.max(-1, v)) * 32767));

function runScript(args) {
  return spawnSync(process.execPath, [SCRIPT, ...args], { cwd: root, encoding: 'utf8', timeout: 60000 });
}

test('the example model (16 channels, --frames): the output WAV holds the forward output as int16', () => {
  const rate = 16000;
  const C = 16;
  const L = 300;
  const pcm = testSignal(C * L + 5);  // 5 samples left over
  const inPath = path.join(dir, 'in.wav');
  const outPath = path.join(dir, 'out.wav');
  fs.writeFileSync(inPath, wav16(pcm, rate));
  const stdout = execFileSync(process.execPath, [SCRIPT, EXAMPLE_MODEL, inPath, outPath, '--frames', '--runs=3'],
    { cwd: root, encoding: 'utf8' });
  expect(stdout).toMatch(/time per forward: \d+(\.\d+)? ms/);
  expect(stdout).toMatch(/real-time factor: \d+(\.\d+)?x/);

  // The same input, built as the script documents, through the package here.
  const model = q.loadModel(fs.readFileSync(EXAMPLE_MODEL));
  try {
    expect(model.inputChannels).toBe(C);
    const data = new Float32Array(C * L);
    for (let c = 0; c < C; c++) {
      for (let t = 0; t < L; t++) data[c * L + t] = pcm[t * C + c] / 32768;
    }
    const y = model.forward({ data, shape: [1, C, L] });
    const [, Cout, Lout] = y.shape;
    const out = parseWav16(fs.readFileSync(outPath));
    expect(out).toMatchObject({ format: 1, channels: Cout, bits: 16, sampleRate: Math.round((rate * Lout) / (L * C)) });
    expect(out.samples.length).toBe(Cout * Lout);
    const expected = Int16Array.from(y.data, toInt16);
    const at = expected.findIndex((v, i) => v !== out.samples[i]);
    if (at >= 0) throw new Error(`sample ${at}: script wrote ${out.samples[at]}, expected ${expected[at]} (y = ${y.data[at]})`);
    // Not a trivial output: it varies.
    expect(new Set(out.samples).size).toBeGreaterThan(10);
  } finally {
    model.dispose();
  }
});

test('a model with more than one input channel is refused without --frames, saying why', () => {
  const inPath = path.join(dir, 'short.wav');
  fs.writeFileSync(inPath, wav16(testSignal(400), 22050));
  const r = runScript([EXAMPLE_MODEL, inPath, path.join(dir, 'never.wav')]);
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/takes 16 input channels .*mel spectrogram.*--frames/s);
  expect(fs.existsSync(path.join(dir, 'never.wav'))).toBe(false);
  // And usage errors.
  const usage = runScript([EXAMPLE_MODEL]);
  expect(usage.status).toBe(2);
  expect(usage.stderr).toMatch(/usage: node examples\/run-model\.mjs/);
});

test('a one-channel model reads the samples; a 2x upsampler writes twice the rate', () => {
  // ConvTranspose1d(1, 1, 4, stride 2, padding 1): L -> 2L, as a one-node model.
  const m = new q.ConvTranspose1d(1, 1, 4, { stride: 2, padding: 1 });
  m.setWeightBias({ data: Int8Array.from([32, 96, 96, 32]), scale: 1 / 128, zeroPoint: 0 }, Float32Array.from([0.01]));
  m.scale = 1 / 128;
  m.zeroPoint = 128;
  const moduleBytes = m.save();
  const graph = {
    format: 'qconv-model', version: 1, name: 'Upsample2x', producer: 'tests/js/example-run-model.test.js',
    input: { tensor: 0 }, output: { tensor: 1, dequantize: true },
    tensors: [
      { name: 'x', channels: 1, scale: 1 / 128, zeroPoint: 128 },
      { name: 'y', channels: 1, scale: m.scale, zeroPoint: m.zeroPoint },
    ],
    nodes: [{ name: 'up', op: 'conv_transpose1d', inputs: [0], output: 1, relu: false, outputSize: null, moduleBytes }],
  };
  m.dispose();
  const modelPath = path.join(dir, 'up2.qconv');
  fs.writeFileSync(modelPath, encodeModelFile(graph));
  const pcm = testSignal(1001);
  const inPath = path.join(dir, 'mono.wav');
  const outPath = path.join(dir, 'up2.wav');
  fs.writeFileSync(inPath, wav16(pcm, 11025));
  const r = runScript([modelPath, inPath, outPath, '--runs=2']);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);

  const model = q.loadModel(fs.readFileSync(modelPath));
  try {
    const y = model.forward({ data: Float32Array.from(pcm, (s) => s / 32768), shape: [1, 1, pcm.length] });
    expect(y.shape).toEqual([1, 1, 2 * pcm.length]);
    const out = parseWav16(fs.readFileSync(outPath));
    expect(out).toMatchObject({ channels: 1, bits: 16, sampleRate: 22050 });
    expect(Array.from(out.samples)).toEqual(Array.from(y.data, toInt16));
  } finally {
    model.dispose();
  }
});
