// Writes dist/api.cjs, the CommonJS form of js/api.mjs (one source for both
// module systems). api.mjs exports one function (createQconv); it and the
// files it imports may import named declarations from sibling files. Every
// file reached that way is inlined once, after the files it imports, without
// its `export` keywords: all of them end up in one scope, so a top-level
// name may be declared by one file only. A checked rewrite rather than a
// bundler.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';

const root = fileURLToPath(new URL('..', import.meta.url));
const fail = (message) => { throw new Error(`build-js: ${message}`); };

const importLine = /^import \{([^}]*)\} from '\.\/([\w-]+\.mjs)';\n/gm;
const exportKeyword = /^export (function|const|let|class) /gm;
const topLevelName = /^(?:export )?(?:function\*?|const|let|class) +([\w$]+)/gm;

const files = new Map();  // file -> its text without imports, each after the files it imports
const started = new Set();
const declaredIn = new Map();  // top-level name -> file

function inline(file, importedNames) {
  const text = readFileSync(`${root}js/${file}`, 'utf8');
  for (const name of importedNames) {
    if (!new RegExp(`^export (function|const|let|class) ${name}\\b`, 'm').test(text)) {
      fail(`js/${file} does not export ${name}`);
    }
  }
  if (started.has(file)) return;  // inlined already, or being inlined (an import cycle)
  started.add(file);
  const imports = [...text.matchAll(importLine)];
  for (const [, names, from] of imports) {
    inline(from, names.split(',').map((s) => s.trim()).filter(Boolean));
  }
  const body = text.replace(importLine, '');
  if (/^import /m.test(body)) fail(`js/${file}: only named imports of sibling files can be inlined`);
  for (const [, name] of body.matchAll(topLevelName)) {
    if (declaredIn.has(name)) fail(`${name} is declared by both js/${declaredIn.get(name)} and js/${file}`);
    declaredIn.set(name, file);
  }
  files.set(file, body);
}

inline('api.mjs', ['createQconv']);
const api = files.get('api.mjs');
const exportLine = /^export function createQconv\(/m;
if (!exportLine.test(api) || /^export /m.test(api.replace(exportLine, ''))) {
  fail('js/api.mjs must have exactly one export (createQconv)');
}
const inlined = [];
for (const [file, body] of files) {
  if (file === 'api.mjs') continue;
  const plain = body.replace(exportKeyword, '$1 ');
  if (/^export /m.test(plain)) fail(`js/${file}: only 'export function|const|let|class' declarations can be inlined`);
  inlined.push(`// ---- inlined from js/${file} ----\n${plain}`);
}
const cjs = "'use strict';\n// Generated from js/api.mjs by scripts/build-js.mjs: do not edit.\n" +
  inlined.join('\n') + '\n// ---- js/api.mjs ----\n' + api.replace(exportLine, 'function createQconv(') +
  '\nmodule.exports = { createQconv };\n';
mkdirSync(`${root}dist`, { recursive: true });
writeFileSync(`${root}dist/api.cjs`, cjs);
execFileSync(process.execPath, ['--check', `${root}dist/api.cjs`], { stdio: 'inherit' });
