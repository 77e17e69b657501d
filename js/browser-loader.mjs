// Loads the wasm module in browsers and bundlers: the ES-module glue, and the
// .wasm found beside it through `new URL(..., import.meta.url)` (bundlers
// rewrite these URLs and emit the file), unless init() was given wasmBinary
// or locateFile. The .wasm is fetched here rather than by the glue, so that a
// 404 or an HTML page served in its place gives an Error naming the URL and
// the overrides, instead of a wasm compile error.
const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];  // "\0asm"

// null when this page or worker can run the threaded flavour, else why not:
// pthreads need SharedArrayBuffer, which browsers give only to
// cross-origin-isolated documents (served with COOP: same-origin and COEP:
// require-corp or credentialless).
export function threadSupport() {
  if (typeof SharedArrayBuffer !== 'function' || globalThis.crossOriginIsolated !== true) {
    return 'this page is not cross-origin isolated (serve it with the headers ' +
      "'Cross-Origin-Opener-Policy: same-origin' and 'Cross-Origin-Embedder-Policy: require-corp'), " +
      'so it has no SharedArrayBuffer';
  }
  if (typeof Worker !== 'function') return 'this context cannot start Workers';
  return null;
}

export async function loadNativeModule({ simd, threads, wasmBinary, locateFile }) {
  // Each flavour spelled out: bundlers follow literal import() and new URL() only.
  const threaded = threads > 1;
  const glue = threaded
    ? await import('../dist/qconv-simd-mt.mjs')
    : simd
      ? await import('../dist/qconv-simd.mjs')
      : await import('../dist/qconv-scalar.mjs');
  let binary = wasmBinary;
  if (binary === undefined) {
    const name = threaded ? 'qconv-simd-mt.wasm' : simd ? 'qconv-simd.wasm' : 'qconv-scalar.wasm';
    const defaultUrl = threaded
      ? new URL('../dist/qconv-simd-mt.wasm', import.meta.url)
      : simd
        ? new URL('../dist/qconv-simd.wasm', import.meta.url)
        : new URL('../dist/qconv-scalar.wasm', import.meta.url);
    const url = locateFile ? String(locateFile(name, new URL('.', defaultUrl).href)) : defaultUrl.href;
    binary = await fetchWasm(url, name);
  }
  try {
    // The threaded glue starts its pool's workers (threads - 1: the calling
    // thread works too) from dist/qconv-simd-mt.worker.js beside it.
    return await glue.default(threaded ? { wasmBinary: binary, qconvWorkers: threads - 1 } : { wasmBinary: binary });
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
