// Type check (moduleResolution "bundler"): building quantized modules from
// float weights (fromFloat) and reading the calibrated input quantization.
import { ConvTranspose1d, Conv1d } from 'qconv-wasm';
import type { Conv1dFromFloatOptions, ActivationQuantization } from 'qconv-wasm';

export function build(weights: Float32Array): ActivationQuantization | null {
  const options: Conv1dFromFloatOptions = {
    inChannels: 4, outChannels: 8, kernelSize: 3, groups: 2, paddingMode: 'reflect', padding: 1,
    weight: weights, bias: [0, 0, 0, 0, 0, 0, 0, 0], weightQScheme: 'per_tensor',
    input: { scale: 0.05, zeroPoint: 128 }, calibration: [{ data: new Float32Array(4 * 10), shape: [1, 4, 10] }],
  };
  const conv = Conv1d.fromFloat(options);
  const up = ConvTranspose1d.fromFloat({
    inChannels: 8, outChannels: 4, kernelSize: 4, stride: 2, padding: 1, outputPadding: 0,
    weight: new Float32Array(8 * 4 * 4), output: conv.inputQuantization,
  });
  up.inputQuantization = { scale: conv.scale, zeroPoint: conv.zeroPoint };
  // @ts-expect-error outputPadding is a ConvTranspose1d option, not a Conv1d one
  Conv1d.fromFloat({ ...options, outputPadding: 0 });
  return up.inputQuantization;
}
