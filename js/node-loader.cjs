'use strict';
// Loads the wasm module under Node: the CommonJS glue, with the .wasm bytes
// read from disk (Emscripten 3.1.6's glue would fetch() a path under Node 18+).
// numThreads > 1 loads the threaded flavour, whose pthreads are Node worker
// threads running dist/qconv-simd-mt.worker.cjs. init({ locateFile }) maps
// each of these files (glue, .wasm, worker script) elsewhere.
const fs = require('fs');
const path = require('path');
const { fileURLToPath } = require('url');

const DIST = path.join(__dirname, '..', 'dist');

// null when this Node can run the threaded flavour, else why not.
function threadSupport() {
  if (typeof SharedArrayBuffer !== 'function') return 'this Node has no SharedArrayBuffer';
  try {
    require('worker_threads');
  } catch (e) {
    return 'this Node has no worker_threads';
  }
  return null;
}

// The path of one file the loader reads or runs: the package's dist/ copy,
// or where init({ locateFile }) says (a path or a file: URL).
function locate(name, locateFile) {
  if (!locateFile) return path.join(DIST, name);
  // locateFile returns a string (init() checked it): a path or a file: URL.
  const located = locateFile(name, `${DIST}${path.sep}`);
  if (located.startsWith('file:')) {
    try {
      return fileURLToPath(located);
    } catch (e) {
      throw new TypeError(`init: locateFile('${name}', prefix) returned ${JSON.stringify(located)}, ` +
        `which is not a file: URL of a local file (${e.message})`);
    }
  }
  return path.resolve(located);
}

async function loadNativeModule({ simd, threads, wasmBinary, locateFile, print, printErr }) {
  const flavour = threads > 1 ? 'simd-mt' : simd ? 'simd' : 'scalar';
  const gluePath = locate(`qconv-${flavour}.cjs`, locateFile);
  if (!fs.existsSync(gluePath)) {
    throw new Error(`qconv-wasm: the glue ${gluePath} is missing; ` +
      (locateFile ? 'check what init({ locateFile }) returns for it' : "build the package with 'npm run build'"));
  }
  let binary = wasmBinary;
  if (binary === undefined) {
    const file = locate(`qconv-${flavour}.wasm`, locateFile);
    try {
      binary = fs.readFileSync(file);
    } catch (e) {
      throw new Error(`qconv-wasm: cannot read the wasm module at ${file} (${e.code || e.message}); ` +
        "pass init({ wasmBinary }) or init({ locateFile }) to point at it");
    }
  }
  const factory = require(gluePath);
  // init() holds the glue's output back while the module starts.
  const output = {};
  if (print) output.print = print;
  if (printErr) output.printErr = printErr;
  if (threads <= 1) return factory({ wasmBinary: binary, ...output });
  // A missing worker script would fail inside each pool worker, where the
  // glue rethrows it as an uncaught exception that ends the whole process.
  const workerPath = locate(`qconv-${flavour}.worker.cjs`, locateFile);
  if (!fs.existsSync(workerPath)) {
    throw new Error(`qconv-wasm: the threads' worker script ${workerPath} is missing; ` +
      (locateFile ? 'check what init({ locateFile }) returns for it' : "build the package with 'npm run build'") +
      ', or call init({ numThreads: 1 })');
  }
  const moduleArg = {
    wasmBinary: binary,
    ...output,
    // The pool's workers start with the module: one fewer than the threads,
    // since the calling thread works too.
    qconvWorkers: threads - 1,
    // The workers run the worker script, which loads the glue from
    // mainScriptUrlOrBlob (the .wasm is passed in).
    locateFile: (name) => (name.endsWith('.worker.js') ? workerPath : path.join(path.dirname(gluePath), name)),
    mainScriptUrlOrBlob: gluePath,
  };
  try {
    return await factory(moduleArg);
  } catch (e) {
    // The pool's workers were started before the module failed; referenced
    // worker threads would keep Node running after the rejection.
    terminateWorkers(moduleArg);
    throw e;
  }
}

// The pool's workers, which the glue keeps in PThread's lists on the module
// object it was given (Emscripten 3.1.x; later releases may differ).
function forEachPoolWorker(module, action) {
  const pthread = module.PThread;
  if (!pthread) return;
  for (const list of [pthread.runningWorkers, pthread.unusedWorkers]) {
    for (const worker of list || []) {
      if (worker && typeof worker[action] === 'function') worker[action]();
    }
  }
}

// After a failed start: referenced worker threads would keep Node running.
function terminateWorkers(module) {
  forEachPoolWorker(module, 'terminate');
}

// Idle pool workers must not keep Node running.
function releaseWorkers(module) {
  forEachPoolWorker(module, 'unref');
}

module.exports = { loadNativeModule, threadSupport, releaseWorkers };
