'use strict';
// Random configurations through the public API of one wasm flavour, compared
// byte for byte with the independent JS model in reference.js. This checks
// the wasm builds themselves (the native suite checks the native build).
const { referenceForward, outputLength } = require('./reference');
const { mulberry32 } = require('../../tools/mulberry32.cjs');

function randomCase(rand) {
  const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
  const pick = (...xs) => xs[int(0, xs.length - 1)];
  const logUniform = (lo, hi) => Math.exp(Math.log(lo) + rand() * (Math.log(hi) - Math.log(lo)));
  const kind = rand() < 0.5 ? 'ConvTranspose1d' : 'Conv1d';
  const groups = pick(1, 1, 2, 3, 4);
  const cinG = pick(1, 2, 3, 5, 8), coutG = pick(1, 2, 3, 4, 7);
  const cin = cinG * groups, cout = coutG * groups;
  const K = int(1, 6), stride = int(1, 4), dilation = int(1, 3);
  const N = pick(0, 1, 1, 2, 3);
  let L = int(1, 24), padding = int(0, 4), outputPadding = 0, paddingMode = 'zeros';
  if (kind === 'ConvTranspose1d') {
    outputPadding = int(0, Math.max(stride, dilation) - 1);
    // keep the output length >= 1
    while (outputLength({ kind, L, K, stride, padding, dilation, outputPadding }) < 1) padding--;
  } else {
    if (rand() < 0.3 && padding > 0) {
      paddingMode = 'reflect';
      L = Math.max(L, padding + 1);
    }
    while (outputLength({ kind, L, K, stride, padding, dilation }) < 1) L++;
  }
  const perChannel = rand() < 0.5;
  const wsOne = pick(0.5, 0.25, 0.125, logUniform(1e-3, 0.5));  // powers of two make exact ties
  const ws = Array.from({ length: cout }, () => (perChannel ? pick(0.5, 0.0625, logUniform(1e-3, 0.5)) : wsOne));
  const wzpOne = pick(0, 0, -128, 127, int(-128, 127));
  const wzp = Array.from({ length: cout }, () => (perChannel ? pick(0, -128, 127, int(-128, 127)) : wzpOne));
  const wLen = kind === 'ConvTranspose1d' ? cin * coutG * K : cout * cinG * K;
  const w = Int8Array.from({ length: wLen }, () => pick(-128, 127, 0, int(-128, 127), int(-8, 8)));
  const xs = pick(1, 0.5, 0.25, logUniform(1e-3, 1));
  const xzp = pick(0, 255, 128, int(0, 255));
  const x = Uint8Array.from({ length: N * cin * L }, () => pick(0, 255, xzp, int(0, 255)));
  // output scale: around the typical accumulator magnitude, sometimes far off (saturation)
  const os = pick(1, 0.5, logUniform(1e-3, 10), logUniform(1e-2, 1) * wsOne * xs * 1000);
  const ozp = pick(0, 255, 128, int(0, 255));
  const biasKind = pick('none', 'small', 'big', 'tie');
  let bias = null;
  if (biasKind !== 'none') {
    bias = Float32Array.from({ length: cout }, (_, co) => {
      const bs = ws[co] * xs;
      if (biasKind === 'small') return (rand() - 0.5) * 100 * bs;
      if (biasKind === 'tie') return (int(-50, 50) + 0.5) * bs;
      return (rand() - 0.5) * pick(1e6, 1e9, 1e10) * bs;  // near and beyond int32
    });
  }
  const c = {
    kind, cin, cout, K, stride, padding, outputPadding, dilation, groups, paddingMode,
    w, ws, wzp, bias, x, N, L, xs, xzp, os, ozp, perChannel,
  };
  if (kind === 'ConvTranspose1d' && rand() < 0.25) {
    const min = outputLength({ kind, L, K, stride, padding, dilation });  // outputSize's smallest
    c.outputLength = Math.max(1, min) + int(0, Math.max(0, min + stride - 1 - Math.max(1, min)));
  }
  return c;
}

function runThroughApi(q, c) {
  const m = c.kind === 'ConvTranspose1d'
    ? new q.ConvTranspose1d(c.cin, c.cout, c.K, c.stride, c.padding, c.outputPadding, c.groups, c.bias !== null, c.dilation)
    : new q.Conv1d(c.cin, c.cout, c.K, c.stride, c.padding, c.dilation, c.groups, c.bias !== null, c.paddingMode);
  try {
    m.setWeightBias({
      data: c.w,
      scale: c.perChannel ? c.ws : c.ws[0],
      zeroPoint: c.perChannel ? c.wzp : c.wzp[0],
    }, c.bias);
    m.scale = c.os;
    m.zeroPoint = c.ozp;
    const input = { data: c.x, shape: [c.N, c.cin, c.L], scale: c.xs, zeroPoint: c.xzp };
    return c.outputLength !== undefined ? m.forward(input, [c.outputLength]) : m.forward(input);
  } finally {
    m.dispose();
  }
}

function defineRandomSuite(simd, count, seed) {
  const q = require('../..');
  beforeAll(async () => {
    expect((await q.init({ simd })).simd).toBe(simd);
  });

  test(`${count} random configurations equal the JS reference byte for byte`, () => {
    const rand = mulberry32(seed);
    const seen = { ConvTranspose1d: 0, Conv1d: 0, reflect: 0, perChannel: 0, grouped: 0, saturated: 0, outputSize: 0 };
    for (let i = 0; i < count; i++) {
      const c = randomCase(rand);
      const got = runThroughApi(q, c);
      const want = referenceForward(c);
      expect(got.shape).toEqual(want.shape);
      if (!Buffer.from(got.data).equals(Buffer.from(want.data))) {
        const at = got.data.findIndex((v, j) => v !== want.data[j]);
        throw new Error(`case ${i} (${JSON.stringify({ ...c, w: undefined, x: undefined, bias: c.bias && Array.from(c.bias) })}): ` +
          `byte ${at} is ${got.data[at]}, reference ${want.data[at]}`);
      }
      seen[c.kind]++;
      if (c.paddingMode === 'reflect') seen.reflect++;
      if (c.perChannel) seen.perChannel++;
      if (c.groups > 1) seen.grouped++;
      if (c.outputLength !== undefined) seen.outputSize++;
      if (want.data.some((v) => v === 0 || v === 255)) seen.saturated++;
    }
    // the generator really covered what it claims to
    for (const [what, n] of Object.entries(seen)) {
      expect([what, n > count / 20]).toEqual([what, true]);
    }
  });
}

module.exports = { defineRandomSuite, runThroughApi, randomCase };
