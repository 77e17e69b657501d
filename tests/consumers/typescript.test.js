'use strict';
// The installed package's declarations as TypeScript users see them: tsc
// (this repository's devDependency) over small programs in a fresh project
// that npm-installed the tarball, under moduleResolution node16, nodenext
// and bundler. An ES module importing 'qconv-wasm' must get
// js/index.d.mts, a CommonJS one requiring it js/index.d.cts (checked with
// --explainFiles). Each program has one `// @ts-expect-error` wrong call; a
// copy without those comments must fail on exactly those lines, so the
// check can fail. Under node16 and nodenext the emitted JS runs with node
// (init and a golden case, compared with PyTorch's bytes): the types
// describe what runs.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { consumerProject, tool } = require('./package');
const { CASES, goldenFiles, expectGoldenOutputs } = require('./golden');

const TSC = tool('typescript', 'bin', 'tsc');
const TS_VERSION = require(tool('typescript', 'package.json')).version;

// The golden cases the emitted programs run: a ConvTranspose1d forward with
// an output_size (the ES module), a Conv1d with reflect padding (CommonJS).
const ESM_CASE = CASES.find((c) => c.module === 'ConvTranspose1d' && c.output_size);
const CJS_CASE = CASES.find((c) => c.module === 'Conv1d' && c.params.padding_mode === 'reflect');

// What both programs declare: a golden case with its bytes decoded (the
// driver decodes them; the programs use no Node API, so no @types/node).
const CASE_TYPE = (ns) => `type Params = {
  in_channels: number; out_channels: number; kernel_size: number; stride: number; padding: number;
  output_padding: number; dilation: number; groups: number; bias: boolean; padding_mode: 'zeros' | 'reflect';
};
export interface Case {
  module: 'ConvTranspose1d' | 'Conv1d';
  params: Params;
  weight: ${ns}QuantizedWeight;
  bias: Float32Array | null;
  input: ${ns}QTensor;
  outputScale: number;
  outputZeroPoint: number;
  outputSize: number[] | null;
}`;

// Builds the case's module with PyTorch's positional parameters and runs it.
const RUN = (ns, init, T, C, CType = C) => `export async function run(c: Case): Promise<{ info: ${ns}InitInfo; output: ${ns}QTensor }> {
  const info: ${ns}InitInfo = await ${init}();
  const p = c.params;
  let m: ${T} | ${CType};
  if (c.module === 'ConvTranspose1d') {
    if (p.padding_mode !== 'zeros') throw new RangeError('ConvTranspose1d pads with zeros only');
    m = new ${T}(p.in_channels, p.out_channels, p.kernel_size, p.stride, p.padding, p.output_padding,
      p.groups, p.bias, p.dilation, p.padding_mode);
  } else {
    m = new ${C}(p.in_channels, p.out_channels, p.kernel_size, p.stride, p.padding, p.dilation,
      p.groups, p.bias, p.padding_mode);
  }
  m.setWeightBias(c.weight, c.bias);
  m.scale = c.outputScale;
  m.zeroPoint = c.outputZeroPoint;
  const output: ${ns}QTensor = m instanceof ${T} && c.outputSize ? m.forward(c.input, c.outputSize) : m.forward(c.input);
  m.dispose();
  return { info, output };
}`;

// An ES module: named imports, the default import and type imports.
const ESM_PROGRAM = (mode) => `// tsc, moduleResolution ${mode}: an ES module importing 'qconv-wasm'.
import qconv, { init, ConvTranspose1d } from 'qconv-wasm';
import type { InitInfo, QTensor, QuantizedWeight, Conv1d } from 'qconv-wasm';

${CASE_TYPE('')}

${RUN('', 'init', 'ConvTranspose1d', 'qconv.Conv1d', 'Conv1d')}

export function wrongCall(m: Conv1d): void {
  // @ts-expect-error the output scale is a number
  m.scale = '0.5';
}
`;

// A CommonJS module: import = require (types through the namespace).
const CJS_PROGRAM = (mode) => `// tsc, moduleResolution ${mode}: a CommonJS module requiring 'qconv-wasm'.
import qconv = require('qconv-wasm');

${CASE_TYPE('qconv.')}

${RUN('qconv.', 'qconv.init', 'qconv.ConvTranspose1d', 'qconv.Conv1d')}

export function wrongCall(): void {
  // @ts-expect-error paddingMode 'reflect' is a Conv1d option; ConvTranspose1d has only 'zeros'
  new qconv.ConvTranspose1d(16, 16, 3, { paddingMode: 'reflect' });
}
`;

const COMPILER = { target: 'es2022', lib: ['es2022'], types: [], strict: true, noUnusedLocals: true, skipLibCheck: false };

// config -> { compilerOptions, files: { name: [text, 'import' | 'require'] }, emit }
const CONFIGS = {
  node16: {
    compilerOptions: { module: 'node16', moduleResolution: 'node16' },
    files: { 'esm.mts': [ESM_PROGRAM('node16'), 'import'], 'cjs.cts': [CJS_PROGRAM('node16'), 'require'] },
    emit: true,
  },
  nodenext: {
    compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext' },
    files: { 'esm.mts': [ESM_PROGRAM('nodenext'), 'import'], 'cjs.cts': [CJS_PROGRAM('nodenext'), 'require'] },
    emit: true,
  },
  // A bundler's view (module "preserve": import and import = require as written).
  bundler: {
    compilerOptions: { module: 'preserve', moduleResolution: 'bundler', noEmit: true },
    files: { 'app.ts': [ESM_PROGRAM('bundler'), 'import'], 'req.ts': [CJS_PROGRAM('bundler'), 'require'] },
    emit: false,
  },
};

// TypeScript 7 removed moduleResolution "node10" ("node"); where it still
// exists, a CommonJS .ts program requiring the package checks it too.
const TS_MAJOR = Number(TS_VERSION.split('.')[0]);
const NODE10 = {
  compilerOptions: { module: 'commonjs', moduleResolution: 'node10', noEmit: true },
  files: { 'req.ts': [CJS_PROGRAM('node10'), 'require'] },
};

function tsconfig(config, extra = {}) {
  return JSON.stringify({
    compilerOptions: { ...COMPILER, ...config.compilerOptions, outDir: 'out', ...extra },
    files: Object.keys(config.files),
  }, null, 2);
}

// The driver that runs an emitted program on a golden case (plain JS).
const DRIVER = `// node drive.mjs COMPILED_FILE CASE_ID
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import path from 'node:path';

const [file, id] = process.argv.slice(2);
const { cases } = JSON.parse(readFileSync(new URL('./golden.json', import.meta.url), 'utf8'));
const c = cases.find((x) => x.id === id);
const typed = (b64, Type) => {
  const bytes = new Uint8Array(Buffer.from(b64, 'base64'));
  return new Type(bytes.buffer, 0, bytes.length / Type.BYTES_PER_ELEMENT);
};
const perChannel = c.weight.qscheme === 'per_channel';
const program = file.endsWith('.cjs') ? createRequire(import.meta.url)(path.resolve(file))
  : await import(pathToFileURL(path.resolve(file)).href);
const { info, output } = await program.run({
  module: c.module,
  params: c.params,
  weight: { data: typed(c.weight.data_b64, Int8Array), shape: c.weight.shape,
    scale: perChannel ? c.weight.scales : c.weight.scales[0],
    zeroPoint: perChannel ? c.weight.zero_points : c.weight.zero_points[0] },
  bias: c.bias ? typed(c.bias.data_b64, Float32Array) : null,
  input: { data: typed(c.input.data_b64, Uint8Array), shape: c.input.shape, scale: c.input.scale, zeroPoint: c.input.zero_point },
  outputScale: c.output_scale,
  outputZeroPoint: c.output_zero_point,
  outputSize: c.output_size,
});
console.log(JSON.stringify({ info, output: { shape: output.shape, scale: output.scale, zeroPoint: output.zeroPoint,
  data: Buffer.from(output.data.buffer, output.data.byteOffset, output.data.byteLength).toString('base64') } }));
`;

let dir;
beforeAll(() => {
  const files = { 'drive.mjs': DRIVER, ...goldenFiles() };
  for (const [name, config] of Object.entries(CONFIGS)) {
    files[`${name}/tsconfig.json`] = tsconfig(config);
    for (const [file, [text]] of Object.entries(config.files)) files[`${name}/${file}`] = text;
  }
  files['node10/tsconfig.json'] = tsconfig(NODE10);
  for (const [file, [text]] of Object.entries(NODE10.files)) files[`node10/${file}`] = text;
  dir = consumerProject('typescript', files);
}, 20 * 60 * 1000);

function tsc(project, ...args) {
  const r = spawnSync(process.execPath, [TSC, '-p', project, '--pretty', 'false', ...args],
    { cwd: dir, encoding: 'utf8', timeout: 120000, maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

// The lines (1-based) after each @ts-expect-error, per file.
function expectedErrorLines(files) {
  return Object.fromEntries(Object.entries(files).map(([name, [text]]) => [name,
    text.split('\n').flatMap((l, i) => (/\/\/ @ts-expect-error/.test(l) ? [i + 2] : []))]));
}

describe('consumer: TypeScript', () => {
  describe.each(Object.keys(CONFIGS))('moduleResolution %s', (name) => {
    const config = CONFIGS[name];

    test(`tsc ${config.emit ? 'type-checks and emits' : 'type-checks'} with 0 errors`, () => {
      const { status, out } = tsc(name);
      expect(out).toBe('');
      expect(status).toBe(0);
    });

    test('import resolves to node_modules/qconv-wasm/js/index.d.mts, require to js/index.d.cts (--explainFiles)', () => {
      const { status, out } = tsc(name, '--explainFiles', '--noEmit');
      expect(status).toBe(0);
      // "<file>\n   Imported via 'qconv-wasm' from file '<importer>' ..." -> importer: file
      const resolved = {};
      let current = null;
      for (const line of out.split('\n')) {
        if (/^\S/.test(line)) current = line.trim();
        const m = /^\s+Imported via 'qconv-wasm' from file '([^']+)'/.exec(line);
        if (m) resolved[path.basename(m[1])] = current;
      }
      const want = Object.fromEntries(Object.entries(config.files).map(([file, [, how]]) =>
        [file, `node_modules/qconv-wasm/js/index.d.${how === 'import' ? 'mts' : 'cts'}`]));
      expect(resolved).toEqual(want);
    });

    test('a copy without the @ts-expect-error comments fails on exactly those lines', () => {
      const expected = expectedErrorLines(config.files);
      for (const lines of Object.values(expected)) expect(lines).toHaveLength(1);
      const copy = path.join(dir, `${name}-unchecked`);
      fs.rmSync(copy, { recursive: true, force: true });
      fs.mkdirSync(copy);
      fs.writeFileSync(path.join(copy, 'tsconfig.json'), tsconfig(config, { noEmit: true }));
      for (const [file, [text]] of Object.entries(config.files)) {
        fs.writeFileSync(path.join(copy, file), text.replace(/\/\/ @ts-expect-error.*/g, '//'));
      }
      const { status, out } = tsc(copy);
      expect(status).not.toBe(0);
      const errors = [...out.matchAll(/([\w.]+)\((\d+),\d+\): error TS\d+/g)].map((m) => `${m[1]}:${m[2]}`);
      const want = Object.entries(expected).flatMap(([file, lines]) => lines.map((l) => `${file}:${l}`));
      expect(errors.sort()).toEqual(want.sort());
    });

    if (config.emit) test('the emitted JS runs with node: init() and a golden case give PyTorch\'s bytes', () => {
      expect(tsc(name)).toEqual({ status: 0, out: '' });
      // The emitted .mjs imports the package, the .cjs requires it.
      const emitted = { 'esm.mts': 'esm.mjs', 'cjs.cts': 'cjs.cjs' };
      for (const [source, [, how]] of Object.entries(config.files)) {
        const file = path.join(dir, name, 'out', emitted[source]);
        const text = fs.readFileSync(file, 'utf8');
        expect(text).toMatch(how === 'import' ? /^import .* from ['"]qconv-wasm['"];$/m : /\brequire\(['"]qconv-wasm['"]\)/);
        const c = how === 'import' ? ESM_CASE : CJS_CASE;
        const r = spawnSync(process.execPath, ['drive.mjs', file, c.id], { cwd: dir, encoding: 'utf8', timeout: 60000 });
        expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
        const { info, output } = JSON.parse(r.stdout);
        expect(info).toMatchObject({ threads: 1 });
        expectGoldenOutputs({ [c.id]: output }, [c.id]);
      }
    });
  });

  if (TS_MAJOR >= 7) {
    test(`moduleResolution node10 ("node"): TypeScript ${TS_VERSION} removed it (attw checks node10 with its own TypeScript)`, () => {
      const { status, out } = tsc('node10');
      expect(status).not.toBe(0);
      expect(out).toMatch(/error TS5108: Option 'moduleResolution=node10' has been removed/);
    });
  } else {
    test(`moduleResolution node10: require resolves to js/index.d.cts, with 0 errors (TypeScript ${TS_VERSION})`, () => {
      const { status, out } = tsc('node10', '--explainFiles');
      expect(status).toBe(0);
      expect(out).toMatch(/^node_modules\/qconv-wasm\/js\/index\.d\.cts\n(\s+.*\n)*\s+Imported via 'qconv-wasm' from file 'node10\/req\.ts'/m);
    });
  }
});
