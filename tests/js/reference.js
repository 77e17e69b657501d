'use strict';
// An independent, naive JS model of docs/SEMANTICS.md §4 under the port policy §0,
// written from docs/SEMANTICS.md (not from src/): float32 steps with Math.fround,
// int32 wrap with |0, ConvTranspose1d as a scatter loop, Conv1d as a gather
// loop with reflect padding materialised first.
// Math's functions as module constants: under Jest (a vm context) every
// global lookup in a hot loop is slow, 30 times the arithmetic here.
const { fround: f32, round, min, max } = Math;
const INT32_MAX = 2147483647;
const INT32_MIN = -2147483648;
const TWO31 = 2147483648;

function rintEven(x) {
  const r = round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// §4.1 with P3
function quantizeBias(b, ws, xs) {
  const bs = f32(ws * xs);
  const inv = f32(1 / bs);
  const v = f32(0 + rintEven(f32(b * inv)));
  if (v >= TWO31) return INT32_MAX;
  if (v < -TWO31) return INT32_MIN;
  return v;
}

// §4.2 with P2 (the identity on quantizeBias results, kept to follow docs/SEMANTICS.md §4.2)
function biasThroughFloat32(q) {
  const f = f32(q);
  return f >= TWO31 ? INT32_MAX : f;
}

// §4.3
function requantScale(ws, xs, os) {
  return f32(f32(f32(ws) * f32(xs)) * f32(1 / f32(os)));
}

// §4.4 with P1
function requantize(acc, rq, ozp) {
  const f = f32(f32(acc) * rq);
  let r;
  if (f >= TWO31) r = INT32_MAX;
  else if (f < -TWO31) r = INT32_MIN;
  else r = rintEven(f);
  r = min(32767, max(-32768, r));
  r = min(32767, max(-32768, r + ozp));
  return min(255, max(0, r));
}

// §5 output length for c = { kind, L, K, stride, padding, dilation, outputPadding?, outputLength? }:
// ConvTranspose1d's requested outputLength when given, else its smallest plus
// outputPadding (0 when absent: the smallest outputSize accepts); Conv1d's,
// which is < 1 when the padded input is shorter than the dilated kernel.
function outputLength(c) {
  const { kind, L, K, stride: s, padding: p, dilation: d, outputPadding = 0 } = c;
  if (kind === 'ConvTranspose1d') {
    return c.outputLength !== undefined ? c.outputLength : (L - 1) * s - 2 * p + d * (K - 1) + outputPadding + 1;
  }
  return Math.floor((L + 2 * p - d * (K - 1) - 1) / s) + 1;
}

// c: { kind, cin, cout, K, stride, padding, outputPadding, dilation, groups, paddingMode,
//      w (Int8Array), ws (number[] of cout), wzp (number[] of cout), bias (Float32Array|null),
//      x (Uint8Array [N, cin, L]), N, L, xs, xzp, os, ozp, outputLength? }
function referenceForward(c) {
  const { kind, cin, cout, K, stride: s, dilation: d, groups, N, xs, xzp, os, ozp } = c;
  const cinG = cin / groups, coutG = cout / groups;
  const lout = outputLength(c);  // reflect padding below keeps L + 2 * padding
  let { L, padding: p } = c;
  let x = c.x;
  if (kind === 'Conv1d' && c.paddingMode === 'reflect' && p > 0) {
    const Lp = L + 2 * p;
    const padded = new Uint8Array(N * cin * Lp);
    for (let n = 0; n < N; n++) for (let ci = 0; ci < cin; ci++) for (let r = 0; r < Lp; r++) {
      let i = r - p;
      if (i < 0) i = -i;
      if (i >= L) i = 2 * (L - 1) - i;
      padded[(n * cin + ci) * Lp + r] = x[(n * cin + ci) * L + i];
    }
    x = padded;
    L = Lp;
    p = 0;
  }
  const gemm = kind === 'Conv1d' && K === 1 && s === 1 && p === 0;
  const qb = new Int32Array(cout);
  const rq = new Float64Array(cout);
  for (let co = 0; co < cout; co++) {
    const b = c.bias ? quantizeBias(c.bias[co], c.ws[co], xs) : 0;
    qb[co] = gemm ? b : biasThroughFloat32(b);
    rq[co] = requantScale(c.ws[co], xs, os);
  }
  const acc = new Int32Array(N * cout * lout);
  for (let n = 0; n < N; n++) for (let co = 0; co < cout; co++) {
    acc.fill(qb[co], (n * cout + co) * lout, (n * cout + co + 1) * lout);
  }
  for (let n = 0; n < N; n++) for (let g = 0; g < groups; g++) {
    for (let j = 0; j < coutG; j++) {
      const co = g * coutG + j;
      const base = (n * cout + co) * lout;
      for (let i = 0; i < cinG; i++) {
        const ci = g * cinG + i;
        for (let k = 0; k < K; k++) {
          const wv = (kind === 'ConvTranspose1d' ? c.w[(ci * coutG + j) * K + k] : c.w[(co * cinG + i) * K + k]) - c.wzp[co];
          if (kind === 'ConvTranspose1d') {
            for (let t = 0; t < L; t++) {  // scatter: input t lands on o = t*s + k*d - p
              const o = t * s + k * d - p;
              if (o >= 0 && o < lout) acc[base + o] = (acc[base + o] + (x[(n * cin + ci) * L + t] - xzp) * wv) | 0;
            }
          } else {
            for (let o = 0; o < lout; o++) {  // gather: output o reads t = o*s + k*d - p
              const t = o * s + k * d - p;
              if (t >= 0 && t < L) acc[base + o] = (acc[base + o] + (x[(n * cin + ci) * L + t] - xzp) * wv) | 0;
            }
          }
        }
      }
    }
  }
  const out = new Uint8Array(acc.length);
  for (let n = 0; n < N; n++) for (let co = 0; co < cout; co++) {
    for (let o = 0; o < lout; o++) {
      const idx = (n * cout + co) * lout + o;
      out[idx] = requantize(acc[idx], rq[co], ozp);
    }
  }
  return { data: out, shape: [N, cout, lout] };
}

module.exports = { referenceForward, outputLength, quantizeBias, requantize, requantScale, rintEven };
