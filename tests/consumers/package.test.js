'use strict';
// The packed tarball itself, as `npm publish` would upload it: packed from a
// clean copy of the sources (package.js), so the package's prepack step
// builds dist/ there. Checks what it ships (an exact list), that prepack
// ran, and what publint and @arethetypeswrong/cli (attw) say about it.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { ROOT, WORK, NAME, VERSION, packedPackage, consumerProject, sourceFiles, tool } = require('./package');

const FLAVOURS = ['simd', 'scalar', 'simd-mt'];

// What the package must ship, by hand: nothing else.
const EXPECTED_FILES = [
  'package.json', 'README.md', 'LICENSE',
  // The runtime: the entries (index.node.mjs and index.cjs for Node,
  // index.browser.mjs elsewhere), the Node and browser loaders, the API's
  // ES modules (the browser entry imports them; dist/api.cjs is their
  // CommonJS form), and the declarations for import (.d.mts) and require (.d.cts).
  ...['index.node.mjs', 'index.cjs', 'index.browser.mjs', 'node-loader.cjs', 'browser-loader.mjs',
    'api.mjs', 'args.mjs', 'bound.mjs', 'caller-values.mjs', 'float-conv.mjs', 'format.mjs', 'from-float.mjs',
    'init-checks.mjs', 'load.mjs', 'model.mjs', 'model-format.mjs', 'modules.mjs', 'observers.mjs', 'runtime.mjs',
    'stream.mjs', 'tensors.mjs',
    'index.d.mts', 'index.d.cts'].map((f) => `js/${f}`),
  // The CommonJS API, and each flavour's wasm module with its ES-module and
  // CommonJS glue; the threaded one also has its worker script in both forms.
  'dist/api.cjs',
  ...FLAVOURS.flatMap((f) => ['mjs', 'cjs', 'wasm'].map((ext) => `dist/qconv-${f}.${ext}`)),
  'dist/qconv-simd-mt.worker.js', 'dist/qconv-simd-mt.worker.cjs',
  // The PyTorch exporter and its bin.
  'tools/export_torch.py', 'tools/export-torch.cjs',
  ...['API.md', 'ARCHITECTURE.md', 'FORMAT.md', 'MODEL-FORMAT.md', 'SEMANTICS.md'].map((f) => `docs/${f}`),
].sort();

// The exports map's asset subpaths: .wasm files (for bundlers and
// `new URL(import.meta.resolve(...))`), which have no types by design. attw
// reports them as "Resolution failed" (it looks for JavaScript or
// declarations), so they are excluded from its check; the test asserts that
// the excluded subpaths are exactly the exports that point at .wasm files.
const WASM_SUBPATHS = ['./wasm/simd', './wasm/scalar', './wasm/simd-mt'];

let packed;
let installed;
beforeAll(() => {
  packed = packedPackage();
  installed = path.join(consumerProject('package'), 'node_modules', NAME);
}, 20 * 60 * 1000);

// A Node program's JSON output (publint's API is an ES module).
function nodeJson(args, options = {}) {
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 120000, ...options });
  if (r.error) throw r.error;
  return { status: r.status, json: r.stdout.trim() ? JSON.parse(r.stdout) : null, stderr: r.stderr };
}

describe('consumer: the packed tarball', () => {
  test('ships exactly the expected files (no tests, no src, no build/)', () => {
    expect(packed.files).toEqual(EXPECTED_FILES);
    expect(packed.files.filter((f) => /^(tests|src|build|bindings|include|scripts|node_modules)\//.test(f))).toEqual([]);
    // npm installed the same files.
    const walk = (dir) => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory()
      ? walk(path.join(dir, e.name)).map((f) => `${e.name}/${f}`) : [e.name]));
    expect(walk(installed).sort()).toEqual(EXPECTED_FILES);
  });

  test('the js/ runtime files are exactly the ones the entries import', () => {
    // Follows the relative imports and requires from package.json's
    // entries (exports, main, module) through the installed copy.
    const pkg = JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8'));
    const targets = (v) => (typeof v === 'string' ? [v] : Object.values(v).flatMap(targets));
    const entries = [...targets(pkg.exports['.']), pkg.main, pkg.module];
    const reached = new Set();
    const visit = (file) => {
      if (reached.has(file)) return;
      reached.add(file);
      if (!/\.[cm]?js$/.test(file) || file.endsWith('.d.mts') || file.endsWith('.d.cts')) return;
      const text = fs.readFileSync(path.join(installed, file), 'utf8');
      for (const m of text.matchAll(/(?:from|import\(|require\()\s*'(\.{1,2}\/[^']+)'/g)) {
        visit(path.posix.normalize(path.posix.join(path.posix.dirname(file), m[1])));
      }
    };
    for (const e of entries) visit(path.posix.normalize(e));
    const runtime = (f) => f.startsWith('js/') && !/\.d\.[cm]ts$/.test(f);
    expect([...reached].filter(runtime).sort()).toEqual(packed.files.filter(runtime));
    expect(reached.has('dist/api.cjs')).toBe(true);
  });

  test('the pack ran prepack: scripts/prepack.sh built dist/ in the clean copy', () => {
    expect(packed.log).toContain(`> ${NAME}@${VERSION} prepack\n> bash scripts/prepack.sh`);
    // The copy npm packed had no dist/ (git ignores it)...
    expect(sourceFiles().filter((f) => /^(dist|build|node_modules)\//.test(f))).toEqual([]);
    // ...so the dist/ files in the tarball are the ones prepack built there
    // (scripts/build.sh wasm leaves its log in build/).
    const source = path.join(WORK, 'source');
    expect(fs.existsSync(path.join(source, 'build', 'wasm-build.log'))).toBe(true);
    const dist = packed.files.filter((f) => f.startsWith('dist/'));
    expect(fs.readdirSync(path.join(source, 'dist')).map((f) => `dist/${f}`).sort()).toEqual(dist);
    for (const f of dist) {
      expect({ f, same: fs.readFileSync(path.join(source, f)).equals(fs.readFileSync(path.join(installed, f))) })
        .toEqual({ f, same: true });
    }
    expect(fs.statSync(path.join(source, 'build', 'wasm-build.log')).mtimeMs)
      .toBeLessThanOrEqual(fs.statSync(packed.tarball).mtimeMs);
  });

  test('publint: 0 errors, 0 warnings (on the tarball and on the installed copy)', () => {
    // publint's Node API: on the tarball's bytes, and on the installed copy
    // (pack: false: every file there is published).
    const program = `
      import { publint } from ${JSON.stringify(tool('publint', 'src', 'index-node.js'))};
      import { formatMessage } from ${JSON.stringify(tool('publint', 'src', 'utils.js'))};
      import { readFileSync } from 'node:fs';
      const bytes = readFileSync(process.argv[1]);
      const results = {};
      for (const [name, options] of [
        ['tarball', { pack: { tarball: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) } }],
        ['installed', { pkgDir: process.argv[2], pack: false }],
      ]) {
        const { messages, pkg } = await publint({ ...options, level: 'suggestion' });
        results[name] = messages.map((m) => ({ type: m.type, code: m.code, text: formatMessage(m, pkg, { color: false }) }));
      }
      console.log(JSON.stringify(results));`;
    const { status, json, stderr } = nodeJson(['--input-type=module', '-e', program, packed.tarball, installed]);
    expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
    for (const [where, messages] of Object.entries(json)) {
      const of = (type) => messages.filter((m) => m.type === type);
      console.log(`publint (${where}): ${of('error').length} errors, ${of('warning').length} warnings, ` +
        `${of('suggestion').length} suggestions${of('suggestion').map((m) => `\n  suggestion ${m.code}: ${m.text}`).join('')}`);
      expect({ where, errors: of('error'), warnings: of('warning') }).toEqual({ where, errors: [], warnings: [] });
    }
  });

  test('attw (@arethetypeswrong/cli): no problems for "." and "./package.json" under node10, node16 (CJS, ESM), bundler', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8'));
    const wasmSubpaths = Object.keys(pkg.exports).filter((k) => typeof pkg.exports[k] === 'string' && pkg.exports[k].endsWith('.wasm'));
    expect(wasmSubpaths.sort()).toEqual([...WASM_SUBPATHS].sort());
    expect(Object.keys(pkg.exports).filter((k) => !WASM_SUBPATHS.includes(k)).sort()).toEqual(['.', './package.json']);

    const attw = tool('@arethetypeswrong', 'cli', 'dist', 'index.js');
    const { status, json, stderr } = nodeJson([attw, packed.tarball, '--format', 'json', '--no-color',
      '--exclude-entrypoints', ...WASM_SUBPATHS], { cwd: path.dirname(packed.tarball) });
    expect(stderr).toBe('');
    const { analysis, problems } = json;
    const summary = Object.entries(analysis.entrypoints).map(([subpath, e]) => `${subpath}: ${
      Object.entries(e.resolutions).map(([kind, r]) => `${kind} -> ${r.resolution ? r.resolution.fileName : 'none'}`).join(', ')}`);
    console.log(`attw ${analysis.packageName}@${analysis.packageVersion} (types: ${analysis.types.kind}):\n  ${summary.join('\n  ')}\n` +
      `  problems: ${JSON.stringify(problems)}`);
    expect(problems).toEqual({});
    expect(analysis.problems).toEqual([]);
    expect(analysis.packageName).toBe(NAME);
    expect(Object.keys(analysis.entrypoints).sort()).toEqual(['.', './package.json']);
    for (const e of Object.values(analysis.entrypoints)) {
      expect(Object.keys(e.resolutions).sort()).toEqual(['bundler', 'node10', 'node16-cjs', 'node16-esm']);
    }
    // The types each resolution mode finds for '.'.
    const types = Object.fromEntries(Object.entries(analysis.entrypoints['.'].resolutions)
      .map(([kind, r]) => [kind, r.resolution && r.resolution.fileName]));
    expect(types).toEqual({
      node10: `/node_modules/${NAME}/js/index.d.cts`,
      'node16-cjs': `/node_modules/${NAME}/js/index.d.cts`,
      'node16-esm': `/node_modules/${NAME}/js/index.d.mts`,
      bundler: `/node_modules/${NAME}/js/index.d.mts`,
    });
    expect(status).toBe(0);
  });

  test('npm has nothing to correct in package.json (npm publish would otherwise rewrite or drop fields, e.g. a bin path starting with ./)', () => {
    const scratch = path.join(WORK, 'pkg-fix');
    fs.rmSync(scratch, { recursive: true, force: true });
    fs.mkdirSync(scratch, { recursive: true });
    // The sources' package.json (npm install may normalize the installed copy's).
    fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(scratch, 'package.json'));
    fs.mkdirSync(path.join(scratch, 'tools'));
    fs.copyFileSync(path.join(ROOT, 'tools', 'export-torch.cjs'), path.join(scratch, 'tools', 'export-torch.cjs'));
    const before = fs.readFileSync(path.join(scratch, 'package.json'), 'utf8');
    const fix = spawnSync('npm', ['pkg', 'fix'], { cwd: scratch, encoding: 'utf8' });
    expect(fix.status).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(scratch, 'package.json'), 'utf8'))).toEqual(JSON.parse(before));
    // The exporter command, as npm links it for the projects that install the package.
    expect(JSON.parse(before).bin).toEqual({ 'qconv-export-torch': 'tools/export-torch.cjs' });
  });

  test('prepack refuses to pack when a file package.json names is missing or empty (check-package-files)', () => {
    // A copy of what the check reads, with one dist/ file gone and one empty.
    const scratch = path.join(WORK, 'files-check');
    fs.rmSync(scratch, { recursive: true, force: true });
    fs.mkdirSync(path.join(scratch, 'scripts'), { recursive: true });
    fs.copyFileSync(path.join(ROOT, 'scripts', 'check-package-files.mjs'), path.join(scratch, 'scripts', 'check-package-files.mjs'));
    for (const f of packed.files) {
      fs.mkdirSync(path.join(scratch, path.dirname(f)), { recursive: true });
      fs.copyFileSync(path.join(installed, f), path.join(scratch, f));
    }
    const check = () => spawnSync(process.execPath, [path.join(scratch, 'scripts', 'check-package-files.mjs')], { encoding: 'utf8' });
    expect(check().status).toBe(0);
    fs.rmSync(path.join(scratch, 'dist', 'qconv-simd-mt.worker.js'));
    fs.writeFileSync(path.join(scratch, 'dist', 'qconv-scalar.wasm'), '');
    const failed = check();
    expect(failed.status).toBe(1);
    expect(failed.stderr).toContain('dist/qconv-simd-mt.worker.js is missing');
    expect(failed.stderr).toContain('dist/qconv-scalar.wasm is empty');
  });

  test('writes its size and file count to build/consumers/tarball.json', () => {
    expect(packed.size).toBe(fs.statSync(packed.tarball).size);
    const record = { files: packed.files.length, size: packed.size };
    fs.writeFileSync(path.join(WORK, 'tarball.json'), `${JSON.stringify(record)}\n`);
    console.log(`tarball ${path.basename(packed.tarball)}: ${record.size} bytes, ${record.files} files`);
    expect(record.files).toBe(EXPECTED_FILES.length);
  });
});
