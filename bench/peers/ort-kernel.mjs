// onnxruntime-web's raw kernel time: what its session profiling
// (enableProfiling) records per node ("*_kernel_time", whole microseconds),
// summed over the nodes of one run (the QDQ model runs several), median over
// the runs. Its whole-call time in the table adds the session's overhead
// (tensors in and out, the executor); this is the time the kernels alone
// took, for comparing our per-call cost with the peer's compute.
//
// ORT prints the profile to stdout from inside its wasm module, so a child
// process (this file run as a script) profiles each shape and the parent
// reads its stdout: a marker line, then the profile's JSON array, per model.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

import { floatConvTransposeModel, qdqConvTransposeModel } from '../onnx-writer.mjs';
import { makeShapeData, SEED, INPUT_SCALE, INPUT_ZERO_POINT, OUTPUT_ZERO_POINT, WEIGHT_SCALE } from '../data.mjs';

const MARKER = '@@ort-kernel ';
const WARMUP_RUNS = 20;

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

// Per run: the durations (us) of the Node events inside each model_run event.
function kernelTimesPerRun(events) {
  const runs = events.filter((e) => e.name === 'model_run').sort((a, b) => a.ts - b.ts);
  const nodes = events.filter((e) => e.cat === 'Node' && /_kernel_time$/.test(e.name));
  return runs.map((r) => nodes.filter((n) => n.ts >= r.ts && n.ts <= r.ts + r.dur).reduce((a, n) => a + n.dur, 0));
}

// Parent: { [shapeId]: { ortF32: { kernelMs, runs }, ortQdq: {...} } },
// with { error } for a shape whose child failed (the bench prints why). One
// child per shape, its stdout a file (file writes are synchronous in Node;
// a pipe made ORT's large profile prints crawl).
export function measureOrtKernelTimes(shapes, budgetMs) {
  const result = {};
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qconv-ort-kernel-'));
  try {
    for (const item of shapes) {
      const file = path.join(dir, `${item.shape.id}.txt`);
      const fd = fs.openSync(file, 'w');
      let child;
      try {
        child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), JSON.stringify({ shapes: [item], budgetMs })], {
          stdio: ['ignore', fd, 'pipe'], encoding: 'utf8', timeout: 120000 + 20 * budgetMs,
        });
      } finally {
        fs.closeSync(fd);
      }
      if (child.status !== 0) {
        result[item.shape.id] = { error: `ORT profiling child failed (status ${child.status}, signal ${child.signal}): ${String(child.stderr).slice(0, 300)}` };
        continue;
      }
      Object.assign(result, parseProfiles(fs.readFileSync(file, 'utf8')));
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return result;
}

function parseProfiles(text) {
  const result = {};
  for (const part of text.split(MARKER).slice(1)) {
    const newline = part.indexOf('\n');
    const [id, key] = part.slice(0, newline).split(' ');
    const body = part.slice(newline + 1);
    const json = body.slice(body.indexOf('['), body.lastIndexOf(']') + 1);
    const perRun = kernelTimesPerRun(JSON.parse(json)).slice(WARMUP_RUNS);
    if (perRun.length === 0) continue;
    (result[id] ??= {})[key] = { kernelMs: median(perRun) / 1000, runs: perRun.length };
  }
  return result;
}

// Child: every shape's f32 and QDQ sessions, profiled.
async function profileShapes({ shapes, budgetMs }) {
  const require = createRequire(import.meta.url);
  const ort = require('onnxruntime-web');
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  for (const { shape, index } of shapes) {
    const data = makeShapeData(shape, SEED + 7919 * index);
    const models = {
      ortF32: [floatConvTransposeModel(shape, { weight: data.weightFloat, bias: data.bias }), 'float32', data.inputsFloat],
      ortQdq: [qdqConvTransposeModel(shape, {
        weight: data.weight, weightScale: WEIGHT_SCALE, weightZeroPoint: 0, biasInt32: data.biasInt32,
        inputScale: INPUT_SCALE, inputZeroPoint: INPUT_ZERO_POINT,
        outputScale: data.outputScale, outputZeroPoint: OUTPUT_ZERO_POINT,
      }), 'uint8', data.inputs],
    };
    for (const [key, [model, type, inputs]] of Object.entries(models)) {
      const session = await ort.InferenceSession.create(model, {
        executionProviders: ['wasm'], graphOptimizationLevel: 'all', enableProfiling: true,
      });
      const dims = [shape.N, shape.Cin, shape.L];
      const end = performance.now() + budgetMs;
      // At least 100 runs after the warm-up, at most 2000 (the profile is
      // kept in memory until printed).
      for (let i = 0; i < WARMUP_RUNS + 100 || (performance.now() < end && i < 2000); i++) {
        await session.run({ x: new ort.Tensor(type, inputs[i % inputs.length], dims) });
      }
      process.stdout.write(`${MARKER}${shape.id} ${key}\n`);
      session.endProfiling();
      await session.release();
    }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  profileShapes(JSON.parse(process.argv[2])).catch((e) => {
    process.stderr.write(`${e && e.stack ? e.stack : e}\n`);
    process.exit(1);
  });
}
