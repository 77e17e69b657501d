// Writes dist/api.cjs, the CommonJS form of js/api.mjs (one source for both
// module systems). api.mjs has one export and no imports, so the rewrite is
// a checked one-liner rather than a bundler.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const source = readFileSync(`${root}js/api.mjs`, 'utf8');
const exportLine = /^export function createQconv\(/m;
if (!exportLine.test(source) || /^(import|export) /m.test(source.replace(exportLine, ''))) {
  throw new Error('build-js: js/api.mjs must have exactly one export (createQconv) and no imports');
}
const cjs = "'use strict';\n// Generated from js/api.mjs by scripts/build-js.mjs: do not edit.\n" +
  source.replace(exportLine, 'function createQconv(') +
  '\nmodule.exports = { createQconv };\n';
mkdirSync(`${root}dist`, { recursive: true });
writeFileSync(`${root}dist/api.cjs`, cjs);
