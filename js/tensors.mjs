// quantizePerTensor and dequantize: torch's quint8 per-tensor conversions,
// computed in JS (no wasm call; like every function, they need init()).

import { roundHalfEven } from './observers.mjs';
import { readShape, readFloat32List } from './caller-values.mjs';
import { checkQuantization, readQTensor, measureQTensorData } from './args.mjs';

// torch.quantize_per_tensor of `count` float32 values into out (a
// Uint8Array or a view of wasm memory): zp + rint_f32(x * (1/scale)), in
// float32; saturating (policy: NaN -> 0, above the range -> 255).
export function quantizeInto(out, values, count, scale, zeroPoint) {
  const inv = Math.fround(1 / Math.fround(scale));
  for (let i = 0; i < count; i++) {
    const v = Math.fround(zeroPoint + roundHalfEven(Math.fround(values[i] * inv)));
    out[i] = v >= 0 ? (v <= 255 ? v : 255) : 0;
  }
}

// Tensor.dequantize() of `count` bytes into out (a Float32Array).
export function dequantizeInto(out, bytes, count, scale, zeroPoint) {
  const s = Math.fround(scale);
  for (let i = 0; i < count; i++) out[i] = Math.fround(s * (bytes[i] - zeroPoint));
}

export function createTensorFunctions(runtime) {
  function quantizePerTensor(values, shape, scale, zeroPoint) {
    const what = 'quantizePerTensor';
    runtime.requireNative(what);
    // Caller values, each read once (scale and zeroPoint are primitives or refused).
    const dims = readShape(what, 'shape', shape);
    const size = dims.reduce((a, b) => a * b, 1);
    // Non-finite values are allowed here: they saturate (policy).
    const floats = readFloat32List(what, 'values', values, size);
    if (floats.length !== size) {
      throw new RangeError(`${what}: values has ${floats.length} elements but shape [${dims}] needs ${size}`);
    }
    checkQuantization(what, 'scale', 'zeroPoint', scale, zeroPoint);
    const data = new Uint8Array(size);
    quantizeInto(data, floats.values, size, scale, zeroPoint);
    return { data, shape: dims, scale, zeroPoint };
  }

  function dequantize(q) {
    const what = 'dequantize';
    runtime.requireNative(what);
    const t = readQTensor(what, 'q', q);
    checkQuantization(what, 'q.scale', 'q.zeroPoint', t.scale, t.zeroPoint);
    const data = measureQTensorData(what, 'q', t);
    const out = new Float32Array(data.length);
    // (Element reads run no caller code: no copy needed.)
    dequantizeInto(out, data.array, data.length, t.scale, t.zeroPoint);
    return out;
  }

  return { quantizePerTensor, dequantize };
}
