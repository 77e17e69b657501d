// What `npm run bench` prints and writes: the header (machine, peers), the
// table (times and ratios against our SIMD time, all from the same run), the
// targets, and bench/results/latest.json.
import fs from 'node:fs';
import path from 'node:path';

// ---- formatting --------------------------------------------------------------------

function formatMs(ms) {
  if (ms >= 100) return ms.toFixed(0);
  if (ms >= 10) return ms.toFixed(1);
  if (ms >= 1) return ms.toFixed(2);
  if (ms >= 0.01) return ms.toFixed(3);
  return ms.toFixed(4);
}

function formatRatio(r) {
  return r >= 10 ? `${r.toFixed(0)}x` : `${r.toFixed(1)}x`;
}

function pad(text, width, alignRight = true) {
  text = String(text);
  return alignRight ? text.padStart(width) : text.padEnd(width);
}

function describeShape(s) {
  const extras = [];
  if (s.padding) extras.push(`p${s.padding}`);
  if (s.outputPadding) extras.push(`op${s.outputPadding}`);
  if (s.dilation > 1) extras.push(`d${s.dilation}`);
  if (s.groups > 1) extras.push(`g${s.groups}`);
  return `${s.N}x${s.Cin}x${s.L}->${s.Cout} k${s.K} s${s.stride}${extras.length ? ' ' + extras.join(' ') : ''}`;
}

const geomean = (values) => Math.exp(values.reduce((a, v) => a + Math.log(v), 0) / values.length);

// ---- printing ----------------------------------------------------------------------

export function printHeader({ machine, budgetMs, implementations, ort, tfjs }) {
  console.log(`qconv-wasm ConvTranspose1d benchmark, ${new Date().toISOString()}`);
  console.log(`node ${machine.node} (V8 ${machine.v8}), ${machine.cpuModel}, ${machine.logicalCpus} logical CPUs, ` +
    `load average ${machine.loadAverageAtStart.join(' ')}; peers on one thread; budget ${budgetMs} ms per cell`);
  for (const impl of implementations) console.log(`  ${pad(impl.label, 12, false)} ${impl.about}`);
  console.log(`  ORT: ${ort.wasmFile}, numThreads ${ort.numThreads}, proxy ${ort.proxy}; ` +
    `QDQ graph after optimization: ${ort.qdqNodesAfterOptimization} nodes ` +
    `(${ort.qdqFused === null ? 'unknown' : ort.qdqFused ? 'fused'
      : 'not fused: DequantizeLinear x3 + float ConvTranspose + QuantizeLinear per run'})`);
  console.log(`  tfjs: ${tfjs.wasmFile}, threads ${tfjs.threadsCount}`);
  console.log('');
}

const PEERS = ['oursScalar', 'ortF32', 'ortQdq', 'tfjs'];
const KERNEL_PEERS = ['ortF32', 'ortQdq'];

function formatUs(ms) {
  const us = ms * 1000;
  return us >= 100 ? us.toFixed(0) : us >= 10 ? us.toFixed(1) : us.toFixed(2);
}

export function printTable(results, labelOf, peak) {
  const header = `${pad('', 3, false)} ${pad('shape', 30, false)} ${pad('MMAC', 7)} | ${pad('ours SIMD', 9)} ${pad('GMAC/s', 6)} ${pad('%peak', 5)} | ` +
    `${pad('2 threads (speedup)', 19)} | ` + PEERS.map((k) => pad(labelOf[k], 16)).join(' | ');
  console.log('');
  console.log('median ms per forward; (Nx) = that time / our SIMD time, above 1 means ours is faster;');
  console.log('2 threads: our threaded flavour with numThreads 2, (Nx) = our one-thread time / its time (the speedup)');
  console.log(header);
  console.log('-'.repeat(header.length));
  printRows(results, peak, PEERS);
  console.log('tfjs marks: g = groups emulated (split + one conv2dTranspose per group + concat), ' +
    'd = dilation emulated (kernel with zero taps); both inside the timed call');
  console.log(`peak: i32x4.dot_i16x8_s ${peak.gmacs.toFixed(1)} GMAC/s (best of before ${peak.before.gmacs.toFixed(1)} ` +
    `and after ${peak.after.gmacs.toFixed(1)}; ${peak.before.chains} independent chains, unrolled ${peak.before.unroll}x)`);
  printCallTable(results, labelOf);
}

// Per-call cost: our forward, forward into a caller's buffer is not timed
// here (it differs from forward by the output copy only); the bound runner
// (m.bind: input.set + run); the peers' raw kernel time (ORT's session
// profiling, kernels only: no session overhead).
function printCallTable(results, labelOf) {
  const header = `${pad('', 3, false)} | ${pad('ours forward us', 15)} | ${pad('ours bound us', 13)} | ${pad('bound/forward', 13)} | ` +
    KERNEL_PEERS.map((k) => pad(`${labelOf[k]} kernel us`, 18)).join(' | ');
  console.log('');
  console.log('per call, microseconds (median): our forward and our bound runner (m.bind: input.set(x) + run()), against');
  console.log("the peers' raw kernel time from ORT's session profiling (per-node kernel time, summed per run; whole us),");
  console.log('(Nx) = that kernel time / our bound time, above 1 means ours is faster even without their session overhead');
  console.log(header);
  console.log('-'.repeat(header.length));
  for (const r of results) {
    const s = r.stats;
    const cells = KERNEL_PEERS.map((k) => {
      const kt = r.peerKernels && !r.peerKernels.error && r.peerKernels[k];
      return pad(kt ? `${formatUs(kt.kernelMs)} (${formatRatio(kt.kernelMs / s.oursBound.medianMs)})` : 'n/a', 18);
    });
    console.log(`${pad(r.id, 3, false)} | ${pad(formatUs(s.oursSimd.medianMs), 15)} | ${pad(formatUs(s.oursBound.medianMs), 13)} | ` +
      `${pad((s.oursBound.medianMs / s.oursSimd.medianMs).toFixed(2), 13)} | ${cells.join(' | ')}`);
  }
}

function printRows(results, peak, PEERS) {
  for (const r of results) {
    const s = r.stats;
    const cells = PEERS.map((k) => {
      const mark = k === 'tfjs' && r.tfjsEmulation ? `${r.tfjsEmulation} ` : '';
      return pad(`${mark}${formatMs(s[k].medianMs)} (${formatRatio(s[k].timeRelativeToOursSimd)})`, 16);
    });
    console.log(`${pad(r.id, 3, false)} ${pad(describeShape(r), 30, false)} ${pad((r.macs / 1e6).toFixed(2), 7)} | ` +
      `${pad(formatMs(s.oursSimd.medianMs), 9)} ${pad(s.oursSimd.gmacs.toFixed(2), 6)} ${pad(s.oursSimd.percentOfPeak.toFixed(0) + '%', 5)} | ` +
      `${pad(`${formatMs(s.oursThreads2.medianMs)} (${(s.oursSimd.medianMs / s.oursThreads2.medianMs).toFixed(2)}x)`, 19)} | ` +
      cells.join(' | '));
  }
}

// ---- targets -----------------------------------------------------------------------

// The project's performance targets over the shapes measured (those not
// measured are left out). Also records each 2-thread speedup it checks.
export function evaluateTargets(results, labelOf) {
  const byId = Object.fromEntries(results.map((r) => [r.id, r]));
  const targets = [];
  const target = (name, figure, met) => targets.push({ name, figure, met });
  const bestOrtRatios = results.map((r) => Math.min(r.stats.ortF32.medianMs, r.stats.ortQdq.medianMs) / r.stats.oursSimd.medianMs);
  const geomeanVsOrt = geomean(bestOrtRatios);
  target(`geomean over ${results.map((r) => r.id).join(',')} of (better ORT time) / (our SIMD time) >= 3x`,
    `${geomeanVsOrt.toFixed(2)}x`, geomeanVsOrt >= 3);
  for (const id of ['S3', 'S4', 'S5', 'S8']) {
    if (!byId[id]) continue;
    const p = byId[id].stats.oursSimd.percentOfPeak;
    target(`${id}: our SIMD >= 50% of the measured peak`, `${p.toFixed(1)}% (${byId[id].stats.oursSimd.gmacs.toFixed(2)} GMAC/s)`, p >= 50);
  }
  // Issue 15's kernel-efficiency targets (percent of the dot-only peak).
  for (const [id, least] of [['S3', 75], ['S4', 75], ['S6', 60], ['S7', 25]]) {
    if (!byId[id]) continue;
    const p = byId[id].stats.oursSimd.percentOfPeak;
    target(`${id}: our SIMD >= ${least}% of the measured peak`, `${p.toFixed(1)}%`, p >= least);
  }
  for (const id of ['S3', 'S4', 'S5']) {
    if (!byId[id]) continue;
    const speedup = byId[id].stats.oursSimd.medianMs / byId[id].stats.oursThreads2.medianMs;
    byId[id].stats.oursThreads2.speedupOverOneThread = speedup;
    target(`${id}: 2 threads >= 1.7x faster than one thread`, `${speedup.toFixed(2)}x`, speedup >= 1.7);
  }
  if (byId.S2) {
    const us = byId.S2.stats.oursSimd.medianMs * 1000;
    target('S2: <= 3 us per forward, JS call included', `${us.toFixed(2)} us`, us <= 3);
  }
  if (byId.S2) {
    const bound = byId.S2.stats.oursBound.medianMs * 1000, forward = byId.S2.stats.oursSimd.medianMs * 1000;
    target('S2: <= 0.7 us per call through the bound runner (input.set + run)', `${bound.toFixed(2)} us`, bound <= 0.7);
    target('S2: <= 1.5 us per forward', `${forward.toFixed(2)} us`, forward <= 1.5);
  }
  if (byId.S1) {
    const kernels = byId.S1.peerKernels && !byId.S1.peerKernels.error ? byId.S1.peerKernels : {};
    const measured = KERNEL_PEERS.filter((k) => kernels[k]);
    if (measured.length > 0) {
      const best = measured.reduce((a, k) => (kernels[k].kernelMs < kernels[a].kernelMs ? k : a));
      const bound = byId.S1.stats.oursBound.medianMs;
      target('S1: bound runner at least as fast as the best peer\'s raw kernel time',
        `${formatUs(bound)} us vs ${formatUs(kernels[best].kernelMs)} us (${labelOf[best]} kernel)`, bound <= kernels[best].kernelMs);
    } else {
      target('S1: bound runner at least as fast as the best peer\'s raw kernel time', 'no peer kernel time measured', false);
    }
  }
  if (byId.S7) {
    const s = byId.S7.stats;
    const best = ['ortF32', 'ortQdq', 'tfjs'].reduce((a, k) => (s[k].medianMs < s[a].medianMs ? k : a), 'ortF32');
    const ratio = s[best].medianMs / s.oursSimd.medianMs;
    target('S7: >= 5x faster than the best peer', `${formatRatio(ratio)} (best peer: ${labelOf[best]})`, ratio >= 5);
  }
  return { targets, geomeanVsOrt };
}

export function printTargets(targets) {
  console.log('');
  console.log('targets');
  for (const t of targets) console.log(`  ${t.met ? 'met    ' : 'NOT met'}  ${t.name}: ${t.figure}`);
}

// Writes the whole run as JSON to <dir>/latest.json and says where.
export function writeJsonReport(dir, report) {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'latest.json');
  fs.writeFileSync(file, JSON.stringify(report, null, 1) + '\n');
  console.log(`wrote ${path.relative(process.cwd(), file) || 'bench/results/latest.json'}`);
}
