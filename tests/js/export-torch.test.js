'use strict';
// tools/export_torch.py against PyTorch itself: one python run builds fresh
// modules (quantized and float + qnnpack qconfig; docs/SEMANTICS.md §6: one forward
// each), exports them, and writes a quantized input and torch's output bytes.
// Each exported file must load here and reproduce torch's bytes exactly.
// Only cases where torch is well defined (docs/SEMANTICS.md §0): in-range zero
// points, moderate scales, per-channel only where torch reads one scale per
// output channel.
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync, spawnSync } = require('child_process');
const q = require('../..');
const { mulberry32 } = require('../../tools/mulberry32.cjs');
const { outputLength } = require('./reference');

const ROOT = path.join(__dirname, '..', '..');
const PYTHON = '/usr/bin/python3';
const EXPORTER = path.join(ROOT, 'tools', 'export_torch.py');
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
const TITLE = 'tools/export_torch.py: PyTorch modules loaded here give PyTorch\'s output bytes';

const T = 'ConvTranspose1d', C = 'Conv1d';
const CASES = [
  { name: 't-groups', module: T, in: 4, out: 6, kernel: 3, stride: 2, padding: 1, output_padding: 1, groups: 2, batch: 2, length: 9 },
  { name: 't-dilation-nobias', module: T, in: 3, out: 5, kernel: 3, stride: 3, dilation: 2, output_padding: 2, bias: false, batch: 1, length: 12, input_zero_point: 0 },
  { name: 't-per-channel', module: T, in: 4, out: 6, kernel: 4, stride: 2, padding: 1, qscheme: 'per_channel', batch: 2, length: 10 },
  { name: 't-docs-shape', module: T, in: 16, out: 33, kernel: 3, stride: 2, batch: 3, length: 20, input_scale: 0.03, input_zero_point: 255 },
  { name: 'c-basic', module: C, in: 4, out: 6, kernel: 3, stride: 2, padding: 1, batch: 2, length: 15 },
  { name: 'c-per-channel-groups', module: C, in: 6, out: 9, kernel: 3, dilation: 2, groups: 3, qscheme: 'per_channel', bias: false, batch: 2, length: 14 },
  { name: 'c-reflect', module: C, in: 4, out: 4, kernel: 5, padding: 2, padding_mode: 'reflect', qscheme: 'per_channel', batch: 1, length: 8 },
  { name: 'c-gemm', module: C, in: 8, out: 5, kernel: 1, batch: 2, length: 7, input_zero_point: 3 },
  { name: 'c-depthwise', module: C, in: 8, out: 8, kernel: 3, padding: 1, groups: 8, qscheme: 'per_channel', batch: 1, length: 16 },
  // Fused ReLU: torch's ConvReLU1d, and a ConvTranspose1d followed by torch.relu (format version 2).
  { name: 'r-conv-relu', module: C, relu: true, in: 4, out: 6, kernel: 3, padding: 1, qscheme: 'per_channel', batch: 2, length: 15 },
  { name: 'r-conv-relu-reflect', module: C, relu: true, in: 4, out: 4, kernel: 3, padding: 1, padding_mode: 'reflect', batch: 1, length: 9 },
  { name: 'r-transpose-relu', module: T, relu: true, in: 4, out: 6, kernel: 4, stride: 2, padding: 1, batch: 2, length: 9 },
  { name: 'f-transpose', module: T, float: true, in: 4, out: 6, kernel: 3, stride: 2, padding: 1, batch: 2, length: 9 },
  { name: 'f-conv', module: C, float: true, in: 4, out: 6, kernel: 3, padding: 1, batch: 2, length: 12 },
  { name: 'f-conv-groups', module: C, float: true, in: 6, out: 6, kernel: 3, dilation: 2, groups: 2, batch: 1, length: 16 },
  // Refused by the exporter (undefined in torch, or outside the port's policy).
  { name: 'x-transpose-per-channel-groups', module: T, in: 4, out: 4, kernel: 3, groups: 2, qscheme: 'per_channel', weight_axis: 0, batch: 1, length: 5, expect_error: true },
  { name: 'x-conv-per-channel-axis1', module: C, in: 4, out: 4, kernel: 3, qscheme: 'per_channel', weight_axis: 1, batch: 1, length: 5, expect_error: true },
  { name: 'x-output-zero-point', module: C, in: 2, out: 2, kernel: 1, output_zero_point: 300, batch: 1, length: 5, expect_error: true },
].map((c, i) => ({ seed: 1000 + i, ...c }));

// Plus seeded random geometries, inside what torch defines (per-channel
// ConvTranspose1d only with groups 1; reflect padding shorter than L).
function randomCases(count, seed) {
  const rand = mulberry32(seed);
  const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
  const cases = [];
  while (cases.length < count) {
    const module = rand() < 0.5 ? T : C;
    const groups = [1, 1, 2, 3][int(0, 3)];
    const c = {
      name: `r${cases.length}-${module === T ? 't' : 'c'}`, module, float: rand() < 0.2,
      in: groups * int(1, 6), out: groups * int(1, 6), kernel: int(1, 5), stride: int(1, 3), padding: int(0, 2),
      dilation: int(1, 2), groups, bias: rand() < 0.8, batch: int(1, 3), length: int(4, 24),
      input_scale: [0.02, 0.05, 0.1][int(0, 2)], input_zero_point: int(0, 255),
    };
    if (module === T) {
      c.output_padding = int(0, Math.max(c.stride, c.dilation) - 1);
      if (groups === 1 && rand() < 0.4) c.qscheme = 'per_channel';
    } else {
      if (rand() < 0.4) c.qscheme = 'per_channel';
      if (c.padding > 0 && rand() < 0.3) c.padding_mode = 'reflect';
    }
    if (c.float) delete c.qscheme;  // the qnnpack default qconfig: per-tensor weights
    const outLength = outputLength({
      kind: module === T ? 'ConvTranspose1d' : 'Conv1d', L: c.length, K: c.kernel, stride: c.stride,
      padding: c.padding, dilation: c.dilation, outputPadding: c.output_padding,
    });
    if (outLength < 1 || c.batch * c.out * outLength < 150) continue;  // enough distinct output values
    cases.push({ seed: 2000 + cases.length, ...c });
  }
  return cases;
}
CASES.push(...randomCases(28, 61125));
const EXPORTED = CASES.filter((c) => !c.expect_error);

(hasTorch ? describe : describe.skip)(
  hasTorch ? TITLE : `${TITLE} [skipped: /usr/bin/python3 cannot import torch (install python3-torch)]`, () => {
    let dir;
    let manifest;
    const byName = (name) => manifest.find((m) => m.name === name);
    const file = (name) => fs.readFileSync(path.join(dir, name));
    const python = (args) => execFileSync(PYTHON, [EXPORTER, ...args], { encoding: 'utf8', timeout: 50000 });

    beforeAll(async () => {
      await q.init();
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qconv-export-'));
      fs.writeFileSync(path.join(dir, 'cases.json'), JSON.stringify(CASES));
      const out = python(['--check-cases', path.join(dir, 'cases.json'), dir]);
      expect(out).toMatch(`${CASES.length} cases written`);
      manifest = JSON.parse(file('manifest.json'));
    }, 60000);
    afterAll(() => { if (dir) fs.rmSync(dir, { recursive: true, force: true }); });

    test.each(EXPORTED.map((c) => [c.name, c]))('%s: load, forward, compare with torch', (name, c) => {
      const info = byName(name);
      const bytes = file(`${name}.qconv`);
      const m = q[c.module].load(bytes);
      expect([m.inChannels, m.outChannels, m.kernelSize, m.groups]).toEqual([c.in, c.out, c.kernel, c.groups ?? 1]);
      // A fused ReLU is flag bit 3 of a format version 2 file; without it, version 1.
      expect([m.relu, bytes[8], bytes[11] & 8]).toEqual(c.relu ? [true, 2, 8] : [false, 1, 0]);
      expect(m.weight().qscheme).toBe(info.qscheme === 'per_channel' ? 'per_channel_affine' : 'per_tensor_affine');
      expect(info.qscheme).toBe(c.qscheme ?? 'per_tensor');
      const expected = file(`${name}.output.bin`);
      const y = m.forward({ data: new Uint8Array(file(`${name}.input.bin`)), ...info.input });
      expect(y.shape).toEqual(info.output.shape);
      expect([y.scale, y.zeroPoint]).toEqual([info.output.scale, info.output.zeroPoint]);
      expect(new Set(expected).size).toBeGreaterThan(10);  // torch's output is not trivially constant
      const differing = expected.reduce((n, v, i) => n + (v !== y.data[i]), 0);
      expect(differing).toBe(0);
      expect(y.data.length).toBe(expected.length);
      // The input quantization: stored for float modules (the QuantStub's), none otherwise.
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
      if (c.float) {
        expect(bytes[11] & 4).toBe(4);
        expect(info.inputQuantization).toEqual({ scale: info.input.scale, zeroPoint: info.input.zeroPoint });
        expect(view.getFloat64(64, true)).toBe(info.inputQuantization.scale);
        expect(view.getInt32(72, true)).toBe(info.inputQuantization.zeroPoint);
      } else {
        expect(bytes[11] & 4).toBe(0);
      }
      // The Python and JS writers agree byte for byte (where this build keeps what the file holds).
      if (!c.float || 'inputQuantization' in m) expect(Buffer.from(m.save()).equals(bytes)).toBe(true);
      m.dispose();
    });

    test('refused modules: the exporter names the problem', () => {
      expect(byName('x-transpose-per-channel-groups').error).toBe(
        'ValueError: per-channel ConvTranspose1d weight with groups 2 and axis 0: torch 1.13 reads it as per output channel only with groups 1 and axis 1 (docs/SEMANTICS.md §2)');
      expect(byName('x-conv-per-channel-axis1').error).toBe(
        'ValueError: per-channel Conv1d weight with axis 1: only axis 0 (output channels) is defined');
      expect(byName('x-output-zero-point').error).toBe('ValueError: output zero point 300 outside [0, 255]');
    });

    test('the command line: a torch.save\'d quantized module gives the same bytes; a float one is calibrated', () => {
      const out = path.join(dir, 'cli.qconv');
      expect(python([path.join(dir, 'c-reflect.pt'), out])).toMatch(/^Conv1d: \d+ bytes written to /);
      expect(file('cli.qconv').equals(file('c-reflect.qconv'))).toBe(true);

      const floatOut = path.join(dir, 'cli-float.qconv');
      expect(python([path.join(dir, 'f-transpose.float.pt'), floatOut, '--calibration-shape', '4,32'])).toMatch(/^ConvTranspose1d: /);
      const bytes = file('cli-float.qconv');
      expect(bytes[11] & 4).toBe(4);  // the QuantStub's qparams
      const m = q.ConvTranspose1d.load(bytes);
      expect([m.inChannels, m.outChannels, m.kernelSize, m.stride, m.padding]).toEqual([4, 6, 3, 2, 1]);
      // Weights from the same float module with the same observer: only the calibration data differ.
      expect(m.weight()).toEqual(q.ConvTranspose1d.load(file('f-transpose.qconv')).weight());
      m.dispose();
    });
  });
