// The "Model" mode without the DOM: the float input a whole model (loadModel)
// gets from a generated signal or an audio file, one timed run (forward,
// median of several batches) and the per-node times of `trace`. Importable
// in Node once the library's init() has resolved.
import { synthesize } from './signals.js';
import { timeForwards, DemoInputError } from './run.js';

// The page's limits: input values per forward (C·L) and time steps.
export const MAX_MODEL_INPUT_VALUES = 1 << 22;
// Output rate assumed for the real-time factor of a generated signal (a
// vocoder's 22.05 kHz); an audio file brings its own rate.
export const ASSUMED_OUTPUT_RATE = 22050;
// Trace: at least this many traces, and more (up to MAX_TRACES) while the
// total stays under TRACE_BUDGET_MS; per-node times are their mean, which
// averages the browser's coarse clock out.
const MIN_TRACES = 3;
const MAX_TRACES = 200;
const TRACE_BUDGET_MS = 150;

// Audio samples per input time step: a one-channel model reads samples; a
// model with C > 1 input channels reads frames of C consecutive samples
// (channel c of step t is sample t·C + c): a toy mapping that lets any model
// run on audio (it is not a mel spectrogram).
export const samplesPerStep = (channels) => (channels > 1 ? channels : 1);

// The model's float input [1, C, L] from the controls' values:
// c = { signal, length, frequency, amplitude, offset, seed }; audio (for
// signal 'wav'): { sampleRate, frames, channels: Float32Array[] }, its first
// channel is read (zeros past its end).
export function modelInput(c, channels, { audio = null, audioError = null } = {}) {
  const L = c.length;
  if (!Number.isInteger(L) || L < 1) throw new DemoInputError(`length L must be an integer >= 1, got ${c.length}`);
  if (channels * L > MAX_MODEL_INPUT_VALUES) {
    throw new DemoInputError(`input [1, ${channels}, ${L}] has more than ${MAX_MODEL_INPUT_VALUES} values; the demo stops there`);
  }
  if (!Number.isFinite(c.amplitude) || !Number.isFinite(c.offset)) {
    throw new DemoInputError(`signal: amplitude and offset must be numbers, got ${c.amplitude} and ${c.offset}`);
  }
  const shape = [1, channels, L];
  if (c.signal === 'wav') {
    if (audioError) throw new DemoInputError(audioError);
    if (!audio) throw new DemoInputError('signal: no audio file loaded yet; drop a WAV file on the drop zone or choose one');
    const samples = audio.channels[0];
    const step = samplesPerStep(channels);
    const data = new Float32Array(channels * L);
    for (let ch = 0; ch < channels; ch++) {
      for (let t = 0; t < L; t++) {
        const at = t * step + (step > 1 ? ch : 0);
        data[ch * L + t] = c.offset + c.amplitude * (at < samples.length ? samples[at] : 0);
      }
    }
    return { data, shape };
  }
  if (!Number.isFinite(c.frequency) || c.frequency < 0) {
    throw new DemoInputError(`signal: frequency must be a number >= 0, got ${c.frequency}`);
  }
  if (!Number.isInteger(c.seed)) throw new DemoInputError(`seed must be an integer, got ${c.seed}`);
  const data = synthesize({
    kind: c.signal, batch: 1, channels, length: L, frequency: c.frequency,
    amplitude: c.amplitude, offset: c.offset, seed: c.seed,
  });
  return { data, shape };
}

// Per-node times: the mean over several traces. Returns
// { traces, nodes: [{ name, op, ms, shape }], ops: [{ op, count, ms, share }] }
// (ops sorted by time, largest first).
export function traceTimes(model, input) {
  const sums = new Float64Array(model.nodes.length);
  let traces = 0;
  let shapes = null;
  const start = performance.now();
  while (traces < MIN_TRACES || (traces < MAX_TRACES && performance.now() - start < TRACE_BUDGET_MS)) {
    const t = model.trace(input);
    t.nodes.forEach((n, i) => { sums[i] += n.ms; });
    if (!shapes) shapes = model.nodes.map((n) => (t.tensors[n.output] ? t.tensors[n.output].shape : null));
    traces++;
  }
  const nodes = model.nodes.map((n, i) => ({ name: n.name, op: n.op, ms: sums[i] / traces, shape: shapes[i] }));
  return { traces, nodes, ops: aggregateByOp(nodes) };
}

// Node times summed by op kind: [{ op, count, ms, share }], slowest first.
export function aggregateByOp(nodes) {
  const total = nodes.reduce((a, n) => a + n.ms, 0);
  const byOp = new Map();
  for (const n of nodes) {
    const e = byOp.get(n.op) || { op: n.op, count: 0, ms: 0 };
    e.count++;
    e.ms += n.ms;
    byOp.set(n.op, e);
  }
  return [...byOp.values()]
    .map((e) => ({ ...e, share: total > 0 ? e.ms / total : 0 }))
    .sort((a, b) => b.ms - a.ms);
}

/**
 * One run of a loaded model on input ({ data: Float32Array, shape }):
 * forward (the result the page shows), the same output quantized (its
 * bytes), the median time per forward and the per-node times.
 * audioSeconds: the audio the output stands for, for the real-time factor.
 */
export function runModel(model, input, { audioSeconds = null } = {}) {
  const output = model.forward(input);
  const quantizedOutput = model.dequantizesOutput ? model.forward(input, { quantized: true }) : output;
  const timing = timeForwards(() => { model.forward(input); });
  const traced = traceTimes(model, input);
  const outLength = output.shape[output.shape.length - 1];
  const seconds = audioSeconds ?? outLength / ASSUMED_OUTPUT_RATE;
  return {
    input, output, quantizedOutput, timing, trace: traced,
    audioSeconds: seconds,
    realTimeFactor: timing.ms > 0 ? seconds / (timing.ms / 1000) : Infinity,
  };
}
