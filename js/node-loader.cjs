'use strict';
// Loads the wasm module under Node: the CommonJS glue, with the .wasm bytes
// read from disk (Emscripten 3.1.6's glue would fetch() a path under Node 18+).
const fs = require('fs');
const path = require('path');
const { fileURLToPath } = require('url');

const DIST = path.join(__dirname, '..', 'dist');

async function loadNativeModule({ simd, wasmBinary, locateFile }) {
  const flavour = simd ? 'simd' : 'scalar';
  const gluePath = path.join(DIST, `qconv-${flavour}.cjs`);
  if (!fs.existsSync(gluePath)) {
    throw new Error(`qconv-wasm: ${gluePath} is missing; build it with 'npm run build'`);
  }
  let binary = wasmBinary;
  if (binary === undefined) {
    const name = `qconv-${flavour}.wasm`;
    let file = locateFile ? locateFile(name, `${DIST}${path.sep}`) : path.join(DIST, name);
    if (typeof file === 'string' && file.startsWith('file:')) file = fileURLToPath(file);
    try {
      binary = fs.readFileSync(file);
    } catch (e) {
      throw new Error(`qconv-wasm: cannot read the wasm module at ${file} (${e.code || e.message}); ` +
        "pass init({ wasmBinary }) or init({ locateFile }) to point at it");
    }
  }
  const factory = require(gluePath);
  return factory({ wasmBinary: binary });
}

module.exports = { loadNativeModule };
