// Writes dist/api.cjs, the CommonJS form of js/api.mjs (one source for both
// module systems). api.mjs exports one function (createQconv) and may import
// named functions from sibling files; those files are inlined without their
// `export` keywords, and may import from each other only what api.mjs also
// inlines (all of them end up in one scope). A checked rewrite rather than a
// bundler.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';

const root = fileURLToPath(new URL('..', import.meta.url));
const fail = (message) => { throw new Error(`build-js: ${message}`); };

const importLine = /^import \{([^}]*)\} from '\.\/([\w-]+\.mjs)';\n/gm;
const exportKeyword = /^export (function|const|class) /gm;

let source = readFileSync(`${root}js/api.mjs`, 'utf8');
const inlined = [];
const inlinedFiles = [...source.matchAll(importLine)].map((m) => m[2]);
source = source.replace(importLine, (_, names, file) => {
  let text = readFileSync(`${root}js/${file}`, 'utf8');
  text = text.replace(importLine, (line, _names, from) => {
    if (!inlinedFiles.includes(from)) fail(`js/${file} imports js/${from}, which js/api.mjs does not inline`);
    return '';
  });
  if (/^import /m.test(text)) fail(`js/${file}: only named imports of sibling files can be inlined`);
  const body = text.replace(exportKeyword, '$1 ');
  if (/^export /m.test(body)) fail(`js/${file}: only 'export function|const|class' declarations can be inlined`);
  for (const name of names.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (!new RegExp(`^(function|const|class) ${name}\\b`, 'm').test(body)) {
      fail(`js/${file} does not declare ${name}`);
    }
  }
  inlined.push(`// ---- inlined from js/${file} ----\n${body}`);
  return '';
});
const exportLine = /^export function createQconv\(/m;
if (!exportLine.test(source) || /^(import|export) /m.test(source.replace(exportLine, ''))) {
  fail('js/api.mjs must have exactly one export (createQconv) and only named imports of sibling files');
}
const cjs = "'use strict';\n// Generated from js/api.mjs by scripts/build-js.mjs: do not edit.\n" +
  source.replace(exportLine, 'function createQconv(') + '\n' + inlined.join('\n') +
  '\nmodule.exports = { createQconv };\n';
mkdirSync(`${root}dist`, { recursive: true });
writeFileSync(`${root}dist/api.cjs`, cjs);
// A name declared twice (in api.mjs and an inlined file) is a SyntaxError here.
execFileSync(process.execPath, ['--check', `${root}dist/api.cjs`], { stdio: 'inherit' });
