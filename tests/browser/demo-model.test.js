'use strict';
// The demo's Model mode (web-demo/dist, ?mode=model or the "Model" tab) in
// headless Chromium, through its contract (web-demo/README.md): it loads the
// bundled example model, runs it, and its output equals what Node computes
// with the package for the same float input (the dequantized floats and the
// quantized bytes), on a generated signal and on a WAV file; it shows the
// time per forward and a row per node; a corrupt model file shows
// loadModel's error on the page (nothing thrown), and the page recovers.
// No console errors anywhere (useBrowser's afterEach fails the test on one).
const fs = require('fs');
const { wav16 } = require('../js/wav-file.js');
const path = require('path');
const { ROOT, describeBrowser, startServer, useBrowser } = require('./browser');

const DEMO_DIST = path.join(ROOT, 'web-demo', 'dist');
const EXAMPLE_MODEL = path.join(DEMO_DIST, 'models', 'example.qconv');

const modelRuns = (page) => page.evaluate(() => Number(document.body.dataset.modelRuns || 0));

async function waitModelSettled(page) {
  await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.modelStatus));
  return page.evaluate(() => document.body.dataset.modelStatus);
}

// Runs `act` (which causes one model run) and waits for that run to end.
async function afterRun(page, act) {
  const before = await modelRuns(page);
  await act();
  await page.waitForFunction((n) => Number(document.body.dataset.modelRuns) > n &&
    document.body.dataset.modelStatus !== 'running', before);
  return waitModelSettled(page);
}

// Sets a Model-mode control and fires `change`, as a user would.
function change(page, id, value) {
  return afterRun(page, () => page.evaluate(({ id, value }) => {
    const el = document.getElementById(id);
    el.value = String(value);
    el.dispatchEvent(new Event('change', { bubbles: true }));
  }, { id, value }));
}

function readState(page) {
  return page.evaluate(() => {
    const text = (id) => document.getElementById(id).textContent.trim();
    const errorEl = document.getElementById('model-error');
    return {
      mode: document.body.dataset.mode,
      status: document.body.dataset.modelStatus,
      name: text('model-name'),
      outputShape: text('model-output-shape'),
      inputShape: text('model-input-shape'),
      timePerForward: text('model-time-per-forward'),
      rtf: text('model-rtf'),
      nodeCount: text('model-node-count'),
      nodeRows: document.querySelectorAll('#model-nodes tbody tr').length,
      opRows: document.querySelectorAll('#model-ops tbody tr').length,
      error: errorEl.textContent.trim(),
      errorVisible: !errorEl.hidden && errorEl.textContent.trim() !== '',
      plots: ['model-plot-input', 'model-plot-output'].map((id) => document.getElementById(id).toDataURL('image/png')),
    };
  });
}

// window.qconvDemo.model.lastRun with its typed arrays as base64.
async function lastRun(page) {
  const r = await page.evaluate(() => {
    const encode = (a) => {
      const u8 = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
      let s = '';
      for (let i = 0; i < u8.length; i += 0x8000) s += String.fromCharCode(...u8.subarray(i, i + 0x8000));
      return { type: a.constructor.name, b64: btoa(s) };
    };
    const run = window.qconvDemo.model.lastRun;
    return {
      modelName: run.modelName,
      source: run.source,
      input: { data: encode(run.input.data), shape: run.input.shape },
      output: { data: encode(run.output.data), shape: run.output.shape },
      quantizedOutput: { ...run.quantizedOutput, data: encode(run.quantizedOutput.data) },
      timing: run.timing,
      nodes: run.nodes,
    };
  });
  const TYPES = { Uint8Array, Float32Array };
  const decode = (e) => {
    const buf = Buffer.from(e.b64, 'base64');
    const copy = new Uint8Array(buf.length);
    copy.set(buf);
    return new TYPES[e.type](copy.buffer);
  };
  for (const t of [r.input, r.output, r.quantizedOutput]) t.data = decode(t.data);
  return r;
}

let nodeApi = null;
async function nodeQconv() {
  if (!nodeApi) {
    nodeApi = require('../../js/index.cjs');
    await nodeApi.init();
  }
  return nodeApi;
}

// The same model file and the page's float input in Node (one thread): the
// page's dequantized output must equal Node's bit for bit, and its bytes.
async function expectNodeEqual(run, modelBytes) {
  const q = await nodeQconv();
  const model = q.loadModel(modelBytes);
  try {
    expect(run.modelName).toBe(model.name);
    const y = model.forward({ data: run.input.data, shape: run.input.shape });
    const yq = model.forward({ data: run.input.data, shape: run.input.shape }, { quantized: true });
    expect(run.output.shape).toEqual(y.shape);
    expect(run.output.data).toBeInstanceOf(Float32Array);
    expect(run.output.data.length).toBe(y.data.length);
    const at = y.data.findIndex((v, i) => !Object.is(v, run.output.data[i]));
    if (at >= 0) throw new Error(`output ${at} differs: page ${run.output.data[at]}, Node ${y.data[at]}`);
    expect(run.quantizedOutput.shape).toEqual(yq.shape);
    expect([run.quantizedOutput.scale, run.quantizedOutput.zeroPoint]).toEqual([yq.scale, yq.zeroPoint]);
    expect(Buffer.from(run.quantizedOutput.data).equals(Buffer.from(yq.data))).toBe(true);
    return { model: { nodes: model.nodes.length, inputChannels: model.inputChannels }, y };
  } finally {
    model.dispose();
  }
}

// A mono 16-bit PCM WAV file of the given samples (in [-1, 1)).
function wavBytes(samples, sampleRate = 22050) {
  return wav16(samples.map((v) => Math.round(v * 32767)), sampleRate);
}

describeBrowser('the web demo, Model mode (web-demo/dist?mode=model)', () => {
  const session = useBrowser({ prefix: 'demo-model' });
  let server;
  let exampleBytes;

  beforeAll(async () => {
    if (!fs.existsSync(EXAMPLE_MODEL)) {
      throw new Error(`${EXAMPLE_MODEL} is missing: build the demo with 'bash scripts/build.sh demo'`);
    }
    exampleBytes = new Uint8Array(fs.readFileSync(EXAMPLE_MODEL));
    // As npm start serves it: cross-origin isolated, so the page runs threads.
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

  async function openModelMode(query = '?mode=model') {
    const { page } = await session.open(`${server.url}${query}`, { viewport: { width: 1280, height: 900 } });
    expect(await waitModelSettled(page)).toBe('ready');
    return page;
  }

  test('opens on the bundled example, runs it, and equals Node; time per forward and every node shown', async () => {
    const page = await openModelMode();
    const state = await readState(page);
    expect(state.mode).toBe('model');
    expect(state.errorVisible).toBe(false);
    const run = await lastRun(page);
    expect(run.source).toMatch(/bundled example/);
    const { model } = await expectNodeEqual(run, exampleBytes);
    expect(state.name).toBe(run.modelName);
    expect(run.input.shape).toEqual([1, model.inputChannels, 64]);
    expect(state.inputShape).toBe(`[${run.input.shape.join(', ')}]`);
    expect(state.outputShape).toBe(`[${run.output.shape.join(', ')}]`);
    expect(Number(state.timePerForward)).toBeGreaterThan(0);
    expect(run.timing.ms).toBeGreaterThan(0);
    expect(Number(state.rtf)).toBeGreaterThan(0);
    expect(state.nodeCount).toBe(String(model.nodes));
    expect(state.nodeRows).toBe(model.nodes);
    expect(run.nodes).toHaveLength(model.nodes);
    expect(run.nodes.every((n) => typeof n.name === 'string' && typeof n.op === 'string' && n.ms >= 0)).toBe(true);
    expect(state.opRows).toBe(new Set(run.nodes.map((n) => n.op)).size);
    // The module demo ran too (hidden) and is untouched.
    expect(await page.evaluate(() => document.body.dataset.status)).toBe('ready');
    await session.screenshot(page, '1-example');

    // Another signal and length: new plots, still Node's output.
    expect(await change(page, 'model-signal', 'chirp')).toBe('ready');
    expect(await change(page, 'model-length', 100)).toBe('ready');
    const chirp = await readState(page);
    expect(chirp.plots[0]).not.toBe(state.plots[0]);
    expect(chirp.plots[1]).not.toBe(state.plots[1]);
    const chirpRun = await lastRun(page);
    expect(chirpRun.input.shape).toEqual([1, model.inputChannels, 100]);
    await expectNodeEqual(chirpRun, exampleBytes);
    expect(session.problems(page)).toEqual([]);
  });

  test('the Model tab opens the mode from the module demo; a WAV file becomes the input', async () => {
    const { page } = await session.open(server.url, { viewport: { width: 1280, height: 900 } });
    await page.waitForFunction(() => document.body.dataset.status === 'ready');
    expect(await page.evaluate(() => document.body.dataset.modelStatus)).toBeUndefined();
    await page.click('#mode-model');
    expect(await waitModelSettled(page)).toBe('ready');
    expect(await page.isVisible('#model-mode')).toBe(true);
    expect(await page.isVisible('#module-mode')).toBe(false);
    expect(new URL(page.url()).searchParams.get('mode')).toBe('model');

    const C = (await lastRun(page)).input.shape[1];
    const samples = Array.from({ length: C * 40 + 5 }, (_, i) => Math.sin(i / 9) * 0.8);
    expect(await afterRun(page, () => page.setInputFiles('#model-wav-file',
      { name: 'tone.wav', mimeType: 'audio/wav', buffer: wavBytes(samples) }))).toBe('ready');
    expect(await page.inputValue('#model-signal')).toBe('wav');
    expect(await page.inputValue('#model-length')).toBe('40');
    expect(await page.textContent('#model-audio-info')).toMatch(/^tone\.wav: 1 channel, 22050 Hz/);
    const run = await lastRun(page);
    expect(run.input.shape).toEqual([1, C, 40]);
    // Frames of C consecutive samples: channel c of step t is sample t·C + c.
    for (const [c, t] of [[0, 0], [C - 1, 0], [1, 7], [C - 1, 39]]) {
      const expected = Math.fround(Math.round(samples[t * C + c] * 32767) / 32768);
      expect(run.input.data[c * 40 + t]).toBe(expected);
    }
    await expectNodeEqual(run, exampleBytes);
    await session.screenshot(page, '2-wav');
  });

  test('a corrupt model file shows loadModel\'s error on the page; the page keeps its model and recovers', async () => {
    const page = await openModelMode();
    const good = await lastRun(page);
    const corrupt = Buffer.from(exampleBytes);
    corrupt[200] ^= 0x01;
    expect(await afterRun(page, () => page.setInputFiles('#model-file',
      { name: 'corrupt.qconv', mimeType: 'application/octet-stream', buffer: corrupt }))).toBe('error');
    const bad = await readState(page);
    expect(bad.errorVisible).toBe(true);
    expect(bad.error).toMatch(/^RangeError: loadModel: .*(checksum|CRC)/i);
    expect(await page.isVisible('#model-error')).toBe(true);
    expect(session.problems(page)).toEqual([]);
    await session.screenshot(page, '3-corrupt');

    // Not a model file at all (a few bytes): loadModel's error too.
    expect(await afterRun(page, () => page.setInputFiles('#model-file',
      { name: 'short.qconv', mimeType: 'application/octet-stream', buffer: Buffer.from('QCONV') }))).toBe('error');
    expect((await readState(page)).error).toMatch(/^RangeError: loadModel: /);

    // The next change runs the model it had; the error goes away.
    expect(await change(page, 'model-seed', 2)).toBe('ready');
    const after = await readState(page);
    expect(after.errorVisible).toBe(false);
    const run = await lastRun(page);
    expect(run.modelName).toBe(good.modelName);
    await expectNodeEqual(run, exampleBytes);

    // A good file, chosen: it loads and runs (its name shown as the source).
    expect(await afterRun(page, () => page.setInputFiles('#model-file',
      { name: 'mine.qconv', mimeType: 'application/octet-stream', buffer: Buffer.from(exampleBytes) }))).toBe('ready');
    expect((await lastRun(page)).source).toBe('mine.qconv');
    expect(await page.textContent('#model-source')).toContain('mine.qconv');
    expect(session.problems(page)).toEqual([]);
  });

  test('a model file dropped on the module demo switches to the Model mode and loads there', async () => {
    const { page } = await session.open(server.url, { viewport: { width: 1280, height: 900 } });
    await page.waitForFunction(() => document.body.dataset.status === 'ready');
    const runsBefore = await page.evaluate(() => Number(document.body.dataset.runs));
    await page.evaluate((b64) => {
      const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], 'dropped.qconv'));
      document.getElementById('plot-signal').dispatchEvent(
        new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    }, Buffer.from(exampleBytes).toString('base64'));
    await page.waitForFunction(() => window.qconvDemo.model.lastRun && window.qconvDemo.model.lastRun.source === 'dropped.qconv'
      && document.body.dataset.modelStatus === 'ready');
    expect(await page.evaluate(() => document.body.dataset.mode)).toBe('model');
    await expectNodeEqual(await lastRun(page), exampleBytes);
    // The module demo did not try to read it as a module.
    expect(await page.evaluate(() => Number(document.body.dataset.runs))).toBe(runsBefore);
    expect(await page.evaluate(() => document.getElementById('error').hidden)).toBe(true);
  });
});
