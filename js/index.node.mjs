// ESM entry for Node: the same instance as the CommonJS entry.
import qconv from './index.cjs';

export const {
  init, ConvTranspose1d, Conv1d, load, loadModel, Model, quantizePerTensor, dequantize, memoryStats, version,
} = qconv;
export default qconv;
