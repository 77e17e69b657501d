// PyTorch's MinMax observers and its qint8 weight quantization
// (docs/SEMANTICS.md §7 and §8), bit for bit. Torch computes them with float32
// tensor ops; here each +, -, *, / of float32 values is done in double and
// rounded once with Math.fround, which gives the float32 result exactly
// (double has more than twice float32's precision).
//
// Pure functions, no imports: scripts/build-js.mjs inlines this file into
// dist/api.cjs.

// torch.finfo(torch.float32).eps, the observers' lower bound on a scale.
export const FLOAT32_EPS = 2 ** -23;

// Round half to even, for a number that is already a float32 value
// (torch.round and nearbyint).
export function roundHalfEven(x) {
  const r = Math.round(x);  // half rounds up
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// The running minimum and maximum of float32 values, as MinMaxObserver
// keeps them across calls: pass the previous result (or null) as `range`.
export function observeMinMax(range, values) {
  let min = range === null ? Infinity : range.min;
  let max = range === null ? -Infinity : range.max;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max };
}

// PerChannelMinMaxObserver's per-channel minimum and maximum, where
// channelOf[i] is the channel of values[i].
export function observeMinMaxPerChannel(values, channelOf, channels) {
  const ranges = Array.from({ length: channels }, () => ({ min: Infinity, max: -Infinity }));
  for (let i = 0; i < values.length; i++) {
    const r = ranges[channelOf[i]];
    const v = values[i];
    if (v < r.min) r.min = v;
    if (v > r.max) r.max = v;
  }
  return ranges;
}

// qint8, per_tensor_symmetric or per_channel_symmetric (quant range
// [-128, 127], so the divisor is 255 / 2):
// scale = max(f32(max(-min(min, 0), max(max, 0)) / 127.5), eps), zero point 0.
export function symmetricQInt8Params(min, max) {
  const bound = Math.max(-Math.min(min, 0), Math.max(max, 0));
  return { scale: Math.max(Math.fround(bound / 127.5), FLOAT32_EPS), zeroPoint: 0 };
}

// quint8, per_tensor_affine (quant range [0, 255]):
// scale = max(f32(f32(max+ - min-) / 255), eps),
// zeroPoint = clamp(0 - rint(f32(min- / scale)), 0, 255).
export function affineQUInt8Params(min, max) {
  const minNeg = Math.min(min, 0);
  const maxPos = Math.max(max, 0);
  const scale = Math.max(Math.fround(Math.fround(maxPos - minNeg) / 255), FLOAT32_EPS);
  const zeroPoint = 0 - roundHalfEven(Math.fround(minNeg / scale));
  return { scale, zeroPoint: Math.min(Math.max(zeroPoint, 0), 255) };
}

// quantize_per_tensor / quantize_per_channel to qint8 with zero point 0:
// clamp(rint(f32(w * f32(1 / f32(scale)))), -128, 127), for finite w.
export function quantizeQInt8(values, inverseScaleOf) {
  const out = new Int8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const q = roundHalfEven(Math.fround(values[i] * inverseScaleOf(i)));
    out[i] = q < -128 ? -128 : (q > 127 ? 127 : q);
  }
  return out;
}

export function float32Reciprocal(scale) {
  return Math.fround(1 / Math.fround(scale));
}

// The output channel of each weight element, for a weight of shape
// weightShape(transposed, ...) (js/args.mjs): ConvTranspose1d's
// [inChannels, outChannels/groups, K] (element [ci, j, k] feeds output
// channel group(ci) * outChannels/groups + j), Conv1d's [outChannels,
// inChannels/groups, K].
export function weightOutputChannels(transposed, shape, groups) {
  const [rows, perRow, kernelSize] = shape;
  const channelOf = new Int32Array(rows * perRow * kernelSize);
  let i = 0;
  if (transposed) {
    const inPerGroup = rows / groups;
    for (let ci = 0; ci < rows; ci++) {
      const base = Math.floor(ci / inPerGroup) * perRow;
      for (let j = 0; j < perRow; j++) {
        for (let k = 0; k < kernelSize; k++) channelOf[i++] = base + j;
      }
    }
  } else {
    for (let co = 0; co < rows; co++) {
      for (let t = 0; t < perRow * kernelSize; t++) channelOf[i++] = co;
    }
  }
  return channelOf;
}
