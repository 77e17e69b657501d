// The module classes: ConvTranspose1d and Conv1d over one native operator
// each (bindings/qconv_bindings.cc). A method reads the caller's values
// (js/args.mjs), then hands plain numbers and our own copies to the core,
// which checks the values and writes the messages.

import {
  typedArrayLength, typedArrayTag, copyInto, uint8Copy, int8Copy, float32Copy, checkInteger, describe,
  isPlainOptions, readShape, isDetached, isArrayValue, isDataView,
} from './caller-values.mjs';
import {
  parseConstructorArgs, weightShape, readWeightArg, measureWeightArg, readBiasArg, parseInputQuantization,
  readQTensor, measureQTensorData, checkInputRank, readOutputSize,
} from './args.mjs';
import { encodeModuleFile } from './format.mjs';
import { STATUS_OUT_OF_MEMORY } from './runtime.mjs';
import { fromFloat } from './from-float.mjs';
import { loadModule } from './load.mjs';
import { BoundRunner, nativeExport, isWasmMemoryView, readKnownOptions } from './bound.mjs';
import { openConvStream } from './stream.mjs';

const FORWARD_OPTIONS = ['outputSize', 'out'];
const BIND_OPTIONS = ['scale', 'zeroPoint', 'outputSize'];

// qconv::OperatorKind codes.
const KIND_CONV1D = 0;
const KIND_CONV_TRANSPOSE1D = 1;

const registry = typeof FinalizationRegistry === 'function'
  ? new FinalizationRegistry((handle) => { handle.delete(); })
  : null;
// A runner collected without dispose() gives its buffers back.
const runnerRegistry = typeof FinalizationRegistry === 'function'
  ? new FinalizationRegistry((link) => { if (link.dead === null) link.release(); })
  : null;

// What fromFloat (js/from-float.mjs) does to the module it builds, with its
// own name in the messages. Filled in by the class body, the only code that
// sees the private fields; callers never get this object.
const internal = {};
// For loadModel (js/model.mjs), which takes the native operators out of the
// modules it builds.
export const moduleInternal = internal;

class QuantizedConvBase {
  #runtime;
  #handle = null;
  #name;
  #transposed;
  #inChannels;
  #outChannels;
  #kernelSize;
  #groups;
  // Cached per instance so that a forward makes two wasm calls (setup, run):
  // the output quantization (changed only through the setters) and views
  // of the wasm-side input/output buffers (renewed when a size changes or
  // memory growth detaches them).
  #outScale = 1;
  #outZeroPoint = 0;
  #inputView = null;
  #outputView = null;
  #inputQuantization = null;
  #forwardName;
  // The per-call path through plain wasm exports (bindings/qconv_bindings.cc):
  // the handle's address and the exports, taken once.
  #native;
  #address = 0;
  #setupExport;
  #runExport;
  // The live runners' links (js/bound.mjs), ended with the module.
  #runners = new Set();
  // The open streams (js/stream.mjs), disposed with the module.
  #streams = new Set();

  // runtime: the library instance's Runtime (js/runtime.mjs); name:
  // 'ConvTranspose1d' or 'Conv1d'; args: the constructor's arguments.
  constructor(runtime, name, args) {
    const mod = runtime.requireNative(name);
    this.#runtime = runtime;
    this.#name = name;
    this.#forwardName = `${name}.forward`;
    this.#transposed = name === 'ConvTranspose1d';
    const p = parseConstructorArgs(name, this.#transposed, args);
    const handle = mod.createNativeConv();
    if (handle === null) throw runtime.nativeError(name, name, STATUS_OUT_OF_MEMORY);
    const status = handle.create(this.#transposed ? KIND_CONV_TRANSPOSE1D : KIND_CONV1D, p.inChannels,
      p.outChannels, p.kernelSize, p.stride, p.padding, p.paddingSame, p.outputPadding, p.dilation, p.groups,
      p.bias, p.paddingMode);
    if (status !== 0) {
      handle.delete();
      throw runtime.nativeError(name, name, status);
    }
    if (p.relu) handle.setFusedRelu(true);
    this.#handle = handle;
    this.#native = mod;
    this.#address = handle.address();
    this.#setupExport = nativeExport(mod, 'qconv_forward_setup', 0, 0, 0, 0, 0, 0);
    this.#runExport = nativeExport(mod, 'qconv_run');
    this.#inChannels = p.inChannels;
    this.#outChannels = p.outChannels;
    this.#kernelSize = p.kernelSize;
    this.#groups = p.groups;
    Object.defineProperties(this, {
      inChannels: { value: p.inChannels, enumerable: true },
      outChannels: { value: p.outChannels, enumerable: true },
      kernelSize: { value: p.kernelSize, enumerable: true },
      stride: { value: p.stride, enumerable: true },
      // 'same' or 'valid' as given (PyTorch's m.padding is the string too).
      padding: { value: p.paddingName ?? p.padding, enumerable: true },
      dilation: { value: p.dilation, enumerable: true },
      groups: { value: p.groups, enumerable: true },
      paddingMode: { value: p.paddingModeName, enumerable: true },
      // A fused ReLU (torch's ConvReLU1d, or a ConvTranspose1d followed by ReLU).
      relu: { value: p.relu, enumerable: true },
    });
    if (this.#transposed) {
      Object.defineProperty(this, 'outputPadding', { value: p.outputPadding, enumerable: true });
    }
    if (registry) registry.register(this, handle, this);
  }

  // The native handle. Methods call it only after every caller value is
  // read (a getter may have disposed the module meanwhile), and nothing the
  // caller controls runs between it and their native calls.
  #live(what) {
    if (this.#handle === null) throw new Error(`${what}: the module was disposed`);
    return this.#handle;
  }

  #what(method) {
    return `${this.#name}.${method}`;
  }

  #fail(what, status) {
    return this.#runtime.nativeError(what, this.#name, status);
  }

  #weightShape() {
    return weightShape(this.#transposed, {
      inChannels: this.#inChannels, outChannels: this.#outChannels, groups: this.#groups, kernelSize: this.#kernelSize,
    });
  }

  setWeightBias(weight, bias) {
    const what = this.#what('setWeightBias');
    this.#live(what);
    // 1. Every caller value, read once.
    const arg = readWeightArg(what, weight, this.#outChannels);
    const biasList = readBiasArg(what, bias, this.#outChannels);
    // 2. No caller code from here on.
    const data = measureWeightArg(what, arg, this.#weightShape());
    this.#setWeights(what, data, arg.qparams, biasList);
  }

  // Our own values into the core: data { array: Int8Array, length },
  // qparams as readWeightQParams gives them, bias null or { length, values }.
  #setWeights(what, data, qparams, bias) {
    const handle = this.#live(what);
    const biasSize = bias === null ? -1 : bias.length;
    let status = handle.stageWeights(data.length, qparams.length, Math.max(biasSize, 0));
    if (status !== 0) throw this.#fail(what, status);
    if (data.length > 0) copyInto(handle.stagedWeights(), data.array);
    if (qparams.scales !== null && qparams.length > 0) {
      copyInto(handle.stagedScales(), float64Of(qparams.scales));
      copyInto(handle.stagedZeroPoints(), float64Of(qparams.zeroPoints));
    }
    if (bias !== null && bias.values !== null && bias.length > 0) {
      copyInto(handle.stagedBias(), bias.values);
    }
    status = handle.commitWeights(qparams.perChannel, qparams.length, biasSize);
    if (status !== 0) throw this.#fail(what, status);
  }

  weight() {
    const handle = this.#live(this.#what('weight'));
    const scales = numbersOf(handle.weightScalesView());
    const zeroPoints = numbersOf(handle.weightZeroPointsView());
    const perChannel = handle.weightPerChannel();
    const view = handle.weightView();
    return {
      data: int8Copy(view, typedArrayLength(view)),
      shape: this.#weightShape(),
      scale: perChannel ? scales : scales[0],
      zeroPoint: perChannel ? zeroPoints : zeroPoints[0],
      qscheme: perChannel ? 'per_channel_affine' : 'per_tensor_affine',
    };
  }

  bias() {
    const handle = this.#live(this.#what('bias'));
    if (!handle.hasBias()) return null;
    const view = handle.biasView();
    return float32Copy(view, typedArrayLength(view));
  }

  get scale() { return this.#live(this.#what('scale')).outputScale(); }
  set scale(value) {
    this.#live(this.#what('scale'));
    if (typeof value !== 'number') {
      throw new TypeError(`${this.#name}: scale must be a number, got ${describe(value)}`);
    }
    this.#setOutputQuantization(this.#name, value, this.#outZeroPoint);
  }

  get zeroPoint() { return this.#live(this.#what('zeroPoint')).outputZeroPoint(); }
  set zeroPoint(value) {
    this.#live(this.#what('zeroPoint'));
    checkInteger(this.#name, 'zeroPoint', value);
    this.#setOutputQuantization(this.#name, this.#outScale, value);
  }

  #setOutputQuantization(what, scale, zeroPoint) {
    const handle = this.#live(what);
    const status = handle.setOutputQuantization(scale, zeroPoint);
    if (status !== 0) throw this.#fail(what, status);
    this.#outScale = handle.outputScale();
    this.#outZeroPoint = handle.outputZeroPoint();
  }

  // The input quantization this module expects ({ scale, zeroPoint }, set
  // by fromFloat's calibration or by the caller), or null. Metadata only:
  // forward always uses the input tensor's own scale and zero point.
  get inputQuantization() {
    this.#live(this.#what('inputQuantization'));
    const q = this.#inputQuantization;
    return q === null ? null : { scale: q.scale, zeroPoint: q.zeroPoint };
  }
  set inputQuantization(value) {
    const what = this.#what('inputQuantization');
    this.#live(what);
    const parsed = parseInputQuantization(this.#name, 'inputQuantization', value);
    this.#live(what);
    this.#inputQuantization = parsed;
  }

  outputLength(inputLength, outputSize) {
    const what = this.#what('outputLength');
    this.#live(what);
    const requested = readOutputSize(what, this.#transposed, outputSize, null);
    checkInteger(what, 'inputLength', inputLength);
    return this.#outputLength(what, inputLength, requested);
  }

  #outputLength(what, inputLength, requested) {
    const n = this.#live(what).outputLength(inputLength, requested);
    if (n < 0) throw this.#fail(what, -n);
    return n;
  }

  // options: outputSize (ConvTranspose1d; also accepted in place of the
  // options object) and out (a Uint8Array of exactly the output's size that
  // receives the output: the result's data).
  forward(input, options) {
    const what = this.#forwardName;
    this.#live(what);
    // 1. Every caller value, read once.
    const x = readQTensor(what, 'input', input);
    checkInputRank(what, 'input', x.dims);
    if (typeof x.scale !== 'number') {
      throw new TypeError(`${what}: input.scale must be a number, got ${describe(x.scale)}`);
    }
    checkInteger(what, 'input.zeroPoint', x.zeroPoint);
    let outputSize = options, out;
    // An options object (not isPlainOptions: its DataView test throws and
    // catches, microseconds per call; a DataView is told apart below).
    if (options !== null && typeof options === 'object' && !isArrayValue(options) &&
        typedArrayTag(options) === undefined) {
      const o = readKnownOptions(what, options, FORWARD_OPTIONS);
      if (o.outputSize !== undefined || o.out !== undefined || !isDataView(options)) {
        outputSize = o.outputSize;
        out = o.out;
      }
      if (out !== undefined && typedArrayTag(out) !== 'Uint8Array') {
        throw new TypeError(`${what}: options.out must be a Uint8Array, got ${describe(out)}`);
      }
    }
    const requested = readOutputSize(what, this.#transposed, outputSize, x.dims.length);
    // 2. No caller code from here on.
    const data = measureQTensorData(what, 'input', x);
    const unbatched = x.dims.length === 2;
    let n, c, l;
    if (unbatched) {
      n = 1; c = x.dims[0]; l = x.dims[1];
    } else {
      n = x.dims[0]; c = x.dims[1]; l = x.dims[2];
    }
    this.#live(what);
    const outLength = this.#setupExport(this.#address, n, c, l, x.scale, x.zeroPoint, requested);
    if (outLength < 0) throw this.#fail(what, -outLength);
    const inBytes = n * c * l, outBytes = n * this.#outChannels * outLength;
    if (out !== undefined) this.#checkOut(what, out, outBytes);
    const handle = this.#handle;
    if (inBytes > 0) {
      let inputView = this.#inputView;
      if (inputView === null || typedArrayLength(inputView) !== inBytes) {
        inputView = this.#inputView = handle.inputView();
      }
      copyInto(inputView, data.array);
    }
    const status = this.#runExport(this.#address);
    if (status !== 0) throw this.#fail(what, status);
    if (outBytes > 0) {
      let outputView = this.#outputView;
      if (outputView === null || typedArrayLength(outputView) !== outBytes) {
        outputView = this.#outputView = handle.outputView();
      }
      if (out === undefined) out = uint8Copy(outputView, outBytes);
      else copyInto(out, outputView);
    } else if (out === undefined) {
      out = new Uint8Array(0);
    }
    return {
      data: out,
      shape: unbatched ? [this.#outChannels, outLength] : [n, this.#outChannels, outLength],
      scale: this.#outScale,
      zeroPoint: this.#outZeroPoint,
    };
  }

  // forward's options.out, measured (no caller code runs): exactly the
  // output's size, and not a view of wasm memory (our own buffers, which
  // the copy would overwrite, or memory malloc may hand out).
  #checkOut(what, out, outBytes) {
    if (isDetached(out)) {
      throw new RangeError(`${what}: options.out is a Uint8Array on a detached ArrayBuffer: it can hold no output`);
    }
    const length = typedArrayLength(out);
    if (length !== outBytes) {
      throw new RangeError(`${what}: options.out has ${length} elements but the output needs ${outBytes}`);
    }
    if (isWasmMemoryView(out, this.#native)) {
      throw new RangeError(`${what}: options.out must not be a view of qconv-wasm's own memory (copy a runner's output out instead)`);
    }
  }

  // A runner for inputs of one shape and quantization (js/bound.mjs):
  // inputShape [N, C, L] or [C, L]; options { scale, zeroPoint } of the
  // input (default: inputQuantization) and outputSize (ConvTranspose1d).
  // Checks everything forward would, once.
  bind(inputShape, options) {
    const what = this.#what('bind');
    this.#live(what);
    // 1. Every caller value, read once.
    const dims = readShape(what, 'inputShape', inputShape);
    if (dims.length !== 2 && dims.length !== 3) {
      throw new RangeError(`${what}: inputShape ([${dims}]) must be [N, C, L] or [C, L], got ${dims.length} dimensions`);
    }
    if (options !== undefined && !isPlainOptions(options)) {
      throw new TypeError(`${what}: options must be an object { scale, zeroPoint, outputSize }, got ${describe(options)}`);
    }
    const o = options === undefined ? {} : readKnownOptions(what, options, BIND_OPTIONS);
    let { scale, zeroPoint } = o;
    const q = this.#inputQuantization;
    if (scale === undefined && zeroPoint === undefined && q !== null) ({ scale, zeroPoint } = q);
    if (typeof scale !== 'number') {
      throw new TypeError(`${what}: options.scale (the input's scale) must be a number, got ${describe(scale)}` +
        (scale === undefined ? ' (or set the module\'s inputQuantization)' : ''));
    }
    checkInteger(what, 'options.zeroPoint', zeroPoint);
    // outputSize: the length, or forward's array form.
    const outputSize = o.outputSize;
    const requested = readOutputSize(what, this.#transposed, outputSize, typeof outputSize === 'number' ? null : dims.length);
    // 2. No caller code from here on.
    const handle = this.#live(what);
    const unbatched = dims.length === 2;
    const [n, c, l] = unbatched ? [1, dims[0], dims[1]] : dims;
    const id = handle.bind(n, c, l, scale, zeroPoint, requested);
    if (id < 0) throw this.#fail(what, -id);
    const outLength = handle.boundOutputLength(id);
    const runners = this.#runners;
    const link = {
      handle, id, address: this.#address, run: nativeExport(this.#native, 'qconv_run_bound', -1), dead: null,
      fail: (method, status) => this.#fail(method, status),
      release() {
        link.dead = 'the runner was disposed';
        runners.delete(link);
        handle.unbind(id);
      },
    };
    runners.add(link);
    const outputShape = unbatched ? [this.#outChannels, outLength] : [n, this.#outChannels, outLength];
    const runner = new BoundRunner(link, this.#name, dims, outputShape, n * c * l, n * this.#outChannels * outLength);
    if (runnerRegistry) runnerRegistry.register(runner, link, link);
    return runner;
  }

  // The runners end with the module (their buffers are the NativeConv's).
  #endRunners() {
    for (const link of this.#runners) {
      link.dead = 'the module was disposed';
      link.handle.unbind(link.id);
      if (runnerRegistry) runnerRegistry.unregister(link);
    }
    this.#runners.clear();
  }

  // A chunked forward over a snapshot of this module (js/stream.mjs).
  stream() {
    const what = this.#what('stream');
    return openConvStream(this.#runtime, this.#name, what, this, this.#live(what), this.#streams);
  }

  dispose() {
    if (this.#handle === null) return;
    for (const s of [...this.#streams]) s.dispose();
    if (registry) registry.unregister(this);
    this.#endRunners();
    this.#handle.delete();
    this.#handle = null;
    this.#inputView = this.#outputView = null;
  }

  get disposed() { return this.#handle === null; }

  // The module as bytes (docs/FORMAT.md); the class's static load() reads them.
  save() {
    const what = this.#what('save');
    this.#live(what);
    return encodeModuleFile(what, {
      kind: this.#name,
      inChannels: this.inChannels,
      outChannels: this.outChannels,
      kernelSize: this.kernelSize,
      stride: this.stride,
      padding: this.padding,
      outputPadding: this.#transposed ? this.outputPadding : 0,
      dilation: this.dilation,
      groups: this.groups,
      paddingMode: this.paddingMode,
      relu: this.relu,
      scale: this.#live(what).outputScale(),
      zeroPoint: this.#live(what).outputZeroPoint(),
      // Read once and checked, so that the file is one load() accepts
      // (a subclass may keep the property as a plain field).
      inputQuantization: savedInputQuantization(what, this.inputQuantization),
      weight: this.weight(),
      bias: this.bias(),
    });
  }

  static {
    internal.setWeights = (m, what, data, qparams, bias) => m.#setWeights(what, data, qparams, bias);
    internal.setOutputQuantization = (m, what, q) => m.#setOutputQuantization(what, q.scale, q.zeroPoint);
    internal.outputLength = (m, what, inputLength) => m.#outputLength(what, inputLength, -1);
    // The padding before the input as the core resolved it ('same' split).
    internal.paddingBefore = (m, what) => m.#live(what).paddingBefore();
    // The native handle, taken from the module (which is then disposed):
    // loadModel hands the operator inside to a model.
    internal.releaseHandle = (m) => {
      const handle = m.#handle;
      if (registry) registry.unregister(m);
      m.#endRunners();
      m.#handle = null;
      m.#inputView = m.#outputView = null;
      return handle;
    };
  }
}
if (typeof Symbol.dispose === 'symbol') {
  QuantizedConvBase.prototype[Symbol.dispose] = function dispose() { this.dispose(); };
}

// The classes of one library instance (its Runtime).
export function createModuleClasses(runtime) {
  const classes = {};
  for (const name of ['ConvTranspose1d', 'Conv1d']) classes[name] = moduleClass(runtime, name, classes);
  return classes;
}

// ConvTranspose1d or Conv1d (name spelled out: minifiers rename classes).
function moduleClass(runtime, name, classes) {
  const Module = class extends QuantizedConvBase {
    constructor(inChannels, outChannels, kernelSize, ...rest) {
      super(runtime, name, [inChannels, outChannels, kernelSize, ...rest]);
    }

    static fromFloat(options) { return fromFloat(runtime, internal, Module, name, options); }
    // `this`: a subclass's load builds an instance of the subclass.
    static load(bytes) { return loadModule(runtime, classes, this, name, bytes); }
  };
  Object.defineProperty(Module, 'name', { value: name });
  return Module;
}

function savedInputQuantization(what, value) {
  return value === undefined ? null : parseInputQuantization(what, 'inputQuantization', value);
}

function float64Of(numbers) {
  const out = new Float64Array(numbers.length);
  for (let i = 0; i < numbers.length; i++) out[i] = numbers[i];
  return out;
}

function numbersOf(view) {
  const out = [];
  for (let i = 0, n = typedArrayLength(view); i < n; i++) out.push(view[i]);
  return out;
}
