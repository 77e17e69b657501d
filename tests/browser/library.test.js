'use strict';
// The library in headless Chromium: the ESM entry (js/index.browser.mjs)
// served as static files, loading dist/qconv-*.mjs and the .wasm beside them
// through import.meta.url; golden cases bit-exact in both flavours; a strict
// Content-Security-Policy; clear errors when the .wasm cannot be fetched.
const { bigForwardInNode, describeBrowser, startServer, useBrowser } = require('./browser');
const { loadGoldenCases, expectedOf } = require('../js/golden-cases');

const PAGE = 'tests/browser/fixtures/library.html';
// The first valid ConvTranspose1d and Conv1d cases, one with outputSize and
// one with reflect padding.
const CASE_IDS = ['public-0001-T', 'public-0073-C', 'public-0111-T-output_size', 'public-0106-C-reflect'];
const CSP = "script-src 'self' 'wasm-unsafe-eval'";
// What makes a page cross-origin isolated (SharedArrayBuffer, so threads).
const ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

const HINT_WORDS = /locateFile[\s\S]*wasmBinary|wasmBinary[\s\S]*locateFile/;

const goldenById = new Map(loadGoldenCases().map((c) => [c.id, c]));
const { CASES: MODEL_CASES } = require('../js/models-torch');

// PyTorch's whole models, run in the page: every tensor and the float output
// equal torch's bytes.
function expectTorchModels(models) {
  expect(models.map((m) => m.name)).toEqual(MODEL_CASES.map((c) => c.name));
  for (const m of models) {
    expect(m).toEqual({ name: m.name, tensors: expect.any(Number), tensorBytes: expect.any(Number), mismatches: [], outputEqual: true });
    expect(m.tensors).toBeGreaterThan(10);
  }
}

function expectGoldenBytes(results) {
  expect(results.map((r) => r.id)).toEqual(CASE_IDS);
  for (const r of results) {
    const c = goldenById.get(r.id);
    const expected = expectedOf(c);
    const got = Buffer.from(r.dataB64, 'base64');
    expect({ id: r.id, shape: r.shape }).toEqual({ id: r.id, shape: expected.shape });
    expect(r.scale).toBe(c.output_scale);
    expect(r.zeroPoint).toBe(c.output_zero_point);
    expect(got.length).toBe(expected.data.length);
    const at = got.findIndex((v, i) => v !== expected.data[i]);
    if (at >= 0) throw new Error(`${r.id}: first differing byte at ${at}: got ${got[at]}, expected ${expected.data[at]}`);
  }
}

async function pageResult(page) {
  await page.waitForFunction(() => document.body.dataset.status === 'done');
  const result = await page.evaluate(() => window.pageResult);
  if (result.unexpected) throw new Error(`the page failed: ${result.unexpected}`);
  return result;
}

describeBrowser('library in Chromium', () => {
  const session = useBrowser({ prefix: 'library' });
  let server;
  let cspServer;
  let isolatedServer;
  beforeAll(async () => {
    [server, cspServer, isolatedServer] = await Promise.all([
      startServer(), startServer({ headers: { 'Content-Security-Policy': CSP } }), startServer({ headers: ISOLATION }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([server && server.close(), cspServer && cspServer.close(), isolatedServer && isolatedServer.close()]);
  });

  test('a cross-origin-isolated page runs numThreads 2 on worker threads: golden bytes, PyTorch\'s whole models, and a big forward equals Node', async () => {
    const { page } = await session.open(`${isolatedServer.url}${PAGE}?threads=2&big=1&models=1&cases=${CASE_IDS}`);
    const result = await pageResult(page);
    expect(result.initError).toBeUndefined();
    expect(result.info).toMatchObject({ simd: true, flavour: 'wasmsimd', threads: 2 });
    expect(result.big.crossOriginIsolated).toBe(true);
    expectGoldenBytes(result.results);
    expectTorchModels(result.models);
    const node = bigForwardInNode();
    expect(result.big.shape).toEqual(node.shape);
    expect(result.big.dataB64 === node.dataB64).toBe(true);
    // The threaded flavour's wasm and its pthread worker script were fetched.
    const requests = page.qconvLog.requests;
    expect(requests.filter((u) => u.endsWith('.wasm'))).toEqual([`${isolatedServer.url}dist/qconv-simd-mt.wasm`]);
    expect(requests).toContain(`${isolatedServer.url}dist/qconv-simd-mt.worker.js`);
    expect(page.qconvLog.messages.filter((m) => m.startsWith('warning'))).toEqual([]);
    await session.screenshot(page, 'threads-isolated');
  });

  test('without cross-origin isolation numThreads 2 warns once and runs one thread, same bytes', async () => {
    const { page } = await session.open(`${server.url}${PAGE}?threads=2&big=1&cases=${CASE_IDS}`);
    const result = await pageResult(page);
    expect(result.info).toMatchObject({ simd: true, flavour: 'wasmsimd', threads: 1 });
    expect(result.big.crossOriginIsolated).toBe(false);
    expectGoldenBytes(result.results);
    expect(result.big.dataB64 === bigForwardInNode().dataB64).toBe(true);
    const warnings = page.qconvLog.messages.filter((m) => m.startsWith('warning'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^warning: qconv-wasm: numThreads 2 was asked, but this page is not cross-origin isolated .*Cross-Origin-Opener-Policy: same-origin.*; running on one thread$/);
    expect(page.qconvLog.requests.filter((u) => u.endsWith('.wasm'))).toEqual([`${server.url}dist/qconv-simd.wasm`]);
  });

  test('the golden cases are there', () => {
    for (const id of CASE_IDS) expect(goldenById.get(id)).toBeDefined();
  });

  test('init() loads the SIMD flavour and golden cases and PyTorch\'s whole models are bit-exact; load() reads either kind', async () => {
    const { page } = await session.open(`${server.url}${PAGE}?cases=${CASE_IDS}&load=1&models=1`);
    const result = await pageResult(page);
    expect(result.initError).toBeUndefined();
    expect(result.info).toMatchObject({ simd: true, flavour: 'wasmsimd', version: expect.any(String) });
    expectGoldenBytes(result.results);
    expectTorchModels(result.models);
    expect(result.load).toEqual([
      { kind: 'ConvTranspose1d', sameBytes: true, sameForward: true },
      { kind: 'Conv1d', sameBytes: true, sameForward: true },
    ]);
    // The .wasm came from beside the glue, found through import.meta.url.
    expect(page.qconvLog.requests.filter((u) => u.endsWith('.wasm')))
      .toEqual([`${server.url}dist/qconv-simd.wasm`]);
    await session.screenshot(page, 'simd-golden');
  });

  test('init({ simd: false }) loads the scalar flavour; same bytes (golden cases and PyTorch models)', async () => {
    const { page } = await session.open(`${server.url}${PAGE}?simd=0&models=1&cases=${CASE_IDS}`);
    const result = await pageResult(page);
    expect(result.info).toMatchObject({ simd: false, flavour: 'scalar' });
    expectGoldenBytes(result.results);
    expectTorchModels(result.models);
    expect(page.qconvLog.requests.filter((u) => u.endsWith('.wasm')))
      .toEqual([`${server.url}dist/qconv-scalar.wasm`]);
    await session.screenshot(page, 'scalar-golden');
  });

  test(`works under Content-Security-Policy: ${CSP}`, async () => {
    const { page, response } = await session.open(`${cspServer.url}${PAGE}?cases=${CASE_IDS}`);
    expect(response.headers()['content-security-policy']).toBe(CSP);
    const result = await pageResult(page);
    expect(result.info).toMatchObject({ simd: true, flavour: 'wasmsimd' });
    expectGoldenBytes(result.results);
    expect(await page.evaluate(() => window.__cspViolations)).toEqual([]);
    await session.screenshot(page, 'csp');
    // Control: the policy is enforced and its violations are seen. A page
    // script calling eval (not allowed by the policy) is refused; this one
    // violation is expected.
    page.qconvLog.allow.push(/unsafe-eval|Content Security Policy|EvalError/);
    const evalBlocked = await page.evaluate(() => new Promise((resolve, reject) => {
      const script = document.createElement('script');
      script.src = '/tests/browser/fixtures/csp-probe.js';
      script.onload = () => resolve(window.cspProbe);
      script.onerror = () => reject(new Error('csp-probe.js did not load'));
      document.head.append(script);
    }));
    expect(evalBlocked).toBe('EvalError');
    await page.waitForFunction(() => window.__cspViolations.length > 0);
    expect(await page.evaluate(() => window.__cspViolations.map((v) => v.blockedURI))).toEqual(['eval']);
  });

  test("control: without 'wasm-unsafe-eval' the browser refuses the wasm", async () => {
    const strict = await startServer({ headers: { 'Content-Security-Policy': "script-src 'self'" } });
    try {
      // (The refusal is a rejected init(); the glue logs it as warnings only.)
      const { page } = await session.open(`${strict.url}${PAGE}`);
      const result = await pageResult(page);
      expect(result.initError).toBeDefined();
      expect(result.initError.message).toMatch(/Content-Security-Policy does not allow compiling WebAssembly; add 'wasm-unsafe-eval' to its script-src/);
      const violations = await page.evaluate(() => window.__cspViolations);
      expect(violations.map((v) => v.blockedURI)).toContain('wasm-eval');
      await session.screenshot(page, 'csp-without-wasm-unsafe-eval');
    } finally {
      await strict.close();
    }
  });

  test('a locateFile pointing at a missing file (404) rejects init() naming the URL and the overrides', async () => {
    const missing = `${server.url}dist/no-such-file.wasm`;
    const { page } = await session.open(`${server.url}${PAGE}?locate=${encodeURIComponent(missing)}&retry=1&cases=${CASE_IDS[0]}`, {
      // Chromium logs the failed request itself.
      allow: [/Failed to load resource: the server responded with a status of 404/],
    });
    const result = await pageResult(page);
    // Every file the page loads goes through locateFile: the glue, then the .wasm.
    expect(result.located).toEqual([
      { name: 'qconv-simd.mjs', prefix: `${server.url}dist/` },
      { name: 'qconv-simd.wasm', prefix: `${server.url}dist/` },
    ]);
    expect(result.initError).toMatchObject({ name: 'Error', isError: true });
    expect(result.initError.message).toContain(missing);
    expect(result.initError.message).toMatch(/404/);
    expect(result.initError.message).toMatch(HINT_WORDS);
    await session.screenshot(page, 'locatefile-404');
    // A failed init() may be retried: the page retried without locateFile.
    expect(result.info).toMatchObject({ simd: true, flavour: 'wasmsimd' });
    expect(result.results).toHaveLength(1);
  });

  test('a locateFile returning what is not a URL rejects init() saying so, and a retry works', async () => {
    const { page } = await session.open(`${server.url}${PAGE}?locate=${encodeURIComponent('http://[')}&retry=1&cases=${CASE_IDS[0]}`);
    const result = await pageResult(page);
    expect(result.initError).toMatchObject({ name: 'TypeError', isError: true });
    expect(result.initError.message).toBe('init: locateFile(\'qconv-simd.wasm\', prefix) returned "http://[", which is not a URL');
    expect(result.info).toMatchObject({ simd: true, flavour: 'wasmsimd' });
    expect(result.results).toHaveLength(1);
  });

  test('a locateFile pointing at an HTML page rejects init() naming the URL and the overrides', async () => {
    const html = `${server.url}${PAGE}`;
    const { page } = await session.open(`${server.url}${PAGE}?locate=${encodeURIComponent(html)}`);
    const result = await pageResult(page);
    expect(result.initError).toMatchObject({ name: 'Error', isError: true });
    expect(result.initError.message).toContain(html);
    expect(result.initError.message).toMatch(/not a WebAssembly module/);
    expect(result.initError.message).toMatch(/<!doctype/i);  // what it got instead
    expect(result.initError.message).toMatch(HINT_WORDS);
    expect(result.info).toBeUndefined();
    await session.screenshot(page, 'locatefile-html');
  });

  test('init({ wasmBinary }) with bytes the page fetched works and fetches nothing else', async () => {
    const source = `${server.url}dist/qconv-simd.wasm?fetched-by=page`;
    const { page } = await session.open(`${server.url}${PAGE}?wasmBinary=${encodeURIComponent(source)}&cases=${CASE_IDS}`);
    const result = await pageResult(page);
    expect(result.initError).toBeUndefined();
    expect(result.info).toMatchObject({ simd: true, flavour: 'wasmsimd' });
    expectGoldenBytes(result.results);
    expect(page.qconvLog.requests.filter((u) => /\.wasm(\?|$)/.test(u))).toEqual([source]);
    await session.screenshot(page, 'wasmbinary');
  });
});
