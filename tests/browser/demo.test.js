'use strict';
// The interactive demo (web-demo/, built to web-demo/dist/ by
// `bash scripts/build.sh demo`) in headless Chromium, through its DOM
// contract (web-demo/README.md): it computes on load, reacts to parameter
// changes (texts and plots update), computes the bytes Node computes for the
// same module and input, passes its self test (the golden cases), shows
// invalid parameters as an error, runs the scalar flavour with ?simd=0, takes
// Conv1d's padding 'same'/'valid', and saves and loads modules as .qconv files.
const fs = require('fs');
const path = require('path');
const { ROOT, describeBrowser, startServer, useBrowser } = require('./browser');
const { wav16 } = require('../js/wav-file.js');

const DEMO_DIST = path.join(ROOT, 'web-demo', 'dist');
const GOLDEN_CASES = 154;

// ---- page helpers --------------------------------------------------------

const runs = (page) => page.evaluate(() => Number(document.body.dataset.runs || 0));

async function waitReady(page) {
  await page.waitForFunction(() => document.body.dataset.status === 'ready' ||
    document.body.dataset.status === 'error');
  return page.evaluate(() => document.body.dataset.status);
}

// Sets a control as a user would (select an option, type a value, tick a
// box), fires `change`, and waits for the forward it causes.
// The result texts are blanked first, so that a run must write them again.
async function change(page, id, value, { expectRun = true, blank = true } = {}) {
  const before = await runs(page);
  await page.evaluate(({ id, value, blank }) => {
    for (const field of blank ? ['output-shape', 'max-error', 'mean-error', 'time-per-forward', 'gmacs'] : []) {
      document.getElementById(field).textContent = '';
    }
    const el = document.getElementById(id);
    if (!el) throw new Error(`#${id} is missing`);
    if (el.type === 'checkbox') el.checked = Boolean(value);
    else el.value = String(value);
    if (el.value !== String(value) && el.type !== 'checkbox') {
      throw new Error(`#${id} does not take the value ${value} (options: ${
        el.options ? [...el.options].map((o) => o.value) : 'n/a'})`);
    }
    el.dispatchEvent(new Event('input', { bubbles: true }));
    el.dispatchEvent(new Event('change', { bubbles: true }));
  }, { id, value, blank });
  if (expectRun) {
    await page.waitForFunction((n) => Number(document.body.dataset.runs) > n &&
      document.body.dataset.status !== 'running', before);
  }
  return waitReady(page);
}

function readState(page) {
  return page.evaluate(() => {
    const text = (id) => {
      const el = document.getElementById(id);
      return el ? el.textContent.trim() : null;
    };
    const errorEl = document.getElementById('error');
    const visible = (el) => Boolean(el) && !el.hidden && getComputedStyle(el).display !== 'none' &&
      getComputedStyle(el).visibility !== 'hidden' && el.getClientRects().length > 0;
    return {
      status: document.body.dataset.status,
      runs: Number(document.body.dataset.runs || 0),
      outputShape: text('output-shape'),
      maxError: text('max-error'),
      meanError: text('mean-error'),
      timePerForward: text('time-per-forward'),
      gmacs: text('gmacs'),
      flavour: text('flavour'),
      threads: text('threads'),
      error: errorEl ? errorEl.textContent.trim() : null,
      errorVisible: visible(errorEl) && errorEl.textContent.trim() !== '',
      plots: ['plot-signal', 'plot-error'].map((id) => {
        const c = document.getElementById(id);
        return c ? c.toDataURL('image/png') : null;
      }),
    };
  });
}

// window.qconvDemo.lastRun, its typed arrays copied out (as base64: the
// protocol's JSON of plain arrays takes seconds for the larger presets) and
// rebuilt here as typed arrays of the same kind.
async function lastRun(page) {
  const r = await page.evaluate(() => {
    const encode = (a) => {
      if (a === null || a === undefined) return a;
      if (!ArrayBuffer.isView(a)) return { plain: a };
      const u8 = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
      let s = '';
      for (let i = 0; i < u8.length; i += 0x8000) s += String.fromCharCode(...u8.subarray(i, i + 0x8000));
      return { type: a.constructor.name, b64: btoa(s) };
    };
    const run = window.qconvDemo.lastRun;
    return {
      module: run.module,
      args: run.args,
      weight: { data: encode(run.weight.data), scale: encode(run.weight.scale), zeroPoint: encode(run.weight.zeroPoint) },
      bias: encode(run.bias),
      outputScale: run.outputScale,
      outputZeroPoint: run.outputZeroPoint,
      input: { data: encode(run.input.data), shape: run.input.shape, scale: run.input.scale, zeroPoint: run.input.zeroPoint },
      outputSize: run.outputSize,
      output: { data: encode(run.output.data), shape: run.output.shape, scale: run.output.scale, zeroPoint: run.output.zeroPoint },
    };
  });
  const TYPES = { Int8Array, Uint8Array, Float32Array, Float64Array, Int32Array };
  const decode = (e) => {
    if (e === null || e === undefined) return e;
    if ('plain' in e) return e.plain;
    const Type = TYPES[e.type];
    if (!Type) throw new Error(`lastRun: unexpected array type ${e.type}`);
    const buf = Buffer.from(e.b64, 'base64');
    const copy = new Uint8Array(buf.length);
    copy.set(buf);
    return new Type(copy.buffer);
  };
  for (const t of [r.weight, r.input, r.output]) t.data = decode(t.data);
  r.weight.scale = decode(r.weight.scale);
  r.weight.zeroPoint = decode(r.weight.zeroPoint);
  r.bias = decode(r.bias);
  return r;
}

// Rebuilds lastRun's module with the Node API and checks the bytes.
let nodeApi = null;
async function expectNodeEqual(run) {
  if (!nodeApi) {
    nodeApi = require('../../js/index.cjs');
    await nodeApi.init();
  }
  const q = nodeApi;
  const Module = { ConvTranspose1d: q.ConvTranspose1d, Conv1d: q.Conv1d }[run.module];
  expect(Module).toBeDefined();
  const { inChannels, outChannels, kernelSize, ...options } = run.args;
  const m = new Module(inChannels, outChannels, kernelSize, options);
  try {
    expect(run.weight.data).toBeInstanceOf(Int8Array);
    expect(run.input.data).toBeInstanceOf(Uint8Array);
    m.setWeightBias({ data: run.weight.data, scale: run.weight.scale, zeroPoint: run.weight.zeroPoint },
      run.bias === undefined ? null : run.bias);
    m.scale = run.outputScale;
    m.zeroPoint = run.outputZeroPoint;
    const y = run.outputSize ? m.forward(run.input, run.outputSize) : m.forward(run.input);
    expect(run.output.shape).toEqual(y.shape);
    expect(run.output.scale).toBe(y.scale);
    expect(run.output.zeroPoint).toBe(y.zeroPoint);
    expect(run.output.data.length).toBe(y.data.length);
    const at = y.data.findIndex((v, i) => v !== run.output.data[i]);
    if (at >= 0) {
      throw new Error(`${run.module}(${JSON.stringify(run.args)}): byte ${at} differs: ` +
        `page ${run.output.data[at]}, Node ${y.data[at]}`);
    }
    return y;
  } finally {
    m.dispose();
  }
}

const shapeOf = (text) => JSON.parse(text);

// Uploads bytes through the page's "load .qconv" file input and waits for the
// run (or the error) it causes.
async function uploadModule(page, name, bytes) {
  const before = await runs(page);
  await page.setInputFiles('#load-module', { name, mimeType: 'application/octet-stream', buffer: Buffer.from(bytes) });
  await page.waitForFunction((n) => Number(document.body.dataset.runs) > n &&
    document.body.dataset.status !== 'running', before);
  return waitReady(page);
}

// Drops a file on the page (as a user dragging it from the desktop would)
// and waits for the run (or the error) it causes.
async function dropFile(page, name, bytes) {
  const before = await runs(page);
  await page.evaluate(({ name, b64 }) => {
    const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([bytes], name));
    document.getElementById('plot-signal').dispatchEvent(
      new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }, { name, b64: Buffer.from(bytes).toString('base64') });
  await page.waitForFunction((n) => Number(document.body.dataset.runs) > n &&
    document.body.dataset.status !== 'running', before);
  return waitReady(page);
}

// A mono 16-bit PCM WAV file of the given samples (in [-1, 1)).
function wavBytes(samples, sampleRate = 8000) {
  return wav16(samples.map((v) => Math.round(v * 32768)), sampleRate);
}

// Clicks "Save module" and returns the download's file name and bytes.
async function saveModule(page) {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save-module')]);
  const file = await download.path();
  return { name: download.suggestedFilename(), bytes: fs.readFileSync(file) };
}

const weightsChoice = (page) => page.evaluate(() => {
  const select = document.getElementById('weights');
  return { value: select.value, text: select.selectedOptions[0].textContent };
});

function expectSameBytes(a, b) {
  expect(a.length).toBe(b.length);
  const at = a.findIndex((v, i) => v !== b[i]);
  expect(at).toBe(-1);
}

// The numbers a successful run shows: errors in output quanta (max >= mean
// >= 0) and a positive time per forward.
function expectNumbersShown(state) {
  const [max, mean, ms] = [state.maxError, state.meanError, state.timePerForward].map(Number);
  expect(state).toMatchObject({ maxError: expect.stringMatching(/\d/), timePerForward: expect.stringMatching(/\d/) });
  expect(Number.isFinite(max) && Number.isFinite(mean) && Number.isFinite(ms)).toBe(true);
  expect(max).toBeGreaterThanOrEqual(mean);
  expect(mean).toBeGreaterThanOrEqual(0);
  expect(ms).toBeGreaterThan(0);
}

// ---- tests ---------------------------------------------------------------

describeBrowser('the web demo (web-demo/dist)', () => {
  const session = useBrowser({ prefix: 'demo' });
  let server;

  beforeAll(async () => {
    if (!fs.existsSync(path.join(DEMO_DIST, 'index.html'))) {
      throw new Error(`${DEMO_DIST}/index.html is missing: build the demo with 'bash scripts/build.sh demo'`);
    }
    // As npm start serves it: cross-origin isolated, so the demo runs threads.
    server = await startServer({
      root: DEMO_DIST,
      headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
    });
  });
  afterAll(async () => {
    if (server) await server.close();
  });

  async function openDemo(query = '') {
    const { page } = await session.open(`${server.url}${query}`, { viewport: { width: 1280, height: 900 } });
    expect(await waitReady(page)).toBe('ready');
    await page.waitForFunction(() => Number(document.body.dataset.runs) >= 1);
    return page;
  }

  test('loads, computes with SIMD and equals Node byte for byte', async () => {
    const page = await openDemo();
    const state = await readState(page);
    expect(state.flavour).toBe('SIMD');
    expect(state.outputShape).toMatch(/^\[\d+(, \d+)+\]$/);
    expect(state.errorVisible).toBe(false);
    expectNumbersShown(state);
    const info = await page.evaluate(() => ({ ...window.qconvDemo.info }));
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    expect(info).toMatchObject({ simd: true, flavour: 'wasmsimd', threads: Math.min(cores, 8) });
    expect(await page.evaluate(() => self.crossOriginIsolated)).toBe(true);
    expect(state.threads).toBe(String(Math.min(cores, 8)));
    const run = await lastRun(page);
    expect(run.output.shape).toEqual(shapeOf(state.outputShape));
    await expectNodeEqual(run);
    await session.screenshot(page, '1-initial');
  });

  test('parameter changes update the numbers and the plots; every run equals Node', async () => {
    const page = await openDemo();
    expect(await change(page, 'preset', 'S1')).toBe('ready');
    const s1 = await readState(page);
    expectNumbersShown(s1);
    expect(shapeOf(s1.outputShape)).toEqual([20, 33, 101]);
    await expectNodeEqual(await lastRun(page));
    await session.screenshot(page, '2-preset-S1');

    // Stride 2 -> 3: a longer output, new errors and new plots.
    expect(await change(page, 'stride', 3)).toBe('ready');
    const stride3 = await readState(page);
    expectNumbersShown(stride3);
    expect(shapeOf(stride3.outputShape)).toEqual([20, 33, (50 - 1) * 3 + 3]);
    expect(stride3.plots[0]).not.toBe(s1.plots[0]);
    expect(stride3.plots[1]).not.toBe(s1.plots[1]);
    expect(stride3.runs).toBeGreaterThan(s1.runs);
    await expectNodeEqual(await lastRun(page));

    // Kernel 3 -> 5.
    expect(await change(page, 'kernelSize', 5)).toBe('ready');
    const kernel5 = await readState(page);
    expectNumbersShown(kernel5);
    expect(shapeOf(kernel5.outputShape)).toEqual([20, 33, (50 - 1) * 3 + 5]);
    expect(kernel5.plots[0]).not.toBe(stride3.plots[0]);
    await expectNodeEqual(await lastRun(page));
    await session.screenshot(page, '3-S1-stride3-kernel5');

    // ConvTranspose1d -> Conv1d: a shorter output.
    expect(await change(page, 'module', 'Conv1d')).toBe('ready');
    const conv = await readState(page);
    const convShape = shapeOf(conv.outputShape);
    expect(convShape[2]).toBeLessThan(50);
    expect(conv.plots[0]).not.toBe(kernel5.plots[0]);
    expect(conv.plots[1]).not.toBe(kernel5.plots[1]);
    expectNumbersShown(conv);
    const convRun = await lastRun(page);
    expect(convRun.module).toBe('Conv1d');
    await expectNodeEqual(convRun);
    await session.screenshot(page, '4-conv1d');
  });

  test('presets, signals and weights all compute what Node computes', async () => {
    const page = await openDemo();
    const seen = new Set();
    for (const [id, value] of [['preset', 'docs-seed'], ['preset', 'S6'], ['signal', 'chirp'],
      ['weights', 'random'], ['preset', 'docs-upsample'], ['outputSize', '12']]) {
      expect(await change(page, id, value)).toBe('ready');
      const run = await lastRun(page);
      await expectNodeEqual(run);
      seen.add(`${run.module} ${JSON.stringify(run.args)} ${run.outputSize}`);
    }
    expect(seen.size).toBeGreaterThanOrEqual(3);
    await session.screenshot(page, '5-docs-upsample-outputSize');
  });

  test(`the self test passes all ${GOLDEN_CASES} golden cases`, async () => {
    const page = await openDemo();
    await page.click('#self-test');
    await page.waitForFunction(() => /\d+\s*\/\s*\d+/.test(document.getElementById('self-test-result').textContent),
      null, { timeout: 40000 });
    const text = (await page.textContent('#self-test-result')).trim();
    await session.screenshot(page, '6-self-test');
    const m = /(\d+)\s*\/\s*(\d+) passed/.exec(text);
    expect(m).not.toBeNull();
    expect([Number(m[1]), Number(m[2])]).toEqual([GOLDEN_CASES, GOLDEN_CASES]);
  });

  test('invalid parameters (groups 5 with 16 input channels) show an error, then recover', async () => {
    const page = await openDemo();
    expect(await change(page, 'preset', 'S1')).toBe('ready');
    const good = await readState(page);
    expect(good.errorVisible).toBe(false);
    expect(await change(page, 'groups', 5, { blank: false })).toBe('error');
    const bad = await readState(page);
    expect(bad.errorVisible).toBe(true);
    expect(bad.error).toMatch(/groups/);
    expect(session.problems(page)).toEqual([]);  // no console error for a user's mistake
    await session.screenshot(page, '7-invalid-groups');
    // Back to a valid value: the error goes away and it computes again.
    expect(await change(page, 'groups', 1)).toBe('ready');
    const again = await readState(page);
    expect(again.errorVisible).toBe(false);
    expect(shapeOf(again.outputShape)).toEqual([20, 33, 101]);
  });

  test("Conv1d padding 'same' keeps the length (asymmetric, zeros and reflect) and equals Node", async () => {
    const page = await openDemo();
    for (const [id, value] of [['module', 'Conv1d'], ['stride', 1], ['kernelSize', 4], ['dilation', 2]]) {
      expect(await change(page, id, value)).toBe('ready');
    }
    expect(await change(page, 'padding', 'same')).toBe('ready');
    for (const mode of ['zeros', 'reflect']) {
      if (mode === 'reflect') expect(await change(page, 'paddingMode', 'reflect')).toBe('ready');
      const state = await readState(page);
      expect(state.errorVisible).toBe(false);
      expectNumbersShown(state);
      // The page's float reference pads dilation·(K − 1) = 6 positions, 3 before and 3
      // after; an odd total (split unevenly) follows below.
      expect(Number(state.maxError)).toBeLessThanOrEqual(0.5 + 1e-3);
      const run = await lastRun(page);
      expect(run.args).toMatchObject({ padding: 'same', kernelSize: 4, dilation: 2, paddingMode: mode });
      expect(run.output.shape).toEqual([run.input.shape[0], run.args.outChannels, run.input.shape[2]]);
      expect(shapeOf(state.outputShape)[2]).toBe(50);
      await expectNodeEqual(run);
    }
    // An odd total (K = 4, dilation 1: 1 before, 2 after) with reflect, then 'valid'.
    expect(await change(page, 'dilation', 1)).toBe('ready');
    const odd = await readState(page);
    expect(Number(odd.maxError)).toBeLessThanOrEqual(0.5 + 1e-3);
    expect(shapeOf(odd.outputShape)[2]).toBe(50);
    await expectNodeEqual(await lastRun(page));
    expect(await change(page, 'padding', 'valid')).toBe('ready');
    const valid = await readState(page);
    expect(shapeOf(valid.outputShape)[2]).toBe(50 - 3);
    expect(Number(valid.maxError)).toBeLessThanOrEqual(0.5 + 1e-3);
    expect((await lastRun(page)).args.padding).toBe('valid');
    await expectNodeEqual(await lastRun(page));
    await session.screenshot(page, '9-conv1d-padding-same');
  });

  test("padding 'same' with stride 2, or on ConvTranspose1d, shows the library's error, then recovers", async () => {
    const page = await openDemo();
    expect(await change(page, 'module', 'Conv1d')).toBe('ready');   // docs-seed: stride 2
    expect(await change(page, 'padding', 'same', { blank: false })).toBe('error');
    const bad = await readState(page);
    expect(bad.errorVisible).toBe(true);
    expect(bad.error).toMatch(/^RangeError:.*Conv1d.*stride.*'same'/);
    expect(await change(page, 'stride', 1)).toBe('ready');
    const fixed = await readState(page);
    expect(fixed.errorVisible).toBe(false);
    expect(shapeOf(fixed.outputShape)[2]).toBe(50);
    await expectNodeEqual(await lastRun(page));
    // A word on ConvTranspose1d: the library's TypeError.
    expect(await change(page, 'module', 'ConvTranspose1d', { blank: false })).toBe('error');
    expect((await readState(page)).error).toMatch(/^TypeError: ConvTranspose1d: padding/);
    expect(await change(page, 'padding', 0)).toBe('ready');
    expect((await readState(page)).errorVisible).toBe(false);
    expect(session.problems(page)).toEqual([]);
  });

  test('save downloads a .qconv that Node loads; loading it back runs the same bytes; corrupt files show the error', async () => {
    const page = await openDemo();
    if (!nodeApi) {
      nodeApi = require('../../js/index.cjs');
      await nodeApi.init();
    }
    // ConvTranspose1d (docs-seed, float filter), then Conv1d 'same' with random weights and bias.
    const setups = [
      { module: 'ConvTranspose1d', steps: [['bias-values', 'random']] },
      { module: 'Conv1d', steps: [['module', 'Conv1d'], ['stride', 1], ['padding', 'same'], ['weights', 'random']] },
    ];
    let saved = null;
    for (const setup of setups) {
      for (const [id, value] of setup.steps) expect(await change(page, id, value)).toBe('ready');
      const run = await lastRun(page);
      const file = await saveModule(page);
      expect(file.name).toBe(`${setup.module}.qconv`);
      expect(file.bytes[10]).toBe(setup.module === 'Conv1d' ? 0 : 1);
      const m = nodeApi[setup.module].load(file.bytes);
      try {
        expect(m.padding).toBe(run.args.padding);
        expect(m.bias() !== null).toBe(true);
        const y = m.forward(run.input);
        expect(y.shape).toEqual(run.output.shape);
        expect([y.scale, y.zeroPoint]).toEqual([run.output.scale, run.output.zeroPoint]);
        expectSameBytes(y.data, run.output.data);
      } finally {
        m.dispose();
      }
      saved = { run, file };
    }

    // Other weights, then the saved Conv1d back: the page shows its output bytes.
    expect(await change(page, 'seed', 7)).toBe('ready');
    const other = await lastRun(page);
    expect(other.output.data.findIndex((v, i) => v !== saved.run.output.data[i])).not.toBe(-1);
    expect(await change(page, 'kernelSize', 5)).toBe('ready');   // the file restores K = 3
    expect(await uploadModule(page, 'saved.qconv', saved.file.bytes)).toBe('ready');
    const loaded = await readState(page);
    expect(loaded.errorVisible).toBe(false);
    const back = await lastRun(page);
    expect(back.module).toBe('Conv1d');
    expect(back.args).toEqual(saved.run.args);
    expect(back.output.shape).toEqual(saved.run.output.shape);
    expect([back.output.scale, back.output.zeroPoint]).toEqual([saved.run.output.scale, saved.run.output.zeroPoint]);
    expectSameBytes(back.output.data, saved.run.output.data);
    await expectNodeEqual(back);
    expect(await weightsChoice(page)).toEqual({ value: 'loaded', text: expect.stringContaining('loaded file') });
    expect(await page.inputValue('#kernelSize')).toBe('3');
    expect(await page.inputValue('#padding')).toBe('same');
    await session.screenshot(page, '10-loaded-qconv');

    // The signal may change while loaded (same weights); a module parameter leaves it.
    expect(await change(page, 'signal', 'chirp')).toBe('ready');
    expect((await weightsChoice(page)).value).toBe('loaded');
    await expectNodeEqual(await lastRun(page));
    expect(await change(page, 'kernelSize', 5)).toBe('ready');
    expect((await weightsChoice(page)).value).toBe('random');
    await expectNodeEqual(await lastRun(page));

    // One flipped byte: the library's checksum error; then the page recovers.
    const corrupt = Buffer.from(saved.file.bytes);
    corrupt[100] ^= 0x10;
    expect(await uploadModule(page, 'corrupt.qconv', corrupt)).toBe('error');
    const bad = await readState(page);
    expect(bad.errorVisible).toBe(true);
    expect(bad.error).toMatch(/^RangeError: Conv1d\.load: .*checksum/);
    expect(session.problems(page)).toEqual([]);
    await session.screenshot(page, '11-corrupt-qconv');
    expect(await change(page, 'kernelSize', 3)).toBe('ready');
    expect((await readState(page)).errorVisible).toBe(false);
  });

  test('a per-channel ConvTranspose1d made in Node loads, runs within ±0.5 quanta and equals Node', async () => {
    const page = await openDemo();
    if (!nodeApi) {
      nodeApi = require('../../js/index.cjs');
      await nodeApi.init();
    }
    // Groups 2, weight [16, 4, 3]; each output channel's weights on its own scale.
    const [Cin, Cout, K, groups] = [16, 8, 3, 2];
    const weight = Float32Array.from({ length: Cin * (Cout / groups) * K },
      (_, i) => Math.sin(i * 1.7) * 0.05 * (1 + (Math.floor(i / K) % (Cout / groups))));
    const bias = Float32Array.from({ length: Cout }, (_, c) => 0.01 * c - 0.03);
    const m = nodeApi.ConvTranspose1d.fromFloat({
      inChannels: Cin, outChannels: Cout, kernelSize: K, stride: 2, padding: 1, groups,
      weight, bias, weightQScheme: 'per_channel', output: { scale: 0.02, zeroPoint: 128 },
    });
    const bytes = m.save();
    m.dispose();
    expect(await uploadModule(page, 'per-channel.qconv', bytes)).toBe('ready');
    const state = await readState(page);
    expect(state.errorVisible).toBe(false);
    expect(Number(state.maxError)).toBeLessThanOrEqual(0.51);
    const run = await lastRun(page);
    expect(run.args).toMatchObject({ inChannels: Cin, outChannels: Cout, kernelSize: K, stride: 2, padding: 1, groups });
    expect(run.weight.scale).toHaveLength(Cout);
    expect([run.outputScale, run.outputZeroPoint]).toEqual([0.02, 128]);
    await expectNodeEqual(run);
    expect((await weightsChoice(page)).value).toBe('loaded');
  });

  test('a WAV file (chosen or dropped) becomes the input; a dropped .qconv file loads', async () => {
    const page = await openDemo();
    // 100 frames of a ramp: the file's channel feeds every input channel of
    // batch item 0; later batch items read past its end (zeros).
    const samples = Array.from({ length: 100 }, (_, i) => (i - 50) / 64);
    const before = await runs(page);
    await page.setInputFiles('#wav-file', { name: 'ramp.wav', mimeType: 'audio/wav', buffer: wavBytes(samples) });
    await page.waitForFunction((n) => Number(document.body.dataset.runs) > n &&
      document.body.dataset.status !== 'running', before);
    expect(await waitReady(page)).toBe('ready');
    expect(await page.inputValue('#signal')).toBe('wav');
    expect(await page.inputValue('#length')).toBe('100');
    expect(await page.textContent('#audio-info')).toMatch(/^ramp\.wav: 1 channel, 8000 Hz, .*\(100 frames\)/);
    const run = await lastRun(page);
    const [N, Cin, L] = run.input.shape;
    expect([Cin, L]).toEqual([16, 100]);
    const { scale, zeroPoint } = run.input;
    for (let c = 0; c < Cin; c++) {
      for (let i = 0; i < L; i++) {
        expect(Math.abs(scale * (run.input.data[c * L + i] - zeroPoint) - samples[i])).toBeLessThanOrEqual(scale / 2 + 1e-6);
      }
    }
    expect(run.input.data.subarray(Cin * L, N * Cin * L).every((q) => q === zeroPoint)).toBe(true);
    await expectNodeEqual(run);

    // Dropped: another WAV file replaces it; a .qconv file loads as a module.
    expect(await dropFile(page, 'short.wav', wavBytes(samples.slice(0, 40)))).toBe('ready');
    expect(await page.inputValue('#length')).toBe('40');
    expect((await lastRun(page)).input.shape[2]).toBe(40);
    const saved = await saveModule(page);
    expect(await change(page, 'kernelSize', 5)).toBe('ready');
    expect(await dropFile(page, 'dropped.qconv', saved.bytes)).toBe('ready');
    expect(await weightsChoice(page)).toEqual({ value: 'loaded', text: expect.stringContaining('loaded file') });
    expect(await page.inputValue('#kernelSize')).toBe('3');
    expect(await page.textContent('#module-file-info')).toContain('dropped.qconv');
    await expectNodeEqual(await lastRun(page));
    expect(session.problems(page)).toEqual([]);
  });

  test('?simd=0 runs the scalar flavour and computes the same bytes', async () => {
    const page = await openDemo('?simd=0');
    const state = await readState(page);
    expect(state.flavour).toBe('scalar');
    const info = await page.evaluate(() => ({ ...window.qconvDemo.info }));
    expect(info).toMatchObject({ simd: false, flavour: 'scalar', threads: 1 });
    expect(state.threads).toBe('1');
    expect(await change(page, 'preset', 'S1')).toBe('ready');
    const run = await lastRun(page);
    expect(run.output.shape).toEqual([20, 33, 101]);
    await expectNodeEqual(run);
    await session.screenshot(page, '8-scalar');
  });
});
