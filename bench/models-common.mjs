// The models section's measurement, shared by Node (bench/models.mjs) and
// the Chromium page (bench/browser/models-page.mjs), so both time the same
// input the same way. No Node or DOM APIs here: plain ES module.

// MelGAN at 22.05 kHz: 256 output samples per mel frame; 1 s of audio out is
// 22050 / 256 ≈ 86 frames (86 × 256 = 22016 samples).
export const SAMPLE_RATE = 22050;
export const HOP = 256;
export const FRAMES_PER_SECOND = Math.round(SAMPLE_RATE / HOP);  // 86
export const INPUT_SEED = 20240611;
export const TRACES = 3;
export const MIN_FORWARDS = 7;

// mulberry32 (tools/mulberry32.cjs, restated: the page cannot import CommonJS).
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// The float input [1, channels, frames]: seeded standard normal values (the
// exporter calibrates the generator on torch.randn).
export function modelInput(channels, frames, seed = INPUT_SEED) {
  const random = mulberry32(seed);
  const data = new Float32Array(channels * frames);
  for (let i = 0; i < data.length; i++) {
    const u = 1 - random();
    const v = random();
    data[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  return { data, shape: [1, channels, frames] };
}

// FNV-1a (32-bit) of bytes, as 8 hex digits: Node and the page compare outputs by it.
export function fnv1a(bytes) {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i];
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

const median = (values) => {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// Node times summed by op kind, slowest first: [{ op, count, ms, share }].
export function aggregateByOp(nodes) {
  const total = nodes.reduce((a, n) => a + n.ms, 0);
  const byOp = new Map();
  for (const n of nodes) {
    const e = byOp.get(n.op) || { op: n.op, count: 0, ms: 0 };
    e.count++;
    e.ms += n.ms;
    byOp.set(n.op, e);
  }
  return [...byOp.values()].map((e) => ({ ...e, share: total > 0 ? e.ms / total : 0 })).sort((a, b) => b.ms - a.ms);
}

/**
 * Times model.forward(input): a warm-up (at least one forward and warmupMs),
 * then single forwards until both MIN_FORWARDS and budgetMs are reached; then
 * TRACES traces (each node timed on its own; per node the median).
 * Returns { forwards, medianMs, minMs, samplesMs, outputShape, outputHash,
 * nodes: [{ name, op, ms }], nodesSumMs, ops, traceMs }.
 */
export function timeModel(model, input, { budgetMs = 3000, warmupMs = 500 } = {}) {
  const now = () => performance.now();
  const q = model.forward(input, { quantized: true });
  for (const start = now(); now() - start < warmupMs; ) model.forward(input);
  const samplesMs = [];
  const started = now();
  while (samplesMs.length < MIN_FORWARDS || now() - started < budgetMs) {
    const t0 = now();
    model.forward(input);
    samplesMs.push(now() - t0);
  }
  const perNode = model.nodes.map(() => []);
  const traceMs = [];
  for (let t = 0; t < TRACES; t++) {
    const t0 = now();
    const trace = model.trace(input);
    traceMs.push(now() - t0);
    trace.nodes.forEach((n, i) => perNode[i].push(n.ms));
  }
  const nodes = model.nodes.map((n, i) => ({ name: n.name, op: n.op, ms: median(perNode[i]) }));
  return {
    forwards: samplesMs.length,
    medianMs: median(samplesMs),
    minMs: Math.min(...samplesMs),
    samplesMs,
    outputShape: q.shape,
    outputHash: fnv1a(q.data),
    nodes,
    nodesSumMs: nodes.reduce((a, n) => a + n.ms, 0),
    ops: aggregateByOp(nodes),
    traceMs: median(traceMs),
  };
}
