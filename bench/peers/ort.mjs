// onnxruntime-web's wasm backend on one thread: a float32 ConvTranspose
// model and a QDQ model (bench/onnx-writer.mjs writes both).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import path from 'node:path';

import { floatConvTransposeModel, qdqConvTransposeModel } from '../onnx-writer.mjs';
import { alternating, INPUT_SCALE, INPUT_ZERO_POINT, OUTPUT_ZERO_POINT, WEIGHT_SCALE } from '../data.mjs';

const require = createRequire(import.meta.url);
const repositoryRoot = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SESSION_OPTIONS = { executionProviders: ['wasm'], graphOptimizationLevel: 'all' };

// A session of `model` whose forward() feeds the inputs in turn as tensor `x`
// of `type`; read() takes its output `y` as u8 or f32 values.
async function sessionRunner(ort, model, shape, { type, inputs, outputKind }) {
  const session = await ort.InferenceSession.create(model, SESSION_OPTIONS);
  const dims = [shape.N, shape.Cin, shape.L];
  const nextInput = alternating(inputs);
  return {
    forward: async () => (await session.run({ x: new ort.Tensor(type, nextInput(), dims) })).y,
    read: (y) => ({ shape: y.dims, [outputKind]: y.data }),
    dispose: () => session.release(),
  };
}

function ortImplementations(ort) {
  const float = {
    key: 'ortF32',
    label: 'ORT f32',
    about: `onnxruntime-web ${ort.env.versions.web} wasm backend, float32 ConvTranspose model`,
    prepare: (shape, data) => sessionRunner(ort,
      floatConvTransposeModel(shape, { weight: data.weightFloat, bias: data.bias }),
      shape, { type: 'float32', inputs: data.inputsFloat, outputKind: 'f32' }),
  };
  const qdq = {
    key: 'ortQdq',
    label: 'ORT QDQ',
    about: `onnxruntime-web ${ort.env.versions.web} wasm backend, QDQ model (u8 activations, s8 weights, s32 bias)`,
    prepare: (shape, data) => sessionRunner(ort,
      qdqConvTransposeModel(shape, {
        weight: data.weight, weightScale: WEIGHT_SCALE, weightZeroPoint: 0, biasInt32: data.biasInt32,
        inputScale: INPUT_SCALE, inputZeroPoint: INPUT_ZERO_POINT,
        outputScale: data.outputScale, outputZeroPoint: OUTPUT_ZERO_POINT,
      }),
      shape, { type: 'uint8', inputs: data.inputs, outputKind: 'u8' }),
  };
  return [float, qdq];
}

// ORT's verbose log says how many nodes the optimized QDQ graph keeps: 1
// would mean the pattern was fused into one quantized operator, 5 that it
// runs as DequantizeLinear x3 + float ConvTranspose + QuantizeLinear. The
// wasm module writes that log straight to file descriptor 2, so a child
// process builds a small QDQ session and this one reads its stderr.
function ortQdqNodeCount() {
  const script = `
    import { createRequire } from 'node:module';
    import { qdqConvTransposeModel } from ${JSON.stringify(new URL('../onnx-writer.mjs', import.meta.url).href)};
    const ort = createRequire(${JSON.stringify(import.meta.url)})('onnxruntime-web');
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.proxy = false;
    const shape = { N: 1, Cin: 4, Cout: 4, K: 3, stride: 2, padding: 1, outputPadding: 0, dilation: 1, groups: 1, L: 5 };
    const model = qdqConvTransposeModel(shape, {
      weight: new Int8Array(48).fill(1), weightScale: 0.01, biasInt32: new Int32Array(4),
      inputScale: 0.05, inputZeroPoint: 128, outputScale: 0.1, outputZeroPoint: 128,
    });
    const session = await ort.InferenceSession.create(model, {
      executionProviders: ['wasm'], graphOptimizationLevel: 'all', logSeverityLevel: 0, logVerbosityLevel: 0 });
    await session.release();
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60000 });
  const m = /Number of nodes: (\d+)/.exec(`${child.stdout}${child.stderr}`);
  return m ? Number(m[1]) : null;
}

export async function loadOrt() {
  const ort = require('onnxruntime-web');
  ort.env.wasm.numThreads = 1;  // one thread: no worker pool is started
  ort.env.wasm.proxy = false;   // run in this thread, not a proxy worker
  const qdqNodes = ortQdqNodeCount();
  // Node's entry (ort.node.min.js) names the one wasm glue it imports; read
  // it from there rather than assume. With numThreads = 1 the threaded build
  // starts no worker.
  const entry = require.resolve('onnxruntime-web');
  const glues = [...new Set(fs.readFileSync(entry, 'utf8').match(/ort-wasm[\w.-]*\.mjs/g) || [])];
  return {
    implementations: ortImplementations(ort),
    info: {
      version: ort.env.versions.web,
      entry: path.relative(repositoryRoot, entry),
      wasmFile: glues.map((g) => g.replace(/\.mjs$/, '.wasm')).join(', ') || 'unknown',
      numThreads: ort.env.wasm.numThreads,
      proxy: ort.env.wasm.proxy,
      qdqNodesAfterOptimization: qdqNodes,
      qdqFused: qdqNodes === null ? null : qdqNodes < 5,
    },
  };
}
