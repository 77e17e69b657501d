'use strict';
// The TypeScript declarations (js/index.d.cts, and js/index.d.mts for import) as users see them: `tsc
// --noEmit` over small programs importing 'qconv-wasm' by its package name
// (a self-reference, resolved through package.json "exports" and its
// "types" condition), with moduleResolution "bundler" (a browser app) and
// "node16" (an .mts importing it and a .cts requiring it). Each program has
// one `// @ts-expect-error` wrong call; a copy without those comments must
// then fail on exactly those lines, so the check can fail.
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const ROOT = path.join(__dirname, '..', '..');
const TYPES = path.join(ROOT, 'tests', 'types');
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const CONFIGS = ['bundler', 'node16'];

function tsc(project) {
  try {
    const out = execFileSync(process.execPath, [TSC, '--noEmit', '--pretty', 'false', '-p', project],
      { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { status: 0, out };
  } catch (e) {
    if (typeof e.status !== 'number') throw e;
    return { status: e.status, out: `${e.stdout}${e.stderr}` };
  }
}

// file -> line numbers (1-based) of the lines after each @ts-expect-error.
function expectedErrorLines(dir) {
  const lines = {};
  for (const name of fs.readdirSync(dir).filter((n) => /\.[cm]?ts$/.test(n))) {
    const text = fs.readFileSync(path.join(dir, name), 'utf8').split('\n');
    lines[name] = text.flatMap((l, i) => (/\/\/ @ts-expect-error/.test(l) ? [i + 2] : []));
  }
  return lines;
}

describe.each(CONFIGS)('tsc -p tests/types/%s', (config) => {
  const dir = path.join(TYPES, config);

  test('type-checks with 0 errors', () => {
    const { status, out } = tsc(dir);
    expect(out).toBe('');
    expect(status).toBe(0);
  });

  test('the declarations resolve from js/index.d.mts (import) and js/index.d.cts (through package.json "exports")', () => {
    const out = execFileSync(process.execPath, [TSC, '--noEmit', '--listFiles', '-p', dir],
      { cwd: ROOT, encoding: 'utf8' });
    // index.d.mts re-exports index.d.cts, so an import lists both.
    expect(out.split('\n')).toEqual(expect.arrayContaining([
      path.join(ROOT, 'js', 'index.d.mts'), path.join(ROOT, 'js', 'index.d.cts')]));
  });

  test('fails where the wrong calls are, once their @ts-expect-error is removed', () => {
    const expected = expectedErrorLines(dir);
    for (const lines of Object.values(expected)) expect(lines).toHaveLength(1);
    // The copy lives inside the package (build/ is git-ignored), so that
    // 'qconv-wasm' still resolves as a self-reference.
    const copy = path.join(ROOT, 'build', 'types-check', config);
    fs.rmSync(copy, { recursive: true, force: true });
    fs.mkdirSync(copy, { recursive: true });
    for (const name of fs.readdirSync(dir)) {
      const text = fs.readFileSync(path.join(dir, name), 'utf8');
      fs.writeFileSync(path.join(copy, name), text.replace(/\/\/ @ts-expect-error.*/g, '//'));
    }
    try {
      const { status, out } = tsc(copy);
      expect(status).not.toBe(0);
      const errors = [...out.matchAll(/([\w.]+)\((\d+),\d+\): error TS\d+/g)].map((m) => `${m[1]}:${m[2]}`);
      const want = Object.entries(expected).flatMap(([name, lines]) => lines.map((l) => `${name}:${l}`));
      expect(errors.sort()).toEqual(want.sort());
    } finally {
      fs.rmSync(copy, { recursive: true, force: true });
      try { fs.rmdirSync(path.dirname(copy)); } catch { /* the other config's copy is still there */ }
    }
  });
});
