// The bench's "models" section: a whole MelGAN-size generator (80 mel bins ->
// 22.05 kHz audio, upsampling 8x8x2x2, channels 512 -> 32, three dilated
// residual units per block), one thread, on 1 s of audio (86 mel frames ->
// 22016 samples): the time per forward, the real-time factor (audio seconds /
// compute seconds; target >= 10x), the time per op kind and the 5 slowest
// nodes from Model.trace, in Node and in headless Chromium. Writes
// bench/results/models.json. bench/README.md, "Models".
//
// The model is exported on the fly to build/bench/melgan-size.qconv by
// tools/gen_model_cases.py --melgan-size (PyTorch, random weights) with the
// first Python that has torch ($QCONV_PYTHON, /usr/bin/python3, python3);
// without one the section says why it is skipped. --melgan-file=PATH uses a
// model file already made.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import path from 'node:path';

import { FRAMES_PER_SECOND, SAMPLE_RATE, INPUT_SEED, TRACES, MIN_FORWARDS, modelInput, timeModel } from './models-common.mjs';

const require = createRequire(import.meta.url);
const benchDir = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(benchDir, '..');
const GENERATOR = path.join(root, 'tools', 'gen_model_cases.py');
const EXPORTER = path.join(root, 'tools', 'export_torch.py');
const MODEL_FILE = path.join(root, 'build', 'bench', 'melgan-size.qconv');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const RTF_TARGET = 10;

// ---- the model file ----------------------------------------------------------------

// The first of $QCONV_PYTHON, /usr/bin/python3, python3 that imports torch:
// { python, torch } or { reason } (what was tried).
function findTorchPython() {
  const candidates = [process.env.QCONV_PYTHON, '/usr/bin/python3', 'python3'].filter(Boolean);
  const tried = [];
  for (const python of [...new Set(candidates)]) {
    const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 60000 });
    if (r.status === 0) return { python, torch: r.stdout.trim() };
    tried.push(`${python}: ${r.error ? r.error.code : (r.stderr.trim().split('\n').pop() || `exit ${r.status}`)}`);
  }
  return { reason: `no Python with torch (tried ${tried.join('; ')}; set QCONV_PYTHON)` };
}

// The MelGAN-size model file: { file, how } or { skip: reason }. Re-exported
// when the exporter or the generator changed since the last export.
export function melganModelFile(given) {
  if (given) {
    if (!fs.existsSync(given)) throw new Error(`bench: --melgan-file=${given}: no such file`);
    return { file: path.resolve(given), how: `given (--melgan-file=${given})` };
  }
  if (!fs.existsSync(GENERATOR) || !fs.readFileSync(GENERATOR, 'utf8').includes('--melgan-size')) {
    return { skip: `${path.relative(root, GENERATOR)} with --melgan-size (the exporter's model generator) is not in this checkout` };
  }
  const newest = Math.max(...[GENERATOR, EXPORTER].map((f) => fs.statSync(f).mtimeMs));
  if (fs.existsSync(MODEL_FILE) && fs.statSync(MODEL_FILE).mtimeMs > newest) {
    return { file: MODEL_FILE, how: `exported earlier (${path.relative(root, MODEL_FILE)}, newer than the exporter)` };
  }
  const py = findTorchPython();
  if (!py.python) return { skip: py.reason };
  fs.mkdirSync(path.dirname(MODEL_FILE), { recursive: true });
  process.stdout.write(`  exporting the MelGAN-size generator with ${py.python} (torch ${py.torch})…\n`);
  const r = spawnSync(py.python, [GENERATOR, '--melgan-size', MODEL_FILE], { cwd: root, encoding: 'utf8', timeout: 600000 });
  if (r.status !== 0 || !fs.existsSync(MODEL_FILE)) {
    throw new Error(`bench: ${py.python} ${path.relative(root, GENERATOR)} --melgan-size failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
  }
  process.stdout.write(`  ${r.stdout.trim()}\n`);
  return { file: MODEL_FILE, how: `exported now by ${path.relative(root, GENERATOR)} --melgan-size (${py.python}, torch ${py.torch})` };
}

// ---- Node and Chromium -------------------------------------------------------------

async function runInNode(bytes, options) {
  const { createQconv } = require('../dist/api.cjs');
  const { loadNativeModule } = require('../js/node-loader.cjs');
  const api = createQconv(loadNativeModule);
  const info = await api.init({ simd: true, numThreads: 1 });
  const model = api.loadModel(bytes);
  try {
    const input = modelInput(model.inputChannels, options.frames);
    const result = timeModel(model, input, options);
    return {
      info: { flavour: info.flavour, threads: info.threads, node: process.version },
      model: { name: model.name, nodes: model.nodes.length, inputChannels: model.inputChannels, outputChannels: model.outputChannels },
      result,
    };
  } finally {
    model.dispose();
  }
}

// { skip: reason } or { info, result }.
async function runInChromium(options) {
  if (!fs.existsSync(CHROMIUM)) return { skip: `no Chromium at ${CHROMIUM} (install Debian's chromium or set CHROMIUM_PATH)` };
  let chromium;
  try {
    ({ chromium } = require('playwright-core'));
  } catch {
    return { skip: 'playwright-core is not installed (npm ci)' };
  }
  const { startServer } = await import('../scripts/serve.mjs');
  // Cross-origin isolated: the page's clock then has 5 µs steps, not 100 µs.
  const server = await startServer({
    root, port: 0,
    headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
  });
  const browser = await chromium.launch({
    executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    await page.goto(`${server.url}bench/browser/models.html`);
    const info = await page.evaluate(() => window.benchReady);
    const url = `/${path.relative(root, options.file).split(path.sep).join('/')}`;
    if (url.startsWith('/..')) throw new Error(`bench: the model file must be inside the repository to be served, got ${options.file}`);
    const result = await page.evaluate(({ url, o }) => window.runModelBench(url, o),
      { url, o: { frames: options.frames, budgetMs: options.budgetMs, warmupMs: options.warmupMs } });
    if (errors.length) throw new Error(`bench: the Chromium page reported errors:\n  ${errors.join('\n  ')}`);
    const version = browser.version();
    return { info: { ...info, chromium: version }, result };
  } finally {
    await browser.close();
    await server.close();
  }
}

// ---- printing ----------------------------------------------------------------------

const ms = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3));
const pct = (v) => `${(100 * v).toFixed(1)}%`;
const pad = (t, w, right = true) => (right ? String(t).padStart(w) : String(t).padEnd(w));

function figures(run, audioSeconds) {
  const r = run.result;
  return { ...r, audioSeconds, realTimeFactor: audioSeconds / (r.medianMs / 1000) };
}

function printRun(label, f) {
  console.log(`  ${pad(label, 9, false)} ${ms(f.medianMs)} ms per forward (median of ${f.forwards}, min ${ms(f.minMs)}), ` +
    `real-time factor ${f.realTimeFactor.toFixed(1)}x (${f.audioSeconds.toFixed(3)} s of audio), ` +
    `trace: nodes sum to ${ms(f.nodesSumMs)} ms`);
}

function printOps(runs) {
  const labels = Object.keys(runs);
  const ops = runs[labels[0]].ops.map((o) => o.op);
  for (const l of labels.slice(1)) for (const o of runs[l].ops) if (!ops.includes(o.op)) ops.push(o.op);
  console.log(`  time per op kind (Model.trace, median of ${TRACES} traces per node, summed by op):`);
  console.log(`    ${pad('op', 18, false)} ${pad('nodes', 5)} | ` + labels.map((l) => `${pad(`${l} ms`, 12)} ${pad('share', 6)}`).join(' | '));
  for (const op of ops) {
    const cells = labels.map((l) => {
      const o = runs[l].ops.find((x) => x.op === op);
      return o ? `${pad(ms(o.ms), 12)} ${pad(pct(o.share), 6)}` : `${pad('–', 12)} ${pad('', 6)}`;
    });
    const count = (runs[labels[0]].ops.find((x) => x.op === op) || {}).count ?? '';
    console.log(`    ${pad(op, 18, false)} ${pad(count, 5)} | ${cells.join(' | ')}`);
  }
}

function printSlowest(label, f) {
  const slowest = [...f.nodes].sort((a, b) => b.ms - a.ms).slice(0, 5);
  console.log(`  5 slowest nodes (${label}):`);
  for (const n of slowest) {
    console.log(`    ${pad(n.name, 24, false)} ${pad(n.op, 18, false)} ${pad(ms(n.ms), 8)} ms ${pad(pct(n.ms / f.nodesSumMs), 6)}`);
  }
}

// ---- the section -------------------------------------------------------------------

/**
 * options: { budgetMs (Node and Chromium each), melganFile, browser (bool),
 * writeJson, resultsDir }. Returns the JSON it writes (or { skipped }).
 */
export async function runModelsSection(options) {
  console.log('');
  console.log('models: a MelGAN-size generator (80 mel bins -> 22.05 kHz audio, 256x upsampling), one thread');
  const source = melganModelFile(options.melganFile);
  if (source.skip) {
    console.log(`  skipped: ${source.skip}`);
    return { skipped: source.skip };
  }
  const bytes = fs.readFileSync(source.file);
  console.log(`  model: ${path.relative(process.cwd(), source.file) || source.file}, ${(bytes.length / 1e6).toFixed(2)} MB, ${source.how}`);
  const frames = FRAMES_PER_SECOND;
  const timing = { frames, budgetMs: options.budgetMs, warmupMs: 500 };

  const node = await runInNode(bytes, timing);
  const outLength = node.result.outputShape[2];
  const audioSeconds = outLength / SAMPLE_RATE;
  console.log(`  ${node.model.name}: ${node.model.nodes} nodes, input [1, ${node.model.inputChannels}, ${frames}] ` +
    `(${frames} mel frames, seeded randn) -> output [${node.result.outputShape.join(', ')}] = ${audioSeconds.toFixed(3)} s at ${SAMPLE_RATE} Hz`);
  const runs = { Node: figures(node, audioSeconds) };
  let chromium = { skip: 'not asked (--no-browser)' };
  if (options.browser) chromium = await runInChromium({ ...timing, file: source.file });
  if (!chromium.skip) {
    if (chromium.result.outputHash !== node.result.outputHash ||
      chromium.result.outputShape.join() !== node.result.outputShape.join()) {
      throw new Error(`bench: Chromium's output (hash ${chromium.result.outputHash}) differs from Node's (${node.result.outputHash})`);
    }
    runs.Chromium = figures(chromium, audioSeconds);
  }

  printRun('Node', runs.Node);
  if (runs.Chromium) printRun('Chromium', runs.Chromium);
  else console.log(`  Chromium: skipped: ${chromium.skip}`);
  if (runs.Chromium) console.log(`  Chromium's output bytes equal Node's (FNV-1a ${node.result.outputHash})`);
  printOps(runs);
  for (const [label, f] of Object.entries(runs)) printSlowest(label, f);
  const targets = Object.entries(runs).map(([label, f]) => ({
    name: `models: ${label}: MelGAN-size real-time factor >= ${RTF_TARGET}x (one thread)`,
    figure: `${f.realTimeFactor.toFixed(1)}x`, met: f.realTimeFactor >= RTF_TARGET,
  }));
  for (const t of targets) console.log(`  ${t.met ? 'met    ' : 'NOT met'}  ${t.name}: ${t.figure}`);

  const strip = (f) => ({ ...f, samplesMs: f.samplesMs.map((v) => Number(v.toFixed(3))) });
  const report = {
    date: new Date().toISOString(),
    model: { file: path.relative(root, source.file), bytes: bytes.length, how: source.how, ...node.model },
    input: { shape: [1, node.model.inputChannels, frames], seed: INPUT_SEED, distribution: 'standard normal (mulberry32 + Box-Muller)' },
    output: { shape: node.result.outputShape, sampleRate: SAMPLE_RATE, audioSeconds, fnv1a: node.result.outputHash },
    timing: { ...timing, minForwards: MIN_FORWARDS, traces: TRACES },
    node: { info: node.info, ...strip(runs.Node) },
    chromium: runs.Chromium ? { info: chromium.info, ...strip(runs.Chromium) } : { skipped: chromium.skip },
    targets,
  };
  if (options.writeJson) {
    fs.mkdirSync(options.resultsDir, { recursive: true });
    const file = path.join(options.resultsDir, 'models.json');
    fs.writeFileSync(file, JSON.stringify(report, null, 1) + '\n');
    console.log(`  wrote ${path.relative(process.cwd(), file)}`);
  }
  return report;
}
