// Type check (moduleResolution "bundler"): the API as a browser app written
// in TypeScript uses it, importing 'qconv-wasm' by its package name.
import {
  init, ConvTranspose1d, Conv1d, load, loadModel, quantizePerTensor, dequantize, memoryStats, version,
} from 'qconv-wasm';
import type {
  InitInfo, InitOptions, QTensor, QuantizedWeight, WeightInfo, MemoryStats, ActivationQuantization,
  CalibrationBatch, ConvTranspose1dFromFloatOptions, FloatTensor, ModelTrace, ModelNodeInfo,
} from 'qconv-wasm';
import qconv from 'qconv-wasm';

export async function run(): Promise<QTensor> {
  const options: InitOptions = { simd: 'auto', numThreads: 4, locateFile: (name: string) => `/assets/${name}` };
  const info: InitInfo = await init(options);
  const threads: number = info.threads;
  const flavour: string = info.flavour;
  const simd: boolean = info.simd;

  const m = new ConvTranspose1d(16, 33, 3, { stride: 2 });
  const weight: QuantizedWeight = { data: new Int8Array(16 * 33 * 3), scale: 0.02, zeroPoint: 0 };
  m.setWeightBias(weight, new Float32Array(33));
  m.scale = 0.5;
  m.zeroPoint = 128;
  const x: QTensor = quantizePerTensor(new Float32Array(20 * 16 * 50), [20, 16, 50], 1.0, 0);
  const y: QTensor = m.forward(x, [20, 33, 101]);
  const outLength: number = m.outputLength(50, 101);
  const w: WeightInfo = m.weight();
  const perChannel: boolean = w.qscheme === 'per_channel_affine';
  const bias: Float32Array | null = m.bias();
  const floats: Float32Array = dequantize(y);

  const down = new qconv.Conv1d(16, 16, 3, 2, 1, 1, 1, true, 'reflect');
  down.setWeightBias({ data: new Int8Array(16 * 16 * 3), scale: Array(16).fill(0.01), zeroPoint: 0 }, null);
  const h = down.forward(x);
  const calibration: CalibrationBatch[] = [{ data: new Float32Array(16 * 12), shape: [16, 12] }];
  const fromFloatOptions: ConvTranspose1dFromFloatOptions = {
    inChannels: 16, outChannels: 33, kernelSize: 3, stride: 2, weight: new Float32Array(16 * 33 * 3),
    bias: null, weightQScheme: 'per_channel', calibration,
  };
  const up = ConvTranspose1d.fromFloat(fromFloatOptions);
  const expected: ActivationQuantization | null = up.inputQuantization;
  up.inputQuantization = { scale: 0.1, zeroPoint: 128 };
  const down2 = Conv1d.fromFloat({
    inChannels: 16, outChannels: 16, kernelSize: 3, paddingMode: 'reflect', padding: 1, weight: [0.5],
    output: { scale: 0.5, zeroPoint: 0 },
  });
  const same = new Conv1d(16, 16, 4, { padding: 'same', dilation: 2 });
  const samePadding: number | 'same' | 'valid' = same.padding;
  const valid = new Conv1d(16, 16, 3, 1, 'valid');
  const transposedPadding: number = m.padding;
  const stats: MemoryStats = memoryStats();
  const saved: Uint8Array = m.save();
  const reloaded: ConvTranspose1d = ConvTranspose1d.load(saved);
  const reloadedConv: Conv1d = qconv.Conv1d.load(down.save().buffer as ArrayBuffer);
  const either: ConvTranspose1d | Conv1d = load(saved);
  const eitherPadding: number | 'same' | 'valid' = either instanceof ConvTranspose1d ? either.outputPadding : either.padding;
  either.dispose();
  // @ts-expect-error Conv1d.forward takes no outputSize
  down.forward(x, [10]);
  m.dispose();
  reloaded.dispose();
  reloadedConv.dispose();
  down[Symbol.dispose]();
  // Whole models.
  const model = loadModel(new Uint8Array(0));
  const floatOut = model.forward({ data: new Float32Array(16), shape: [model.inputChannels, 16] });
  const quantOut: QTensor = model.forward({ data: [0.5, 1], shape: [1, 2] }, { quantized: true });
  const traced: ModelTrace = model.trace(quantOut);
  const firstNode: ModelNodeInfo | undefined = model.nodes[0];
  const liveModels: number = memoryStats().liveModels;
  if ('scale' in floatOut) console.log(floatOut.zeroPoint);
  else { const f: FloatTensor = floatOut; console.log(f.data.length); }
  model[Symbol.dispose]();
  console.log(traced.nodes.length, firstNode?.op, liveModels, model.dequantizesOutput);
  same.dispose();
  valid.dispose();
  console.log(flavour, simd, outLength, perChannel, bias, floats.length, h.shape, stats.liveModules, version,
    Conv1d.name, expected, down2.scale, samePadding, transposedPadding, threads, eitherPadding);
  return y;
}
