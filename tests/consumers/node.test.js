'use strict';
// The installed package (the packed tarball, npm-installed in a fresh
// project) as a Node application uses it: an ES module importing
// 'qconv-wasm', a CommonJS module requiring it, and one program doing both.
// Each runs with `node` in a child process and prints what the package
// computed; the outputs are compared here with PyTorch's bytes from
// tests/golden/cases_000.json.
const path = require('path');
const { spawnSync } = require('child_process');
const { consumerProject } = require('./package');
const { CASES, goldenFiles, expectGoldenOutputs } = require('./golden');

const API = ['ConvTranspose1d', 'Conv1d', 'Model', 'dequantize', 'init', 'load', 'loadModel', 'memoryStats', 'quantizePerTensor', 'version'];

// What each program does once it has the package (as `qconv`, its named
// exports bound to the same names, and `runner`, `cases`, `threads`).
// Prints one JSON report.
const BODY = `
  const info = await (threads > 1 ? init({ numThreads: threads }) : init());
  const q = { ConvTranspose1d, Conv1d, load };
  const report = { info, version, outputs: runner.runCases(q, cases) };
  report.defaultIsTheApi = ${JSON.stringify(API)}.every((k) => qconv[k] !== undefined && qconv[k] === ({
    ConvTranspose1d, Conv1d, Model, dequantize, init, load, loadModel, memoryStats, quantizePerTensor, version })[k]);
  report.roundTrips = ['ConvTranspose1d', 'Conv1d'].map((kind) => runner.roundTrip(q, cases.find((c) => c.module === kind)));
  // A later init(): without options it shares the first; asking for
  // another module (other threads, other simd) rejects.
  const settle = (p) => p.then((resolved) => ({ resolved }),
    (e) => ({ rejected: { isError: e instanceof Error, name: e.name, message: e.message } }));
  report.again = await settle(init());
  report.otherThreads = await settle(init({ numThreads: threads > 1 ? 1 : 2 }));
  report.otherSimd = await settle(init({ simd: !info.simd }));
  report.sameOptions = await settle(init(threads > 1 ? { numThreads: threads } : {}));
  // The first module still runs after the rejections.
  report.afterRejections = runner.runCases(q, cases.slice(0, 2));
  report.liveModules = memoryStats().liveModules;
  console.log(JSON.stringify(report));
`;

const ESM = `// node esm.mjs [numThreads]
import qconv, { ${API.join(', ')} } from 'qconv-wasm';
import * as namespace from 'qconv-wasm';
import { readFileSync } from 'node:fs';
import runner from './golden-runner.cjs';

const threads = Number(process.argv[2] || 1);
const { cases } = JSON.parse(readFileSync(new URL('./golden.json', import.meta.url), 'utf8'));
console.log(JSON.stringify({ resolved: import.meta.resolve('qconv-wasm'), exports: Object.keys(namespace).sort() }));
${BODY}`;

const CJS = `// node cjs.cjs [numThreads]
'use strict';
const qconv = require('qconv-wasm');
const { ${API.join(', ')} } = require('qconv-wasm');
const runner = require('./golden-runner.cjs');
const { cases } = require('./golden.json');

const threads = Number(process.argv[2] || 1);
console.log(JSON.stringify({ resolved: require.resolve('qconv-wasm'), exports: Object.keys(qconv).sort(),
  defaultIsItself: qconv.default === qconv }));
(async () => {
${BODY}
})().catch((e) => { console.error(e); process.exitCode = 1; });
`;

// import and createRequire in one ES module: both must give one instance.
const DUAL = `// node dual.mjs
import qconv, * as namespace from 'qconv-wasm';
import { createRequire } from 'node:module';
import runner from './golden-runner.cjs';
import { readFileSync } from 'node:fs';

const require = createRequire(import.meta.url);
const cjs = require('qconv-wasm');
const { cases } = JSON.parse(readFileSync(new URL('./golden.json', import.meta.url), 'utf8'));
const viaImport = await namespace.init();
// Only import's init() ran: require's copy must already be initialised (a
// second instance would throw 'not initialised' here). A module made
// through require() counts in import's heap, and is an instance of
// import's class.
const before = cjs.memoryStats().liveModules;
const kind = cases[0].module;
const made = new cjs[kind](1, 1, 1);
const viaRequire = await cjs.init();
const report = {
  resolved: { import: import.meta.resolve('qconv-wasm'), require: require.resolve('qconv-wasm') },
  defaultIsRequired: qconv === cjs,
  same: ${JSON.stringify(API)}.filter((k) => namespace[k] === cjs[k]),
  sameInitInfo: JSON.stringify(viaImport) === JSON.stringify(viaRequire),
  initInfo: viaImport,
  crossInstance: made instanceof namespace[kind],
  liveModules: [before, namespace.memoryStats().liveModules],
};
made.dispose();
report.liveAfterDispose = cjs.memoryStats().liveModules;
// Golden cases through each side: import's classes, then require's.
report.outputsImport = runner.runCases(namespace, cases.slice(0, 3));
report.outputsRequire = runner.runCases(cjs, cases.slice(0, 3));
console.log(JSON.stringify(report));
`;

let dir;
beforeAll(() => {
  dir = consumerProject('node', { 'esm.mjs': ESM, 'cjs.cjs': CJS, 'dual.mjs': DUAL, ...goldenFiles() });
}, 20 * 60 * 1000);

// Runs a program in the consumer project; returns its JSON lines.
const runs = new Map();
function run(file, ...args) {
  const key = [file, ...args].join(' ');
  if (!runs.has(key)) {
    const started = Date.now();
    const r = spawnSync(process.execPath, [file, ...args], { cwd: dir, encoding: 'utf8', timeout: 60000, maxBuffer: 64 << 20 });
    if (r.status !== 0 || r.signal) {
      throw new Error(`node ${key} in ${dir}: exit ${r.status} ${r.signal || ''}\n${r.stdout}\n${r.stderr}`);
    }
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    runs.set(key, { head: lines[0], report: lines[lines.length - 1], stderr: r.stderr, ms: Date.now() - started });
  }
  return runs.get(key);
}

afterAll(() => {
  // How long each program ran.
  console.log([...runs].map(([key, r]) => `node ${key}: ${r.ms} ms`).join('\n'));
});

const installed = (...parts) => path.join(dir, 'node_modules', 'qconv-wasm', ...parts);
const ALREADY = (loaded, asked) => new RegExp(`^init: qconv-wasm is already initialised with \\{ simd: ${loaded.simd}, ` +
  `numThreads: ${loaded.numThreads} \\}; init\\(\\{ ${asked} \\}\\) asks for another module`);

// The tests both programs pass (esm.mjs as an ES module, cjs.cjs as CommonJS).
function programTests(file, entry) {
  test(`'qconv-wasm' resolves to the installed copy's ${entry}, with the whole API`, () => {
    const { head } = run(file);
    const resolved = head.resolved.startsWith('file:') ? new URL(head.resolved).pathname : head.resolved;
    expect(resolved).toBe(installed(...entry.split('/')));
    // ESM: the named exports and the default; CommonJS: the API plus .default (itself).
    expect(head.exports).toEqual([...API, 'default'].sort());
    if (file.endsWith('.cjs')) expect(head.defaultIsItself).toBe(true);
  });

  test('init(), then the golden cases: output bytes equal PyTorch\'s', () => {
    const { report, stderr } = run(file);
    expect(report.info).toMatchObject({ threads: 1, version: report.version });
    expect(report.info.flavour).toBe(report.info.simd ? 'wasmsimd' : 'scalar');
    expect(report.defaultIsTheApi).toBe(true);
    expectGoldenOutputs(report.outputs);
    expect(stderr).toBe('');
  });

  test('init({ numThreads: 2 }) in another process: threads 2, the same bytes', () => {
    const { report, stderr } = run(file, '2');
    expect(report.info).toMatchObject({ threads: 2 });
    expectGoldenOutputs(report.outputs);
    // The program ended by itself (run() fails on a timeout): idle pool
    // workers do not keep Node running.
    expect(stderr).toBe('');
  });

  test('save() / load() round trip: the loaded modules give the golden bytes', () => {
    const { report } = run(file);
    expect(report.roundTrips.map((r) => r.loadedClass)).toEqual(['ConvTranspose1d', 'Conv1d']);
    for (const r of report.roundTrips) {
      expect(r.instanceOfClass).toBe(true);
      expect(r.resavedSame).toBe(true);
      expect(r.savedBytes).toBeGreaterThan(96);  // the header alone is 96 bytes (docs/FORMAT.md)
      expectGoldenOutputs({ [r.id]: r.viaLoad }, [r.id]);
      expectGoldenOutputs({ [r.id]: r.viaClassLoad }, [r.id]);
    }
  });

  test.each([['1', 2], ['2', 1]])('after init (numThreads %s): init({ numThreads: %d }) rejects, init() shares the first', (threads, other) => {
    const { report } = run(file, ...(threads === '1' ? [] : [threads]));
    const loaded = { simd: report.info.simd, numThreads: Number(threads) };
    expect(report.again).toEqual({ resolved: report.info });
    expect(report.sameOptions).toEqual({ resolved: report.info });
    expect(report.otherThreads.rejected).toMatchObject({ isError: true, name: 'Error' });
    expect(report.otherThreads.rejected.message).toMatch(ALREADY(loaded, `numThreads: ${other}`));
    expect(report.otherSimd.rejected).toMatchObject({ isError: true, name: 'Error' });
    expect(report.otherSimd.rejected.message).toMatch(ALREADY(loaded, `simd: ${!report.info.simd}`));
    expectGoldenOutputs(report.afterRejections, CASES.slice(0, 2).map((c) => c.id));
    expect(report.liveModules).toBe(0);
  });
}

describe('consumer: Node ESM', () => {
  programTests('esm.mjs', 'js/index.node.mjs');

  test('import and createRequire in one program: one instance (same init, same classes, one heap)', () => {
    const { report } = run('dual.mjs');
    expect(new URL(report.resolved.import).pathname).toBe(installed('js', 'index.node.mjs'));
    expect(report.resolved.require).toBe(installed('js', 'index.cjs'));
    expect(report.defaultIsRequired).toBe(true);
    expect(report.same).toEqual(API);
    expect(report.sameInitInfo).toBe(true);
    expect(report.crossInstance).toBe(true);
    expect(report.liveModules).toEqual([0, 1]);
    expect(report.liveAfterDispose).toBe(0);
    const ids = CASES.slice(0, 3).map((c) => c.id);
    expectGoldenOutputs(report.outputsImport, ids);
    expectGoldenOutputs(report.outputsRequire, ids);
  });
});

describe('consumer: Node CJS', () => {
  programTests('cjs.cjs', 'js/index.cjs');
});
