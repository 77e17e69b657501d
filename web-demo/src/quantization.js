// Quantization parameters the way PyTorch's MinMaxObserver computes them
// (torch.ao.quantization.observer, _calculate_qparams), in float32 like its
// tensors, and per-tensor qint8 weight quantization reusing the library's
// quantizePerTensor rounding.
import { quantizePerTensor } from 'qconv-wasm';

const f32 = Math.fround;
// torch.finfo(torch.float32).eps: the observer's smallest scale.
const FLOAT32_EPS = 2 ** -23;

function roundHalfEven(x) {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// min and max of a float array, NaN-free; [0, 0] when empty.
export function rangeOf(values) {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return min <= max ? [min, max] : [0, 0];
}

// MinMaxObserver(dtype=torch.quint8, qscheme=torch.per_tensor_affine):
// the range is widened to include 0, so 0.0 is exactly representable.
export function affineQuint8Params([min, max]) {
  const minNeg = f32(Math.min(min, 0));
  const maxPos = f32(Math.max(max, 0));
  const scale = Math.max(f32(f32(maxPos - minNeg) / 255), FLOAT32_EPS);
  const zeroPoint = Math.min(255, Math.max(0, 0 - roundHalfEven(f32(minNeg / scale))));
  return { scale, zeroPoint };
}

// MinMaxObserver(dtype=torch.qint8, qscheme=torch.per_tensor_symmetric):
// scale = max(|min|, |max|) / ((127 - (-128)) / 2), zero point 0.
export function symmetricQint8Scale([min, max]) {
  const absMax = f32(Math.max(-Math.min(min, 0), Math.max(max, 0)));
  return Math.max(f32(absMax / 127.5), FLOAT32_EPS);
}

// torch.quantize_per_tensor(w, scale, 0, torch.qint8): quint8 with zero point
// 128 rounds and saturates the same values, 128 higher.
export function quantizeQint8(values, scale) {
  const { data: shifted } = quantizePerTensor(values, [values.length], scale, 128);
  const data = new Int8Array(shifted.length);
  for (let i = 0; i < data.length; i++) data[i] = shifted[i] - 128;
  return data;
}

// q.dequantize() of an int8 weight: float32(scale * (q - zeroPoint)).
export function dequantizeInt8(data, scale, zeroPoint) {
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = f32(scale * (data[i] - zeroPoint));
  return out;
}

// Dequantizes a module's weight, per-tensor (scale a number) or per output
// channel (scale and zeroPoint arrays, as m.weight() returns for a per-channel
// module loaded from a file), in the module's layout: Conv1d [Cout, Cin/g, K],
// ConvTranspose1d [Cin, Cout/g, K].
export function dequantizeWeight(module, { data, scale, zeroPoint = 0 }, { inChannels, outChannels, kernelSize: K, groups }) {
  if (typeof scale === 'number') return dequantizeInt8(data, scale, zeroPoint);
  const inPerGroup = inChannels / groups;
  const outPerGroup = outChannels / groups;
  const channelOf = module === 'Conv1d'
    ? (i) => Math.floor(i / (inPerGroup * K))
    : (i) => Math.floor(Math.floor(i / (outPerGroup * K)) / inPerGroup) * outPerGroup
      + (Math.floor(i / K) % outPerGroup);
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const c = channelOf(i);
    out[i] = f32(scale[c] * (data[i] - (typeof zeroPoint === 'number' ? zeroPoint : zeroPoint[c])));
  }
  return out;
}
