// `npm run bench`: qconv-wasm's ConvTranspose1d (SIMD and scalar flavours)
// against onnxruntime-web (float32 and QDQ models) and tfjs-backend-wasm
// (float32), one thread, all in this one Node process, on the shapes of
// bench/shapes.json; plus the engine's measured i32x4.dot_i16x8_s peak, and
// our threaded flavour on 2 threads (its speedup over our one thread).
// bench/README.md says what is measured and how to read the output.
//
// Options: --budget-ms=N (time spent timing each implementation on each shape,
// default 1000), --only=S1,S3 (a subset of shapes; the summary then covers those),
// --no-json (do not write bench/results/latest.json).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { floatConvTransposeModel, qdqConvTransposeModel, convTransposeOutputLength } from './onnx-writer.mjs';
import { measureDotPeak } from './simd-peak.mjs';

const require = createRequire(import.meta.url);
const { mulberry32 } = require('../tools/mulberry32.cjs');  // seeded: every run times the same bytes
const benchDir = path.dirname(fileURLToPath(import.meta.url));

// ---- options -------------------------------------------------------------------

function parseOptions(argv) {
  const options = { budgetMs: 1000, only: null, writeJson: true };
  for (const arg of argv) {
    let m;
    if ((m = /^--budget-ms=(\d+)$/.exec(arg))) options.budgetMs = Number(m[1]);
    else if ((m = /^--only=([\w,]+)$/.exec(arg))) options.only = m[1].split(',');
    else if (arg === '--no-json') options.writeJson = false;
    else throw new Error(`bench: unknown argument ${arg} (known: --budget-ms=N, --only=S1,S2, --no-json)`);
  }
  return options;
}

const options = parseOptions(process.argv.slice(2));
const ROUNDS = 5;               // implementations take turns this many times per shape
const TARGET_BATCH_MS = 2;      // fast calls are timed in batches at least this long
const WARMUP_MS = 100;          // per implementation and shape, at least one call
const SEED = 20240611;

// ---- data ------------------------------------------------------------------------

function roundHalfEven(x) {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

const INPUT_SCALE = 0.05;
const INPUT_ZERO_POINT = 128;
const WEIGHT_SCALE = 0.01;
const OUTPUT_ZERO_POINT = 128;
const UNIFORM_BYTE_STD = Math.sqrt((256 * 256 - 1) / 12);  // std of a uniform integer over 256 values

// Uniform uint8 inputs, int8 weights and float biases; an output scale that
// fits about +-4 standard deviations of the output, so few outputs saturate
// (each output sums about (Cin/groups)*K/stride products). There are two
// different inputs: timed calls alternate between them, so no implementation
// could answer from a cache of its last result. The first is the one checked.
function makeShapeData(shape, seed) {
  const random = mulberry32(seed);
  const { N, Cin, Cout, K, L, groups, stride } = shape;
  const randomInput = () => Uint8Array.from({ length: N * Cin * L }, () => Math.floor(random() * 256));
  const inputs = [randomInput(), randomInput()];
  const weight = Int8Array.from({ length: Cin * (Cout / groups) * K }, () => Math.floor(random() * 256) - 128);
  const bias = Float32Array.from({ length: Cout }, () => (random() * 2 - 1) * 2);
  const productsPerOutput = (Cin / groups) * K / stride;
  const outputStd = Math.sqrt(productsPerOutput) * UNIFORM_BYTE_STD * INPUT_SCALE * UNIFORM_BYTE_STD * WEIGHT_SCALE;
  const outputScale = Math.fround(Number(((4 * outputStd) / 127).toPrecision(3)));
  return {
    inputs, weight, bias, outputScale,
    inputsFloat: inputs.map((input) => Float32Array.from(input, (q) => Math.fround(INPUT_SCALE * (q - INPUT_ZERO_POINT)))),
    weightFloat: Float32Array.from(weight, (q) => Math.fround(WEIGHT_SCALE * q)),
    biasInt32: Int32Array.from(bias, (b) => roundHalfEven(b / Math.fround(INPUT_SCALE * WEIGHT_SCALE))),
  };
}

// Returns a function giving items[0], items[1], items[0], ... on each call.
function alternating(items) {
  let calls = 0;
  return () => items[calls++ & 1];
}

function quantizeOutput(values, scale, zeroPoint) {
  return Uint8Array.from(values, (v) => Math.min(255, Math.max(0, roundHalfEven(v / scale) + zeroPoint)));
}

// ---- implementations ---------------------------------------------------------------
// Each one: prepare(shape, data) -> { forward(): result | Promise<result>,
// read(result): { shape: [N, Cout, Lout], u8?, f32? } (NCL order), dispose() }.
// forward() is the whole JS call a user makes: typed array in, typed array out.

function oursImplementation(key, label, api, info) {
  return {
    key,
    label,
    about: `qconv-wasm ${info.version}, ${info.simd ? 'SIMD128' : 'scalar'} build (kernels: ${info.flavour}), ` +
      `${info.threads} thread${info.threads > 1 ? 's' : ''}`,
    prepare(shape, data) {
      const m = new api.ConvTranspose1d(shape.Cin, shape.Cout, shape.K, {
        stride: shape.stride, padding: shape.padding, outputPadding: shape.outputPadding,
        groups: shape.groups, dilation: shape.dilation,
      });
      m.setWeightBias({ data: data.weight, scale: WEIGHT_SCALE, zeroPoint: 0 }, data.bias);
      m.scale = data.outputScale;
      m.zeroPoint = OUTPUT_ZERO_POINT;
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

function ortImplementations(ort) {
  const sessionOptions = { executionProviders: ['wasm'], graphOptimizationLevel: 'all' };
  const float = {
    key: 'ortF32',
    label: 'ORT f32',
    about: `onnxruntime-web ${ort.env.versions.web} wasm backend, float32 ConvTranspose model`,
    async prepare(shape, data) {
      const model = floatConvTransposeModel(shape, { weight: data.weightFloat, bias: data.bias });
      const session = await ort.InferenceSession.create(model, sessionOptions);
      const dims = [shape.N, shape.Cin, shape.L];
      const nextInput = alternating(data.inputsFloat);
      return {
        forward: async () => (await session.run({ x: new ort.Tensor('float32', nextInput(), dims) })).y,
        read: (y) => ({ shape: y.dims, f32: y.data }),
        dispose: () => session.release(),
      };
    },
  };
  const qdq = {
    key: 'ortQdq',
    label: 'ORT QDQ',
    about: `onnxruntime-web ${ort.env.versions.web} wasm backend, QDQ model (u8 activations, s8 weights, s32 bias)`,
    async prepare(shape, data) {
      const model = qdqConvTransposeModel(shape, {
        weight: data.weight, weightScale: WEIGHT_SCALE, weightZeroPoint: 0, biasInt32: data.biasInt32,
        inputScale: INPUT_SCALE, inputZeroPoint: INPUT_ZERO_POINT,
        outputScale: data.outputScale, outputZeroPoint: OUTPUT_ZERO_POINT,
      });
      const session = await ort.InferenceSession.create(model, sessionOptions);
      const dims = [shape.N, shape.Cin, shape.L];
      const nextInput = alternating(data.inputs);
      return {
        forward: async () => (await session.run({ x: new ort.Tensor('uint8', nextInput(), dims) })).y,
        read: (y) => ({ shape: y.dims, u8: y.data }),
        dispose: () => session.release(),
      };
    },
  };
  return [float, qdq];
}

// tfjs has conv2dTranspose only: a 1-D convolution runs as height 1, in its
// native NHWC layout (the input is transposed once, outside the timing).
// It has no groups and no dilation; both are emulated faithfully, and the
// table marks those cells: groups by splitting the input channels, one
// conv2dTranspose per group and a concat; dilation by a kernel with d-1 zero
// taps between the real ones (more MACs). PyTorch's padding and
// output_padding are exact through explicit pads and the output shape. The
// bias is a separate add. All of that is inside the timed call.
function tfjsEmulationMarks(shape) {
  return (shape.groups > 1 ? 'g' : '') + (shape.dilation > 1 ? 'd' : '');
}

function tfjsImplementation(tf, tfWasm) {
  return {
    key: 'tfjs',
    label: 'tfjs f32',
    about: `tfjs-core ${tf.version_core} + tfjs-backend-wasm ${tfWasm.version_wasm}, float32 conv2dTranspose`,
    prepare(shape, data) {
      const { N, Cin, Cout, K, L, groups, stride, padding, dilation } = shape;
      const Lout = convTransposeOutputLength(shape);
      const cinPerGroup = Cin / groups, coutPerGroup = Cout / groups;
      const dilatedK = dilation * (K - 1) + 1;
      const toNhwc = (ncl) => {
        const nhwc = new Float32Array(N * L * Cin);
        for (let n = 0; n < N; n++) {
          for (let c = 0; c < Cin; c++) {
            for (let l = 0; l < L; l++) nhwc[(n * L + l) * Cin + c] = ncl[(n * Cin + c) * L + l];
          }
        }
        return nhwc;
      };
      const nextInput = alternating(data.inputsFloat.map(toNhwc));
      // filter [1, dilatedK, coutPerGroup, cinPerGroup] per group, from
      // PyTorch's [Cin, Cout/groups, K]
      const filters = [];
      for (let g = 0; g < groups; g++) {
        const f = new Float32Array(dilatedK * coutPerGroup * cinPerGroup);
        for (let ci = 0; ci < cinPerGroup; ci++) {
          for (let co = 0; co < coutPerGroup; co++) {
            for (let k = 0; k < K; k++) {
              f[((k * dilation) * coutPerGroup + co) * cinPerGroup + ci] =
                data.weightFloat[((g * cinPerGroup + ci) * coutPerGroup + co) * K + k];
            }
          }
        }
        filters.push(tf.tensor4d(f, [1, dilatedK, coutPerGroup, cinPerGroup]));
      }
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
        read: ({ values, nhwcShape }) => {
          const [n, h, l, c] = nhwcShape;
          if (h !== 1 || values.length !== n * l * c) return { shape: nhwcShape };
          const f32 = new Float32Array(values.length);
          for (let b = 0; b < n; b++) {
            for (let ch = 0; ch < c; ch++) {
              for (let i = 0; i < l; i++) f32[(b * c + ch) * l + i] = values[(b * l + i) * c + ch];
            }
          }
          return { shape: [n, c, l], f32 };
        },
        dispose: () => { tf.dispose(filters); biasTensor.dispose(); },
      };
    },
  };
}

// ---- loading the peers ---------------------------------------------------------------

async function loadOurs() {
  const { createQconv } = require('../dist/api.cjs');
  const { loadNativeModule, threadSupport, releaseWorkers } = require('../js/node-loader.cjs');
  const simdApi = createQconv(loadNativeModule);
  const simdInfo = await simdApi.init({ simd: true });
  const scalarApi = createQconv(loadNativeModule);
  const scalarInfo = await scalarApi.init({ simd: false });
  const threadedApi = createQconv(loadNativeModule, { threadSupport, releaseWorkers });
  const threadedInfo = await threadedApi.init({ simd: true, numThreads: 2 });
  if (threadedInfo.threads !== 2) throw new Error(`bench: the threaded flavour started ${threadedInfo.threads} thread(s), not 2`);
  return [
    oursImplementation('oursSimd', 'ours SIMD', simdApi, simdInfo),
    oursImplementation('oursScalar', 'ours scalar', scalarApi, scalarInfo),
    oursImplementation('oursThreads2', 'ours 2 thr', threadedApi, threadedInfo),
  ];
}

// ORT's verbose log says how many nodes the optimized QDQ graph keeps: 1
// would mean the pattern was fused into one quantized operator, 5 that it
// runs as DequantizeLinear x3 + float ConvTranspose + QuantizeLinear. The
// wasm module writes that log straight to file descriptor 2, so a child
// process builds a small QDQ session and this one reads its stderr.
function ortQdqNodeCount() {
  const script = `
    import { createRequire } from 'node:module';
    import { qdqConvTransposeModel } from ${JSON.stringify(new URL('./onnx-writer.mjs', import.meta.url).href)};
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

async function loadOrt() {
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
      entry: path.relative(path.join(benchDir, '..'), entry),
      wasmFile: glues.map((g) => g.replace(/\.mjs$/, '.wasm')).join(', ') || 'unknown',
      numThreads: ort.env.wasm.numThreads,
      proxy: ort.env.wasm.proxy,
      qdqNodesAfterOptimization: qdqNodes,
      qdqFused: qdqNodes === null ? null : qdqNodes < 5,
    },
  };
}

async function loadTfjs() {
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

// ---- checks ------------------------------------------------------------------------

function sameShape(a, b) {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function maxAbsDifference(a, b) {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

// Every output must have PyTorch's shape; our two flavours must agree byte
// for byte; every output must agree with the float32 reference (ORT f32):
// quantized ones within 1 step, tfjs within float rounding. A wrong peer
// model would otherwise time a different computation.
function checkOutputs(shape, data, inputIndex, outputs) {
  const expected = [shape.N, shape.Cout, convTransposeOutputLength(shape)];
  for (const [label, out] of Object.entries(outputs)) {
    if (!sameShape(Array.from(out.shape), expected)) {
      throw new Error(`bench: ${shape.id} input ${inputIndex}: ${label} returned shape [${out.shape}], expected [${expected}]`);
    }
  }
  const simd = outputs['ours SIMD'].u8, scalar = outputs['ours scalar'].u8;
  if (!Buffer.from(simd.buffer, simd.byteOffset, simd.byteLength)
    .equals(Buffer.from(scalar.buffer, scalar.byteOffset, scalar.byteLength))) {
    throw new Error(`bench: ${shape.id} input ${inputIndex}: our SIMD and scalar flavours give different bytes`);
  }
  const threaded = outputs['ours 2 thr'].u8;
  if (!Buffer.from(simd.buffer, simd.byteOffset, simd.byteLength)
    .equals(Buffer.from(threaded.buffer, threaded.byteOffset, threaded.byteLength))) {
    throw new Error(`bench: ${shape.id} input ${inputIndex}: our 2-thread and 1-thread runs give different bytes`);
  }
  const reference = outputs['ORT f32'].f32;
  const referenceQuantized = quantizeOutput(reference, data.outputScale, OUTPUT_ZERO_POINT);
  const agreement = {};
  for (const [label, out] of Object.entries(outputs)) {
    if (label === 'ORT f32') continue;
    if (out.u8) {
      const d = maxAbsDifference(out.u8, referenceQuantized);
      agreement[label] = { maxStepsFromFloatReference: d };
      if (d > 1) throw new Error(`bench: ${shape.id} input ${inputIndex}: ${label} differs from the float32 reference by ${d} quantization steps`);
    } else {
      const d = maxAbsDifference(out.f32, reference);
      const tolerance = 1e-5 * reference.reduce((m, v) => Math.max(m, Math.abs(v)), 1) * Math.sqrt(shape.Cin * shape.K);
      agreement[label] = { maxAbsFromFloatReference: d };
      if (d > tolerance) throw new Error(`bench: ${shape.id} input ${inputIndex}: ${label} differs from the float32 reference by ${d} (tolerance ${tolerance})`);
    }
  }
  const saturated = simd.reduce((n, v) => n + (v === 0 || v === 255 ? 1 : 0), 0) / simd.length;
  return { agreement, saturatedFraction: saturated };
}

// ---- timing ------------------------------------------------------------------------

// Runs `count` forwards back to back; returns ms per forward.
async function timeBatch(runner, count) {
  const t0 = performance.now();
  if (runner.isAsync) {
    for (let i = 0; i < count; i++) await runner.forward();
  } else {
    for (let i = 0; i < count; i++) runner.forward();
  }
  return (performance.now() - t0) / count;
}

function median(sorted) {
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

// Warms every implementation up, sizes its batches, then lets them take
// turns for ROUNDS rounds (rotating who goes first), so a slow spell of the
// shared machine hits all of them alike. One sample = one batch's mean.
async function timeShape(runners, budgetMs) {
  for (const r of runners) {
    const end = performance.now() + WARMUP_MS;
    let msPerCall;
    do {
      msPerCall = await timeBatch(r, 1);
    } while (performance.now() < end);
    r.batchSize = Math.max(1, Math.ceil(TARGET_BATCH_MS / Math.max(msPerCall, 1e-4)));
    r.samples = [];
    r.runs = 0;
  }
  const roundMs = budgetMs / ROUNDS;
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < runners.length; i++) {
      const r = runners[(round + i) % runners.length];
      const end = performance.now() + roundMs;
      do {
        r.samples.push(await timeBatch(r, r.batchSize));
        r.runs += r.batchSize;
      } while (performance.now() < end);
    }
  }
  const stats = {};
  for (const r of runners) {
    const sorted = [...r.samples].sort((a, b) => a - b);
    stats[r.key] = { medianMs: median(sorted), minMs: sorted[0], runs: r.runs, batchSize: r.batchSize, samples: sorted.length };
  }
  return stats;
}

// ---- formatting --------------------------------------------------------------------

function formatMs(ms) {
  if (ms >= 100) return ms.toFixed(0);
  if (ms >= 10) return ms.toFixed(1);
  if (ms >= 1) return ms.toFixed(2);
  if (ms >= 0.01) return ms.toFixed(3);
  return ms.toFixed(4);
}

function formatRatio(r) {
  return r >= 10 ? `${r.toFixed(0)}x` : `${r.toFixed(1)}x`;
}

function pad(text, width, alignRight = true) {
  text = String(text);
  return alignRight ? text.padStart(width) : text.padEnd(width);
}

function describeShape(s) {
  const extras = [];
  if (s.padding) extras.push(`p${s.padding}`);
  if (s.outputPadding) extras.push(`op${s.outputPadding}`);
  if (s.dilation > 1) extras.push(`d${s.dilation}`);
  if (s.groups > 1) extras.push(`g${s.groups}`);
  return `${s.N}x${s.Cin}x${s.L}->${s.Cout} k${s.K} s${s.stride}${extras.length ? ' ' + extras.join(' ') : ''}`;
}

const geomean = (values) => Math.exp(values.reduce((a, v) => a + Math.log(v), 0) / values.length);

// ---- main ----------------------------------------------------------------------------

async function main() {
  const started = performance.now();
  const shapesFile = JSON.parse(fs.readFileSync(path.join(benchDir, 'shapes.json'), 'utf8'));
  const shapes = shapesFile.shapes.filter((s) => !options.only || options.only.includes(s.id));
  if (shapes.length === 0) throw new Error(`bench: no shape matches --only=${options.only}`);

  const ours = await loadOurs();
  const ort = await loadOrt();
  const tfjs = await loadTfjs();
  const implementations = [...ours, ...ort.implementations, ...tfjs.implementations];

  const peakBefore = await measureDotPeak();

  const cpus = os.cpus();
  const machine = {
    node: process.version, v8: process.versions.v8, platform: `${os.platform()} ${os.arch()}`,
    cpuModel: cpus[0] ? cpus[0].model : 'unknown', logicalCpus: cpus.length,
    loadAverageAtStart: os.loadavg().map((v) => Number(v.toFixed(2))),
  };
  console.log(`qconv-wasm ConvTranspose1d benchmark, ${new Date().toISOString()}`);
  console.log(`node ${machine.node} (V8 ${machine.v8}), ${machine.cpuModel}, ${machine.logicalCpus} logical CPUs, ` +
    `load average ${machine.loadAverageAtStart.join(' ')}; peers on one thread; budget ${options.budgetMs} ms per cell`);
  for (const impl of implementations) console.log(`  ${pad(impl.label, 12, false)} ${impl.about}`);
  console.log(`  ORT: ${ort.info.wasmFile}, numThreads ${ort.info.numThreads}, proxy ${ort.info.proxy}; ` +
    `QDQ graph after optimization: ${ort.info.qdqNodesAfterOptimization} nodes ` +
    `(${ort.info.qdqFused === null ? 'unknown' : ort.info.qdqFused ? 'fused'
      : 'not fused: DequantizeLinear x3 + float ConvTranspose + QuantizeLinear per run'})`);
  console.log(`  tfjs: ${tfjs.info.wasmFile}, threads ${tfjs.info.threadsCount}`);
  console.log('');

  const results = [];
  for (const [shapeIndex, shape] of shapes.entries()) {
    const data = makeShapeData(shape, SEED + 7919 * shapeIndex);
    const runners = [];
    for (const impl of implementations) {
      const prepared = await impl.prepare(shape, data);
      // the first two calls (one per input) are checked before any timing
      const probe = prepared.forward();
      const isAsync = probe instanceof Promise;
      const firstOutputs = [prepared.read(await probe), prepared.read(await prepared.forward())];
      runners.push({ ...prepared, key: impl.key, label: impl.label, isAsync, firstOutputs });
    }
    const check = checkOutputs(shape, data, 0, Object.fromEntries(runners.map((r) => [r.label, r.firstOutputs[0]])));
    const checkSecond = checkOutputs(shape, data, 1, Object.fromEntries(runners.map((r) => [r.label, r.firstOutputs[1]])));
    for (const [label, a] of Object.entries(checkSecond.agreement)) {
      for (const [key, value] of Object.entries(a)) check.agreement[label][key] = Math.max(check.agreement[label][key], value);
    }
    const stats = await timeShape(runners, options.budgetMs);
    for (const r of runners) await r.dispose();

    const macs = shape.N * shape.Cin * (shape.Cout / shape.groups) * shape.K * shape.L;
    const oursMs = stats.oursSimd.medianMs;
    for (const s of Object.values(stats)) {
      s.gmacs = macs / (s.medianMs * 1e6);
      s.timeRelativeToOursSimd = s.medianMs / oursMs;
    }
    const tfjsMarks = tfjsEmulationMarks(shape);
    results.push({
      ...shape, macs, outputScale: data.outputScale, outputZeroPoint: OUTPUT_ZERO_POINT,
      saturatedFraction: Number(check.saturatedFraction.toFixed(4)), agreement: check.agreement,
      tfjsEmulation: tfjsMarks || null, stats,
    });
    process.stdout.write(`  ${shape.id} done (${((performance.now() - started) / 1000).toFixed(0)} s)\n`);
  }

  const peakAfter = await measureDotPeak();
  const peakGmacs = Math.max(peakBefore.gmacs, peakAfter.gmacs);
  for (const r of results) r.stats.oursSimd.percentOfPeak = (100 * r.stats.oursSimd.gmacs) / peakGmacs;

  // ---- table
  const peers = ['oursScalar', 'ortF32', 'ortQdq', 'tfjs'];
  const labelOf = Object.fromEntries(implementations.map((i) => [i.key, i.label]));
  const header = `${pad('', 3, false)} ${pad('shape', 30, false)} ${pad('MMAC', 7)} | ${pad('ours SIMD', 9)} ${pad('GMAC/s', 6)} ${pad('%peak', 5)} | ` +
    `${pad('2 threads (speedup)', 19)} | ` + peers.map((k) => pad(labelOf[k], 16)).join(' | ');
  console.log('');
  console.log('median ms per forward; (Nx) = that time / our SIMD time, above 1 means ours is faster;');
  console.log('2 threads: our threaded flavour with numThreads 2, (Nx) = our one-thread time / its time (the speedup)');
  console.log(header);
  console.log('-'.repeat(header.length));
  for (const r of results) {
    const s = r.stats;
    const cells = peers.map((k) => {
      const mark = k === 'tfjs' && r.tfjsEmulation ? `${r.tfjsEmulation} ` : '';
      return pad(`${mark}${formatMs(s[k].medianMs)} (${formatRatio(s[k].timeRelativeToOursSimd)})`, 16);
    });
    console.log(`${pad(r.id, 3, false)} ${pad(describeShape(r), 30, false)} ${pad((r.macs / 1e6).toFixed(2), 7)} | ` +
      `${pad(formatMs(s.oursSimd.medianMs), 9)} ${pad(s.oursSimd.gmacs.toFixed(2), 6)} ${pad(s.oursSimd.percentOfPeak.toFixed(0) + '%', 5)} | ` +
      `${pad(`${formatMs(s.oursThreads2.medianMs)} (${(s.oursSimd.medianMs / s.oursThreads2.medianMs).toFixed(2)}x)`, 19)} | ` +
      cells.join(' | '));
  }
  console.log('tfjs marks: g = groups emulated (split + one conv2dTranspose per group + concat), ' +
    'd = dilation emulated (kernel with zero taps); both inside the timed call');
  console.log(`peak: i32x4.dot_i16x8_s ${peakGmacs.toFixed(1)} GMAC/s (best of before ${peakBefore.gmacs.toFixed(1)} ` +
    `and after ${peakAfter.gmacs.toFixed(1)}; ${peakBefore.chains} independent chains, unrolled ${peakBefore.unroll}x)`);

  // ---- targets
  const byId = Object.fromEntries(results.map((r) => [r.id, r]));
  const targets = [];
  const target = (name, figure, met) => targets.push({ name, figure, met });
  const bestOrtRatios = results.map((r) => Math.min(r.stats.ortF32.medianMs, r.stats.ortQdq.medianMs) / r.stats.oursSimd.medianMs);
  const geomeanVsOrt = geomean(bestOrtRatios);
  target(`geomean over ${results.map((r) => r.id).join(',')} of (better ORT time) / (our SIMD time) >= 3x`,
    `${geomeanVsOrt.toFixed(2)}x`, geomeanVsOrt >= 3);
  for (const id of ['S3', 'S4', 'S5', 'S8']) {
    if (!byId[id]) continue;
    const p = byId[id].stats.oursSimd.percentOfPeak;
    target(`${id}: our SIMD >= 50% of the measured peak`, `${p.toFixed(1)}% (${byId[id].stats.oursSimd.gmacs.toFixed(2)} GMAC/s)`, p >= 50);
  }
  for (const id of ['S3', 'S4', 'S5']) {
    if (!byId[id]) continue;
    const speedup = byId[id].stats.oursSimd.medianMs / byId[id].stats.oursThreads2.medianMs;
    byId[id].stats.oursThreads2.speedupOverOneThread = speedup;
    target(`${id}: 2 threads >= 1.7x faster than one thread`, `${speedup.toFixed(2)}x`, speedup >= 1.7);
  }
  if (byId.S2) {
    const us = byId.S2.stats.oursSimd.medianMs * 1000;
    target('S2: <= 3 us per forward, JS call included', `${us.toFixed(2)} us`, us <= 3);
  }
  if (byId.S7) {
    const s = byId.S7.stats;
    const best = ['ortF32', 'ortQdq', 'tfjs'].reduce((a, k) => (s[k].medianMs < s[a].medianMs ? k : a), 'ortF32');
    const ratio = s[best].medianMs / s.oursSimd.medianMs;
    target('S7: >= 5x faster than the best peer', `${formatRatio(ratio)} (best peer: ${labelOf[best]})`, ratio >= 5);
  }
  console.log('');
  console.log('targets');
  for (const t of targets) console.log(`  ${t.met ? 'met    ' : 'NOT met'}  ${t.name}: ${t.figure}`);

  const elapsedS = (performance.now() - started) / 1000;
  console.log('');
  console.log(`bench took ${elapsedS.toFixed(0)} s; this machine is shared and noisy: compare ratios within one run`);

  if (options.writeJson) {
    const report = {
      date: new Date().toISOString(), machine, options: { ...options, rounds: ROUNDS, targetBatchMs: TARGET_BATCH_MS, warmupMs: WARMUP_MS, seed: SEED },
      implementations: Object.fromEntries(implementations.map((i) => [i.key, { label: i.label, about: i.about }])),
      peers: { ort: ort.info, tfjs: tfjs.info },
      quantization: { inputScale: INPUT_SCALE, inputZeroPoint: INPUT_ZERO_POINT, weightScale: WEIGHT_SCALE, weightZeroPoint: 0, outputZeroPoint: OUTPUT_ZERO_POINT },
      peak: { gmacs: peakGmacs, before: peakBefore, after: peakAfter },
      shapes: results,
      summary: { geomeanBetterOrtOverOursSimd: geomeanVsOrt, targets },
      elapsedSeconds: elapsedS,
    };
    const dir = path.join(benchDir, 'results');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'latest.json'), JSON.stringify(report, null, 1) + '\n');
    console.log(`wrote ${path.relative(process.cwd(), path.join(dir, 'latest.json')) || 'bench/results/latest.json'}`);
  }
}

main().catch((e) => {
  console.error(`\nbench FAILED: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
