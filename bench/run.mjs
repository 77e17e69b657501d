// `npm run bench`: qconv-wasm's ConvTranspose1d (SIMD and scalar flavours)
// against onnxruntime-web (float32 and QDQ models) and tfjs-backend-wasm
// (float32), one thread, all in this one Node process, on the shapes of
// bench/shapes.json; plus the engine's measured i32x4.dot_i16x8_s peak, and
// our threaded flavour on 2 threads (its speedup over our one thread).
// bench/README.md says what is measured and how to read the output.
//
// Then the streaming section (streaming.mjs): module.stream() in 128-sample
// chunks against one whole forward (bench/results/streaming.json); then the
// models section (models.mjs): a MelGAN-size generator, whole, in Node and in
// headless Chromium (bench/results/models.json).
//
// Options: --budget-ms=N (time spent timing each implementation on each shape,
// default 1000; the models section spends 3x that per runtime), --only=S1,S3
// (a subset of shapes; the summary then covers those), --no-json (do not write
// bench/results/*.json), --no-models (shapes only), --models-only (no shapes,
// no peers), --melgan-file=PATH (a MelGAN-size model file already exported,
// inside the repository), --no-browser (the models section in Node only),
// --no-streaming (no streaming section), --results-dir=DIR (where the JSON goes; default bench/results).
//
// Files: data.mjs (the seeded data and quantization), peers/*.mjs (the
// implementations timed), measure.mjs (checks and timing of one shape),
// report.mjs (table, targets, JSON), simd-peak.mjs, onnx-writer.mjs,
// streaming.mjs (streaming), models.mjs + models-common.mjs +
// browser/models.{html,-page.mjs} (models).
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

import {
  makeShapeData, SEED, INPUT_SCALE, INPUT_ZERO_POINT, WEIGHT_SCALE, OUTPUT_ZERO_POINT,
} from './data.mjs';
import { measureDotPeak } from './simd-peak.mjs';
import { measureShape, ROUNDS, TARGET_BATCH_MS, WARMUP_MS } from './measure.mjs';
import { loadOurs } from './peers/ours.mjs';
import { loadOrt } from './peers/ort.mjs';
import { measureOrtKernelTimes } from './peers/ort-kernel.mjs';
import { loadTfjs, tfjsEmulationMarks } from './peers/tfjs.mjs';
import { printHeader, printTable, evaluateTargets, printTargets, writeJsonReport } from './report.mjs';
import { runModelsSection } from './models.mjs';
import { runStreamingSection } from './streaming.mjs';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

function parseOptions(argv) {
  const options = {
    budgetMs: 1000, only: null, writeJson: true, shapes: true, streaming: true, models: true, melganFile: null, browser: true,
    resultsDir: path.join(benchDir, 'results'),
  };
  for (const arg of argv) {
    let m;
    if ((m = /^--budget-ms=(\d+)$/.exec(arg))) options.budgetMs = Number(m[1]);
    else if ((m = /^--only=([\w,]+)$/.exec(arg))) options.only = m[1].split(',');
    else if (arg === '--no-json') options.writeJson = false;
    else if (arg === '--no-models') options.models = false;
    else if (arg === '--models-only') { options.shapes = false; options.streaming = false; }
    else if (arg === '--no-streaming') options.streaming = false;
    else if ((m = /^--melgan-file=(.+)$/.exec(arg))) options.melganFile = m[1];
    else if (arg === '--no-browser') options.browser = false;
    else if ((m = /^--results-dir=(.+)$/.exec(arg))) options.resultsDir = path.resolve(m[1]);
    else {
      throw new Error(`bench: unknown argument ${arg} (known: --budget-ms=N, --only=S1,S2, --no-json, ` +
        '--no-models, --models-only, --no-streaming, --melgan-file=PATH, --no-browser, --results-dir=DIR)');
    }
  }
  if (!options.shapes && !options.models) throw new Error('bench: --models-only and --no-models leave nothing to run');
  return options;
}

function machineInfo() {
  const cpus = os.cpus();
  return {
    node: process.version, v8: process.versions.v8, platform: `${os.platform()} ${os.arch()}`,
    cpuModel: cpus[0] ? cpus[0].model : 'unknown', logicalCpus: cpus.length,
    loadAverageAtStart: os.loadavg().map((v) => Number(v.toFixed(2))),
  };
}

// One row of the results: the shape, its check, and its timings with each
// one's rate and its time relative to our SIMD time.
function shapeResult(shape, data, check, stats) {
  const macs = shape.N * shape.Cin * (shape.Cout / shape.groups) * shape.K * shape.L;
  const oursMs = stats.oursSimd.medianMs;
  for (const s of Object.values(stats)) {
    s.gmacs = macs / (s.medianMs * 1e6);
    s.timeRelativeToOursSimd = s.medianMs / oursMs;
  }
  return {
    ...shape, macs, outputScale: data.outputScale, outputZeroPoint: OUTPUT_ZERO_POINT,
    saturatedFraction: Number(check.saturatedFraction.toFixed(4)), agreement: check.agreement,
    tfjsEmulation: tfjsEmulationMarks(shape) || null, stats,
  };
}

async function main(options) {
  if (options.shapes) await runShapes(options);
  if (options.streaming) await runStreaming(options);
  if (options.models) {
    await runModelsSection({
      budgetMs: 3 * options.budgetMs, melganFile: options.melganFile, browser: options.browser,
      writeJson: options.writeJson, resultsDir: options.resultsDir,
    });
  }
}

// The streaming section on our SIMD flavour, one thread (a fresh instance).
async function runStreaming(options) {
  const { createQconv } = require('../dist/api.cjs');
  const { loadNativeModule } = require('../js/node-loader.cjs');
  const api = createQconv(loadNativeModule);
  await api.init({ simd: true });
  const rows = runStreamingSection(api);  // throws if streamed bytes differ from the whole forward
  if (options.writeJson) {
    fs.mkdirSync(options.resultsDir, { recursive: true });
    const file = path.join(options.resultsDir, 'streaming.json');
    fs.writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), machine: machineInfo(), rows }, null, 1)}\n`);
    console.log(`  wrote ${path.relative(process.cwd(), file)}`);
  }
}

async function runShapes(options) {
  const started = performance.now();
  const shapesFile = JSON.parse(fs.readFileSync(path.join(benchDir, 'shapes.json'), 'utf8'));
  const shapes = shapesFile.shapes.filter((s) => !options.only || options.only.includes(s.id));
  if (shapes.length === 0) throw new Error(`bench: no shape matches --only=${options.only}`);

  // The peers' raw kernel times first, in a child process (nothing else runs meanwhile).
  const peerKernels = measureOrtKernelTimes(shapes.map((shape, index) => ({ shape, index })), options.budgetMs);
  for (const [id, k] of Object.entries(peerKernels)) if (k.error) console.log(`bench: no peer kernel times for ${id}: ${k.error}`);
  const ours = await loadOurs();
  const ort = await loadOrt();
  const tfjs = await loadTfjs();
  const implementations = [...ours, ...ort.implementations, ...tfjs.implementations];
  const peakBefore = await measureDotPeak();
  const machine = machineInfo();
  printHeader({ machine, budgetMs: options.budgetMs, implementations, ort: ort.info, tfjs: tfjs.info });

  const results = [];
  for (const [shapeIndex, shape] of shapes.entries()) {
    const data = makeShapeData(shape, SEED + 7919 * shapeIndex);
    const { check, stats } = await measureShape(implementations, shape, data, options.budgetMs);
    results.push({ ...shapeResult(shape, data, check, stats), peerKernels: peerKernels[shape.id] || null });
    process.stdout.write(`  ${shape.id} done (${((performance.now() - started) / 1000).toFixed(0)} s)\n`);
  }

  const peakAfter = await measureDotPeak();
  const peak = { gmacs: Math.max(peakBefore.gmacs, peakAfter.gmacs), before: peakBefore, after: peakAfter };
  for (const r of results) r.stats.oursSimd.percentOfPeak = (100 * r.stats.oursSimd.gmacs) / peak.gmacs;

  const labelOf = Object.fromEntries(implementations.map((i) => [i.key, i.label]));
  printTable(results, labelOf, peak);
  const { targets, geomeanVsOrt } = evaluateTargets(results, labelOf);
  printTargets(targets);

  const elapsedS = (performance.now() - started) / 1000;
  console.log('');
  console.log(`bench took ${elapsedS.toFixed(0)} s; this machine is shared and noisy: compare ratios within one run`);

  if (options.writeJson) {
    writeJsonReport(options.resultsDir, {
      date: new Date().toISOString(), machine, options: { ...options, rounds: ROUNDS, targetBatchMs: TARGET_BATCH_MS, warmupMs: WARMUP_MS, seed: SEED },
      implementations: Object.fromEntries(implementations.map((i) => [i.key, { label: i.label, about: i.about }])),
      peers: { ort: ort.info, tfjs: tfjs.info },
      quantization: { inputScale: INPUT_SCALE, inputZeroPoint: INPUT_ZERO_POINT, weightScale: WEIGHT_SCALE, weightZeroPoint: 0, outputZeroPoint: OUTPUT_ZERO_POINT },
      peak,
      shapes: results,
      summary: { geomeanBetterOrtOverOursSimd: geomeanVsOrt, targets },
      elapsedSeconds: elapsedS,
    });
  }
}

main(parseOptions(process.argv.slice(2))).catch((e) => {
  console.error(`\nbench FAILED: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
