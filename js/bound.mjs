// Zero-copy running (m.bind): a BoundRunner keeps one input shape and
// quantization, checked once at bind time, and its own input and output
// buffers in wasm memory (bindings/bound_runners.h). The caller writes
// runner.input, calls run(), and reads runner.output: run() reads no caller
// value, allocates nothing and makes one wasm call (a plain export, not an
// embind method). The core re-binds the operator to the runner's shape and
// buffers when a forward or another runner used it meanwhile, and re-plans
// (with forward's checks) after new weights or output scale.
//
// Views of wasm memory: memory growth detaches a non-shared view, so the
// getters hand out a fresh one whenever the one they kept is no longer
// whole; a view kept by the caller then has length 0 and writes nothing.

import { typedArrayLength, isRevokedProxy } from './caller-values.mjs';

// One of the instance's plain exports (bindings/qconv_bindings.cc, extern
// "C"). The glue's Module._name forwards through a wrapper (with apply) until
// its first call, which puts the wasm function in its place: one call with
// address 0 (a no-op for these exports), then the function itself.
export function nativeExport(mod, name, ...noopArgs) {
  const key = `_${name}`;
  if (typeof mod[key] !== 'function') throw new Error(`qconv-wasm: the wasm module has no export ${name}`);
  mod[key](0, ...noopArgs);
  return mod[key];
}

// An options object's own enumerable properties, each read once (getters
// run here), refusing unknown names as the constructor does.
const objectEntries = Object.entries;
export function readKnownOptions(what, options, known) {
  if (isRevokedProxy(options)) throw new TypeError(`${what}: options is a revoked Proxy`);
  const fields = {};
  for (const [key, value] of objectEntries(options)) {
    if (!known.includes(key)) throw new TypeError(`${what}: unknown option '${key}' (known: ${known.join(', ')})`);
    fields[key] = value;
  }
  return fields;
}

// Buffers of wasm memory that views were handed out on (a shared memory
// gets a new SharedArrayBuffer object for the same memory at each growth):
// forward's `out` must not be one of them.
const wasmMemoryBuffers = new WeakSet();
const typedArrayBuffer = Reflect.getOwnPropertyDescriptor(
  Reflect.getPrototypeOf(Uint8Array.prototype), 'buffer').get;
const reflectApplyBound = Reflect.apply;

export function rememberWasmBuffer(view) {
  wasmMemoryBuffers.add(reflectApplyBound(typedArrayBuffer, view, []));
}
export function isWasmMemoryView(view, mod) {
  const buffer = reflectApplyBound(typedArrayBuffer, view, []);
  if (wasmMemoryBuffers.has(buffer)) return true;
  const heap = mod.HEAPU8;
  return heap !== undefined && heap !== null && reflectApplyBound(typedArrayBuffer, heap, []) === buffer;
}

// The runner's connection to its module, filled by the module (js/modules.mjs
// bind): handle (the NativeConv), address (its address for the plain
// exports), run (qconv_run_bound), id (the runner's index in the NativeConv),
// fail(status) -> Error, dead: null while alive, else the message.
export class BoundRunner {
  #link;
  #inputSize;
  #outputSize;
  #inputView;
  #outputView;
  #what;

  // Not for callers: m.bind() builds runners.
  constructor(link, what, inputShape, outputShape, inputSize, outputSize) {
    this.#link = link;
    this.#what = what;
    this.#inputSize = inputSize;
    this.#outputSize = outputSize;
    this.#inputView = link.handle.boundInputView(link.id);
    this.#outputView = link.handle.boundOutputView(link.id);
    rememberWasmBuffer(this.#inputView);
    rememberWasmBuffer(this.#outputView);
    Object.defineProperties(this, {
      inputShape: { value: Object.freeze(inputShape), enumerable: true },
      outputShape: { value: Object.freeze(outputShape), enumerable: true },
    });
  }

  #live(what) {
    const link = this.#link;
    if (link.dead !== null) throw new Error(`${what}: ${link.dead}`);
    return link;
  }

  // The input buffer (a Uint8Array of wasm memory, shaped inputShape): fill
  // it, then run().
  get input() {
    let view = this.#inputView;
    if (typedArrayLength(view) !== this.#inputSize) {
      const link = this.#live(`${this.#what}.input`);
      view = this.#inputView = link.handle.boundInputView(link.id);
      rememberWasmBuffer(view);
    } else if (this.#link.dead !== null) {
      this.#live(`${this.#what}.input`);
    }
    return view;
  }

  // The output buffer (shaped outputShape, quantized with the module's
  // scale and zeroPoint): valid after run(), overwritten by the next run().
  get output() {
    let view = this.#outputView;
    if (typedArrayLength(view) !== this.#outputSize) {
      const link = this.#live(`${this.#what}.output`);
      view = this.#outputView = link.handle.boundOutputView(link.id);
      rememberWasmBuffer(view);
    } else if (this.#link.dead !== null) {
      this.#live(`${this.#what}.output`);
    }
    return view;
  }

  // Computes output from input; returns the output view.
  run() {
    const link = this.#link;
    if (link.dead !== null) throw new Error(`${this.#what}.run: ${link.dead}`);
    const status = link.run(link.address, link.id);
    if (status !== 0) throw link.fail(`${this.#what}.run`, status);
    let view = this.#outputView;
    if (typedArrayLength(view) !== this.#outputSize) view = this.output;
    return view;
  }

  // Frees the runner's buffers (the module stays usable). Idempotent.
  dispose() {
    const link = this.#link;
    if (link.dead !== null) return;
    link.release();
  }

  get disposed() { return this.#link.dead !== null; }
}
if (typeof Symbol.dispose === 'symbol') {
  BoundRunner.prototype[Symbol.dispose] = function dispose() { this.dispose(); };
}
Object.defineProperty(BoundRunner, 'name', { value: 'BoundRunner' });
