// Runs `vite build` programmatically for tests/browser/vite.test.js (in a
// child process: Jest runs the tests as CommonJS, and vite is ESM).
//   node tests/browser/vite-build.mjs <root> <outDir>
// Prints a JSON line: the files Vite wrote ({ fileName, type }).
import { build } from 'vite';

const [root, outDir] = process.argv.slice(2);
const output = await build({
  root,
  configFile: false,
  logLevel: 'silent',
  build: { outDir, emptyOutDir: true },
});
const outputs = (Array.isArray(output) ? output : [output]).flatMap((o) => o.output);
console.log(JSON.stringify(outputs.map((o) => ({ fileName: o.fileName, type: o.type }))));
