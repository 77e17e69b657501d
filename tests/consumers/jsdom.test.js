'use strict';
// The installed package in a Jest test suite with the jsdom environment, as
// a front-end project's unit tests load it: jsdom's export conditions
// (browser, then require) send require('qconv-wasm') to js/index.cjs, the
// Node loader, which reads the .wasm with fs. The consumer project has its
// own Jest config (testEnvironment: this repository's
// jest-environment-jsdom) and test file; this repository's Jest runs it in a
// child process, and the child's results are checked here.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { consumerProject, tool } = require('./package');
const { CASES, goldenFiles } = require('./golden');

const GOLDEN = path.join(__dirname, '..', 'golden', 'cases_000.json');
// The golden cases PyTorch (or the port's policy) rejects: they must throw
// the same errors under jsdom as under Node. Most of these messages come
// from the wasm core (decoded from its memory), the rest from the JS checks.
const ERROR_CASES = JSON.parse(fs.readFileSync(GOLDEN, 'utf8')).cases.filter((c) => c.expected_error);

// Run in the consumer project with node: the errors each rejected case
// throws under Node, for the jsdom test to compare with.
const NODE_ERRORS = `'use strict';
const fs = require('fs');
const q = require('qconv-wasm');
const runner = require('./golden-runner.cjs');
const { cases } = require('./golden-errors.json');
q.init().then(() => {
  const errors = {};
  for (const c of cases) {
    try {
      runner.runCases(q, [c]);
      errors[c.id] = null;
    } catch (e) {
      errors[c.id] = { name: e.name, message: e.message };
    }
  }
  fs.writeFileSync('node-errors.json', JSON.stringify(errors));
});
`;

const JEST_CONFIG = `module.exports = {
  testEnvironment: ${JSON.stringify(tool('jest-environment-jsdom'))},
  roots: ['<rootDir>/tests'],
  testMatch: ['**/*.test.js'],
  watchman: false,
  cacheDirectory: '<rootDir>/.jest-cache',
};
`;

const TEST = `'use strict';
// A front-end project's Jest test (jsdom environment) using qconv-wasm.
const path = require('path');
const { Buffer } = require('buffer');
const q = require('qconv-wasm');
const runner = require('../golden-runner.cjs');
const { cases } = require('../golden.json');
const { cases: errorCases } = require('../golden-errors.json');
const nodeErrors = require('../node-errors.json');

const bytes = (b64) => Buffer.from(b64, 'base64');

describe('qconv-wasm in the jsdom environment', () => {
  test('the environment is jsdom, and qconv-wasm resolves to the installed js/index.cjs', () => {
    expect(typeof window).toBe('object');
    expect(typeof document.createElement).toBe('function');
    expect(navigator.userAgent).toMatch(/jsdom/);
    expect(require.resolve('qconv-wasm')).toBe(path.join(__dirname, '..', 'node_modules', 'qconv-wasm', 'js', 'index.cjs'));
  });

  test('init() loads the wasm module', async () => {
    const info = await q.init();
    expect(info).toMatchObject({ threads: 1, version: q.version });
  });

  test.each(cases.map((c) => [c.id, c]))('golden case %s: the output bytes equal PyTorch\\'s', async (id, c) => {
    await q.init();
    const y = runner.runCases(q, [c])[id];
    expect(y.shape).toEqual(c.expected.shape);
    expect([y.scale, y.zeroPoint]).toEqual([c.output_scale, c.output_zero_point]);
    const got = bytes(y.data);
    const want = bytes(c.expected.data_b64);
    expect(got.length).toBe(want.length);
    expect(got.equals(want)).toBe(true);
  });

  test.each(errorCases.map((c) => [c.id, c]))('golden case %s (rejected): the same error as under Node', async (id, c) => {
    await q.init();
    let thrown = null;
    try {
      runner.runCases(q, [c]);
    } catch (e) {
      thrown = { name: e.name, message: e.message };
    }
    expect(thrown).toEqual(nodeErrors[id]);
  });

  test('save() / load() round trip', async () => {
    await q.init();
    const c = cases[0];
    const r = runner.roundTrip(q, c);
    expect(r.loadedClass).toBe(c.module);
    expect(r.instanceOfClass && r.resavedSame).toBe(true);
    expect(bytes(r.viaLoad.data).equals(bytes(c.expected.data_b64))).toBe(true);
    expect(q.memoryStats().liveModules).toBe(0);
  });
});
`;

let dir;
let nodeRun;  // node-errors.cjs, which writes node-errors.json
beforeAll(() => {
  dir = consumerProject('jsdom', {
    'jest.config.js': JEST_CONFIG,
    'tests/qconv.test.js': TEST,
    'node-errors.cjs': NODE_ERRORS,
    'golden-errors.json': JSON.stringify({ cases: ERROR_CASES }),
    ...goldenFiles(),
  });
  nodeRun = spawnSync(process.execPath, ['node-errors.cjs'], { cwd: dir, encoding: 'utf8', timeout: 60000 });
}, 20 * 60 * 1000);

describe('consumer: Jest jsdom', () => {
  test('the golden cases\' errors under Node (what jsdom must match): each an Error', () => {
    expect({ status: nodeRun.status, stderr: nodeRun.stderr }).toEqual({ status: 0, stderr: '' });
    const errors = JSON.parse(fs.readFileSync(path.join(dir, 'node-errors.json'), 'utf8'));
    expect(Object.keys(errors).sort()).toEqual(ERROR_CASES.map((c) => c.id).sort());
    for (const [id, e] of Object.entries(errors)) {
      expect({ id, name: e && e.name }).toEqual({ id, name: 'RangeError' });
      expect(e.message).toMatch(/^(ConvTranspose1d|Conv1d)(\.\w+)?: /);
    }
  });

  test('this repository\'s Jest runs the consumer\'s jsdom test suite: all its tests pass', () => {
    expect(fs.existsSync(path.join(dir, 'node-errors.json'))).toBe(true);  // written in beforeAll
    const env = { ...process.env };
    delete env.JEST_WORKER_ID;
    const r = spawnSync(process.execPath, [tool('jest', 'bin', 'jest.js'), '--ci', '--json', '--rootDir', dir],
      { cwd: dir, encoding: 'utf8', timeout: 120000, maxBuffer: 64 << 20, env });
    let results;
    try {
      results = JSON.parse(r.stdout);
    } catch (e) {
      throw new Error(`the consumer's Jest printed no JSON results (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
    }
    const assertions = results.testResults.flatMap((f) => f.assertionResults);
    const failed = assertions.filter((a) => a.status !== 'passed');
    if (failed.length || results.testResults.some((f) => f.status !== 'passed')) {
      console.log(`consumer Jest output:\n${r.stderr}`);
    }
    expect(failed.map((a) => ({ test: a.fullName, failureMessages: a.failureMessages }))).toEqual([]);
    expect(results.testResults.map((f) => [path.relative(dir, f.name), f.status]))
      .toEqual([[path.join('tests', 'qconv.test.js'), 'passed']]);
    // environment + init + each golden case + each rejected case + round trip
    const expectedCount = 2 + CASES.length + ERROR_CASES.length + 1;
    expect({ passed: results.numPassedTests, failed: results.numFailedTests, total: results.numTotalTests })
      .toEqual({ passed: expectedCount, failed: 0, total: expectedCount });
    expect(results.success).toBe(true);
    expect(r.status).toBe(0);
    console.log(`consumer Jest (jsdom): ${results.numPassedTests} of ${results.numTotalTests} tests passed`);
  });
});
