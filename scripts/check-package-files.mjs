// Checks that every file package.json "files" names exists and is not
// empty (a pattern or a directory must match at least one file). Run by
// scripts/prepack.sh before npm pack / npm publish.
import { readFileSync, statSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));
const { files } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const problems = [];
for (const entry of files) {
  if (entry.endsWith('/')) {
    const dir = path.join(root, entry);
    let names = [];
    try { names = readdirSync(dir); } catch { /* reported below */ }
    if (names.length === 0) problems.push(`${entry} is missing or empty`);
  } else if (entry.includes('*')) {
    const dir = path.join(root, path.dirname(entry));
    const pattern = new RegExp(`^${path.basename(entry).replace(/\./g, '\\.').replace(/\*/g, '[^/]*')}$`);
    let names = [];
    try { names = readdirSync(dir).filter((n) => pattern.test(n)); } catch { /* reported below */ }
    if (names.length === 0) problems.push(`${entry} matches no file`);
  } else {
    let size = -1;
    try { size = statSync(path.join(root, entry)).size; } catch { /* reported below */ }
    if (size <= 0) problems.push(`${entry} is ${size < 0 ? 'missing' : 'empty'}`);
  }
}
if (problems.length) {
  console.error(`prepack: package.json "files" names what is not there:\n  ${problems.join('\n  ')}\n` +
    "(scripts/build.sh wasm writes dist/; was it run?)");
  process.exit(1);
}
