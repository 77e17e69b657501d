// Weights and biases for the module on the page, in PyTorch's layouts:
// ConvTranspose1d [inChannels, outChannels/groups, K], Conv1d
// [outChannels, inChannels/groups, K].
import { seededRandom } from './signals.js';
import { quantizeQint8, rangeOf, symmetricQint8Scale } from './quantization.js';

export function weightShape(module, { inChannels, outChannels, kernelSize, groups }) {
  return module === 'ConvTranspose1d'
    ? [inChannels, outChannels / groups, kernelSize]
    : [outChannels, inChannels / groups, kernelSize];
}

// Which input channel feeds output channel `out` in the "from float"
// filters: within its group, output j of Cout/g listens to input
// floor(j·(Cin/g)/(Cout/g)), so equal channel counts map c to c.
export function sourceChannel(out, { inChannels, outChannels, groups }) {
  const inPerGroup = inChannels / groups;
  const outPerGroup = outChannels / groups;
  const group = Math.floor(out / outPerGroup);
  return group * inPerGroup + Math.floor(((out % outPerGroup) * inPerGroup) / outPerGroup);
}

// Seeded random int8 weights, uniform in [-127, 127], with a scale that
// keeps the output about as large as the input (variance 1/fan-in).
export function randomWeights(module, params, seed) {
  const shape = weightShape(module, params);
  const random = seededRandom(seed);
  const data = new Int8Array(shape[0] * shape[1] * shape[2]);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(random() * 255) - 127;
  // A transposed conv adds about K/stride taps per input channel per output.
  const taps = module === 'ConvTranspose1d'
    ? Math.max(1, params.kernelSize / params.stride) : params.kernelSize;
  const fanIn = shape[1] * taps;
  return { data, scale: Math.fround(Math.sqrt(3 / fanIn) / 127), zeroPoint: 0 };
}

// ConvTranspose1d's interpolation filter: a triangle spanning one stride
// each side of the kernel's centre (K = 2·stride with padding stride/2 is the
// classic linear upsampler), its taps then scaled per output phase so a
// constant input gives a constant output whatever K, dilation and padding
// (each output phase (k·dilation − padding) mod stride sums to 1; a phase the
// triangle misses takes its nearest tap).
function interpolationTaps({ kernelSize: K, stride, padding, dilation }) {
  const distance = (k) => Math.abs((k - (K - 1) / 2) * dilation);
  const taps = Float64Array.from({ length: K }, (_, k) => Math.max(0, 1 - distance(k) / stride));
  const phaseOf = (k) => (((k * dilation - padding) % stride) + stride) % stride;
  for (let phase = 0; phase < stride; phase++) {
    const members = [...taps.keys()].filter((k) => phaseOf(k) === phase);
    if (members.length === 0) continue;
    const sum = members.reduce((total, k) => total + taps[k], 0);
    if (sum > 0) {
      for (const k of members) taps[k] /= sum;
    } else {
      const nearest = members.reduce((best, k) => (distance(k) < distance(best) ? k : best));
      taps[nearest] = 1;
    }
  }
  return Float32Array.from(taps);
}

// A float filter per channel, then quantized like PyTorch's symmetric
// per-tensor qint8 observer: interpolation (ConvTranspose1d) or a moving
// average (Conv1d).
export function floatFilterWeights(module, params) {
  const K = params.kernelSize;
  const shape = weightShape(module, params);
  const floats = new Float32Array(shape[0] * shape[1] * K);
  const taps = module === 'ConvTranspose1d'
    ? interpolationTaps(params) : new Float32Array(K).fill(1 / K);
  for (let a = 0; a < shape[0]; a++) {
    for (let b = 0; b < shape[1]; b++) {
      // The (input, output) channel pair of this row of the weight tensor.
      const [inChannel, outChannel] = module === 'ConvTranspose1d'
        ? [a, Math.floor(a / (params.inChannels / params.groups)) * shape[1] + b]
        : [Math.floor(a / (params.outChannels / params.groups)) * shape[1] + b, a];
      if (sourceChannel(outChannel, params) === inChannel) floats.set(taps, (a * shape[1] + b) * K);
    }
  }
  const scale = symmetricQint8Scale(rangeOf(floats));
  return { data: quantizeQint8(floats, scale), scale, zeroPoint: 0 };
}

// Float bias of outChannels values: zeros or small seeded values.
export function makeBias(kind, outChannels, seed) {
  const bias = new Float32Array(outChannels);
  if (kind === 'random') {
    const random = seededRandom(seed ^ 0xb1a5);
    for (let c = 0; c < outChannels; c++) bias[c] = 0.2 * random() - 0.1;
  }
  return bias;
}
