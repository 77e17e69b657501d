// ESM entry for browsers and bundlers.
import { createQconv } from './api.mjs';
import { loadNativeModule, threadSupport } from './browser-loader.mjs';

const qconv = createQconv(loadNativeModule, { threadSupport });
export const {
  init, ConvTranspose1d, Conv1d, quantizePerTensor, dequantize, memoryStats, version,
} = qconv;
export default qconv;
