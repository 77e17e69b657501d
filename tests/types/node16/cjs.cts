// Type check (module/moduleResolution "node16"), a CommonJS module in Node:
// require('qconv-wasm') by its package name.
import qconv = require('qconv-wasm');

async function main(): Promise<number[]> {
  await qconv.init();
  const m = new qconv.Conv1d(16, 16, 3, { stride: 2, padding: 1, paddingMode: 'reflect' });
  const y = m.forward(qconv.quantizePerTensor(new Float32Array(16 * 12), [16, 12], 0.1, 128));
  const copy: qconv.Conv1d = qconv.Conv1d.load(m.save());
  copy.dispose();
  const either = qconv.load(m.save());
  const kind: string = either instanceof qconv.Conv1d ? either.paddingMode : String(either.outputPadding);
  either.dispose();
  m.dispose();
  const f = qconv.Conv1d.fromFloat({ inChannels: 1, outChannels: 2, kernelSize: 1, weight: [-1, 0.5],
    calibration: [{ data: [1, 2, 3], shape: [1, 3] }] });
  const inputQ: { scale: number; zeroPoint: number } | null = f.inputQuantization;
  f.dispose();
  // @ts-expect-error paddingMode 'reflect' is a Conv1d option; ConvTranspose1d has only 'zeros'
  new qconv.ConvTranspose1d(16, 16, 3, { paddingMode: 'reflect' });
  return inputQ === null || kind === '' ? y.shape : [inputQ.zeroPoint, ...y.shape];
}
export = main;
