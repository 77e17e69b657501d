// The bench's data: the quantization every implementation shares, and the
// seeded inputs, weights and biases of each shape.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { mulberry32 } = require('../tools/mulberry32.cjs');  // seeded: every run times the same bytes

export const SEED = 20240611;
export const INPUT_SCALE = 0.05;
export const INPUT_ZERO_POINT = 128;
export const WEIGHT_SCALE = 0.01;
export const OUTPUT_ZERO_POINT = 128;
const UNIFORM_BYTE_STD = Math.sqrt((256 * 256 - 1) / 12);  // std of a uniform integer over 256 values

export function roundHalfEven(x) {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// Uniform uint8 inputs, int8 weights and float biases; an output scale that
// fits about +-4 standard deviations of the output, so few outputs saturate
// (each output sums about (Cin/groups)*K/stride products). There are two
// different inputs: timed calls alternate between them, so no implementation
// could answer from a cache of its last result. The first is the one checked.
export function makeShapeData(shape, seed) {
  const random = mulberry32(seed);
  const { N, Cin, Cout, K, L, groups, stride } = shape;
  const randomInput = () => Uint8Array.from({ length: N * Cin * L }, () => Math.floor(random() * 256));
  const inputs = [randomInput(), randomInput()];
  const weight = Int8Array.from({ length: Cin * (Cout / groups) * K }, () => Math.floor(random() * 256) - 128);
  const bias = Float32Array.from({ length: Cout }, () => (random() * 2 - 1) * 2);
  const productsPerOutput = (Cin / groups) * K / stride;
  const outputStd = Math.sqrt(productsPerOutput) * UNIFORM_BYTE_STD * INPUT_SCALE * UNIFORM_BYTE_STD * WEIGHT_SCALE;
  const outputScale = Math.fround(Number(((4 * outputStd) / 127).toPrecision(3)));
  return {
    inputs, weight, bias, outputScale,
    inputsFloat: inputs.map((input) => Float32Array.from(input, (q) => Math.fround(INPUT_SCALE * (q - INPUT_ZERO_POINT)))),
    weightFloat: Float32Array.from(weight, (q) => Math.fround(WEIGHT_SCALE * q)),
    biasInt32: Int32Array.from(bias, (b) => roundHalfEven(b / Math.fround(INPUT_SCALE * WEIGHT_SCALE))),
  };
}

// Returns a function giving items[0], items[1], items[0], ... on each call.
export function alternating(items) {
  let calls = 0;
  return () => items[calls++ & 1];
}

export function quantizeOutput(values, scale, zeroPoint) {
  return Uint8Array.from(values, (v) => Math.min(255, Math.max(0, roundHalfEven(v / scale) + zeroPoint)));
}
