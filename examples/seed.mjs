// The two examples of PyTorch's quantized ConvTranspose1d documentation,
// run through qconv-wasm:
//   1. ConvTranspose1d(16, 33, 3, stride=2) on a [20, 16, 50] input -> [20, 33, 101]
//   2. Conv1d(16, 16, 3, stride=2, padding=1) downsamples [1, 16, 12] -> [1, 16, 6],
//      then ConvTranspose1d(16, 16, 3, stride=2, padding=1) with outputSize
//      brings it back to [1, 16, 12].
// Weights are seeded random int8 (PyTorch's would be uninitialised memory).
import { init, ConvTranspose1d, Conv1d, quantizePerTensor } from 'qconv-wasm';
// The repository's seeded PRNG, so every run prints the same bytes.
import { mulberry32 } from '../tools/mulberry32.cjs';

const random = mulberry32(2024);
const randn = (n) => Float32Array.from({ length: n }, () => {
  // Box-Muller: a standard normal like torch.randn
  const u = 1 - random(), v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
});
const randomWeight = (shape) => ({
  data: Int8Array.from({ length: shape.reduce((a, b) => a * b) }, () => Math.floor(random() * 256) - 128),
  scale: 0.01,
  zeroPoint: 0,
});
const fmt = (shape) => `[${shape.join(', ')}]`;

const info = await init();
console.log(`qconv-wasm ${info.version} (${info.simd ? 'WebAssembly SIMD128' : 'scalar'} flavour)`);

// Example 1
{
  const m = new ConvTranspose1d(16, 33, 3, { stride: 2 });
  m.setWeightBias(randomWeight([16, 33, 3]), null);
  m.scale = 0.5;
  m.zeroPoint = 128;
  const qInput = quantizePerTensor(randn(20 * 16 * 50), [20, 16, 50], 1.0, 0);
  const output = m.forward(qInput);
  console.log(`example 1: ConvTranspose1d(16, 33, 3, stride=2): input ${fmt(qInput.shape)} -> output ${fmt(output.shape)}`);
  m.dispose();  // frees the wasm memory now (the GC would, later)
}

// Example 2
{
  const downsample = new Conv1d(16, 16, 3, { stride: 2, padding: 1 });
  const upsample = new ConvTranspose1d(16, 16, 3, { stride: 2, padding: 1 });
  downsample.setWeightBias(randomWeight([16, 16, 3]), null);
  upsample.setWeightBias(randomWeight([16, 16, 3]), null);
  downsample.scale = 0.25;
  downsample.zeroPoint = 128;
  upsample.scale = 0.25;
  upsample.zeroPoint = 128;
  const qInput = quantizePerTensor(randn(1 * 16 * 12), [1, 16, 12], 1.0, 0);
  const h = downsample.forward(qInput);
  console.log(`example 2: Conv1d(16, 16, 3, stride=2, padding=1): input ${fmt(qInput.shape)} -> h ${fmt(h.shape)}`);
  const output = upsample.forward(h, qInput.shape);
  console.log(`           ConvTranspose1d(16, 16, 3, stride=2, padding=1)(h, outputSize=${fmt(qInput.shape)}) -> output ${fmt(output.shape)}`);
  downsample.dispose();
  upsample.dispose();
}
