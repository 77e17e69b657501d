// One instance of the library's native side: init() loads the wasm module,
// and everything else reaches it through requireNative(). Errors the core
// reports come back as JS errors through nativeError(). Each createQconv()
// has its own Runtime (js/api.mjs).

import { typedArrayLength, uint8Copy } from './caller-values.mjs';
import { readInitOptions, initFailure, checkWasmBinary, kernelMismatch, glueOutput } from './init-checks.mjs';

export const VERSION = '0.1.0';

// The smallest module using a v128 instruction: validates only where
// WebAssembly SIMD128 is supported.
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253,
  15, 253, 98, 11,
]);

// qconv::Status codes (include/qconv/qconv.h).
const STATUS_INVALID_ARGUMENT = 1;
export const STATUS_OUT_OF_MEMORY = 2;

// UTF-8 bytes as text. Not every host has a global TextDecoder: Jest's
// jsdom environment, whose conditions (browser, require) load the Node
// entry, has none; there the bytes are percent-decoded instead.
function utf8Text(bytes) {
  if (typeof TextDecoder === 'function') return new TextDecoder().decode(bytes);
  let escaped = '';
  for (const b of bytes) escaped += `%${b < 16 ? '0' : ''}${b.toString(16)}`;
  try {
    return decodeURIComponent(escaped);
  } catch {
    return String.fromCharCode(...bytes);  // not UTF-8: one character per byte
  }
}

export class Runtime {
  #loadNativeModule;
  #platform;
  #native = null;
  #initPromise = null;
  #initRequest = null;

  // platform: { threadSupport() -> null | why threads cannot run here,
  // releaseWorkers(module) -> lets idle pool workers not keep Node alive,
  // minParallelWork: runs of fewer multiply-adds stay on one thread }.
  constructor(loadNativeModule, platform) {
    this.#loadNativeModule = loadNativeModule;
    this.#platform = platform;
  }

  // The first init() decides how the module runs; a later call shares its
  // promise when it asks for nothing else (see #conflict).
  init(options = {}) {
    let request;
    try {
      request = readInitOptions(options);
      if (this.#initPromise) {
        const conflict = this.#conflict(request);
        if (conflict) throw conflict;
        return this.#initPromise;
      }
      request = this.#flavourFor(request);
    } catch (e) {
      return Promise.reject(e);
    }
    // Started in a microtask, so that the promise is recorded first: a
    // locateFile that calls init() again gets this promise, not a second load.
    const started = Promise.resolve().then(() => this.#start(request));
    this.#initPromise = started;
    this.#initRequest = request;
    // A failed init may be retried (e.g. with a locateFile override).
    started.catch(() => {
      this.#initPromise = null;
      this.#initRequest = null;
    });
    return started;
  }

  // An Error when a later init() asks for a module other than the one the
  // first call loads: simd (true or false) other than what runs, or a
  // numThreads other than the first call's. Options it leaves out, and
  // simd: 'auto', ask for nothing. locateFile and wasmBinary only say where
  // the files are, which no longer matters once the first call loads them.
  #conflict(request) {
    const first = this.#initRequest;
    const asked = [];
    if (request.given.simd && request.simd !== 'auto' && request.simd !== first.simd) {
      asked.push(`simd: ${request.simd}`);
    }
    if (request.given.numThreads && request.threads !== first.requestedThreads && request.threads !== first.threads) {
      asked.push(`numThreads: ${request.threads}`);
    }
    if (asked.length === 0) return null;
    const loaded = `{ simd: ${first.simd}, numThreads: ${first.requestedThreads}${
      first.threads !== first.requestedThreads ? ` (running ${first.threads})` : ''} }`;
    return new Error(`init: qconv-wasm is already ${this.#native ? 'initialised' : 'being initialised'} with ` +
      `${loaded}; init({ ${asked.join(', ')} }) asks for another module. The first init() chooses for the ` +
      'whole page or process: call init() without options (or with the same ones) to share it');
  }

  // Which build runs: SIMD128 where asked and supported, threads where the
  // platform can start them (else one warning, then one thread: the same
  // bytes, only slower).
  #flavourFor(options) {
    const simdSupported = typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE);
    if (options.simd === true && !simdSupported) {
      throw new Error('init: simd: true was asked, but this WebAssembly engine has no SIMD128 support');
    }
    const simd = options.simd === 'auto' ? simdSupported : options.simd;
    let threads = options.threads;
    if (threads > 1) {
      const platform = this.#platform;
      const reason = !simd
        ? 'the threaded flavour needs WebAssembly SIMD128 (simd is false or unsupported here)'
        : platform.threadSupport ? platform.threadSupport() : 'this platform has no thread support';
      if (reason !== null) {
        console.warn(`qconv-wasm: numThreads ${threads} was asked, but ${reason}; running on one thread`);
        threads = 1;
      }
    }
    const flavour = threads > 1 ? 'simd-mt' : simd ? 'simd' : 'scalar';
    return { ...options, simd, requestedThreads: options.threads, threads, flavour };
  }

  async #start({ simd, threads, flavour, wasmBinary, userBinary, locateFile }) {
    if (userBinary) await checkWasmBinary(wasmBinary, flavour, threads);
    const output = glueOutput();
    let module;
    try {
      module = await this.#loadNativeModule({
        simd, threads, wasmBinary, locateFile, print: output.print, printErr: output.printErr,
      });
    } catch (e) {
      throw initFailure(e, flavour, userBinary);
    }
    const mismatch = userBinary ? kernelMismatch(module.kernelFlavour(), flavour) : null;
    if (mismatch) throw mismatch;
    output.release();
    if (threads > 1) this.#startThreads(module, threads);
    this.#native = module;
    return Object.freeze({
      simd, version: VERSION, flavour: module.kernelFlavour(), threads: module.numThreads(),
    });
  }

  #startThreads(module, threads) {
    const platform = this.#platform;
    if (platform.minParallelWork) module.setMinParallelWork(platform.minParallelWork);
    const refused = module.setNumThreads(threads);
    if (platform.releaseWorkers) platform.releaseWorkers(module);
    if (refused !== '') console.warn(`qconv-wasm: ${refused}; running on one thread`);
  }

  // The native module; `what` names the caller in the error before init().
  requireNative(what) {
    if (this.#native === null) {
      throw new Error(`${what}: qconv-wasm is not initialised; call and await init() first`);
    }
    return this.#native;
  }

  // A RangeError for a core status, its message naming `what` (the core
  // names only the module: "ConvTranspose1d: ..." becomes "ConvTranspose1d.forward: ...").
  nativeError(what, name, status) {
    let message = this.#nativeMessage();
    if (message.startsWith(`${name}: `)) message = `${what}: ${message.slice(name.length + 2)}`;
    else if (!message.startsWith(`${what}:`)) message = `${what}: ${message}`;
    if (status === STATUS_INVALID_ARGUMENT || status === STATUS_OUT_OF_MEMORY) return new RangeError(message);
    return new Error(`${message} (internal status ${status})`);
  }

  // The native side's last error message (static wasm memory, ASCII/UTF-8).
  #nativeMessage() {
    const view = this.#native.errorMessage();
    return utf8Text(uint8Copy(view, typedArrayLength(view)));
  }

  // Diagnostics: the wasm memory size (it grows, never shrinks), the bytes
  // malloc has handed out, and the number of native modules not yet freed.
  memoryStats() {
    const mod = this.requireNative('memoryStats');
    return {
      wasmBytes: mod.memoryBytes(), heapBytesInUse: mod.heapBytesInUse(), liveModules: mod.liveModules(),
      liveModels: mod.liveModels(), liveRunners: mod.liveRunners(),
    };
  }
}
