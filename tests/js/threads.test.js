'use strict';
// init({ numThreads }): the threaded flavour (Emscripten pthreads on Node
// worker threads) gives the bytes of the independent JS reference and of the
// one-thread flavour on shapes big enough to be split (over batch items, or
// over one item's rows and tiles); where threads cannot run, one warning and
// one thread. Speed is the benchmark's business (npm run bench), not a test's.
const { spawnSync } = require('child_process');
const path = require('path');
const { createQconv } = require('../../dist/api.cjs');
const nodeLoader = require('../../js/node-loader.cjs');
const { referenceForward, outputLength } = require('./reference');
const { runThroughApi } = require('./random-suite');
const { mulberry32 } = require('../../tools/mulberry32.cjs');

const platform = { threadSupport: nodeLoader.threadSupport, releaseWorkers: nodeLoader.releaseWorkers };

// A random case of 1.1M to 6M multiply-adds (run() splits from about 1M).
function bigCase(rand) {
  const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
  const pick = (...xs) => xs[int(0, xs.length - 1)];
  for (;;) {
    const kind = rand() < 0.5 ? 'ConvTranspose1d' : 'Conv1d';
    const depthwise = rand() < 0.25;
    const groups = depthwise ? int(16, 96) : pick(1, 1, 2, 4);
    const cinG = depthwise ? 1 : int(1, 40), coutG = depthwise ? pick(1, 2) : int(1, 48);
    const cin = cinG * groups, cout = coutG * groups;
    const K = int(1, 8), stride = int(1, 4), dilation = int(1, 2);
    const N = pick(1, 1, 2, 3, 4, 6);
    const L = int(8, depthwise ? 3000 : 900);
    let padding = int(0, 3), outputPadding = 0, paddingMode = 'zeros';
    if (kind === 'ConvTranspose1d') {
      outputPadding = int(0, Math.max(stride, dilation) - 1);
    } else if (rand() < 0.3 && padding > 0) {
      paddingMode = 'reflect';
    }
    const outLength = outputLength({ kind, L, K, stride, padding, dilation, outputPadding });
    if (outLength < 1) continue;
    const macs = N * cout * cinG * K * (kind === 'ConvTranspose1d' ? L : outLength);
    if (macs < 1.1e6 || macs > 6e6) continue;
    const perChannel = rand() < 0.5;
    const ws = Array.from({ length: perChannel ? cout : 1 }, () => pick(0.01, 0.004, 0.0625));
    const wzp = Array.from({ length: ws.length }, () => int(-3, 3));
    const wLen = kind === 'ConvTranspose1d' ? cin * coutG * K : cout * cinG * K;
    const w = Int8Array.from({ length: wLen }, () => int(-128, 127));
    const bias = rand() < 0.8 ? Float32Array.from({ length: cout }, () => (rand() - 0.5) * 4) : null;
    const x = Uint8Array.from({ length: N * cin * L }, () => int(0, 255));
    return {
      kind, cin, cout, K, stride, padding, outputPadding, dilation, groups, paddingMode,
      w, ws: perChannel ? ws : Array(cout).fill(ws[0]), wzp: perChannel ? wzp : Array(cout).fill(wzp[0]),
      bias, x, N, L, xs: pick(0.02, 0.05), xzp: int(0, 255), os: pick(0.25, 0.5, 1), ozp: int(0, 255), perChannel,
    };
  }
}

describe('numThreads 2 in Node', () => {
  const threaded = createQconv(nodeLoader.loadNativeModule, platform);
  const single = createQconv(nodeLoader.loadNativeModule, platform);
  let info;
  beforeAll(async () => {
    info = await threaded.init({ numThreads: 2 });
    await single.init();
  });

  test('loads the threaded SIMD128 flavour with 2 threads', async () => {
    expect(info).toMatchObject({ simd: true, threads: 2, flavour: 'wasmsimd' });
    expect((await single.init()).threads).toBe(1);
  });

  test('40 big random configurations: the same bytes as the JS reference and as one thread', () => {
    const rand = mulberry32(20261125);
    const seen = { ConvTranspose1d: 0, Conv1d: 0, batched: 0, depthwise: 0, reflect: 0 };
    for (let i = 0; i < 40; i++) {
      const c = bigCase(rand);
      const got = runThroughApi(threaded, c);
      const one = runThroughApi(single, c);
      const want = referenceForward(c);
      expect(got.shape).toEqual(want.shape);
      const at = got.data.findIndex((v, j) => v !== want.data[j]);
      if (at >= 0) {
        throw new Error(`case ${i} (${c.kind} ${c.N}x${c.cin}x${c.L}->${c.cout} K${c.K} s${c.stride} ` +
          `g${c.groups}): byte ${at} is ${got.data[at]} on 2 threads, ${want.data[at]} in the reference`);
      }
      expect(Buffer.from(got.data).equals(Buffer.from(one.data))).toBe(true);
      seen[c.kind]++;
      if (c.N > 1) seen.batched++;
      if (c.cin === c.groups && c.groups > 1) seen.depthwise++;
      if (c.paddingMode === 'reflect') seen.reflect++;
    }
    for (const [what, n] of Object.entries(seen)) expect([what, n > 2]).toEqual([what, true]);
  });

  test('a module keeps giving the same bytes over repeated forwards and shape changes', () => {
    const m = new threaded.ConvTranspose1d(64, 32, 4, 2, 1);
    const ref = new single.ConvTranspose1d(64, 32, 4, 2, 1);
    const w = Int8Array.from({ length: 64 * 32 * 4 }, (_, i) => ((i * 7919) % 255) - 127);
    for (const mod of [m, ref]) {
      mod.setWeightBias({ data: w, scale: 0.01 }, new Float32Array(32).fill(0.25));
      mod.scale = 0.5;
      mod.zeroPoint = 100;
    }
    for (const [n, l] of [[1, 4096], [3, 1000], [1, 5], [2, 2048], [1, 4096]]) {
      const x = Uint8Array.from({ length: n * 64 * l }, (_, i) => (i * 31 + l) & 255);
      const input = { data: x, shape: [n, 64, l], scale: 0.02, zeroPoint: 128 };
      expect(Buffer.from(m.forward(input).data).equals(Buffer.from(ref.forward(input).data))).toBe(true);
    }
    m.dispose();
    ref.dispose();
  });

  test('Node exits after a threaded forward (idle workers do not keep it alive)', () => {
    const script = `
      const q = require(${JSON.stringify(path.join(__dirname, '..', '..'))});
      q.init({ numThreads: 2 }).then((info) => {
        const m = new q.Conv1d(64, 64, 3, { padding: 1 });
        const y = m.forward({ data: new Uint8Array(64 * 4096), shape: [1, 64, 4096], scale: 1, zeroPoint: 0 });
        console.log(info.threads, y.data.length);
      });`;
    const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20000 });
    expect(child.error).toBeUndefined();
    expect(child.status).toBe(0);
    expect(child.stdout.trim()).toBe(`2 ${64 * 4096}`);
  });
});

describe('when threads cannot run: one warning, then one thread', () => {
  let warn;
  beforeEach(() => { warn = jest.spyOn(console, 'warn').mockImplementation(() => {}); });
  afterEach(() => warn.mockRestore());

  test('a platform without thread support', async () => {
    const api = createQconv(nodeLoader.loadNativeModule, { threadSupport: () => 'this test says so' });
    const info = await api.init({ numThreads: 4 });
    expect(info.threads).toBe(1);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0][0]).toBe('qconv-wasm: numThreads 4 was asked, but this test says so; running on one thread');
    await api.init({ numThreads: 4 });  // init is idempotent: no second warning
    expect(warn).toHaveBeenCalledTimes(1);
  });

  test('simd: false (the threaded flavour is SIMD128 only)', async () => {
    const api = createQconv(nodeLoader.loadNativeModule, platform);
    const info = await api.init({ simd: false, numThreads: 2 });
    expect(info).toMatchObject({ simd: false, threads: 1, flavour: 'scalar' });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0][0]).toMatch(/numThreads 2 was asked, but the threaded flavour needs WebAssembly SIMD128/);
  });

  test('numThreads 1 loads the one-thread flavour without a warning', async () => {
    const api = createQconv(nodeLoader.loadNativeModule, platform);
    expect((await api.init({ numThreads: 1 })).threads).toBe(1);
    expect(warn).not.toHaveBeenCalled();
  });
});

describe('numThreads validation', () => {
  const api = createQconv(nodeLoader.loadNativeModule, platform);
  test.each([
    [0, RangeError, 'init: numThreads (0) must be in [1, 64]'],
    [65, RangeError, 'init: numThreads (65) must be in [1, 64]'],
    [-2, RangeError, 'init: numThreads (-2) must be in [1, 64]'],
    [1.5, TypeError, 'init: numThreads must be an integer, got 1.5'],
    ['2', TypeError, 'init: numThreads must be an integer, got "2"'],
    [NaN, TypeError, 'init: numThreads must be an integer, got NaN'],
    [null, TypeError, 'init: numThreads must be an integer, got null'],
  ])('numThreads %p: %p', async (value, cls, message) => {
    const p = api.init({ numThreads: value });
    await expect(p).rejects.toThrow(cls);
    await expect(p).rejects.toThrow(message);
  });
  test('after the rejections init still works', async () => {
    expect((await api.init({ numThreads: 2 })).threads).toBe(2);
  });
});
