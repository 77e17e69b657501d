// Loads the wasm module in browsers and bundlers: the ES-module glue, with
// the .wasm found beside it through import.meta.url (bundlers rewrite these
// URLs), unless init() was given wasmBinary or locateFile.
export async function loadNativeModule({ simd, wasmBinary, locateFile }) {
  const glue = simd
    ? await import('../dist/qconv-simd.mjs')
    : await import('../dist/qconv-scalar.mjs');
  const wasmUrl = simd
    ? new URL('../dist/qconv-simd.wasm', import.meta.url)
    : new URL('../dist/qconv-scalar.wasm', import.meta.url);
  const moduleArgs = {};
  if (wasmBinary !== undefined) moduleArgs.wasmBinary = wasmBinary;
  moduleArgs.locateFile = locateFile || (() => wasmUrl.href);
  return glue.default(moduleArgs);
}
