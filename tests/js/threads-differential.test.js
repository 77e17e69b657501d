'use strict';
// The threaded wasm flavour on 2 and 4 threads against the one-thread flavour
// and the independent JS reference, on many seeded configurations, with the
// split threshold at 1 multiply-add so that even small runs are split. The
// draw favours what once went wrong (issue 11): ConvTranspose1d outputs that
// no tap reaches (stride > dilation*(K-1)+1) in output rows a multiple of 256
// bytes long (staged output blocks), with the threads sharing a batch item.
// tests/native/threads_test.cc runs the same kind of draw natively.
const { createQconv } = require('../../dist/api.cjs');
const nodeLoader = require('../../js/node-loader.cjs');
const { referenceForward, outputLength } = require('./reference');
const { runThroughApi } = require('./random-suite');
const { mulberry32 } = require('../../tools/mulberry32.cjs');

const CONFIGURATIONS = 20000;

// minParallelWork: the loader passes it to setMinParallelWork (0 would read
// as "not given").
const platform = {
  threadSupport: nodeLoader.threadSupport, releaseWorkers: nodeLoader.releaseWorkers, minParallelWork: 1,
};

// small: up to 16 KiB of output; staged: rows a multiple of 256 bytes and more
// than 32 KiB of output (several output blocks); long: 1-4 channels, lengths
// up to 64k.
function familyOf(i) {
  const r = i % 20;
  return r === 0 ? 'long' : r <= 3 ? 'staged' : 'small';
}

function differentialCase(rand, family) {
  const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
  const pick = (...xs) => xs[int(0, xs.length - 1)];
  for (;;) {
    const kind = int(0, 3) === 0 ? 'Conv1d' : 'ConvTranspose1d';
    const transposed = kind === 'ConvTranspose1d';
    const maxChannels = family === 'long' ? 4 : 64;
    const grouping = int(0, 9);
    const groups = grouping < 6 || family === 'long' ? 1 : grouping < 8 ? int(2, 4) : int(2, 32);
    const perGroup = Math.max(1, Math.floor(maxChannels / groups));
    const cinG = grouping >= 8 ? int(1, 2) : int(1, perGroup);
    const coutG = grouping >= 8 ? int(1, 2)
      : family === 'staged' ? int(Math.min(5, perGroup), perGroup) : int(1, perGroup);
    const cin = groups * cinG, cout = groups * coutG;
    // One draw in 10 has a long kernel: with a large stride, more phases than
    // the core caches (it derives the others as it goes).
    const K = int(0, 9) === 0 ? int(17, 40) : int(1, family === 'long' ? 4 : 5), dilation = int(1, 3);
    const span = dilation * (K - 1) + 1;
    // Half the draws leave outputs no tap reaches (ConvTranspose1d).
    const stride = int(0, 1) ? int(span + 1, span + 4) : int(1, 4);
    const padding = int(0, 3);
    const paddingMode = !transposed && int(0, 4) === 0 ? 'reflect' : 'zeros';
    let target;
    if (family === 'small') {
      target = int(0, 1) ? 256 * int(1, 2) : int(1, 600);
    } else if (family === 'staged') {
      const fewest = Math.floor(32768 / (256 * cout)) + 1;
      if (fewest > 32) continue;
      target = 256 * int(fewest, 32);
    } else {
      target = int(0, 1) ? 256 * int(1, 256) : int(1, 65536);
    }
    let L, outputPadding = 0, requested;
    if (transposed) {
      // The input length whose output window [min, min + stride) holds the
      // target (§5's output length solved for L); outputPadding (or
      // outputSize) picks it.
      const numerator = target - 1 + 2 * padding - (span - 1);
      if (numerator < 0) continue;
      L = Math.floor(numerator / stride) + 1;
      const minSize = outputLength({ kind, L, K, stride, padding, dilation });  // outputSize's smallest
      if (int(0, 4) === 0) {
        requested = target;
        outputPadding = int(0, Math.max(stride, dilation) - 1);
      } else {
        outputPadding = target - minSize;
      }
    } else {
      L = (target - 1) * stride + span - 2 * padding;  // the L whose output length is the target
      if (L < 1 || (paddingMode === 'reflect' && padding >= L)) continue;
    }
    const N = family === 'small' ? pick(1, 1, 1, 2, 3, 4, 8) : family === 'staged' ? pick(1, 1, 1, 2, 3) : 1;
    const macs = N * cout * cinG * K * (transposed ? L : target);
    if (macs > (family === 'small' ? 2e5 : 1e6)) continue;
    if (family === 'small' && N * cout * target > 16384) continue;
    // Bulk bytes from a xorshift seeded by the case's generator.
    let state = (Math.floor(rand() * 4294967296) | 1) >>> 0;
    const nextByte = () => {
      state ^= state << 13; state >>>= 0;
      state ^= state >>> 17;
      state ^= state << 5; state >>>= 0;
      return state >>> 24;
    };
    const wLen = transposed ? cin * coutG * K : cout * cinG * K;
    const w = new Int8Array(wLen);
    for (let i = 0; i < wLen; i++) w[i] = nextByte() - 128;
    const x = new Uint8Array(N * cin * L);
    for (let i = 0; i < x.length; i++) x[i] = nextByte();
    const perChannel = int(0, 1) === 1;
    const scale = () => (1 + int(0, 1000) / 1000) * 2 ** -int(6, 9);
    const ws0 = scale(), wzp0 = int(-3, 3);
    const ws = Array.from({ length: cout }, () => (perChannel ? scale() : ws0));
    const wzp = Array.from({ length: cout }, () => (perChannel ? int(-3, 3) : wzp0));
    const bias = int(0, 4) !== 0 ? Float32Array.from({ length: cout }, () => (rand() - 0.5) * 6) : null;
    const c = {
      kind, cin, cout, K, stride, padding, outputPadding, dilation, groups, paddingMode,
      w, ws, wzp, bias, x, N, L, perChannel,
      xs: 0.02 + int(0, 100) / 2000, xzp: int(0, 255), os: 0.05 + int(0, 100) / 100, ozp: int(0, 255),
    };
    if (requested !== undefined) c.outputLength = requested;
    return c;
  }
}

// Whether some ConvTranspose1d output phase has no tap (bias-only outputs).
function hasTaplessPhase(c) {
  if (c.kind !== 'ConvTranspose1d') return false;
  const residues = new Set();
  for (let k = 0; k < c.K; k++) residues.add((k * c.dilation) % c.stride);
  return residues.size < c.stride;
}

function gcd(a, b) { return b === 0 ? a : gcd(b, a % b); }

function describeCase(c) {
  return `${c.kind}(${c.cin}, ${c.cout}, ${c.K}, stride ${c.stride}, padding ${c.padding}, ` +
    `outputPadding ${c.outputPadding}, dilation ${c.dilation}, groups ${c.groups}, ${c.paddingMode}) ` +
    `on [${c.N}, ${c.cin}, ${c.L}]${c.outputLength !== undefined ? ` outputSize ${c.outputLength}` : ''}`;
}

function firstDifference(got, want) {
  if (got.length !== want.length) return `${got.length} bytes instead of ${want.length}`;
  let n = 0, first = -1;
  for (let i = 0; i < got.length; i++) {
    if (got[i] !== want[i]) {
      if (first < 0) first = i;
      n++;
    }
  }
  return n === 0 ? null : `${n} of ${want.length} bytes differ (first at ${first}: ${got[first]}, want ${want[first]})`;
}

describe('the threaded flavour on 1, 2 and 4 threads, every run split', () => {
  const instances = { 1: createQconv(nodeLoader.loadNativeModule, platform),
    2: createQconv(nodeLoader.loadNativeModule, platform), 4: createQconv(nodeLoader.loadNativeModule, platform) };
  beforeAll(async () => {
    for (const [threads, q] of Object.entries(instances)) {
      expect((await q.init({ numThreads: Number(threads) })).threads).toBe(Number(threads));
    }
  });

  // Issue 11's upsamplers, verbatim: 2 threads gave other bytes than one.
  test.each([
    ['ConvTranspose1d(64, 64, 1, { stride: 2, outputPadding: 1 }) on [1, 64, 4096]', 64, 64, 1,
      { stride: 2, outputPadding: 1 }, [1, 64, 4096]],
    ['ConvTranspose1d(1, 16, 2, { stride: 5, outputPadding: 2, dilation: 2 }) on [1, 1, 32768]', 1, 16, 2,
      { stride: 5, outputPadding: 2, dilation: 2 }, [1, 1, 32768]],
    ['ConvTranspose1d(8, 32, 3, { stride: 4, outputPadding: 1 }) on [1, 8, 8192]', 8, 32, 3,
      { stride: 4, outputPadding: 1 }, [1, 8, 8192]],
  ])('issue 11: %s gives the same bytes on 1, 2 and 4 threads as the reference', (_, cin, cout, K, options, shape) => {
    const rand = mulberry32(cin * 1000 + cout);
    const w = Int8Array.from({ length: cin * cout * K }, () => Math.floor(rand() * 256) - 128);
    const bias = Float32Array.from({ length: cout }, () => (rand() - 0.5) * 4);
    const x = Uint8Array.from({ length: shape[0] * shape[1] * shape[2] }, () => Math.floor(rand() * 256));
    const input = { data: x, shape, scale: 0.02, zeroPoint: 130 };
    const want = referenceForward({
      kind: 'ConvTranspose1d', cin, cout, K, stride: options.stride, padding: 0, outputPadding: options.outputPadding,
      dilation: options.dilation || 1, groups: 1, w, ws: Array(cout).fill(0.01), wzp: Array(cout).fill(3), bias, x,
      N: shape[0], L: shape[2], xs: 0.02, xzp: 130, os: 0.05, ozp: 120,
    });
    for (const [threads, q] of Object.entries(instances)) {
      const m = new q.ConvTranspose1d(cin, cout, K, options);
      m.setWeightBias({ data: w, scale: 0.01, zeroPoint: 3 }, bias);
      m.scale = 0.05;
      m.zeroPoint = 120;
      const got = m.forward(input);
      m.dispose();
      expect(got.shape).toEqual(want.shape);
      expect([threads, firstDifference(got.data, want.data)]).toEqual([threads, null]);
    }
  });

  test(`${CONFIGURATIONS} seeded configurations: the same bytes on 1, 2 and 4 threads and in the reference`, () => {
    const rand = mulberry32(20261111);
    const seen = { conv: 0, batched: 0, grouped: 0, long: 0, taplessStagedShape: 0, manyPhases: 0 };
    const started = Date.now();
    for (let i = 0; i < CONFIGURATIONS; i++) {
      const family = familyOf(i);
      const c = differentialCase(rand, family);
      const want = referenceForward(c);
      for (const [threads, q] of Object.entries(instances)) {
        const got = runThroughApi(q, c);
        const difference = firstDifference(got.data, want.data);
        if (difference !== null) {
          throw new Error(`configuration ${i} on ${threads} threads, ${describeCase(c)}: ${difference}`);
        }
      }
      if (c.kind === 'Conv1d') seen.conv++;
      if (c.N > 1) seen.batched++;
      if (c.groups > 1) seen.grouped++;
      if (family === 'long') seen.long++;
      // ConvTranspose1d phases: min(K, stride / gcd(dilation, stride)).
      if (c.kind === 'ConvTranspose1d' && Math.min(c.K, c.stride / gcd(c.dilation, c.stride)) > 16) seen.manyPhases++;
      // What staged the output on shared tiles: bias-only outputs, rows a
      // multiple of 256 bytes, more than 32 KiB of output, one batch item.
      const lout = want.shape[2];
      if (hasTaplessPhase(c) && lout % 256 === 0 && c.cout * lout > 32768 && c.N === 1) seen.taplessStagedShape++;
    }
    console.log(`${CONFIGURATIONS} configurations in ${((Date.now() - started) / 1000).toFixed(1)} s: ` +
      JSON.stringify(seen));
    expect(seen.conv).toBeGreaterThan(CONFIGURATIONS / 8);
    expect(seen.batched).toBeGreaterThan(CONFIGURATIONS / 5);
    expect(seen.grouped).toBeGreaterThan(CONFIGURATIONS / 5);
    expect(seen.long).toBe(CONFIGURATIONS / 20);
    expect(seen.taplessStagedShape).toBeGreaterThan(CONFIGURATIONS / 100);
    expect(seen.manyPhases).toBeGreaterThan(CONFIGURATIONS / 100);
  }, 180000);
});
