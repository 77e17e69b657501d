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

export async function loadNativeModule({ simd, threads, wasmBinary, locateFile, print, printErr }) {
  // Each flavour spelled out: bundlers follow literal import() and new URL() only.
  const threaded = threads > 1;
  const glueName = threaded ? 'qconv-simd-mt.mjs' : simd ? 'qconv-simd.mjs' : 'qconv-scalar.mjs';
  let glue;
  try {
    glue = threaded
      ? await import('../dist/qconv-simd-mt.mjs')
      : simd
        ? await import('../dist/qconv-simd.mjs')
        : await import('../dist/qconv-scalar.mjs');
  } catch (e) {
    throw new Error(`init: the glue ${glueName} (dist/${glueName} of the package) could not be loaded ` +
      `(${e && e.message ? e.message : e}); serve it beside the package's other files` +
      `${threaded ? ', or call init({ numThreads: 1 }) to run without it' : ''}`, { cause: e });
  }
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
  // init() holds the glue's output back while the module starts.
  const moduleArg = { wasmBinary: binary };
  if (print) moduleArg.print = print;
  if (printErr) moduleArg.printErr = printErr;
  try {
    // The threaded glue starts its pool's workers (threads - 1: the calling
    // thread works too) from dist/qconv-simd-mt.worker.js beside it.
    return threaded
      ? await startThreaded(glue, { ...moduleArg, qconvWorkers: threads - 1 })
      : await glue.default(moduleArg);
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

// How long the pool's workers may take to start (fetch the worker script and
// the glue, instantiate the module). A worker that cannot even load its
// script fires an 'error' event and fails init at once; this limit is for a
// worker whose script runs but never reports ready (e.g. its import of the
// glue fails, which reaches only the worker's own console).
const POOL_START_MS = 10000;

// Runs the threaded glue and settles when its module is ready, or rejects
// (and terminates the pool's workers) when a worker fails to start: the glue
// itself would wait for them forever.
function startThreaded(glue, moduleArg) {
  // The pool's workers are created synchronously inside the glue's factory;
  // a Worker subclass installed for that call records them and their URL.
  const started = [];
  const NativeWorker = globalThis.Worker;
  let recording = false;
  if (typeof NativeWorker === 'function') {
    try {
      globalThis.Worker = class extends NativeWorker {
        constructor(url, options) {
          super(url, options);
          started.push({ worker: this, url: String(url) });
        }
      };
      recording = true;
    } catch {
      // A frozen global: the workers are found through the glue's PThread below.
    }
  }
  const violations = [];
  const watching = new AbortController();
  globalThis.addEventListener('securitypolicyviolation', (e) => violations.push(e), { signal: watching.signal });
  let ready;
  try {
    ready = glue.default(moduleArg);
  } catch (e) {
    watching.abort();
    return Promise.reject(e);
  } finally {
    if (recording) globalThis.Worker = NativeWorker;
  }
  const pthread = moduleArg.PThread;
  const workers = started.length ? started.map((s) => s.worker)
    : pthread ? [...(pthread.unusedWorkers || []), ...(pthread.runningWorkers || [])] : [];
  const scriptUrl = started.length ? started[0].url : 'qconv-simd-mt.worker.js';
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (error, module) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      watching.abort();
      if (error) {
        for (const worker of workers) worker.terminate();
        reject(error);
      } else {
        resolve(module);
      }
    };
    for (const worker of workers) {
      worker.addEventListener('error', (event) => {
        // Only while starting: later worker errors are the glue's. Its
        // handler would log a warning and rethrow the event, uncaught.
        event.preventDefault();
        event.stopImmediatePropagation();
        workerFailure(scriptUrl, violations).then((message) => finish(new Error(message)));
      }, { signal: watching.signal });
    }
    const timer = setTimeout(() => finish(new Error(
      `init: the threaded flavour's ${workers.length} pthread worker(s) from ${scriptUrl} did not start within ` +
      `${POOL_START_MS / 1000} s (can that script load the glue qconv-simd-mt.mjs beside it? The workers' ` +
      "own console says why); serve both files together, or call init({ numThreads: 1 }) to run without workers")),
    POOL_START_MS);
    ready.then((module) => finish(null, module), (e) => finish(e));
  });
}

// Why a pool worker could not start its script: a Content-Security-Policy
// that refused it, or the HTTP status of the script (a Worker's 'error'
// event tells neither).
async function workerFailure(url, violations) {
  // A policy violation is reported in a task of its own: let it arrive.
  await new Promise((resolve) => setTimeout(resolve, 0));
  const fix = 'or call init({ numThreads: 1 }) to run without workers';
  const refusal = violations.find((v) => /^(worker|child|script|default)-src/.test(v.effectiveDirective || v.violatedDirective));
  if (refusal) {
    return `init: this page's Content-Security-Policy (${refusal.effectiveDirective || refusal.violatedDirective}: ` +
      `"${refusal.originalPolicy}") does not allow the threaded flavour's pthread worker ${url}; ` +
      `allow it in worker-src, ${fix}`;
  }
  let why;
  try {
    const response = await fetch(url, { credentials: 'same-origin', cache: 'no-store' });
    why = response.ok ? `it is served (HTTP ${response.status}) but did not run as a worker script`
      : `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
  } catch (e) {
    why = `fetching it failed: ${e && e.message ? e.message : e}`;
  }
  return `init: the threaded flavour's pthread worker script ${url} could not be loaded (${why}); ` +
    `serve qconv-simd-mt.worker.js beside the glue qconv-simd-mt.mjs, ${fix}`;
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
