// qconv-wasm itself, as the bench times it: the SIMD and scalar flavours on
// one thread and the threaded flavour on two, each its own API instance.
import { createRequire } from 'node:module';
import { alternating, INPUT_SCALE, INPUT_ZERO_POINT, OUTPUT_ZERO_POINT, WEIGHT_SCALE } from '../data.mjs';

const require = createRequire(import.meta.url);

function makeModule(api, shape, data) {
  const m = new api.ConvTranspose1d(shape.Cin, shape.Cout, shape.K, {
    stride: shape.stride, padding: shape.padding, outputPadding: shape.outputPadding,
    groups: shape.groups, dilation: shape.dilation,
  });
  m.setWeightBias({ data: data.weight, scale: WEIGHT_SCALE, zeroPoint: 0 }, data.bias);
  m.scale = data.outputScale;
  m.zeroPoint = OUTPUT_ZERO_POINT;
  return m;
}

const about = (info) => `qconv-wasm ${info.version}, ${info.simd ? 'SIMD128' : 'scalar'} build (kernels: ${info.flavour}), ` +
  `${info.threads} thread${info.threads > 1 ? 's' : ''}`;

// An implementation (see measure.mjs): prepare(shape, data) -> { forward,
// read, dispose }. forward() is the whole JS call a user makes.
function oursImplementation(key, label, api, info) {
  return {
    key,
    label,
    about: about(info),
    prepare(shape, data) {
      const m = makeModule(api, shape, data);
      const nextInput = alternating(data.inputs.map((input) =>
        ({ data: input, shape: [shape.N, shape.Cin, shape.L], scale: INPUT_SCALE, zeroPoint: INPUT_ZERO_POINT })));
      return {
        forward: () => m.forward(nextInput()),
        read: (y) => ({ shape: y.shape, u8: y.data }),
        dispose: () => m.dispose(),
      };
    },
  };
}

// The bound runner (m.bind): a call is the input written into the runner's
// view of wasm memory (a caller producing its input in place would skip
// even that) and run(); the output stays in wasm memory.
function oursBoundImplementation(api, info) {
  return {
    key: 'oursBound',
    label: 'ours bound',
    about: `${about(info)}, through m.bind(): input.set(x) + run() per call`,
    prepare(shape, data) {
      const m = makeModule(api, shape, data);
      const runner = m.bind([shape.N, shape.Cin, shape.L], { scale: INPUT_SCALE, zeroPoint: INPUT_ZERO_POINT });
      const nextInput = alternating(data.inputs);
      return {
        forward: () => {
          runner.input.set(nextInput());
          return runner.run();
        },
        // A copy: the next run overwrites the view.
        read: (y) => ({ shape: runner.outputShape, u8: y.slice() }),
        dispose: () => { runner.dispose(); m.dispose(); },
      };
    },
  };
}

export async function loadOurs() {
  const { createQconv } = require('../../dist/api.cjs');
  const { loadNativeModule, threadSupport, releaseWorkers } = require('../../js/node-loader.cjs');
  const simdApi = createQconv(loadNativeModule);
  const simdInfo = await simdApi.init({ simd: true });
  const scalarApi = createQconv(loadNativeModule);
  const scalarInfo = await scalarApi.init({ simd: false });
  const threadedApi = createQconv(loadNativeModule, { threadSupport, releaseWorkers });
  const threadedInfo = await threadedApi.init({ simd: true, numThreads: 2 });
  if (threadedInfo.threads !== 2) throw new Error(`bench: the threaded flavour started ${threadedInfo.threads} thread(s), not 2`);
  return [
    oursImplementation('oursSimd', 'ours SIMD', simdApi, simdInfo),
    oursBoundImplementation(simdApi, simdInfo),
    oursImplementation('oursScalar', 'ours scalar', scalarApi, scalarInfo),
    oursImplementation('oursThreads2', 'ours 2 thr', threadedApi, threadedInfo),
  ];
}
