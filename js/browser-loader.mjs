// Loads the wasm module in browsers and bundlers: the ES-module glue, and the
// .wasm found beside it through `new URL(..., import.meta.url)` (bundlers
// rewrite these URLs and emit the file), unless init() was given wasmBinary
// or locateFile. The .wasm is fetched here rather than by the glue, so that a
// 404 or an HTML page served in its place gives an Error naming the URL and
// the overrides, instead of a wasm compile error.
const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];  // "\0asm"

export async function loadNativeModule({ simd, wasmBinary, locateFile }) {
  const glue = simd
    ? await import('../dist/qconv-simd.mjs')
    : await import('../dist/qconv-scalar.mjs');
  let binary = wasmBinary;
  if (binary === undefined) {
    const name = simd ? 'qconv-simd.wasm' : 'qconv-scalar.wasm';
    const defaultUrl = simd
      ? new URL('../dist/qconv-simd.wasm', import.meta.url)
      : new URL('../dist/qconv-scalar.wasm', import.meta.url);
    const url = locateFile ? String(locateFile(name, new URL('.', defaultUrl).href)) : defaultUrl.href;
    binary = await fetchWasm(url, name);
  }
  try {
    return await glue.default({ wasmBinary: binary });
  } catch (e) {
    // Emscripten's abort text would suggest rebuilding with ASSERTIONS; the
    // cause a user can act on is the page's Content-Security-Policy.
    const message = String(e && e.message ? e.message : e);
    if (/Content Security Policy|unsafe-eval|wasm-eval/i.test(message)) {
      throw new Error("qconv-wasm: this page's Content-Security-Policy does not allow compiling " +
        "WebAssembly; add 'wasm-unsafe-eval' to its script-src (the module needs no other " +
        `exception: no eval, no inline scripts). The browser said: ${message}`);
    }
    throw e;
  }
}

async function fetchWasm(url, name) {
  const hint = `; serve ${name} at that URL, or pass init({ locateFile: (name) => url }) ` +
    'to say where it is, or init({ wasmBinary }) with its bytes';
  let response;
  try {
    response = await fetch(url, { credentials: 'same-origin' });
  } catch (e) {
    throw new Error(`qconv-wasm: fetching ${url} failed (${e && e.message ? e.message : e})${hint}`);
  }
  if (!response.ok) {
    throw new Error(`qconv-wasm: fetching ${url} failed: HTTP ${response.status}` +
      `${response.statusText ? ` ${response.statusText}` : ''}${hint}`);
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  if (bytes.length < 8 || WASM_MAGIC.some((b, i) => bytes[i] !== b)) {
    const start = new TextDecoder().decode(bytes.subarray(0, 24)).replace(/\s+/g, ' ');
    const type = response.headers.get('content-type') || 'no content type';
    throw new Error(`qconv-wasm: ${url} is not a WebAssembly module (it starts with ${JSON.stringify(start)}, ` +
      `${type})${hint}`);
  }
  return bytes;
}
