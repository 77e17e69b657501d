'use strict';
// The PyTorch exporter as a package user runs it: node_modules/.bin/
// qconv-export-torch, which npm installed from the tarball's "bin"
// (tools/export-torch.cjs, running tools/export_torch.py with a Python that
// has torch). With torch: modules torch builds are exported, the .qconv
// files load in Node from the installed package, and the forwards give
// torch's output bytes. Without torch (a Python started with -S, so no
// site-packages): exit code 2 and a message naming the Python tried, not a
// traceback.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { consumerProject } = require('./package');

const PYTHON = '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
const TITLE = 'consumer: PyTorch exporter (bin)';

// Modules for the exporter's --check-cases mode (the format of
// tests/js/export-torch.test.js): it builds each (seeded), exports it, and
// writes a quantized input and torch's output bytes.
const CASES = [
  { name: 't-groups', module: 'ConvTranspose1d', in: 4, out: 6, kernel: 3, stride: 2, padding: 1, output_padding: 1, groups: 2, batch: 2, length: 9 },
  { name: 't-per-channel', module: 'ConvTranspose1d', in: 4, out: 6, kernel: 4, stride: 2, padding: 1, qscheme: 'per_channel', batch: 2, length: 10 },
  { name: 'c-reflect', module: 'Conv1d', in: 4, out: 4, kernel: 5, padding: 2, padding_mode: 'reflect', qscheme: 'per_channel', batch: 1, length: 8 },
  { name: 'f-conv', module: 'Conv1d', float: true, in: 4, out: 6, kernel: 3, padding: 1, batch: 2, length: 12 },
].map((c, i) => ({ seed: 3000 + i, ...c }));

// Loads every exported module from the installed package and runs torch's
// input through it; prints the outputs (compared here with torch's bytes).
const LOAD = `'use strict';
// node load.cjs DIR [FILE.qconv CASE_NAME]
const fs = require('fs');
const path = require('path');
const q = require('qconv-wasm');
const [dir, file, only] = process.argv.slice(2);
q.init().then(() => {
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  const out = {};
  for (const info of manifest.filter((m) => !m.error && (!only || m.name === only))) {
    const bytes = fs.readFileSync(file || path.join(dir, info.name + '.qconv'));
    const m = q.load(bytes);
    const y = m.forward({ data: new Uint8Array(fs.readFileSync(path.join(dir, info.name + '.input.bin'))), ...info.input });
    out[info.name] = { kind: m.constructor.name, shape: y.shape, scale: y.scale, zeroPoint: y.zeroPoint,
      data: Buffer.from(y.data).toString('base64'), expectedShape: info.output.shape,
      expectedQParams: [info.output.scale, info.output.zeroPoint] };
    m.dispose();
  }
  console.log(JSON.stringify(out));
});
`;

// A Python without site-packages (so without torch).
const NO_SITE = `#!/bin/sh
exec ${PYTHON} -S "$@"
`;

let dir;
let outDir;
let checkCases;  // the bin's --check-cases run (with torch)
beforeAll(() => {
  dir = consumerProject('exporter', { 'cases.json': JSON.stringify(CASES), 'load.cjs': LOAD, 'python-no-site': NO_SITE });
  fs.chmodSync(path.join(dir, 'python-no-site'), 0o755);
  outDir = path.join(dir, 'out');
  // Without QCONV_PYTHON: the bin finds a Python with torch on its own.
  if (hasTorch) checkCases = bin(['--check-cases', 'cases.json', outDir]);
}, 20 * 60 * 1000);

function binPath() {
  return path.join(dir, 'node_modules', '.bin', 'qconv-export-torch');
}

function bin(args, env = {}) {
  const full = { ...process.env, ...env };
  if (!('QCONV_PYTHON' in env)) delete full.QCONV_PYTHON;
  const r = spawnSync(binPath(), args, { cwd: dir, encoding: 'utf8', timeout: 120000, env: full });
  if (r.error) throw r.error;
  return r;
}

function load(...args) {
  const r = spawnSync(process.execPath, ['load.cjs', ...args], { cwd: dir, encoding: 'utf8', timeout: 60000 });
  expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
  return JSON.parse(r.stdout);
}

// Each loaded module's forward against torch's output bytes.
function expectTorchBytes(outputs, outDir, names) {
  expect(Object.keys(outputs).sort()).toEqual([...names].sort());
  for (const name of names) {
    const o = outputs[name];
    const expected = fs.readFileSync(path.join(outDir, `${name}.output.bin`));
    expect(new Set(expected).size).toBeGreaterThan(10);  // torch's output is not trivially constant
    expect({ name, shape: o.shape, qparams: [o.scale, o.zeroPoint] })
      .toEqual({ name, shape: o.expectedShape, qparams: o.expectedQParams });
    const got = Buffer.from(o.data, 'base64');
    expect(got.length).toBe(expected.length);
    const differing = expected.reduce((n, v, i) => n + (v !== got[i]), 0);
    expect({ name, differing }).toEqual({ name, differing: 0 });
  }
}

describe(hasTorch ? TITLE : `${TITLE} [skipped: ${PYTHON} cannot import torch (install python3-torch); only the no-torch run]`, () => {
  test('npm installed the bin from the tarball: node_modules/.bin/qconv-export-torch -> qconv-wasm/tools/export-torch.cjs', () => {
    expect(fs.realpathSync(binPath())).toBe(path.join(dir, 'node_modules', 'qconv-wasm', 'tools', 'export-torch.cjs'));
    expect(fs.statSync(binPath()).mode & 0o111).not.toBe(0);
  });

  (hasTorch ? test : test.skip)('with torch (found on its own): exported modules load here and give torch\'s output bytes', () => {
    // The Pythons the bin tries first (python3, python on PATH) may lack
    // torch; it then falls back to /usr/bin/python3 on Linux.
    const onPath = ['python3', 'python'].map((p) => `${p}: ${
      spawnSync(p, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0 ? 'has torch' : 'no torch'}`);
    console.log(`qconv-export-torch without QCONV_PYTHON; on PATH: ${onPath.join(', ')}`);
    const r = checkCases;
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    expect(r.stdout).toBe(`${CASES.length} cases written to ${outDir}\n`);
    const outputs = load(outDir);
    expectTorchBytes(outputs, outDir, CASES.map((c) => c.name));
    expect(Object.fromEntries(Object.entries(outputs).map(([n, o]) => [n, o.kind])))
      .toEqual(Object.fromEntries(CASES.map((c) => [c.name, c.module])));
  });

  (hasTorch ? test : test.skip)('QCONV_PYTHON=/usr/bin/python3: a torch.save\'d quantized module exports to the same bytes, and runs as torch does', () => {
    expect(fs.existsSync(path.join(outDir, 'c-reflect.pt'))).toBe(true);  // written in beforeAll
    const file = path.join(dir, 'cli.qconv');
    fs.rmSync(file, { force: true });
    const r = bin([path.join(outDir, 'c-reflect.pt'), file], { QCONV_PYTHON: PYTHON });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    expect(r.stdout).toMatch(/^Conv1d: \d+ bytes written to /);
    expect(fs.readFileSync(file).equals(fs.readFileSync(path.join(outDir, 'c-reflect.qconv')))).toBe(true);
    expectTorchBytes(load(outDir, file, 'c-reflect'), outDir, ['c-reflect']);
  });

  test('QCONV_PYTHON without torch (python3 -S): exit code 2, names the Python and the missing torch, no traceback', () => {
    const wrapper = path.join(dir, 'python-no-site');
    // The wrapper runs, but cannot import torch.
    const probe = spawnSync(wrapper, ['-c', 'import torch'], { encoding: 'utf8' });
    expect(probe.status).not.toBe(0);
    expect(spawnSync(wrapper, ['-c', 'print(1)'], { encoding: 'utf8' }).stdout).toBe('1\n');

    const r = bin(['model.pt', 'out.qconv'], { QCONV_PYTHON: wrapper });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^qconv-export-torch: needs a Python with PyTorch/);
    expect(r.stderr).toContain(`tried:\n    ${wrapper}: ModuleNotFoundError: No module named 'torch'\n`);
    expect(r.stderr).toContain('QCONV_PYTHON');
    expect(r.stderr).not.toMatch(/Traceback|File ".*", line \d+/);
    expect(fs.existsSync(path.join(dir, 'out.qconv'))).toBe(false);
    console.log(`qconv-export-torch with QCONV_PYTHON=${wrapper} (exit ${r.status}):\n${r.stderr}`);
  });
});
