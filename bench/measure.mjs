// Measuring one shape: every implementation prepared on the shape's data,
// its first outputs checked against the others, then all timed in turns.
//
// An implementation: { key, label, about, prepare(shape, data) -> { forward():
// result | Promise<result>, read(result): { shape: [N, Cout, Lout], u8?, f32? }
// (NCL order), dispose() } }.
import { convTransposeOutputLength } from './onnx-writer.mjs';
import { quantizeOutput, OUTPUT_ZERO_POINT } from './data.mjs';

export const ROUNDS = 5;               // implementations take turns this many times per shape
export const TARGET_BATCH_MS = 2;      // fast calls are timed in batches at least this long
export const WARMUP_MS = 100;          // per implementation and shape, at least one call

// ---- checks ------------------------------------------------------------------------

function sameShape(a, b) {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function sameBytes(a, b) {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function maxAbsDifference(a, b) {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

// Every output must have PyTorch's shape; our flavours must agree byte for
// byte; every output must agree with the float32 reference (ORT f32):
// quantized ones within 1 step, tfjs within float rounding. A wrong peer
// model would otherwise time a different computation.
function checkOutputs(shape, data, inputIndex, outputs) {
  const where = `bench: ${shape.id} input ${inputIndex}`;
  const expected = [shape.N, shape.Cout, convTransposeOutputLength(shape)];
  for (const [label, out] of Object.entries(outputs)) {
    if (!sameShape(Array.from(out.shape), expected)) {
      throw new Error(`${where}: ${label} returned shape [${out.shape}], expected [${expected}]`);
    }
  }
  const simd = outputs['ours SIMD'].u8;
  if (!sameBytes(simd, outputs['ours scalar'].u8)) {
    throw new Error(`${where}: our SIMD and scalar flavours give different bytes`);
  }
  if (!sameBytes(simd, outputs['ours bound'].u8)) {
    throw new Error(`${where}: our bound runner and forward give different bytes`);
  }
  if (!sameBytes(simd, outputs['ours 2 thr'].u8)) {
    throw new Error(`${where}: our 2-thread and 1-thread runs give different bytes`);
  }
  const reference = outputs['ORT f32'].f32;
  const referenceQuantized = quantizeOutput(reference, data.outputScale, OUTPUT_ZERO_POINT);
  const agreement = {};
  for (const [label, out] of Object.entries(outputs)) {
    if (label === 'ORT f32') continue;
    if (out.u8) {
      const d = maxAbsDifference(out.u8, referenceQuantized);
      agreement[label] = { maxStepsFromFloatReference: d };
      if (d > 1) throw new Error(`${where}: ${label} differs from the float32 reference by ${d} quantization steps`);
    } else {
      const d = maxAbsDifference(out.f32, reference);
      const tolerance = 1e-5 * reference.reduce((m, v) => Math.max(m, Math.abs(v)), 1) * Math.sqrt(shape.Cin * shape.K);
      agreement[label] = { maxAbsFromFloatReference: d };
      if (d > tolerance) throw new Error(`${where}: ${label} differs from the float32 reference by ${d} (tolerance ${tolerance})`);
    }
  }
  const saturated = simd.reduce((n, v) => n + (v === 0 || v === 255 ? 1 : 0), 0) / simd.length;
  return { agreement, saturatedFraction: saturated };
}

// ---- timing ------------------------------------------------------------------------

// Runs `count` forwards back to back; returns ms per forward.
async function timeBatch(runner, count) {
  const t0 = performance.now();
  if (runner.isAsync) {
    for (let i = 0; i < count; i++) await runner.forward();
  } else {
    for (let i = 0; i < count; i++) runner.forward();
  }
  return (performance.now() - t0) / count;
}

function median(sorted) {
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

// Warms every implementation up, sizes its batches, then lets them take
// turns for ROUNDS rounds (rotating who goes first), so a slow spell of the
// shared machine hits all of them alike. One sample = one batch's mean.
async function timeShape(runners, budgetMs) {
  for (const r of runners) {
    const end = performance.now() + WARMUP_MS;
    let msPerCall;
    do {
      msPerCall = await timeBatch(r, 1);
    } while (performance.now() < end);
    r.batchSize = Math.max(1, Math.ceil(TARGET_BATCH_MS / Math.max(msPerCall, 1e-4)));
    r.samples = [];
    r.runs = 0;
  }
  const roundMs = budgetMs / ROUNDS;
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < runners.length; i++) {
      const r = runners[(round + i) % runners.length];
      const end = performance.now() + roundMs;
      do {
        r.samples.push(await timeBatch(r, r.batchSize));
        r.runs += r.batchSize;
      } while (performance.now() < end);
    }
  }
  const stats = {};
  for (const r of runners) {
    const sorted = [...r.samples].sort((a, b) => a - b);
    stats[r.key] = { medianMs: median(sorted), minMs: sorted[0], runs: r.runs, batchSize: r.batchSize, samples: sorted.length };
  }
  return stats;
}

// ---- one shape ---------------------------------------------------------------------

// Prepares every implementation, checks the outputs of both inputs (before
// any timing), times them, and returns the check and the timing statistics.
export async function measureShape(implementations, shape, data, budgetMs) {
  const runners = [];
  for (const impl of implementations) {
    const prepared = await impl.prepare(shape, data);
    const probe = prepared.forward();
    const isAsync = probe instanceof Promise;
    const firstOutputs = [prepared.read(await probe), prepared.read(await prepared.forward())];
    runners.push({ ...prepared, key: impl.key, label: impl.label, isAsync, firstOutputs });
  }
  const outputsOf = (inputIndex) => Object.fromEntries(runners.map((r) => [r.label, r.firstOutputs[inputIndex]]));
  const check = checkOutputs(shape, data, 0, outputsOf(0));
  const checkSecond = checkOutputs(shape, data, 1, outputsOf(1));
  for (const [label, a] of Object.entries(checkSecond.agreement)) {
    for (const [key, value] of Object.entries(a)) check.agreement[label][key] = Math.max(check.agreement[label][key], value);
  }
  const stats = await timeShape(runners, budgetMs);
  for (const r of runners) await r.dispose();
  return { check, stats };
}
