'use strict';
// The demo's Streaming mode (web-demo/dist?mode=stream) in headless
// Chromium: a quantized FIR runs inside an AudioWorklet, one
// module.stream().push per 128-sample render quantum, rendered by an
// OfflineAudioContext. The bytes the worklet streamed must equal one
// forward over the whole signal, computed here in Node from the page's
// module (save()) and input bytes; the rendered audio must be those outputs
// dequantized, one quantum late. On the generated signal and on a WAV file.
const fs = require('fs');
const os = require('os');
const path = require('path');
const { wav16 } = require('../js/wav-file.js');
const { ROOT, describeBrowser, startServer, useBrowser } = require('./browser');

const DEMO_DIST = path.join(ROOT, 'web-demo', 'dist');
const q = require('../..');

async function lastCheck(page) {
  return page.evaluate(() => {
    const b64 = (a) => {
      const u8 = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
      let s = '';
      for (let i = 0; i < u8.length; i += 0x8000) s += String.fromCharCode(...u8.subarray(i, i + 0x8000));
      return btoa(s);
    };
    const c = window.qconvDemo.stream.lastCheck;
    return {
      pushes: c.pushes, equal: c.equal, sampleRate: c.sampleRate, signal: c.signal,
      input: b64(c.input), moduleBytes: b64(c.moduleBytes), streamed: b64(c.streamed), rendered: b64(c.rendered),
    };
  });
}

const fromB64 = (s, Type = Uint8Array) => {
  const buf = Buffer.from(s, 'base64');
  const copy = new Uint8Array(buf.length);
  copy.set(buf);
  return new Type(copy.buffer);
};

async function checkAndCompare(page) {
  await page.click('#stream-check');
  await page.waitForFunction(() => ['equal', 'differ', 'error'].includes(document.body.dataset.streamStatus));
  const status = await page.evaluate(() => document.body.dataset.streamStatus);
  if (status === 'error') throw new Error(await page.evaluate(() => document.getElementById('stream-error').textContent));
  expect(status).toBe('equal');
  const c = await lastCheck(page);
  const input = fromB64(c.input);
  expect(c.pushes).toBe(Math.ceil(input.length / 128));
  // The whole forward, in Node, of the page's module on the page's input.
  const m = q.load(fromB64(c.moduleBytes));
  const whole = m.forward({ data: input, shape: [1, 1, input.length], scale: 2 / 255, zeroPoint: 128 });
  m.dispose();
  const streamed = fromB64(c.streamed);
  expect(streamed.length).toBe(whole.data.length);
  expect(Buffer.compare(Buffer.from(streamed), Buffer.from(whole.data))).toBe(0);
  // What the worklet played: the outputs dequantized, one quantum late.
  const rendered = fromB64(c.rendered, Float32Array);
  let mismatches = 0;
  for (let i = 0; i + 128 < rendered.length; i++) {
    if (rendered[i + 128] !== Math.fround((whole.data[i] - 128) * (2 / 255))) mismatches++;
  }
  for (let i = 0; i < 128; i++) if (rendered[i] !== 0) mismatches++;
  expect(mismatches).toBe(0);
  return c;
}

describeBrowser('the web demo, Streaming mode (web-demo/dist?mode=stream)', () => {
  const session = useBrowser({ prefix: 'demo-stream' });
  let server;

  beforeAll(async () => {
    if (!fs.existsSync(path.join(DEMO_DIST, 'index.html'))) {
      throw new Error(`${DEMO_DIST} is missing: build the demo with 'bash scripts/build.sh demo'`);
    }
    await q.init();
    server = await startServer({
      root: DEMO_DIST,
      headers: {
        'Content-Security-Policy': "script-src 'self' 'wasm-unsafe-eval'",
        'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp',
      },
    });
  });

  afterAll(async () => {
    if (server) await server.close();
  });

  test('the generated signal streamed in the AudioWorklet gives the whole forward\'s bytes', async () => {
    const { page } = await session.open(`${server.url}?mode=stream`);
    await page.waitForFunction(() => document.body.dataset.status === 'ready');
    expect(await page.evaluate(() => document.body.dataset.streamStatus)).toBe('idle');
    const c = await checkAndCompare(page);
    expect(c.signal).toMatch(/generated/);
    expect(c.sampleRate).toBe(48000);
    await session.screenshot(page, 'stream-generated');
  }, 60000);

  test('a WAV file streamed in the AudioWorklet gives the whole forward\'s bytes', async () => {
    const { page } = await session.open(`${server.url}?mode=stream`);
    await page.waitForFunction(() => document.body.dataset.status === 'ready');
    const samples = Int16Array.from({ length: 5000 }, (_, i) => Math.round(12000 * Math.sin(i * 0.05) + 6000 * Math.sin(i * 1.3)));
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'qconv-stream-')), 'tone.wav');
    fs.writeFileSync(file, wav16(samples, 22050));
    await page.setInputFiles('#stream-file', file);
    await page.waitForFunction(() => document.getElementById('stream-signal-name').textContent === 'tone.wav');
    const c = await checkAndCompare(page);
    expect(c.sampleRate).toBe(22050);
    expect(fromB64(c.input).length).toBe(5000);
  }, 60000);
});
