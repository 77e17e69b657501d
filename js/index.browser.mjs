// ESM entry for browsers and bundlers.
import { createQconv } from './api.mjs';
import { loadNativeModule, threadSupport } from './browser-loader.mjs';

// Browsers wake a sleeping worker far more slowly than Node (measured in
// headless Chromium: a 1.6M multiply-add forward got slower on 2 threads),
// so only runs of 8M multiply-adds or more are split there.
const qconv = createQconv(loadNativeModule, { threadSupport, minParallelWork: 8 * 2 ** 20 });
export const {
  init, ConvTranspose1d, Conv1d, load, loadModel, Model, quantizePerTensor, dequantize, memoryStats, version,
} = qconv;
export default qconv;
