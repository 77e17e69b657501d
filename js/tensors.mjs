// quantizePerTensor and dequantize: torch's quint8 per-tensor conversions,
// computed in JS (no wasm call; like every function, they need init()).

import { roundHalfEven } from './observers.mjs';
import { readShape, readFloat32List } from './caller-values.mjs';
import { checkQuantization, readQTensor, measureQTensorData } from './args.mjs';

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
    const inv = Math.fround(1 / Math.fround(scale));
    const data = new Uint8Array(size);
    const x = floats.values;
    for (let i = 0; i < size; i++) {
      // torch: zp + rint_f32(x * (1/scale)), in float32; saturating (policy).
      const v = Math.fround(zeroPoint + roundHalfEven(Math.fround(x[i] * inv)));
      data[i] = v >= 0 ? (v <= 255 ? v : 255) : 0;  // NaN -> 0
    }
    return { data, shape: dims, scale, zeroPoint };
  }

  function dequantize(q) {
    const what = 'dequantize';
    runtime.requireNative(what);
    const t = readQTensor(what, 'q', q);
    checkQuantization(what, 'q.scale', 'q.zeroPoint', t.scale, t.zeroPoint);
    const data = measureQTensorData(what, 'q', t);
    const scale = Math.fround(t.scale);
    const zp = t.zeroPoint;
    const out = new Float32Array(data.length);
    // (Element reads run no caller code: no copy needed.)
    const bytes = data.array;
    for (let i = 0; i < data.length; i++) out[i] = Math.fround(scale * (bytes[i] - zp));
    return out;
  }

  return { quantizePerTensor, dequantize };
}
