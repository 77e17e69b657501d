'use strict';
// README's "From a PyTorch model to a web page", run as written: the blocks
// after each `<!-- walkthrough:NAME -->` marker, in a fresh folder, with the
// packed tarball standing in for the registry in `npm install qconv-wasm`.
// The Python steps need a python3 with torch: Debian's /usr/bin/python3 is
// put first on PATH (the pyenv python3 of this machine has no torch). The
// page is served by `python3 -m http.server` as README says, opened in
// Chromium, and what it shows must equal the same computation in Node with
// the installed package, with no console error.
const fs = require('fs');
const path = require('path');
const net = require('net');
const { spawn, spawnSync } = require('child_process');
const { describeBrowser, useBrowser } = require('../browser/browser');
const { ROOT, WORK, packedPackage } = require('./package');

const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const PYTHON_DIR = '/usr/bin';
const hasTorch = spawnSync(path.join(PYTHON_DIR, 'python3'), ['-c', 'import torch, numpy'], { stdio: 'ignore' }).status === 0;

// The fenced block after `<!-- walkthrough:name -->`, without the indent
// of a block inside a list item.
function block(name) {
  const marker = `<!-- walkthrough:${name} -->`;
  const at = README.indexOf(marker);
  if (at < 0) throw new Error(`README has no block marked ${marker}`);
  const m = /^\s*( *)```\w*\n([\s\S]*?)\n *```/.exec(README.slice(at + marker.length));
  if (!m) throw new Error(`README has no fenced block after ${marker}`);
  const indent = new RegExp(`^ {0,${m[1].length}}`, 'gm');
  return `${m[2].replace(indent, '')}\n`;
}

function run(command, cwd, env = {}) {
  const result = spawnSync('bash', ['-euo', 'pipefail', '-c', command], {
    cwd, encoding: 'utf8', env: { ...process.env, PATH: `${PYTHON_DIR}:${process.env.PATH}`, ...env },
  });
  if (result.status !== 0) throw new Error(`'${command}' failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
  return result;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function waitForPort(port, child, output) {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode}): ${output()}`);
    const open = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => { socket.end(); resolve(true); });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on port ${port}: ${output()}`);
}

const TITLE = 'consumer: README walkthrough (PyTorch model -> .qconv -> web page)';
(hasTorch ? describeBrowser : describe.skip)(
  hasTorch ? TITLE : `${TITLE} [skipped: ${PYTHON_DIR}/python3 cannot import torch and numpy (install python3-torch)]`, () => {
    const session = useBrowser({ prefix: 'walkthrough' });
    let dir;
    let server = null;

    beforeAll(() => {
      const { tarball } = packedPackage();
      dir = path.join(WORK, 'projects', 'walkthrough');
      fs.rmSync(dir, { recursive: true, force: true });
      fs.mkdirSync(dir, { recursive: true });
      // The install block, with the tarball for the registry's copy.
      const install = block('shell-install');
      expect(install).toBe('npm init -y\nnpm install qconv-wasm\n');
      run(install.replace('npm install qconv-wasm', `npm install --offline --no-audit --no-fund ${tarball}`), dir);
      fs.writeFileSync(path.join(dir, 'model.py'), block('model.py'));
      run(block('shell-export'), dir);
      fs.writeFileSync(path.join(dir, 'index.html'), block('index.html'));
    }, 300000);

    afterAll(() => {
      if (server) server.kill();
    });

    test('the export writes up.qconv, which the installed package loads as a ConvTranspose1d(16, 8, 4)', () => {
      expect(fs.lstatSync(path.join(dir, 'node_modules', 'qconv-wasm')).isDirectory()).toBe(true);
      const check = spawnSync(process.execPath, ['-e', `
        const q = require('qconv-wasm');
        q.init().then(() => {
          const m = q.load(require('fs').readFileSync('up.qconv'));
          console.log(JSON.stringify({ kind: m.constructor.name, inChannels: m.inChannels, outChannels: m.outChannels,
            kernelSize: m.kernelSize, inputQuantization: m.inputQuantization }));
        });`], { cwd: dir, encoding: 'utf8' });
      expect(check.stderr).toBe('');
      const info = JSON.parse(check.stdout);
      expect(info).toMatchObject({ kind: 'ConvTranspose1d', inChannels: 16, outChannels: 8 });
      expect([].concat(info.kernelSize)).toEqual([4]);
      // The QuantStub's qparams from the exporter's calibration.
      expect(info.inputQuantization.scale).toBeGreaterThan(0);
    });

    test("up.qconv gives torch's bytes: the exporter's quantization replayed in torch, on the page's input", () => {
      // Node: the page's quantized input and the package's output bytes.
      const node = spawnSync(process.execPath, ['-e', `
        const q = require('qconv-wasm');
        const fs = require('fs');
        q.init().then(() => {
          const up = q.load(fs.readFileSync('up.qconv'));
          const { scale, zeroPoint } = up.inputQuantization;
          const signal = new Float32Array(16 * 100);
          for (let i = 0; i < signal.length; i++) signal[i] = Math.sin(i / 5);
          const x = q.quantizePerTensor(signal, [1, 16, 100], scale, zeroPoint);
          const y = up.forward(x);
          fs.writeFileSync('x.bin', x.data);
          fs.writeFileSync('y.bin', y.data);
          process.stdout.write(JSON.stringify({ scale, zeroPoint, shape: y.shape }));
        });`], { cwd: dir, encoding: 'utf8' });
      expect(node.stderr).toBe('');
      const { scale, zeroPoint, shape } = JSON.parse(node.stdout);
      expect(shape).toEqual([1, 8, 200]);
      // torch: the exporter's own calibration (seed 0, randn(8, 16, 64)) and
      // quantization of up.pt, then the quantized module on the same input.
      const torch = run(`python3 - <<'PY'
import sys, torch
sys.path.insert(0, 'node_modules/qconv-wasm/tools')
from export_torch import quantize_float_module
torch.backends.quantized.engine = 'qnnpack'
torch.manual_seed(0)
qmodule, (s, z) = quantize_float_module(torch.load('up.pt'), [torch.randn(8, 16, 64)])
assert (s, z) == (${scale}, ${zeroPoint}), (s, z)
x = torch.frombuffer(bytearray(open('x.bin', 'rb').read()), dtype=torch.uint8).reshape(1, 16, 100)
xq = torch._make_per_tensor_quantized_tensor(x, s, z)
open('y.torch.bin', 'wb').write(qmodule(xq).int_repr().numpy().tobytes())
PY`, dir);
      expect(torch.stderr).toBe('');
      const ours = fs.readFileSync(path.join(dir, 'y.bin'));
      const theirs = fs.readFileSync(path.join(dir, 'y.torch.bin'));
      expect(ours.length).toBe(8 * 200);
      expect(new Set(ours).size).toBeGreaterThan(10);  // not a constant output
      expect(Buffer.compare(ours, theirs)).toBe(0);
    });

    test('the page served by python3 -m http.server shows what Node computes, with no console error', async () => {
      const port = await freePort();
      const serve = block('shell-serve').trim();
      expect(serve).toBe('python3 -m http.server 8000');
      let output = '';
      server = spawn('bash', ['-c', `exec ${serve.replace('8000', String(port))} --bind 127.0.0.1`], {
        cwd: dir, env: { ...process.env, PATH: `${PYTHON_DIR}:${process.env.PATH}` }, stdio: ['ignore', 'pipe', 'pipe'],
      });
      server.stdout.on('data', (d) => { output += d; });
      server.stderr.on('data', (d) => { output += d; });
      await waitForPort(port, server, () => output);

      const { page } = await session.open(`http://127.0.0.1:${port}/`);
      await page.waitForFunction(() => document.getElementById('out').textContent !== 'running…');
      const shown = await page.evaluate(() => document.getElementById('out').textContent);
      await session.screenshot(page, 'page');

      // The same steps in Node with the installed package (not the page's code).
      const expected = spawnSync(process.execPath, ['-e', `
        const q = require('qconv-wasm');
        q.init().then((info) => {
          const up = q.load(require('fs').readFileSync('up.qconv'));
          const { scale, zeroPoint } = up.inputQuantization;
          const L = 100;
          const signal = new Float32Array(16 * L);
          for (let i = 0; i < signal.length; i++) signal[i] = Math.sin(i / 5);
          const y = up.forward(q.quantizePerTensor(signal, [1, 16, L], scale, zeroPoint));
          const first = [];
          for (const v of q.dequantize(y).subarray(0, 6)) first.push(v.toFixed(3));
          process.stdout.write(info.flavour + ': output [' + y.shape.join(',') + '] = ' + first.join(' ') + ' …');
        });`], { cwd: dir, encoding: 'utf8' });
      expect(expected.stderr).toBe('');
      expect(expected.stdout).toMatch(/^wasmsimd: output \[1,8,200\] = (-?\d+\.\d{3} ){6}…$/);
      expect(shown).toBe(expected.stdout);
      // The page fetched the package's files from node_modules, as served.
      const requests = page.qconvLog.requests.map((u) => new URL(u).pathname);
      expect(requests).toEqual(expect.arrayContaining([
        '/node_modules/qconv-wasm/js/index.browser.mjs', '/node_modules/qconv-wasm/dist/qconv-simd.mjs',
        '/node_modules/qconv-wasm/dist/qconv-simd.wasm', '/up.qconv']));
    });
  });
