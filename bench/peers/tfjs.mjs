// tfjs-backend-wasm (float32) on one thread.
//
// tfjs has conv2dTranspose only: a 1-D convolution runs as height 1, in its
// native NHWC layout (the input is transposed once, outside the timing).
// It has no groups and no dilation; both are emulated faithfully, and the
// table marks those cells: groups by splitting the input channels, one
// conv2dTranspose per group and a concat; dilation by a kernel with d-1 zero
// taps between the real ones (more MACs). PyTorch's padding and
// output_padding are exact through explicit pads and the output shape. The
// bias is a separate add. All of that is inside the timed call.
import { createRequire } from 'node:module';

import { convTransposeOutputLength } from '../onnx-writer.mjs';
import { alternating } from '../data.mjs';

const require = createRequire(import.meta.url);

export function tfjsEmulationMarks(shape) {
  return (shape.groups > 1 ? 'g' : '') + (shape.dilation > 1 ? 'd' : '');
}

// [N, C, L] -> [N, L, C] (height 1 implied).
function nclToNlc(ncl, N, C, L) {
  const nlc = new Float32Array(N * L * C);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let l = 0; l < L; l++) nlc[(n * L + l) * C + c] = ncl[(n * C + c) * L + l];
    }
  }
  return nlc;
}

// One filter [1, dilatedK, Cout/groups, Cin/groups] per group, from
// PyTorch's [Cin, Cout/groups, K], with dilation-1 zero taps between taps.
function groupFilters(tf, shape, weightFloat) {
  const { Cin, Cout, K, groups, dilation } = shape;
  const cinPerGroup = Cin / groups, coutPerGroup = Cout / groups;
  const dilatedK = dilation * (K - 1) + 1;
  const filters = [];
  for (let g = 0; g < groups; g++) {
    const f = new Float32Array(dilatedK * coutPerGroup * cinPerGroup);
    for (let ci = 0; ci < cinPerGroup; ci++) {
      for (let co = 0; co < coutPerGroup; co++) {
        for (let k = 0; k < K; k++) {
          f[((k * dilation) * coutPerGroup + co) * cinPerGroup + ci] =
            weightFloat[((g * cinPerGroup + ci) * coutPerGroup + co) * K + k];
        }
      }
    }
    filters.push(tf.tensor4d(f, [1, dilatedK, coutPerGroup, cinPerGroup]));
  }
  return filters;
}

// tfjs's NHWC output (height 1) as { shape: [N, C, L], f32 } in NCL order.
function readNhwc({ values, nhwcShape }) {
  const [n, h, l, c] = nhwcShape;
  if (h !== 1 || values.length !== n * l * c) return { shape: nhwcShape };
  const f32 = new Float32Array(values.length);
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      for (let i = 0; i < l; i++) f32[(b * c + ch) * l + i] = values[(b * l + i) * c + ch];
    }
  }
  return { shape: [n, c, l], f32 };
}

function tfjsImplementation(tf, tfWasm) {
  return {
    key: 'tfjs',
    label: 'tfjs f32',
    about: `tfjs-core ${tf.version_core} + tfjs-backend-wasm ${tfWasm.version_wasm}, float32 conv2dTranspose`,
    prepare(shape, data) {
      const { N, Cin, Cout, L, groups, stride, padding } = shape;
      const Lout = convTransposeOutputLength(shape);
      const coutPerGroup = Cout / groups;
      const nextInput = alternating(data.inputsFloat.map((input) => nclToNlc(input, N, Cin, L)));
      const filters = groupFilters(tf, shape, data.weightFloat);
      const biasTensor = tf.tensor1d(data.bias);
      const pads = [[0, 0], [0, 0], [padding, padding], [0, 0]];
      const strides = [1, stride];
      const forward = () => {
        const y = tf.tidy(() => {
          const x = tf.tensor4d(nextInput(), [N, 1, L, Cin]);
          let conv;
          if (groups === 1) {
            conv = tf.conv2dTranspose(x, filters[0], [N, 1, Lout, Cout], strides, pads);
          } else {
            const parts = tf.split(x, groups, 3);
            conv = tf.concat(parts.map((part, g) =>
              tf.conv2dTranspose(part, filters[g], [N, 1, Lout, coutPerGroup], strides, pads)), 3);
          }
          return tf.add(conv, biasTensor);
        });
        const values = y.dataSync();
        const nhwcShape = y.shape;
        y.dispose();
        return { values, nhwcShape };
      };
      return {
        forward,
        read: readNhwc,
        dispose: () => { tf.dispose(filters); biasTensor.dispose(); },
      };
    },
  };
}

export async function loadTfjs() {
  const tf = require('@tensorflow/tfjs-core');
  const tfWasm = require('@tensorflow/tfjs-backend-wasm');
  tfWasm.setThreadsCount(1);
  if (!(await tf.setBackend('wasm'))) throw new Error('bench: tfjs could not start its wasm backend');
  await tf.ready();
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  if (threads) throw new Error('bench: tfjs picked its threaded wasm build; the bench needs one thread');
  return {
    implementations: [tfjsImplementation(tf, tfWasm)],
    info: {
      version: tf.version_core,
      backend: tf.getBackend(),
      wasmFile: simd ? 'tfjs-backend-wasm-simd.wasm' : 'tfjs-backend-wasm.wasm',
      threadsCount: tfWasm.getThreadsCount(),
    },
  };
}
