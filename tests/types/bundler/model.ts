// Type check: whole models (loadModel, Model).
import { init, loadModel, Model } from 'qconv-wasm';
import type { FloatTensor, QTensor } from 'qconv-wasm';

export async function runModel(bytes: ArrayBuffer): Promise<number> {
  await init();
  using model: Model = loadModel(bytes);
  const y = model.forward({ data: new Float32Array(model.inputChannels * 10), shape: [1, model.inputChannels, 10] });
  const q: QTensor = model.forward({ data: new Uint8Array(10), shape: [1, 10], scale: 0.1, zeroPoint: 3 }, { quantized: true });
  const floats: FloatTensor | QTensor = y;
  // @ts-expect-error a Model comes from loadModel only
  new Model();
  return floats.data.length + q.data.length + model.nodes.length;
}
