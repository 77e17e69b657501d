'use strict';
// qconv-wasm as a user's Vite app sees it: the fixture app
// (tests/browser/fixtures/vite-app) imports 'qconv-wasm' by name, resolved
// through a node_modules/qconv-wasm symlink to this repository (so Vite uses
// package.json "exports" with the browser/import conditions); `vite build`
// must emit the .wasm as an asset, and the built app must compute in
// Chromium what Node computes.
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFile } = require('child_process');
const { promisify } = require('util');
const { ROOT, bigForwardInNode, describeBrowser, startServer, useBrowser } = require('./browser');

const FIXTURE = path.join(__dirname, 'fixtures', 'vite-app');

// The same computation as fixtures/vite-app/main.js, in Node.
function generator(seed) {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 2 ** 32; };
}
function fnv1a(bytes) {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}
async function nodeReference() {
  const q = require('../../js/index.cjs');
  await q.init();
  const next = generator(2024);
  const m = new q.ConvTranspose1d(16, 33, 3, { stride: 2 });
  const weight = Int8Array.from({ length: 16 * 33 * 3 }, () => Math.floor(next() * 256) - 128);
  const bias = Float32Array.from({ length: 33 }, () => next() * 2 - 1);
  m.setWeightBias({ data: weight, scale: 0.01, zeroPoint: 0 }, bias);
  m.scale = 0.25;
  m.zeroPoint = 128;
  const values = Float32Array.from({ length: 20 * 16 * 50 }, () => next() * 6 - 3);
  const y = m.forward(q.quantizePerTensor(values, [20, 16, 50], 0.025, 128));
  m.dispose();
  return { shape: y.shape, checksum: fnv1a(y.data), distinct: new Set(y.data).size };
}

describeBrowser('a Vite production build of an app importing qconv-wasm', () => {
  const session = useBrowser({ prefix: 'vite-app' });
  let tmp;
  let outDir;
  let written;
  let server;
  let isolatedServer;

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'qconv-vite-'));
    const appDir = path.join(tmp, 'app');
    outDir = path.join(tmp, 'dist');
    fs.cpSync(FIXTURE, appDir, { recursive: true });
    fs.copyFileSync(path.join(__dirname, 'fixtures', 'big-forward.mjs'), path.join(appDir, 'big-forward.mjs'));
    // The package as an installed dependency would be: node_modules/<name>.
    fs.mkdirSync(path.join(appDir, 'node_modules'));
    fs.symlinkSync(ROOT, path.join(appDir, 'node_modules', 'qconv-wasm'), 'dir');
    const { stdout } = await promisify(execFile)(process.execPath,
      [path.join(__dirname, 'vite-build.mjs'), appDir, outDir], { cwd: ROOT, timeout: 60000 });
    written = JSON.parse(stdout.trim().split('\n').pop());
    server = await startServer({ root: outDir });
    isolatedServer = await startServer({
      root: outDir,
      headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
    });
  });

  afterAll(async () => {
    if (server) await server.close();
    if (isolatedServer) await isolatedServer.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('the build emits the three .wasm files as assets, byte-identical to dist/', () => {
    for (const flavour of ['simd', 'scalar', 'simd-mt']) {
      // Vite appends '-' and an 8-character hash.
      const assets = written.filter((f) => f.type === 'asset' && new RegExp(`qconv-${flavour}-[\\w-]{8}\\.wasm$`).test(f.fileName));
      expect(assets).toHaveLength(1);
      const emitted = fs.readFileSync(path.join(outDir, assets[0].fileName));
      expect(emitted.equals(fs.readFileSync(path.join(ROOT, 'dist', `qconv-${flavour}.wasm`)))).toBe(true);
    }
    // The app's code went through the package's browser entry (which
    // fetches the wasm), not Node's (which reads it from disk).
    const js = written.filter((f) => f.type === 'chunk')
      .map((f) => fs.readFileSync(path.join(outDir, f.fileName), 'utf8')).join('\n');
    expect(js).toMatch(/not a WebAssembly module/);
    expect(js).not.toMatch(/MODULE_NOT_FOUND|readFileSync|node-loader/);
  });

  test('the built app computes the docs example in Chromium, equal to Node', async () => {
    const { page } = await session.open(server.url);
    await page.waitForFunction(() => document.body.dataset.status !== 'loading');
    const shown = await page.evaluate(() => ({
      status: document.body.dataset.status,
      error: document.getElementById('error').textContent,
      flavour: document.getElementById('flavour').textContent,
      inputShape: document.getElementById('input-shape').textContent,
      outputShape: document.getElementById('output-shape').textContent,
      checksum: document.getElementById('checksum').textContent,
    }));
    await session.screenshot(page, 'built-app');
    expect(shown.error).toBe('');
    expect(shown.status).toBe('done');
    expect(shown.flavour).toBe('wasmsimd');
    expect(shown.inputShape).toBe('[20, 16, 50]');
    expect(shown.outputShape).toBe('[20, 33, 101]');
    const reference = await nodeReference();
    expect(reference.shape).toEqual([20, 33, 101]);
    expect(reference.distinct).toBeGreaterThan(50);  // not a degenerate output
    expect(shown.checksum).toBe(reference.checksum);
    // The wasm was fetched from the emitted asset.
    const wasmRequests = page.qconvLog.requests.filter((u) => u.endsWith('.wasm'));
    expect(wasmRequests).toHaveLength(1);
    expect(wasmRequests[0]).toMatch(/\/assets\/qconv-simd[^/]*\.wasm$/);
  });

  test('the built app runs numThreads 2 on a cross-origin-isolated page (the worker script inlined by Vite, run from a blob: URL), same checksum', async () => {
    const { page } = await session.open(`${isolatedServer.url}?threads=2`);
    await page.waitForFunction(() => document.body.dataset.status !== 'loading');
    const shown = await page.evaluate(() => ({
      status: document.body.dataset.status,
      error: document.getElementById('error').textContent,
      threads: document.getElementById('threads').textContent,
      checksum: document.getElementById('checksum').textContent,
      bigChecksum: document.getElementById('big-checksum').textContent,
    }));
    await session.screenshot(page, 'built-app-threads');
    const big = bigForwardInNode();
    expect(shown).toEqual({
      status: 'done', error: '', threads: '2', checksum: (await nodeReference()).checksum,
      bigChecksum: fnv1a(Buffer.from(big.dataB64, 'base64')),
    });
    const requests = page.qconvLog.requests;
    expect(requests.filter((u) => u.endsWith('.wasm'))).toEqual([expect.stringMatching(/\/assets\/qconv-simd-mt-[\w-]{8}\.wasm$/)]);
    // The glue is an asset the page and its workers import by URL; Vite
    // inlines the small worker script as a data: URL, which the loader runs
    // from a blob: URL (a data: worker could not import the glue).
    expect(requests.filter((u) => /\/assets\/qconv-simd-mt-[\w-]{8}\.mjs$/.test(u)).length).toBeGreaterThanOrEqual(1);
  });
});
