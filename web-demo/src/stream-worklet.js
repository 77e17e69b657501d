// The Streaming mode's AudioWorklet processor: runs the quantized signal
// through module.stream() one render quantum (128 samples) at a time and
// plays the dequantized outputs. An AudioWorkletGlobalScope has no fetch
// and no dynamic import(), so the library is bundled into this file with
// the wasm glue imported statically (Vite builds it as an ES-module
// worker), and the .wasm bytes come from the page in processorOptions
// (init({ wasmBinary })). The streamed bytes go back to the page, which
// compares them with one forward over the whole signal.
import { createQconv } from '../../js/api.mjs';
import simdGlue from '../../dist/qconv-simd.mjs';
import scalarGlue from '../../dist/qconv-scalar.mjs';

// An AudioWorkletGlobalScope has no URL either; the glue still names its
// .wasm with new URL(name, import.meta.url) when it is given the bytes (the
// name is never fetched), so a stand-in that only joins strings will do.
if (typeof globalThis.URL !== 'function') {
  globalThis.URL = class WorkletURL {
    constructor(url, base) {
      this.href = base === undefined ? String(url) : String(base).replace(/[^/]*$/, '') + String(url);
    }

    toString() { return this.href; }
  };
}

class QconvStreamProcessor extends AudioWorkletProcessor {
  // processorOptions: { wasm (ArrayBuffer), simd, moduleBytes (module.save()),
  // input (Uint8Array, the quantized signal), scale, zeroPoint, outputLength }.
  constructor(options) {
    super();
    const o = options.processorOptions;
    this.input = o.input;
    this.scale = o.scale;
    this.zeroPoint = o.zeroPoint;
    this.at = 0;
    this.pushes = 0;
    this.pushMs = 0;
    this.bytes = new Uint8Array(o.outputLength);
    this.written = 0;
    this.played = 0;
    this.playable = new Float32Array(o.outputLength);
    this.stream = null;
    this.failed = false;
    this.done = false;
    const glue = o.simd ? simdGlue : scalarGlue;
    const q = createQconv(({ wasmBinary, print, printErr }) => glue({ wasmBinary, print, printErr }));
    q.init({ simd: o.simd, wasmBinary: o.wasm }).then((info) => {
      this.module = q.load(o.moduleBytes);
      this.stream = this.module.stream();
      this.port.postMessage({ type: 'ready', flavour: info.flavour });
    }).catch((e) => this.fail(e));
  }

  fail(e) {
    this.failed = true;
    this.port.postMessage({ type: 'error', message: String(e && e.message ? e.message : e) });
  }

  // Appends one output (QTensor [1, 1, k]) to the bytes and the playable floats.
  take(y) {
    const k = y.shape[2];
    this.bytes.set(y.data, this.written);
    for (let i = 0; i < k; i++) this.playable[this.written + i] = (y.data[i] - y.zeroPoint) * y.scale;
    this.written += k;
  }

  process(inputs, outputs) {
    if (this.failed) return false;
    const out = outputs[0][0];
    if (this.stream !== null && !this.done) {
      try {
        const l = Math.min(out.length, this.input.length - this.at);
        const t0 = Date.now();
        this.take(this.stream.push({
          data: this.input.subarray(this.at, this.at + l), shape: [1, 1, l], scale: this.scale, zeroPoint: this.zeroPoint,
        }));
        this.at += l;
        this.pushes++;
        if (this.at === this.input.length) {
          this.take(this.stream.flush());
          this.done = true;
          this.module.dispose();
          this.port.postMessage({ type: 'done', bytes: this.bytes, written: this.written, pushes: this.pushes });
        }
        this.pushMs += Date.now() - t0;
      } catch (e) {
        this.fail(e);
        return false;
      }
    }
    // Play whole quanta of what the stream returned (the first ones come
    // short by the FIR's latency): the output is the stream delayed by one
    // quantum, with no gap.
    const ready = this.written - this.played;
    const n = this.done ? Math.min(out.length, ready) : ready >= out.length ? out.length : 0;
    out.set(this.playable.subarray(this.played, this.played + n));
    this.played += n;
    return !(this.done && this.played === this.written);
  }
}

registerProcessor('qconv-stream', QconvStreamProcessor);
