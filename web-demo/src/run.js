// One run of the demo, without the DOM: builds the module from the values
// the controls hold, quantizes the input signal, runs forward, times it, and
// compares the output with the float reference. Importable in Node
// (tests/js/demo-run.test.js) once the library's init() has resolved.
import { ConvTranspose1d, Conv1d, quantizePerTensor, dequantize } from 'qconv-wasm';
import { synthesize, fromAudio } from './signals.js';
import { affineQuint8Params, rangeOf, dequantizeWeight } from './quantization.js';
import { randomWeights, floatFilterWeights, makeBias } from './weights.js';
import { convTranspose1dReference, conv1dReference } from './reference.js';

// Limits that keep the page responsive (the float reference runs in JS).
export const MAX_INPUT_VALUES = 1 << 23;
export const MAX_REFERENCE_MACS = 1.5e9;

// Errors of the demo's own checks (the library's are TypeError/RangeError).
export class DemoInputError extends Error {
  constructor(message) {
    super(message);
    this.name = 'Input';
  }
}

export const moduleClass = (name) => (name === 'ConvTranspose1d' ? ConvTranspose1d : Conv1d);

function requireCount(value, what, min) {
  if (!Number.isInteger(value) || value < min) {
    throw new DemoInputError(`${what} must be an integer >= ${min}, got ${value}`);
  }
}

function seedOf(c) {
  if (!Number.isInteger(c.seed)) throw new DemoInputError(`seed must be an integer, got ${c.seed}`);
  return c.seed;
}

// The float input signal [batch, channels, length]: synthesized, or read
// from the loaded audio file (`source` holds it, or why it could not be read).
function inputFloats(c, channels, source) {
  const shape = { batch: c.batch, channels, length: c.length, amplitude: c.amplitude, offset: c.offset };
  if (!Number.isFinite(c.amplitude) || !Number.isFinite(c.offset)) {
    throw new DemoInputError(`signal: amplitude and offset must be numbers, got ${c.amplitude} and ${c.offset}`);
  }
  if (c.signal === 'wav') {
    if (source.audioError) throw new DemoInputError(source.audioError);
    if (!source.audio) {
      throw new DemoInputError('signal: no audio file loaded yet; drop a WAV file on the drop zone or choose one');
    }
    return fromAudio(source.audio, shape);
  }
  if (!Number.isFinite(c.frequency) || c.frequency < 0) {
    throw new DemoInputError(`signal: frequency must be a number >= 0, got ${c.frequency}`);
  }
  return synthesize({ ...shape, kind: c.signal, frequency: c.frequency, seed: seedOf(c) });
}

// Median time of one forward: batches of forwards long enough for the
// browser's coarse clock (0.1 ms), fewer samples when a forward is slow.
export function timeForwards(forward) {
  // Warm-up: V8 first runs wasm with its baseline compiler and tiers hot
  // functions up in the background; measure the optimized code.
  for (const start = performance.now(); performance.now() - start < 30; ) forward();
  let repeats = 1;
  let elapsed;
  for (;;) {
    const start = performance.now();
    for (let r = 0; r < repeats; r++) forward();
    elapsed = performance.now() - start;
    if (elapsed >= 3 || repeats >= 1 << 14) break;
    repeats *= 4;
  }
  const sampleCount = elapsed > 60 ? 3 : 7;
  const samples = [elapsed / repeats];
  for (let s = 1; s < sampleCount; s++) {
    const start = performance.now();
    for (let r = 0; r < repeats; r++) forward();
    samples.push((performance.now() - start) / repeats);
  }
  samples.sort((a, b) => a - b);
  return { ms: samples[samples.length >> 1], samples: sampleCount, repeats };
}

// The error of each output in output quanta, its largest and mean magnitude,
// and how many outputs sit at 0 or 255 more than rounding away from the
// reference (saturated).
export function errorStatistics(outputDequantized, reference, output) {
  const error = new Float32Array(reference.length);
  let maxError = 0;
  let sumError = 0;
  let saturated = 0;
  for (let i = 0; i < error.length; i++) {
    const e = (outputDequantized[i] - reference[i]) / output.scale;
    error[i] = e;
    const a = Math.abs(e);
    if (a > maxError) maxError = a;
    sumError += a;
    if (a > 0.5 + 1e-3 && (output.data[i] === 0 || output.data[i] === 255)) saturated++;
  }
  return { error, maxError, meanError: error.length ? sumError / error.length : 0, saturated };
}

// The input shape, output length and MACs of a run, after the demo's own
// limits on N, L, the input's size and the float reference's work.
function checkedSizes(c, m) {
  const { inChannels, outChannels, kernelSize } = c.args;
  requireCount(c.batch, 'batch N', 0);
  requireCount(c.length, 'length L', 0);
  const inputShape = [c.batch, inChannels, c.length];
  if (c.batch * inChannels * c.length > MAX_INPUT_VALUES) {
    throw new DemoInputError(`input [${inputShape.join(', ')}] has more than ${MAX_INPUT_VALUES} values; the demo stops there`);
  }
  const outLength = c.module === 'ConvTranspose1d'
    ? m.outputLength(c.length, c.outputSize ?? undefined)
    : m.outputLength(c.length);
  const macs = c.batch * inChannels * (outChannels / m.groups) * kernelSize * c.length;
  const referenceMacs = c.module === 'ConvTranspose1d'
    ? macs : c.batch * outChannels * (inChannels / m.groups) * kernelSize * outLength;
  if (referenceMacs > MAX_REFERENCE_MACS) {
    throw new DemoInputError(`the float reference would need ${(referenceMacs / 1e9).toFixed(1)} GMAC in JavaScript; the demo stops at ${MAX_REFERENCE_MACS / 1e9}`);
  }
  return { inputShape, outLength, macs };
}

// A loaded .qconv module brings its own weights and bias (the controls were
// set from its geometry); otherwise they are generated from the controls.
function weightAndBias(c, params, loaded) {
  if (loaded) return { weight: loaded.weight, bias: loaded.bias };
  const weight = c.weights === 'from-float' ? floatFilterWeights(c.module, params)
    : randomWeights(c.module, params, seedOf(c));
  const bias = c.args.bias ? makeBias(c.biasValues, params.outChannels, seedOf(c)) : null;
  return { weight, bias };
}

/**
 * Runs the module the control values `c` describe (readControls() in
 * controls.js) and returns everything the page shows, plus `lastRun` (the
 * window.qconvDemo.lastRun contract, web-demo/README.md).
 * source: { audio, audioError, loaded } — the loaded audio file and .qconv module, if any.
 */
export function runDemo(c, { audio = null, audioError = null, loaded = null } = {}) {
  const { inChannels, outChannels, kernelSize, ...options } = c.args;
  const Module = moduleClass(c.module);
  // Constructing validates every module parameter (the library's messages).
  const m = new Module(inChannels, outChannels, kernelSize, options);
  try {
    const { inputShape, outLength, macs } = checkedSizes(c, m);

    // Input: a float signal, quantized like torch.quantize_per_tensor.
    const floats = inputFloats(c, inChannels, { audio, audioError });
    const inputQ = c.deriveInput ? affineQuint8Params(rangeOf(floats))
      : { scale: c.inputScale, zeroPoint: c.inputZeroPoint };
    const input = quantizePerTensor(floats, inputShape, inputQ.scale, inputQ.zeroPoint);

    const params = {
      inChannels, outChannels, kernelSize, stride: m.stride, padding: m.padding,
      dilation: m.dilation, groups: m.groups, paddingMode: m.paddingMode,
    };
    const { weight, bias } = weightAndBias(c, params, loaded);
    m.setWeightBias(weight, bias);

    // The float reference over exactly what the module computes with.
    const inputDequantized = dequantize(input);
    const weightDequantized = dequantizeWeight(c.module, weight, params);
    const reference = (c.module === 'ConvTranspose1d' ? convTranspose1dReference : conv1dReference)(
      inputDequantized, inputShape, weightDequantized, bias, params, outLength);

    const outputQ = loaded ? { scale: loaded.scale, zeroPoint: loaded.zeroPoint }
      : c.deriveOutput ? affineQuint8Params(rangeOf(reference))
        : { scale: c.outputScale, zeroPoint: c.outputZeroPoint };
    m.scale = outputQ.scale;
    m.zeroPoint = outputQ.zeroPoint;

    let output = c.outputSize ? m.forward(input, c.outputSize) : m.forward(input);
    const timing = timeForwards(() => {
      output = c.outputSize ? m.forward(input, c.outputSize) : m.forward(input);
    });
    const outputDequantized = dequantize(output);

    return {
      c, params, input, output, weight, inputDequantized, reference, outputDequantized,
      ...errorStatistics(outputDequantized, reference, output),
      timing, macs, inputQ, outputQ, loaded,
      lastRun: {
        module: c.module,
        args: c.args,
        weight,
        bias,
        outputScale: outputQ.scale,
        outputZeroPoint: outputQ.zeroPoint,
        input,
        outputSize: c.outputSize,
        output,
      },
    };
  } finally {
    m.dispose();
  }
}
