// Loads the wasm module in browsers and bundlers. Every file it loads at run
// time is named by a literal `new URL('../dist/…', import.meta.url)` below,
// which Vite and webpack 5 rewrite to the file they emit (unchanged: these
// are assets, not modules they bundle), and which a page served straight
// from the package resolves beside this file. init({ locateFile }) maps each
// of them elsewhere (esbuild, Rollup: copy them and say where). The glue is
// imported by URL, not bundled: the threaded flavour's workers import the
// same file by URL, so the page and its workers run one copy of it.
const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];  // "\0asm"

// The files of each flavour, spelled out: bundlers follow literal URLs only.
const FILES = {
  simd: {
    glue: () => new URL('../dist/qconv-simd.mjs', import.meta.url),
    wasm: () => new URL('../dist/qconv-simd.wasm', import.meta.url),
  },
  scalar: {
    glue: () => new URL('../dist/qconv-scalar.mjs', import.meta.url),
    wasm: () => new URL('../dist/qconv-scalar.wasm', import.meta.url),
  },
  'simd-mt': {
    glue: () => new URL('../dist/qconv-simd-mt.mjs', import.meta.url),
    wasm: () => new URL('../dist/qconv-simd-mt.wasm', import.meta.url),
    worker: () => new URL('../dist/qconv-simd-mt.worker.js', import.meta.url),
  },
};

// The name locateFile() is asked about for each file.
const NAMES = {
  simd: { glue: 'qconv-simd.mjs', wasm: 'qconv-simd.wasm' },
  scalar: { glue: 'qconv-scalar.mjs', wasm: 'qconv-scalar.wasm' },
  'simd-mt': { glue: 'qconv-simd-mt.mjs', wasm: 'qconv-simd-mt.wasm', worker: 'qconv-simd-mt.worker.js' },
};

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

// The absolute URL of one file: the package's own, or where locateFile says.
// Absolute, because a worker resolves a relative URL against its own script.
function locate(flavour, kind, locateFile) {
  const own = FILES[flavour][kind]();
  if (!locateFile) return own.href;
  // locateFile returns a string (init() checked it): absolute or relative to the page.
  const name = NAMES[flavour][kind];
  const located = locateFile(name, new URL('.', own).href);
  try {
    return new URL(located, globalThis.location ? globalThis.location.href : own).href;
  } catch {
    throw new TypeError(`init: locateFile('${name}', prefix) returned ${JSON.stringify(located)}, which is not a URL`);
  }
}

// A data: URL (Vite inlines small assets that way) would start a worker with
// an opaque origin, which cannot import the glue from the page's origin; a
// blob: URL of the same script runs with the page's origin.
function workerScriptUrl(url) {
  const m = /^data:([^,]*?)(;base64)?,(.*)$/s.exec(url);
  if (!m) return url;
  const text = m[2] ? atob(m[3]) : decodeURIComponent(m[3]);
  return URL.createObjectURL(new Blob([text], { type: 'text/javascript' }));
}

export async function loadNativeModule({ simd, threads, wasmBinary, locateFile, print, printErr }) {
  const threaded = threads > 1;
  const flavour = threaded ? 'simd-mt' : simd ? 'simd' : 'scalar';
  const names = NAMES[flavour];
  const glueUrl = locate(flavour, 'glue', locateFile);
  const workerUrl = threaded ? workerScriptUrl(locate(flavour, 'worker', locateFile)) : null;
  let binary = wasmBinary;
  if (binary === undefined) binary = await fetchWasm(locate(flavour, 'wasm', locateFile), names.wasm);
  let glue;
  try {
    glue = await import(/* webpackIgnore: true */ /* @vite-ignore */ glueUrl);
  } catch (e) {
    throw new Error(`init: the glue ${names.glue} could not be loaded from ${glueUrl} ` +
      `(${e && e.message ? e.message : e}); serve it there, or pass init({ locateFile: (name, prefix) => url }) ` +
      `to say where the package's files are${threaded ? ', or call init({ numThreads: 1 }) to run without it' : ''}`,
    { cause: e });
  }
  // init() holds the glue's output back while the module starts.
  const moduleArg = { wasmBinary: binary };
  if (print) moduleArg.print = print;
  if (printErr) moduleArg.printErr = printErr;
  try {
    if (!threaded) return await glue.default(moduleArg);
    // The pool's workers (threads - 1: the calling thread works too) run the
    // worker script, which imports the glue from mainScriptUrlOrBlob.
    return await startThreaded(glue, {
      ...moduleArg,
      qconvWorkers: threads - 1,
      locateFile: (name) => (name === names.worker ? workerUrl : new URL(name, glueUrl).href),
      mainScriptUrlOrBlob: glueUrl,
    }, workerUrl);
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
function startThreaded(glue, moduleArg, workerUrl) {
  // The pool's workers are created synchronously inside the glue's factory;
  // a Worker subclass installed for that call records them and their URL.
  const started = [];
  const NativeWorker = globalThis.Worker;
  let recording = false;
  if (typeof NativeWorker === 'function') {
    try {
      globalThis.Worker = class extends NativeWorker {
        constructor(url, options) {
          // As module workers: the worker script only import()s the glue,
          // and a dev server that serves every .js as an ES module (Vite)
          // may add import statements to it, which a classic worker refuses.
          super(url, { type: 'module', ...options });
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
  const scriptUrl = started.length ? started[0].url : workerUrl;
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
      `${POOL_START_MS / 1000} s (can that script import the glue ${moduleArg.mainScriptUrlOrBlob}? The workers' ` +
      "own console says why); serve both, or say where they are with init({ locateFile }), or call " +
      'init({ numThreads: 1 }) to run without workers')),
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
    why = response.ok ? `it is served (HTTP ${response.status}) but did not run as a worker script; on a ` +
      'cross-origin-isolated page its response needs the Cross-Origin-Embedder-Policy header too (require-corp)'
      : `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
  } catch (e) {
    why = `fetching it failed: ${e && e.message ? e.message : e}`;
  }
  return `init: the threaded flavour's pthread worker script ${url} could not be loaded (${why}); ` +
    `serve it there, or say where it is with init({ locateFile: (name, prefix) => url }), ${fix}`;
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
