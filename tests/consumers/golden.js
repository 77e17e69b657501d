'use strict';
// Golden cases for the consumer tests: a few PyTorch-generated cases from
// tests/golden/cases_000.json (copied into consumer projects as data, with
// fixtures/golden-runner.cjs to run them), and the expected bytes to compare
// what the consumer programs print with. Expected bytes come only from the
// golden file (PyTorch's output), never from this package.
const fs = require('fs');
const path = require('path');

const GOLDEN = path.join(__dirname, '..', 'golden', 'cases_000.json');
const RUNNER = path.join(__dirname, 'fixtures', 'golden-runner.cjs');

// One case of each kind the file has (module, weight qscheme, padding mode,
// output_size given or not, groups), small enough to print, and with at
// least 16 distinct expected output bytes (a saturated output could hide a
// wrong computation).
function pickGoldenCases() {
  const { format, cases } = JSON.parse(fs.readFileSync(GOLDEN, 'utf8'));
  if (format !== 'qconv1d-golden-v1') throw new Error(`${GOLDEN}: unknown format ${format}`);
  const seen = new Set();
  const picked = [];
  for (const c of cases) {
    if (!c.expected) continue;  // expected_error cases
    const kind = [c.module, c.weight.qscheme, c.params.padding_mode, c.output_size ? 'output_size' : '',
      c.params.groups > 1 ? 'groups' : ''].join('/');
    const elements = c.expected.shape.reduce((a, b) => a * b, 1);
    if (seen.has(kind) || elements > 20000) continue;
    if (new Set(Buffer.from(c.expected.data_b64, 'base64')).size < 16) continue;
    seen.add(kind);
    picked.push(c);
  }
  return picked;
}

const CASES = pickGoldenCases();

// The project files: the cases as data and the runner.
function goldenFiles() {
  return {
    'golden.json': JSON.stringify({ cases: CASES }),
    'golden-runner.cjs': fs.readFileSync(RUNNER, 'utf8'),
    'golden-cases.js': fs.readFileSync(path.join(__dirname, '..', 'js', 'golden-cases.js'), 'utf8'),
  };
}

const byId = (id) => {
  const c = CASES.find((x) => x.id === id);
  if (!c) throw new Error(`no golden case ${id}`);
  return c;
};

// What a consumer printed for a case, in the terms the golden file uses.
function asGolden(printed) {
  return { shape: printed.shape, scale: printed.scale, zeroPoint: printed.zeroPoint, data: Buffer.from(printed.data, 'base64') };
}

function expectedOf(id) {
  const c = byId(id);
  return { shape: c.expected.shape, scale: c.output_scale, zeroPoint: c.output_zero_point,
    data: Buffer.from(c.expected.data_b64, 'base64') };
}

// Jest assertion: every case in `printed` ({ id: encoded output }) has the
// golden bytes, and all the picked cases are there.
function expectGoldenOutputs(printed, ids = CASES.map((c) => c.id)) {
  expect(Object.keys(printed).sort()).toEqual([...ids].sort());
  for (const id of ids) {
    const got = asGolden(printed[id]);
    const want = expectedOf(id);
    expect({ id, shape: got.shape, scale: got.scale, zeroPoint: got.zeroPoint })
      .toEqual({ id, shape: want.shape, scale: want.scale, zeroPoint: want.zeroPoint });
    expect(got.data.length).toBe(want.data.length);
    const differing = want.data.reduce((n, v, i) => n + (v !== got.data[i]), 0);
    expect({ id, differing }).toEqual({ id, differing: 0 });
  }
}

module.exports = { CASES, goldenFiles, expectedOf, asGolden, expectGoldenOutputs };
