'use strict';
// init() in Chromium when it cannot succeed: a threaded init whose pthread
// worker script or glue cannot load, or that a Content-Security-Policy
// keeps from starting workers, rejects within seconds with an Error naming
// the file and the way out, and a following init({ numThreads: 1 }) works;
// init({ wasmBinary }) with bytes that are not our module rejects saying
// which, with nothing on the console, and init() works afterwards. The
// pages are served by a small server in this process that can refuse chosen
// files (404), for everyone or only for the pool's workers.
const fs = require('fs');
const http = require('http');
const path = require('path');
const { ROOT, describeBrowser, useBrowser } = require('./browser');
const { renameFirstImport, TINY_MODULE } = require('../js/wasm-bytes');

const PAGE = 'tests/browser/fixtures/empty.html';
const ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
const MIME_TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8', '.wasm': 'application/wasm',
};
// Chromium's own console line for any failed request.
const HTTP_404 = /Failed to load resource: the server responded with a status of 404/;

// Serves the repository with `headers` on every response; refuse(pathname,
// request) true answers 404.
function startServer({ headers = {}, refuse = () => false } = {}) {
  const server = http.createServer((req, res) => {
    const pathname = decodeURIComponent(new URL(req.url, 'http://localhost').pathname);
    const file = path.join(ROOT, pathname);
    if (!file.startsWith(ROOT + path.sep) || refuse(pathname, req) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', ...headers });
      res.end(`404: ${pathname} not found\n`);
      return;
    }
    res.writeHead(200, {
      'Content-Type': MIME_TYPES[path.extname(file)] || 'application/octet-stream', 'Cache-Control': 'no-store', ...headers,
    });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({
      url: `http://localhost:${server.address().port}/`,
      close: () => new Promise((done) => { server.closeAllConnections(); server.close(() => done()); }),
    }));
  });
}

// In the page: init(firstOptions), settled or not within limitMs; then
// init({ numThreads: 1 }) and a Conv1d(1, 1, 2) forward. By hand: weight
// [1, 2] (scale 1), input [1, 2, 3, 4] (scale 1, zero point 0), output scale
// 1 and zero point 10: y[i] = x[i] + 2 x[i+1] + 10 = [15, 18, 21].
async function failThenRetry(page, firstOptions, limitMs = 20000) {
  return page.evaluate(async ([options, limit]) => {
    const within = (promise, ms) => Promise.race([
      promise.then((info) => ({ info: { ...info } }), (e) => ({ name: e.name, message: e.message, isError: e instanceof Error })),
      new Promise((resolve) => setTimeout(() => resolve({ unsettledAfterMs: ms }), ms)),
    ]);
    const q = await import('/js/index.browser.mjs');
    const t0 = performance.now();
    const first = await within(q.init(options), limit);
    const ms = Math.round(performance.now() - t0);
    const retry = await within(q.init({ numThreads: 1 }), 10000);
    let y = null;
    if (retry.info) {
      const m = new q.Conv1d(1, 1, 2, { bias: false });
      m.setWeightBias({ data: new Int8Array([1, 2]), scale: 1, zeroPoint: 0 }, null);
      m.scale = 1;
      m.zeroPoint = 10;
      y = Array.from(m.forward({ data: new Uint8Array([1, 2, 3, 4]), shape: [1, 1, 4], scale: 1, zeroPoint: 0 }).data);
    }
    return { first, ms, retry, y, crossOriginIsolated: self.crossOriginIsolated };
  }, [firstOptions, limitMs]);
}

function expectRetryWorked(result) {
  expect(result.retry.info).toMatchObject({ simd: true, flavour: 'wasmsimd', threads: 1 });
  expect(result.y).toEqual([15, 18, 21]);
}

describeBrowser('a threaded init that cannot start its workers (Chromium)', () => {
  const session = useBrowser({ prefix: 'init-failure' });
  const servers = [];
  async function serve(options) {
    const server = await startServer(options);
    servers.push(server);
    return server;
  }
  afterAll(() => Promise.all(servers.map((s) => s.close())));

  test('control: the same server, nothing refused: numThreads 2 runs two threads', async () => {
    const server = await serve({ headers: ISOLATION });
    const { page } = await session.open(`${server.url}${PAGE}`);
    const result = await failThenRetry(page, { numThreads: 2 });
    expect(result.crossOriginIsolated).toBe(true);
    expect(result.first.info).toMatchObject({ threads: 2 });
  });

  test('the worker script answers 404: init rejects within seconds naming it, then one thread works', async () => {
    const server = await serve({ headers: ISOLATION, refuse: (p) => p === '/dist/qconv-simd-mt.worker.js' });
    const { page } = await session.open(`${server.url}${PAGE}`, { allow: [HTTP_404] });
    const result = await failThenRetry(page, { numThreads: 2 });
    expect(result.crossOriginIsolated).toBe(true);
    expect(result.first).toMatchObject({ name: 'Error', isError: true });
    expect(result.first.message).toContain(`${server.url}dist/qconv-simd-mt.worker.js`);
    expect(result.first.message).toMatch(/HTTP 404/);
    expect(result.first.message).toContain('init({ numThreads: 1 })');
    expect(result.ms).toBeLessThan(5000);
    expectRetryWorked(result);
    // The glue's own reaction (a warning and an uncaught error event) is not shown.
    expect(page.qconvLog.messages.filter((m) => m.startsWith('warning'))).toEqual([]);
  });

  test("a Content-Security-Policy with worker-src 'none': init rejects within seconds naming the script and the policy", async () => {
    const server = await serve({ headers: { ...ISOLATION, 'Content-Security-Policy': "worker-src 'none'" } });
    const { page } = await session.open(`${server.url}${PAGE}`, {
      // Chromium reports the refused worker itself.
      allow: [/violates the following Content Security Policy directive: "worker-src 'none'"/],
    });
    const result = await failThenRetry(page, { numThreads: 2 });
    expect(result.crossOriginIsolated).toBe(true);
    expect(result.first).toMatchObject({ name: 'Error', isError: true });
    expect(result.first.message).toContain(`${server.url}dist/qconv-simd-mt.worker.js`);
    expect(result.first.message).toMatch(/Content-Security-Policy/);
    expect(result.first.message).toMatch(/worker-src/);
    expect(result.first.message).toContain('init({ numThreads: 1 })');
    expect(result.ms).toBeLessThan(5000);
    expectRetryWorked(result);
    expect(await page.evaluate(() => window.__cspViolations.map((v) => v.directive))).toEqual(['worker-src']);
    expect(page.qconvLog.messages.filter((m) => m.startsWith('warning'))).toEqual([]);
  });

  test('the threaded glue answers 404: init rejects naming it and numThreads 1, then one thread works', async () => {
    const server = await serve({ headers: ISOLATION, refuse: (p) => p === '/dist/qconv-simd-mt.mjs' });
    const { page } = await session.open(`${server.url}${PAGE}`, { allow: [HTTP_404] });
    const result = await failThenRetry(page, { numThreads: 2 });
    expect(result.first).toMatchObject({ name: 'Error', isError: true });
    expect(result.first.message).toContain('qconv-simd-mt.mjs');
    expect(result.first.message).toContain('init({ numThreads: 1 })');
    expect(result.ms).toBeLessThan(5000);
    expectRetryWorked(result);
  });

  test('the glue answers 404 to the pool workers only: init rejects after the 10 s start limit naming the worker script and the glue', async () => {
    // The page's import of the glue works; the workers' import (its Referer is
    // the worker script) does not, so no worker ever reports ready.
    const server = await serve({
      headers: ISOLATION,
      refuse: (p, req) => p === '/dist/qconv-simd-mt.mjs' && /qconv-simd-mt\.worker\.js$/.test(req.headers.referer || ''),
    });
    const { page } = await session.open(`${server.url}${PAGE}`, {
      // The worker's failed import is an uncaught error inside the worker.
      allow: [HTTP_404, /Failed to fetch dynamically imported module: .*qconv-simd-mt\.mjs/],
    });
    const result = await failThenRetry(page, { numThreads: 2 });
    expect(result.first).toMatchObject({ name: 'Error', isError: true });
    expect(result.first.message).toContain(`${server.url}dist/qconv-simd-mt.worker.js`);
    expect(result.first.message).toContain('qconv-simd-mt.mjs');
    expect(result.first.message).toContain('init({ numThreads: 1 })');
    expect(result.ms).toBeGreaterThanOrEqual(9500);
    expect(result.ms).toBeLessThan(15000);
    expectRetryWorked(result);
  });
});

describeBrowser('init({ wasmBinary }) with bytes that are not our module (Chromium)', () => {
  const session = useBrowser({ prefix: 'init-wasm-binary' });
  let server;
  beforeAll(async () => { server = await startServer({ headers: ISOLATION }); });
  afterAll(() => server && server.close());

  test('each rejects saying which, nothing reaches the console, and init() then works', async () => {
    const { page } = await session.open(`${server.url}${PAGE}`);
    const renamed = Buffer.from(renameFirstImport(fs.readFileSync(path.join(ROOT, 'dist', 'qconv-simd-mt.wasm')))).toString('base64');
    const results = await page.evaluate(async ([renamedB64, tiny]) => {
      const q = await import('/js/index.browser.mjs');
      const file = async (flavour) => new Uint8Array(await (await fetch(`/dist/qconv-${flavour}.wasm`)).arrayBuffer());
      const simd = await file('simd');
      const cases = [
        ['a DataView over the real module', { wasmBinary: new DataView(simd.buffer) }],
        ['16 zero bytes', { wasmBinary: new Uint8Array(16) }],
        ['the SIMD module cut in half', { wasmBinary: simd.slice(0, simd.length >> 1) }],
        ['a tiny module exporting one function', { wasmBinary: new Uint8Array(tiny) }],
        ['the scalar module given to the SIMD128 glue', { wasmBinary: await file('scalar') }],
        ['the SIMD module given to the threaded glue', { numThreads: 2, wasmBinary: simd }],
        ['the threaded module with an import renamed', { numThreads: 2, wasmBinary: Uint8Array.from(atob(renamedB64), (c) => c.charCodeAt(0)) }],
      ];
      const out = [];
      for (const [what, options] of cases) {
        const t0 = performance.now();
        out.push(await q.init(options).then(
          (info) => ({ what, resolved: { ...info } }),
          (e) => ({ what, name: e.name, message: e.message, ms: performance.now() - t0 })));
      }
      const info = await q.init();
      const m = new q.Conv1d(1, 1, 2, { bias: false });
      m.setWeightBias({ data: new Int8Array([1, 2]), scale: 1, zeroPoint: 0 }, null);
      m.scale = 1;
      m.zeroPoint = 10;
      // By hand: y[i] = x[i] + 2 x[i+1] + 10 (see failThenRetry).
      const y = Array.from(m.forward({ data: new Uint8Array([1, 2, 3, 4]), shape: [1, 1, 4], scale: 1, zeroPoint: 0 }).data);
      out.push({ what: 'init() afterwards', flavour: info.flavour, y });
      return out;
    }, [renamed, TINY_MODULE]);
    const expected = [
      ['TypeError', /^init: wasmBinary must be an ArrayBuffer or a Uint8Array .*, got a DataView$/],
      ['Error', /^init: wasmBinary is not WebAssembly: its 16 bytes start with 00 00 00 00/],
      ['Error', /^init: wasmBinary \(\d+ bytes\) does not compile in this WebAssembly engine/],
      ['Error', /^init: wasmBinary is a WebAssembly module but not qconv-wasm's \(it exports no memory and no function table, and imports no function\)/],
      ['Error', /^init: wasmBinary is the scalar flavour's module, but init loaded the SIMD128 glue/],
      ['Error', /^init: wasmBinary is a one-thread module .* numThreads 2 loads the threaded glue/],
      ['Error', /^init: wasmBinary could not be started by the threaded glue \(LinkError: .*"~".*\); pass the bytes of qconv-simd-mt\.wasm$/],
    ];
    expected.forEach(([name, message], i) => {
      expect(results[i]).toMatchObject({ name });
      expect(results[i].message).toMatch(message);
      expect(results[i].ms).toBeLessThan(3000);
    });
    expect(results[expected.length]).toEqual({ what: 'init() afterwards', flavour: 'wasmsimd', y: [15, 18, 21] });
    // Not a line on the console (the harness also fails the test on page errors).
    expect(page.qconvLog.messages).toEqual([]);
  });
});
