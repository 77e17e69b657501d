// The bench's "streaming" section: module.stream() fed 128-sample chunks
// (one AudioWorklet render quantum) against one forward over the whole
// signal of the same length, for a few modules: the S4/S5 shapes as
// ConvTranspose1d and as Conv1d (N = 1), and audio FIRs (Conv1d(1, 1, 31),
// 'same' and causal). Per module: us per push (median round), the whole
// forward's time per 128 input samples, their ratio, the outputs held back
// in steady state (algorithmic latency, also in input samples), and a check
// that the streamed bytes equal the whole forward's.
//
// The lead's bench/run.mjs calls runStreamingSection(); alone:
//   node bench/streaming.mjs [--rounds=N] [--json=PATH]
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';

const require = createRequire(import.meta.url);

export const CHUNK = 128;
const SAMPLE_RATE = 48000;

// The modules: [label, kind, inChannels, outChannels, kernelSize, options, input length].
export const STREAMING_MODULES = [
  ['S4 ConvTranspose1d(128, 64, 8, s4, p2)', 'ConvTranspose1d', 128, 64, 8, { stride: 4, padding: 2 }, 4096],
  ['S5 ConvTranspose1d(64, 32, 4, s2, p1)', 'ConvTranspose1d', 64, 32, 4, { stride: 2, padding: 1 }, 8192],
  ['S4 as Conv1d(128, 64, 8, s4, p2)', 'Conv1d', 128, 64, 8, { stride: 4, padding: 2 }, 4096],
  ['S5 as Conv1d(64, 32, 4, s2, p1)', 'Conv1d', 64, 32, 4, { stride: 2, padding: 1 }, 8192],
  ['FIR Conv1d(1, 1, 31, same)', 'Conv1d', 1, 1, 31, { padding: 'same' }, 48000],
  ['FIR Conv1d(1, 1, 31) causal', 'Conv1d', 1, 1, 31, { padding: 0 }, 48000],
];

// A seeded byte sequence (xorshift32): the same data every run.
function seededBytes(length, seed) {
  const out = new Uint8Array(length);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    out[i] = s & 255;
  }
  return out;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function buildModule(api, spec) {
  const [, kind, cin, cout, k, options] = spec;
  const m = new api[kind](cin, cout, k, options);
  const weightCount = cin * cout * k;
  const w = new Int8Array(seededBytes(weightCount, 7 + k).buffer);
  const shape = kind === 'Conv1d' ? [cout, cin, k] : [cin, cout, k];
  m.setWeightBias({ data: w, shape, scale: 0.5 / Math.sqrt(cin * k) / 127, zeroPoint: 0 },
    Float32Array.from({ length: cout }, (_, i) => (i % 7) * 0.01));
  m.scale = 0.02;
  m.zeroPoint = 128;
  return m;
}

// One module: { label, pushUs, forwardUsPer128, ratio, heldBackOutputs,
// heldBackInputs, bytesEqual, pushes }.
export function measureStreaming(api, spec, rounds) {
  const [label, kind, cin, , , , length] = spec;
  const m = buildModule(api, spec);
  try {
    const x = seededBytes(cin * length, 99);
    const input = { data: x, shape: [1, cin, length], scale: 0.03, zeroPoint: 128 };
    // The chunks, built once (an AudioWorklet hands its input the same way).
    const chunks = [];
    for (let at = 0; at < length; at += CHUNK) {
      const l = Math.min(CHUNK, length - at);
      const data = new Uint8Array(cin * l);
      for (let c = 0; c < cin; c++) data.set(x.subarray(c * length + at, c * length + at + l), c * l);
      chunks.push({ data, shape: [1, cin, l], scale: 0.03, zeroPoint: 128 });
    }
    const whole = m.forward(input);
    const outLength = whole.shape[2];
    const cout = whole.shape[1];
    // The bytes, and the latency after each push.
    const s = m.stream();
    const streamed = new Uint8Array(whole.data.length);
    let emitted = 0, received = 0, heldBack = 0;
    const place = (y) => {
      const k = y.shape[2];
      for (let c = 0; c < cout; c++) streamed.set(y.data.subarray(c * k, c * k + k), c * outLength + emitted);
      emitted += k;
    };
    for (const chunk of chunks) {
      place(s.push(chunk));
      received += chunk.shape[2];
      heldBack = Math.max(heldBack, m.outputLength(received) - emitted);
    }
    place(s.flush());
    const bytesEqual = emitted === outLength && Buffer.compare(Buffer.from(streamed), Buffer.from(whole.data)) === 0;
    if (!bytesEqual) throw new Error(`bench streaming: ${label}: streamed bytes differ from the whole forward`);
    // Timing: rounds of the whole stream (push each chunk, flush) and of one forward.
    const pushRounds = [], firstRounds = [], forwardRounds = [];
    for (let r = 0; r < rounds + 1; r++) {
      // The first push sets the stream's operator up (buffers, plan): timed
      // apart, the steady state is the rest.
      const st = m.stream();
      let t0 = performance.now();
      st.push(chunks[0]);
      const firstMs = performance.now() - t0;
      t0 = performance.now();
      for (let i = 1; i < chunks.length; i++) st.push(chunks[i]);
      const pushMs = performance.now() - t0;
      st.flush();
      t0 = performance.now();
      m.forward(input);
      const forwardMs = performance.now() - t0;
      if (r > 0) {  // round 0 warms up
        pushRounds.push((pushMs * 1000) / (chunks.length - 1));
        firstRounds.push(firstMs * 1000);
        forwardRounds.push((forwardMs * 1000 * CHUNK) / length);
      }
    }
    const pushUs = median(pushRounds), forwardUsPer128 = median(forwardRounds);
    const outputsPerInput = outLength / length;
    return {
      label, kind, length, pushes: chunks.length, pushUs, firstPushUs: median(firstRounds), forwardUsPer128, ratio: pushUs / forwardUsPer128,
      heldBackOutputs: heldBack, heldBackInputs: heldBack / outputsPerInput, bytesEqual,
      budgetShare: pushUs / ((CHUNK / SAMPLE_RATE) * 1e6),
    };
  } finally {
    m.dispose();
  }
}

// Prints the table; returns the rows. api: an initialised qconv-wasm API
// (one thread); options.rounds: timing rounds per module.
export function runStreamingSection(api, options = {}) {
  const rounds = options.rounds ?? 15;
  console.log('');
  console.log(`streaming: module.stream() in ${CHUNK}-sample chunks (an AudioWorklet quantum) vs one forward over the ` +
    'whole signal, N = 1, one thread');
  const rows = STREAMING_MODULES.map((spec) => measureStreaming(api, spec, rounds));
  const header = ['module', 'L', 'us/push', '1st push us', 'fwd us/128', 'ratio', 'held back (out / in samples)', '% of 48 kHz quantum', 'bytes'];
  const table = rows.map((r) => [r.label, String(r.length), r.pushUs.toFixed(1), r.firstPushUs.toFixed(1),
    r.forwardUsPer128.toFixed(1),
    `${r.ratio.toFixed(2)}x`, `${r.heldBackOutputs} / ${r.heldBackInputs.toFixed(1)}`,
    `${(r.budgetShare * 100).toFixed(2)} %`, r.bytesEqual ? 'equal' : 'DIFFER']);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
  const line = (cells) => `  ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')}`;
  console.log(line(header));
  for (const row of table) console.log(line(row));
  console.log('  us/push: median round of (pushes 2..n of one signal) / (n - 1); 1st push: the one that sets the');
  console.log('  stream\'s operator up; fwd us/128: one whole forward per 128 input');
  console.log('  samples; held back: outputs the stream holds in steady state (forward(received) - returned).');
  return rows;
}

// Alone: node bench/streaming.mjs [--rounds=N] [--json=PATH]
if (process.argv[1] && fileURLToPath(import.meta.url) === fs.realpathSync(process.argv[1])) {
  const arg = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  const api = require('..');
  const info = await api.init({ simd: true });
  console.log(`qconv-wasm ${info.version}, ${info.flavour}, ${info.threads} thread`);
  const rows = runStreamingSection(api, { rounds: arg('rounds') ? Number(arg('rounds')) : undefined });
  if (arg('json')) fs.writeFileSync(arg('json'), `${JSON.stringify(rows, null, 1)}\n`);
}
