// Type check (module/moduleResolution "node16"), an ES module in Node:
// import 'qconv-wasm' by its package name.
import { init, ConvTranspose1d, quantizePerTensor } from 'qconv-wasm';
import type { QTensor } from 'qconv-wasm';

const info = await init({ simd: false });
const flavour: string = info.flavour;
const m = new ConvTranspose1d(16, 16, 3, 2, 1, 1);
m.setWeightBias({ data: new Int8Array(16 * 16 * 3), scale: 0.02 }, [0.5]);
m.zeroPoint = 3;
const y: QTensor = m.forward(quantizePerTensor([0, 1, 2], [1, 16, 6], 0.1, 0), [1, 16, 12]);
// @ts-expect-error the output scale is a number
m.scale = '0.5';
export { flavour, y };
