// The public JS API of qconv-wasm (spec/API.md), independent of how the wasm
// module is loaded. js/index.browser.mjs uses this file as ESM; the build
// writes dist/api.cjs from it for Node's CommonJS entry (one source).
//
// This layer checks JS types (TypeError) and shapes of JS values; the C++
// core checks value ranges (RangeError) and writes the messages. Caller
// values are read once, before any native call (js/caller-values.mjs).

import {
  roundHalfEven, observeMinMax, observeMinMaxPerChannel, symmetricQInt8Params, affineQUInt8Params,
  quantizeQInt8, float32Reciprocal, weightOutputChannels,
} from './observers.mjs';
import { floatConvTranspose1d, floatConv1d } from './float-conv.mjs';
import { encodeModuleFile, decodeModuleFile } from './format.mjs';
import {
  MAX_RANK, typedArrayTag, typedArrayLength, copyInto, measureTypedArray, arrayBufferByteLength,
  uint8Copy, int8Copy, float32Copy, readFields, isPlainOptions, isArrayValue, isRevokedProxy, checkInteger, readShape, readNumberList,
  readFloat32List, describe,
} from './caller-values.mjs';
import {
  initFailure, wasmBinaryBytes, describeWasmBinary, checkWasmBinary, kernelMismatch, glueOutput,
} from './init-checks.mjs';

const VERSION = '0.1.0';

// The smallest module using a v128 instruction: validates only where
// WebAssembly SIMD128 is supported.
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253,
  15, 253, 98, 11,
]);

const STATUS_INVALID_ARGUMENT = 1;
const STATUS_OUT_OF_MEMORY = 2;
const KIND_CONV1D = 0;
const KIND_CONV_TRANSPOSE1D = 1;
const INIT_OPTIONS = ['simd', 'numThreads', 'wasmBinary', 'locateFile'];
const MAX_THREADS = 64;

// platform: { threadSupport() -> null | why threads cannot run here,
// releaseWorkers(module) -> lets idle pool workers not keep Node alive,
// minParallelWork: runs of fewer multiply-adds stay on one thread }.
export function createQconv(loadNativeModule, platform = {}) {
  let native = null;
  let initInfo = null;
  let initPromise = null;

  // ---- init ---------------------------------------------------------------
  function init(options = {}) {
    if (initPromise) return initPromise;
    if (options === null || typeof options !== 'object' || isArrayValue(options)) {
      return Promise.reject(new TypeError(`init: options must be an object, got ${describe(options)}`));
    }
    for (const key of Object.keys(options)) {
      if (!INIT_OPTIONS.includes(key)) {
        return Promise.reject(new TypeError(
          `init: unknown option '${key}' (known: ${INIT_OPTIONS.join(', ')})`));
      }
    }
    const simdOption = options.simd === undefined ? 'auto' : options.simd;
    if (simdOption !== 'auto' && simdOption !== true && simdOption !== false) {
      return Promise.reject(new TypeError(
        `init: simd must be 'auto', true or false, got ${describe(simdOption)}`));
    }
    if (options.locateFile !== undefined && typeof options.locateFile !== 'function') {
      return Promise.reject(new TypeError(
        `init: locateFile must be a function (name, prefix) => url, got ${describe(options.locateFile)}`));
    }
    const userBinary = options.wasmBinary !== undefined;
    const wasmBinary = userBinary ? wasmBinaryBytes(options.wasmBinary) : undefined;
    if (wasmBinary === null) {
      return Promise.reject(new TypeError('init: wasmBinary must be an ArrayBuffer or a Uint8Array (a Node Buffer ' +
        `is one), got ${describeWasmBinary(options.wasmBinary) || describe(options.wasmBinary)}`));
    }
    let threads = options.numThreads === undefined ? 1 : options.numThreads;
    if (typeof threads !== 'number' || !Number.isInteger(threads)) {
      return Promise.reject(new TypeError(`init: numThreads must be an integer, got ${describe(threads)}`));
    }
    if (threads < 1 || threads > MAX_THREADS) {
      return Promise.reject(new RangeError(`init: numThreads (${threads}) must be in [1, ${MAX_THREADS}]`));
    }
    const simdSupported = typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE);
    if (simdOption === true && !simdSupported) {
      return Promise.reject(new Error(
        'init: simd: true was asked, but this WebAssembly engine has no SIMD128 support'));
    }
    const simd = simdOption === 'auto' ? simdSupported : simdOption;
    if (threads > 1) {
      // One warning, then one thread: the same bytes, only slower.
      const reason = !simd
        ? 'the threaded flavour needs WebAssembly SIMD128 (simd is false or unsupported here)'
        : platform.threadSupport ? platform.threadSupport() : 'this platform has no thread support';
      if (reason !== null) {
        console.warn(`qconv-wasm: numThreads ${threads} was asked, but ${reason}; running on one thread`);
        threads = 1;
      }
    }
    const flavour = threads > 1 ? 'simd-mt' : simd ? 'simd' : 'scalar';
    initPromise = (async () => {
      if (userBinary) await checkWasmBinary(wasmBinary, flavour, threads);
      const output = glueOutput();
      let module;
      try {
        module = await loadNativeModule({
          simd, threads, wasmBinary, locateFile: options.locateFile, print: output.print, printErr: output.printErr,
        });
      } catch (e) {
        throw initFailure(e, flavour, userBinary);
      }
      const mismatch = userBinary ? kernelMismatch(module.kernelFlavour(), flavour) : null;
      if (mismatch) throw mismatch;
      output.release();
      if (threads > 1) {
        if (platform.minParallelWork) module.setMinParallelWork(platform.minParallelWork);
        const refused = module.setNumThreads(threads);
        if (platform.releaseWorkers) platform.releaseWorkers(module);
        if (refused !== '') {
          console.warn(`qconv-wasm: ${refused}; running on one thread`);
        }
      }
      native = module;
      initInfo = Object.freeze({
        simd, version: VERSION, flavour: module.kernelFlavour(), threads: module.numThreads(),
      });
      return initInfo;
    })();
    // A failed init may be retried (e.g. with a locateFile override).
    initPromise.catch(() => { initPromise = null; });
    return initPromise;
  }

  function requireNative(what) {
    if (native === null) {
      throw new Error(`${what}: qconv-wasm is not initialised; call and await init() first`);
    }
    return native;
  }

  // ---- quantized tensors --------------------------------------------------
  function quantizePerTensor(values, shape, scale, zeroPoint) {
    const what = 'quantizePerTensor';
    requireNative(what);
    // Caller values, each read once (scale and zeroPoint are primitives or refused).
    const dims = readShape(what, 'shape', shape);
    const size = dims.reduce((a, b) => a * b, 1);
    // Non-finite values are allowed here: they saturate (policy).
    const floats = readFloat32List(what, 'values', values, size);
    if (floats.length !== size) {
      throw new RangeError(`${what}: values has ${floats.length} elements but shape [${dims}] needs ${size}`);
    }
    checkQuantization(what, 'scale', 'zeroPoint', scale, zeroPoint);
    const inv = Math.fround(1 / Math.fround(scale));
    const data = new Uint8Array(size);
    const x = floats.values;
    for (let i = 0; i < size; i++) {
      // torch: zp + rint_f32(x * (1/scale)), in float32; saturating (policy).
      const v = Math.fround(zeroPoint + roundHalfEven(Math.fround(x[i] * inv)));
      data[i] = v >= 0 ? (v <= 255 ? v : 255) : 0;  // NaN -> 0
    }
    return { data, shape: dims, scale, zeroPoint };
  }

  function dequantize(q) {
    const what = 'dequantize';
    requireNative(what);
    const t = readQTensor(what, 'q', q, MAX_RANK);
    checkQuantization(what, 'q.scale', 'q.zeroPoint', t.scale, t.zeroPoint);
    const data = measureQTensorData(what, 'q', t);
    const scale = Math.fround(t.scale);
    const zp = t.zeroPoint;
    const out = new Float32Array(data.length);
    // (Element reads run no caller code: no copy needed.)
    const bytes = data.array;
    for (let i = 0; i < data.length; i++) out[i] = Math.fround(scale * (bytes[i] - zp));
    return out;
  }

  // Diagnostics: the wasm memory size (it grows, never shrinks), the bytes
  // malloc has handed out, and the number of native modules not yet freed.
  function memoryStats() {
    const mod = requireNative('memoryStats');
    return {
      wasmBytes: mod.memoryBytes(), heapBytesInUse: mod.heapBytesInUse(), liveModules: mod.liveModules(),
    };
  }

  // The native side's last error message (static wasm memory, ASCII/UTF-8).
  function nativeMessage() {
    const view = native.errorMessage();
    return new TextDecoder().decode(uint8Copy(view, typedArrayLength(view)));
  }

  // A RangeError for a core status, its message naming `what` (the core
  // names only the module: "ConvTranspose1d: ..." becomes "ConvTranspose1d.forward: ...").
  function nativeError(what, name, status) {
    let message = nativeMessage();
    if (message.startsWith(`${name}: `)) message = `${what}: ${message.slice(name.length + 2)}`;
    else if (!message.startsWith(`${what}:`)) message = `${what}: ${message}`;
    if (status === STATUS_INVALID_ARGUMENT || status === STATUS_OUT_OF_MEMORY) return new RangeError(message);
    return new Error(`${message} (internal status ${status})`);
  }

  // ---- modules ------------------------------------------------------------
  const registry = typeof FinalizationRegistry === 'function'
    ? new FinalizationRegistry((handle) => { handle.delete(); })
    : null;

  class QuantizedConvBase {
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

    constructor(name, kind, args) {
      const mod = requireNative(name);
      this.#name = name;
      this.#forwardName = `${name}.forward`;
      this.#transposed = kind === KIND_CONV_TRANSPOSE1D;
      const p = parseConstructorArgs(name, this.#transposed, args);
      const handle = mod.createNativeConv();
      if (handle === null) throw nativeError(name, name, STATUS_OUT_OF_MEMORY);
      const status = handle.create(kind, p.inChannels, p.outChannels, p.kernelSize, p.stride,
        p.padding, p.paddingSame, p.outputPadding, p.dilation, p.groups, p.bias, p.paddingMode);
      if (status !== 0) {
        handle.delete();
        throw nativeError(name, name, status);
      }
      this.#handle = handle;
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
      });
      if (this.#transposed) {
        Object.defineProperty(this, 'outputPadding', { value: p.outputPadding, enumerable: true });
      }
      if (registry) registry.register(this, handle, this);
    }

    // The native handle. Methods call it only after every caller value is
    // read (a getter may have disposed the module meanwhile), and nothing the
    // caller controls runs between it and their native calls.
    #live(method) {
      if (this.#handle === null) {
        throw new Error(`${this.#name}.${method}: the module was disposed`);
      }
      return this.#handle;
    }

    #fail(method, status) {
      return nativeError(`${this.#name}${method ? `.${method}` : ''}`, this.#name, status);
    }

    #weightShape() {
      const cin = this.#inChannels, cout = this.#outChannels, g = this.#groups;
      return this.#transposed ? [cin, cout / g, this.#kernelSize] : [cout, cin / g, this.#kernelSize];
    }

    setWeightBias(weight, bias) {
      const what = `${this.#name}.setWeightBias`;
      this.#live('setWeightBias');
      // 1. Every caller value, read once.
      if (weight === null || typeof weight !== 'object') {
        throw new TypeError(`${what}: weight must be an object { data: Int8Array, scale, zeroPoint?, shape? }, got ${describe(weight)}`);
      }
      const fields = readFields(what, 'weight', weight, ['data', 'scale', 'zeroPoint', 'shape']);
      const cout = this.#outChannels;
      const expectedShape = this.#weightShape();
      const dims = fields.shape === undefined ? null : readShape(what, 'weight.shape', fields.shape);
      const qparams = readWeightQParams(what, fields.scale, fields.zeroPoint, cout);
      let biasList = null;
      if (bias !== null && bias !== undefined) {
        if (typedArrayTag(bias) !== 'Float32Array' && !isArrayValue(bias)) {
          throw new TypeError(`${what}: bias must be a Float32Array, an array of numbers or null, got ${describe(bias)}`);
        }
        biasList = readFloat32List(what, 'bias', bias, cout);
      }
      // 2. No caller code from here on.
      const data = measureTypedArray(what, 'weight.data', fields.data, 'Int8Array');
      if (dims !== null && (dims.length !== 3 || dims.some((d, i) => d !== expectedShape[i]))) {
        throw new RangeError(`${what}: weight.shape [${dims}] must be [${expectedShape}]`);
      }
      const handle = this.#live('setWeightBias');
      const biasSize = biasList === null ? -1 : biasList.length;
      let status = handle.stageWeights(data.length, qparams.length, Math.max(biasSize, 0));
      if (status !== 0) throw this.#fail('setWeightBias', status);
      if (data.length > 0) copyInto(handle.stagedWeights(), data.array);
      if (qparams.scales !== null && qparams.length > 0) {
        copyInto(handle.stagedScales(), float64Of(qparams.scales));
        copyInto(handle.stagedZeroPoints(), float64Of(qparams.zeroPoints));
      }
      if (biasList !== null && biasList.values !== null && biasList.length > 0) {
        copyInto(handle.stagedBias(), biasList.values);
      }
      status = handle.commitWeights(qparams.perChannel, qparams.length, biasSize);
      if (status !== 0) throw this.#fail('setWeightBias', status);
    }

    weight() {
      const handle = this.#live('weight');
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
      const handle = this.#live('bias');
      if (!handle.hasBias()) return null;
      const view = handle.biasView();
      return float32Copy(view, typedArrayLength(view));
    }

    get scale() { return this.#live('scale').outputScale(); }
    set scale(value) {
      const handle = this.#live('scale');
      if (typeof value !== 'number') {
        throw new TypeError(`${this.#name}: scale must be a number, got ${describe(value)}`);
      }
      const status = handle.setOutputQuantization(value, this.#outZeroPoint);
      if (status !== 0) throw this.#fail('', status);
      this.#outScale = handle.outputScale();
    }

    get zeroPoint() { return this.#live('zeroPoint').outputZeroPoint(); }
    set zeroPoint(value) {
      const handle = this.#live('zeroPoint');
      checkInteger(this.#name, 'zeroPoint', value);
      const status = handle.setOutputQuantization(this.#outScale, value);
      if (status !== 0) throw this.#fail('', status);
      this.#outZeroPoint = handle.outputZeroPoint();
    }

    // The input quantization this module expects ({ scale, zeroPoint }, set
    // by fromFloat's calibration or by the caller), or null. Metadata only:
    // forward always uses the input tensor's own scale and zero point.
    get inputQuantization() {
      this.#live('inputQuantization');
      const q = this.#inputQuantization;
      return q === null ? null : { scale: q.scale, zeroPoint: q.zeroPoint };
    }
    set inputQuantization(value) {
      this.#live('inputQuantization');
      const parsed = parseActivationQParams(this.#name, 'inputQuantization', value);
      this.#live('inputQuantization');
      this.#inputQuantization = parsed;
    }

    outputLength(inputLength, outputSize) {
      const what = `${this.#name}.outputLength`;
      this.#live('outputLength');
      const requested = this.#requestedLength(what, outputSize, null);
      checkInteger(what, 'inputLength', inputLength);
      const handle = this.#live('outputLength');
      const n = handle.outputLength(inputLength, requested);
      if (n < 0) throw this.#fail('outputLength', -n);
      return n;
    }

    // outputSize: undefined/null, or [L], or as many entries as the input
    // has dimensions (a bare number is accepted by outputLength only). Read
    // once; the core checks the value.
    #requestedLength(what, outputSize, rank) {
      if (outputSize === undefined || outputSize === null) return -1;
      if (!this.#transposed) {
        throw new TypeError(`${what}: outputSize is a ConvTranspose1d argument; Conv1d takes none`);
      }
      if (rank === null && typeof outputSize === 'number') {
        checkInteger(what, 'outputSize', outputSize);
        if (outputSize < 0) throw new RangeError(`${what}: outputSize (${outputSize}) must be >= 1`);
        return outputSize;
      }
      if (!isArrayValue(outputSize)) {
        throw new TypeError(`${what}: outputSize must be an array of integers, got ${describe(outputSize)}`);
      }
      const allowed = rank === null ? [1, 2, 3] : [1, rank];
      const sizes = readShape(what, 'outputSize', outputSize, 3);
      if (!allowed.includes(sizes.length)) {
        throw new RangeError(`${what}: outputSize ([${sizes}]) must have ${allowed.join(' or ')} entries, got ${sizes.length}`);
      }
      return sizes[sizes.length - 1];
    }

    forward(input, outputSize) {
      const what = this.#forwardName;
      this.#live('forward');
      // 1. Every caller value, read once.
      const x = readQTensor(what, 'input', input, MAX_RANK);
      if (x.dims.length !== 2 && x.dims.length !== 3) {
        throw new RangeError(`${what}: input.shape ([${x.dims}]) must be [N, C, L] or [C, L], got ${x.dims.length} dimensions`);
      }
      if (typeof x.scale !== 'number') {
        throw new TypeError(`${what}: input.scale must be a number, got ${describe(x.scale)}`);
      }
      checkInteger(what, 'input.zeroPoint', x.zeroPoint);
      const requested = this.#requestedLength(what, outputSize, x.dims.length);
      // 2. No caller code from here on.
      const data = measureQTensorData(what, 'input', x);
      const unbatched = x.dims.length === 2;
      const [n, c, l] = unbatched ? [1, x.dims[0], x.dims[1]] : x.dims;
      const handle = this.#live('forward');
      const outLength = handle.setup(n, c, l, x.scale, x.zeroPoint, requested);
      if (outLength < 0) throw this.#fail('forward', -outLength);
      const inBytes = n * c * l, outBytes = n * this.#outChannels * outLength;
      if (inBytes > 0) {
        let inputView = this.#inputView;
        if (inputView === null || typedArrayLength(inputView) !== inBytes) {
          inputView = this.#inputView = handle.inputView();
        }
        copyInto(inputView, data.array);
      }
      const status = handle.run();
      if (status !== 0) throw this.#fail('forward', status);
      let out;
      if (outBytes > 0) {
        let outputView = this.#outputView;
        if (outputView === null || typedArrayLength(outputView) !== outBytes) {
          outputView = this.#outputView = handle.outputView();
        }
        out = uint8Copy(outputView, outBytes);
      } else {
        out = new Uint8Array(0);
      }
      return {
        data: out,
        shape: unbatched ? [this.#outChannels, outLength] : [n, this.#outChannels, outLength],
        scale: this.#outScale,
        zeroPoint: this.#outZeroPoint,
      };
    }

    dispose() {
      if (this.#handle === null) return;
      if (registry) registry.unregister(this);
      this.#handle.delete();
      this.#handle = null;
      this.#inputView = this.#outputView = null;
    }

    get disposed() { return this.#handle === null; }

    // The module as bytes (docs/FORMAT.md); the class's static load() reads them.
    save() {
      this.#live('save');
      return encodeModuleFile(`${this.#name}.save`, {
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
        scale: this.#live('save').outputScale(),
        zeroPoint: this.#live('save').outputZeroPoint(),
        // Read once and checked, so that the file is one load() accepts
        // (a subclass may keep the property as a plain field).
        inputQuantization: savedInputQuantization(`${this.#name}.save`, this.inputQuantization),
        weight: this.weight(),
        bias: this.bias(),
      });
    }
  }
  if (typeof Symbol.dispose === 'symbol') {
    QuantizedConvBase.prototype[Symbol.dispose] = function dispose() { this.dispose(); };
  }

  class ConvTranspose1d extends QuantizedConvBase {
    constructor(inChannels, outChannels, kernelSize, ...rest) {
      super('ConvTranspose1d', KIND_CONV_TRANSPOSE1D, [inChannels, outChannels, kernelSize, ...rest]);
    }

    static fromFloat(options) {
      return fromFloat(ConvTranspose1d, 'ConvTranspose1d', true, options);
    }
    static load(bytes) { return loadModule(this, ConvTranspose1d, 'ConvTranspose1d', bytes); }
  }

  class Conv1d extends QuantizedConvBase {
    constructor(inChannels, outChannels, kernelSize, ...rest) {
      super('Conv1d', KIND_CONV1D, [inChannels, outChannels, kernelSize, ...rest]);
    }

    static fromFloat(options) {
      return fromFloat(Conv1d, 'Conv1d', false, options);
    }
    static load(bytes) { return loadModule(this, Conv1d, 'Conv1d', bytes); }
  }

  // ---- fromFloat ----------------------------------------------------------
  // torch's from_float with the qnnpack default weight observer (symmetric
  // qint8 MinMax, per tensor) or its per-channel twin, and MinMax quint8
  // activation observers (SEMANTICS §7).
  function fromFloat(Module, name, transposed, options) {
    const what = `${name}.fromFloat`;
    requireNative(what);
    if (!isPlainOptions(options)) {
      throw new TypeError(`${what}: options must be an object { weight, bias?, inChannels, outChannels, kernelSize, ... }, got ${describe(options)}`);
    }
    const geometryKeys = transposed ? FROM_FLOAT_TRANSPOSED_GEOMETRY : FROM_FLOAT_CONV_GEOMETRY;
    const known = [...geometryKeys, ...FROM_FLOAT_KEYS];
    for (const key of Object.keys(options)) {
      if (!known.includes(key)) {
        throw new TypeError(`${what}: unknown option '${key}' (known: ${known.join(', ')})`);
      }
    }
    // Every option read once, then only the copies are used.
    const o = readFields(what, 'options', options, known);
    if (o.weight === undefined) throw new TypeError(`${what}: weight (the float weights) is required`);
    const qscheme = o.weightQScheme === undefined ? 'per_tensor' : o.weightQScheme;
    if (typeof qscheme !== 'string') {
      throw new TypeError(`${what}: weightQScheme must be a string, got ${describe(qscheme)}`);
    }
    if (qscheme !== 'per_tensor' && qscheme !== 'per_channel') {
      throw new RangeError(`${what}: weightQScheme (${JSON.stringify(qscheme)}) must be 'per_tensor' or 'per_channel'`);
    }
    const explicitInput = o.input === undefined ? null : parseActivationQParams(what, 'input', o.input);
    const explicitOutput = o.output === undefined ? null : parseActivationQParams(what, 'output', o.output);
    const geometry = { bias: o.bias !== undefined && o.bias !== null };
    for (const key of geometryKeys.slice(3)) {
      if (o[key] !== undefined) geometry[key] = o[key];
    }
    // The module checks the geometry (and is disposed if anything below fails).
    const m = new Module(o.inChannels, o.outChannels, o.kernelSize, geometry);
    try {
      const { inChannels, outChannels, kernelSize, groups } = m;
      const weightShape = transposed
        ? [inChannels, outChannels / groups, kernelSize] : [outChannels, inChannels / groups, kernelSize];
      const weightSize = weightShape[0] * weightShape[1] * weightShape[2];
      const weight = floatValues(what, 'weight', o.weight, weightSize);
      if (weight.length !== weightSize) {
        throw new RangeError(`${what}: weight has ${weight.length} elements but its shape [${weightShape}] needs ${weightSize}`);
      }
      const bias = geometry.bias ? floatValues(what, 'bias', o.bias, outChannels) : null;
      if (bias !== null && bias.length !== outChannels) {
        throw new RangeError(`${what}: bias has ${bias.length} elements but outChannels is ${outChannels}`);
      }
      const calibration = o.calibration === undefined || o.calibration === null
        ? null : readCalibration(what, m, o.calibration);
      let qweight;
      if (qscheme === 'per_tensor') {
        const range = observeMinMax(null, weight.values);
        const { scale } = symmetricQInt8Params(range.min, range.max);
        const inverse = float32Reciprocal(scale);
        qweight = { data: quantizeQInt8(weight.values, () => inverse), scale, zeroPoint: 0 };
      } else {
        const channelOf = weightOutputChannels(transposed, inChannels, outChannels, groups, kernelSize);
        const params = observeMinMaxPerChannel(weight.values, channelOf, outChannels)
          .map((p) => symmetricQInt8Params(p.min, p.max));
        const inverses = params.map((p) => float32Reciprocal(p.scale));
        qweight = {
          data: quantizeQInt8(weight.values, (i) => inverses[channelOf[i]]),
          scale: params.map((p) => p.scale),
          zeroPoint: 0,
        };
      }
      m.setWeightBias(qweight, bias === null ? null : bias.values);

      const observed = calibration === null ? null
        : calibrate(what, m, transposed, weight.values, bias === null ? null : bias.values, calibration);
      // Explicit qparams win over observed ones.
      const output = explicitOutput ?? (observed === null ? null : observed.output);
      if (output !== null) {
        m.scale = output.scale;
        m.zeroPoint = output.zeroPoint;
      }
      m.inputQuantization = explicitInput ?? (observed === null ? null : observed.input);
      return m;
    } catch (e) {
      m.dispose();
      throw e;
    }
  }

  // The calibration batches, read once and checked against the module: a
  // list of { shape, data: Float32Array } copies, each with its output length.
  function readCalibration(what, m, calibration) {
    if (!isArrayValue(calibration)) {
      throw new TypeError(`${what}: calibration must be an array of { data, shape } batches, got ${describe(calibration)}`);
    }
    const count = calibration.length;
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 0 || count > MAX_CALIBRATION_BATCHES) {
      throw new RangeError(`${what}: calibration has ${describe(count)} batches, at most ${MAX_CALIBRATION_BATCHES} are allowed`);
    }
    const raw = [];
    for (let b = 0; b < count; b++) raw.push(calibration[b]);
    const batches = [];
    for (let b = 0; b < count; b++) {
      const name = `calibration[${b}]`;
      const batch = raw[b];
      if (!isPlainOptions(batch)) {
        throw new TypeError(`${what}: ${name} must be an object { data: Float32Array | number[], shape: [N, C, L] or [C, L] }, got ${describe(batch)}`);
      }
      const fields = readFields(what, name, batch, ['shape', 'data']);
      const dims = readShape(what, `${name}.shape`, fields.shape);
      if (dims.length !== 2 && dims.length !== 3) {
        throw new RangeError(`${what}: ${name}.shape ([${dims}]) must be [N, C, L] or [C, L], got ${dims.length} dimensions`);
      }
      const [n, c, length] = dims.length === 2 ? [1, ...dims] : dims;
      if (c !== m.inChannels) {
        throw new RangeError(`${what}: ${name}.shape ([${dims}]) has ${c} channels but inChannels is ${m.inChannels}`);
      }
      if (fields.data === undefined) throw new TypeError(`${what}: ${name}.data is required`);
      const x = floatValues(what, `${name}.data`, fields.data, n * c * length);
      if (x.length !== n * c * length) {
        throw new RangeError(`${what}: ${name}.data has ${x.length} elements but shape [${dims}] needs ${n * c * length}`);
      }
      let outLength;
      try {
        outLength = m.outputLength(length);
      } catch (e) {
        throw new RangeError(`${what}: ${name}: ${e.message}`);
      }
      if (outLength > MAX_CALIBRATION_ROW) {
        throw new RangeError(`${what}: ${name}: the output length (${outLength}) is beyond the float calibration forward's limit (${MAX_CALIBRATION_ROW})`);
      }
      // The float forward's work, bounded as forward's is: what forward
      // refuses as too large, the calibration refuses too (at once).
      const outputs = n * m.outChannels * outLength;
      if (outputs > MAX_FORWARD_BYTES) {
        throw new RangeError(`${what}: ${name}: the output [${n}, ${m.outChannels}, ${outLength}] has ${outputs} values, more than a forward can produce (2 GiB of quint8)`);
      }
      batches.push({ n, length, outLength, values: x.values });
    }
    return batches;
  }

  // Runs the float module over the calibration batches and MinMax-observes
  // its inputs (as a QuantStub would) and outputs (activation_post_process).
  function calibrate(what, m, transposed, weight, bias, batches) {
    const geometry = {
      inChannels: m.inChannels, outChannels: m.outChannels, kernelSize: m.kernelSize, stride: m.stride,
      padding: leadingPadding(m), dilation: m.dilation, groups: m.groups, paddingMode: m.paddingMode,
      outLength: 0,
    };
    let inputRange = null, outputRange = null;
    for (const { n, length, outLength, values } of batches) {
      if (n === 0) continue;  // torch's observers skip empty tensors
      geometry.outLength = outLength;
      inputRange = observeMinMax(inputRange, values);
      const observeRow = (row) => { outputRange = observeMinMax(outputRange, row); };
      if (transposed) floatConvTranspose1d(values, n, length, weight, bias, geometry, observeRow);
      else floatConv1d(values, n, length, weight, bias, geometry, observeRow);
    }
    if (inputRange === null) {
      throw new RangeError(`${what}: calibration has no values to observe (${batches.length} batches, all empty)`);
    }
    const input = affineQUInt8Params(inputRange.min, inputRange.max);
    const output = affineQUInt8Params(outputRange.min, outputRange.max);
    // A range wider than float32 (or an output that overflows it) gives an
    // infinite scale, which no module accepts.
    if (input.scale === Infinity) {
      throw new RangeError(`${what}: the calibration inputs span [${inputRange.min}, ${inputRange.max}], too wide for a float32 scale`);
    }
    if (output.scale === Infinity) {
      throw new RangeError(`${what}: the float outputs on the calibration data span [${outputRange.min}, ${outputRange.max}], beyond float32 range`);
    }
    return { input, output };
  }

  // A module from save()'s bytes. `cls` is the class load() was called on
  // (a subclass builds an instance of itself); base: ConvTranspose1d or Conv1d,
  // and its name spelled out (minifiers rename classes).
  function loadModule(cls, base, name, bytes) {
    const what = `${name}.load`;
    requireNative(what);
    // Our own copy first: the caller's buffer (shared, resizable) could
    // change between the checksum and the parse.
    let copy;
    const tag = typedArrayTag(bytes);
    if (tag === 'Uint8Array') {
      const view = measureTypedArray(what, 'bytes', bytes, 'Uint8Array');
      copy = uint8Copy(view.array, view.length);
    } else if (tag === undefined && arrayBufferByteLength(bytes) >= 0) {
      // A detached ArrayBuffer has byte length 0: it holds no bytes.
      const length = arrayBufferByteLength(bytes);
      copy = length === 0 ? new Uint8Array(0) : uint8Copy(new Uint8Array(bytes, 0, length), length);
    } else {
      throw new TypeError(`${what}: bytes must be a Uint8Array or an ArrayBuffer, got ${describe(bytes)}`);
    }
    const d = decodeModuleFile(what, copy, name);
    const options = {
      stride: d.stride, padding: d.padding, dilation: d.dilation, groups: d.groups,
      bias: d.bias !== null, paddingMode: d.paddingMode,
    };
    if (base === ConvTranspose1d) options.outputPadding = d.outputPadding;
    const Cls = typeof cls === 'function' && (cls === base || cls.prototype instanceof base) ? cls : base;
    let m;
    try {
      m = new Cls(d.inChannels, d.outChannels, d.kernelSize, options);
    } catch (e) {
      throw storedValueError(what, e);
    }
    try {
      m.setWeightBias(d.weight, d.bias);
      m.scale = d.scale;
      m.zeroPoint = d.zeroPoint;
      // Stored by builds that have the property; restored where it can be set.
      if (d.inputQuantization !== null && hasSetter(m, 'inputQuantization')) {
        m.inputQuantization = d.inputQuantization;
      }
    } catch (e) {
      m.dispose();
      throw storedValueError(what, e);
    }
    return m;
  }

  return {
    init, ConvTranspose1d, Conv1d, quantizePerTensor, dequantize, memoryStats, version: VERSION,
  };
}

// ---- argument parsing (pure functions) -----------------------------------

const TRANSPOSED_ORDER = ['stride', 'padding', 'outputPadding', 'groups', 'bias', 'dilation', 'paddingMode'];
const CONV_ORDER = ['stride', 'padding', 'dilation', 'groups', 'bias', 'paddingMode'];
const DEFAULTS = {
  stride: 1, padding: 0, outputPadding: 0, groups: 1, bias: true, dilation: 1, paddingMode: 'zeros',
};

function parseConstructorArgs(name, transposed, args) {
  const order = transposed ? TRANSPOSED_ORDER : CONV_ORDER;
  const [inChannels, outChannels, kernelSize, ...rest] = args;
  const values = { ...DEFAULTS };
  if (rest.length === 1 && isPlainOptions(rest[0])) {
    // Each option read once (Object.entries reads every own enumerable one).
    for (const [key, value] of Object.entries(rest[0])) {
      if (!order.includes(key)) {
        throw new TypeError(`${name}: unknown option '${key}' (known: ${order.join(', ')})`);
      }
      if (value !== undefined) values[key] = value;
    }
  } else {
    if (rest.length > order.length) {
      throw new TypeError(`${name}: takes at most ${3 + order.length} arguments, got ${args.length}`);
    }
    rest.forEach((value, i) => {
      if (isPlainOptions(value)) {
        throw new TypeError(`${name}: an options object must be the 4th and last argument`);
      }
      if (value !== undefined) values[order[i]] = value;
    });
  }
  const p = {
    inChannels: sizeArg(name, 'inChannels', inChannels),
    outChannels: sizeArg(name, 'outChannels', outChannels),
    kernelSize: sizeArg(name, 'kernelSize', kernelSize),
    stride: sizeArg(name, 'stride', values.stride),
    ...paddingArg(name, transposed, values.padding),
    outputPadding: transposed ? sizeArg(name, 'outputPadding', values.outputPadding) : 0,
    dilation: sizeArg(name, 'dilation', values.dilation),
    groups: sizeArg(name, 'groups', values.groups),
    bias: values.bias,
  };
  if (typeof p.bias !== 'boolean') {
    throw new TypeError(`${name}: bias must be true or false, got ${describe(p.bias)}`);
  }
  const mode = values.paddingMode;
  if (typeof mode !== 'string') {
    throw new TypeError(`${name}: paddingMode must be a string, got ${describe(mode)}`);
  }
  const allowed = transposed ? ['zeros'] : ['zeros', 'reflect'];
  if (!allowed.includes(mode)) {
    throw new RangeError(`${name}: paddingMode (${JSON.stringify(mode)}) must be ${allowed.map((m) => `'${m}'`).join(' or ')}`);
  }
  p.paddingModeName = mode;
  p.paddingMode = mode === 'reflect' ? 1 : 0;
  return p;
}

// Output values per row the float calibration forward keeps in memory (float64).
const MAX_CALIBRATION_ROW = 2 ** 26;
// What a forward may produce (the core's limit on any buffer: 2 GiB).
const MAX_FORWARD_BYTES = 2 ** 31;
const MAX_CALIBRATION_BATCHES = 2 ** 20;
const FROM_FLOAT_TRANSPOSED_GEOMETRY = ['inChannels', 'outChannels', 'kernelSize',
  'stride', 'padding', 'outputPadding', 'groups', 'dilation', 'paddingMode'];
const FROM_FLOAT_CONV_GEOMETRY = ['inChannels', 'outChannels', 'kernelSize',
  'stride', 'padding', 'dilation', 'groups', 'paddingMode'];
const FROM_FLOAT_KEYS = ['weight', 'bias', 'weightQScheme', 'input', 'output', 'calibration'];

// Float32Array, or an array of numbers (rounded to float32), copied: every
// value must be finite as a float32. { length, values } (values null when
// there are more than maxLength: the count alone is wrong).
function floatValues(owner, name, value, maxLength) {
  const list = readFloat32List(owner, name, value, maxLength);
  if (list.values === null) return list;
  for (let i = 0; i < list.length; i++) {
    if (!Number.isFinite(list.values[i])) {
      const given = list.given ? list.given[i] : list.values[i];
      throw new RangeError(`${owner}: ${name}[${i}] (${given}) must be finite as a float32`);
    }
  }
  return list;
}

// An activation's { scale, zeroPoint } (quint8), or null; each read once.
// Other properties are ignored, so a QTensor can be passed.
function parseActivationQParams(owner, name, value) {
  if (value === null) return null;
  if (!isPlainOptions(value)) {
    throw new TypeError(`${owner}: ${name} must be an object { scale, zeroPoint } or null, got ${describe(value)}`);
  }
  const { scale, zeroPoint } = readFields(owner, name, value, ['scale', 'zeroPoint']);
  checkQuantization(owner, `${name}.scale`, `${name}.zeroPoint`, scale, zeroPoint);
  return { scale, zeroPoint };
}

// A QTensor's fields, each read once: { data (unmeasured), dims, scale,
// zeroPoint }. TypeError for a value that is not an object.
function readQTensor(owner, name, q, maxRank) {
  if (q === null || typeof q !== 'object') {
    throw new TypeError(`${owner}: ${name} must be a QTensor { data: Uint8Array, shape, scale, zeroPoint }, got ${describe(q)}`);
  }
  if (isRevokedProxy(q)) throw new TypeError(`${owner}: ${name} is a revoked Proxy`);
  // Each field read once, in this order (spelled out: forward's hot path).
  const data = q.data;
  const shape = q.shape;
  const scale = q.scale;
  const zeroPoint = q.zeroPoint;
  // The data's type first: a wrong type is the likelier mistake.
  if (typedArrayTag(data) !== 'Uint8Array') {
    throw new TypeError(`${owner}: ${name}.data must be a Uint8Array, got ${describe(data)}`);
  }
  const dims = readShape(owner, name === 'input' ? 'input.shape' : `${name}.shape`, shape, maxRank);
  return { data, dims, scale, zeroPoint };
}

// Step 2 for a QTensor read by readQTensor: its data measured (no caller
// code runs) and checked against its shape.
function measureQTensorData(owner, name, t) {
  const data = measureTypedArray(owner, `${name}.data`, t.data, 'Uint8Array');
  const size = t.dims.reduce((a, b) => a * b, 1);
  if (size !== data.length) {
    throw new RangeError(`${owner}: ${name}.data has ${data.length} elements but shape [${t.dims}] needs ${size}`);
  }
  return data;
}

const PADDING_STRINGS = ['same', 'valid'];

// The padding before the input: 'same' puts the smaller half of
// dilation*(kernelSize-1) there (torch's split), 'valid' none.
function leadingPadding(m) {
  if (m.padding === 'valid') return 0;
  if (m.padding === 'same') return Math.floor(m.dilation * (m.kernelSize - 1) / 2);
  return m.padding;
}

// padding: an integer (or a one-element array), or for Conv1d PyTorch's
// 'same' (the core splits dilation*(kernelSize-1); stride 1 only) or
// 'valid' (no padding).
function paddingArg(name, transposed, value) {
  if (typeof value === 'string') {
    if (transposed) {
      // torch.nn.ConvTranspose1d stores a string but fails at forward with a TypeError.
      throw new TypeError(`${name}: padding must be an integer (ConvTranspose1d takes no 'same' or 'valid'; torch.nn.ConvTranspose1d fails on them with a TypeError at forward), got ${describe(value)}`);
    }
    if (!PADDING_STRINGS.includes(value)) {
      throw new RangeError(`${name}: padding (${describe(value)}) must be an integer, 'same' or 'valid'`);
    }
    return { padding: 0, paddingSame: value === 'same', paddingName: value };
  }
  if (!transposed && typeof value !== 'number' && !isArrayValue(value)) {
    throw new TypeError(`${name}: padding must be an integer, 'same' or 'valid', got ${describe(value)}`);
  }
  return { padding: sizeArg(name, 'padding', value), paddingSame: false, paddingName: null };
}

// An integer, or a one-element array holding one (PyTorch's _single); the
// array's length and entry are read once.
function sizeArg(owner, name, value) {
  if (isArrayValue(value)) {
    const length = value.length;
    if (length !== 1) {
      throw new RangeError(`${owner}: ${name} (${describe(value)}) must be one integer or a one-element array: this is a 1-D module`);
    }
    value = value[0];
  }
  checkInteger(owner, name, value);
  return value;
}

function checkQuantization(owner, scaleName, zeroPointName, scale, zeroPoint) {
  if (typeof scale !== 'number') {
    throw new TypeError(`${owner}: ${scaleName} must be a number, got ${describe(scale)}`);
  }
  const f = Math.fround(scale);
  if (!(Number.isFinite(scale) && scale > 0 && Number.isFinite(f) && f >= 1.1754943508222875e-38)) {
    throw new RangeError(`${owner}: ${scaleName} (${describe(scale)}) must be finite, > 0 and a normal float32`);
  }
  checkInteger(owner, zeroPointName, zeroPoint);
  if (zeroPoint < 0 || zeroPoint > 255) {
    throw new RangeError(`${owner}: ${zeroPointName} (${zeroPoint}) must be an integer in [0, 255]`);
  }
}

// A weight's qparams, read once: a number scale is per-tensor (zeroPoint a
// number or absent); an array or typed array of scales is per-channel
// (zeroPoint one number for all, or as many). Returns { perChannel, length,
// scales, zeroPoints }: the caller's count, and the values when the count
// is at most maxLength (else null: the core refuses the count, unread).
function readWeightQParams(what, scale, zeroPoint, maxLength) {
  if (typeof scale === 'number') {
    if (zeroPoint !== undefined && typeof zeroPoint !== 'number') {
      throw new TypeError(`${what}: a per-tensor weight (scalar scale) needs a scalar zeroPoint, got ${describe(zeroPoint)}`);
    }
    const zp = zeroPoint === undefined ? 0 : zeroPoint;
    checkInteger(what, 'weight.zeroPoint', zp);
    return { perChannel: false, length: 1, scales: [scale], zeroPoints: [zp] };
  }
  const scales = readNumberList(what, 'weight.scale', scale, maxLength);
  if (scales === null) {
    throw new TypeError(`${what}: weight.scale must be a number (per-tensor) or an array of numbers (per-channel), got ${describe(scale)}`);
  }
  let zeroPoints;
  if (zeroPoint === undefined || typeof zeroPoint === 'number') {
    const zp = zeroPoint === undefined ? 0 : zeroPoint;
    checkInteger(what, 'weight.zeroPoint', zp);
    zeroPoints = scales.values === null ? null : new Array(scales.length).fill(zp);
  } else {
    const list = readNumberList(what, 'weight.zeroPoint', zeroPoint, maxLength,
      (i, v) => checkInteger(what, `weight.zeroPoint[${i}]`, v));
    if (list === null) {
      throw new TypeError(`${what}: weight.zeroPoint must be an integer or an array of integers, got ${describe(zeroPoint)}`);
    }
    if (list.length !== scales.length) {
      throw new RangeError(`${what}: weight.zeroPoint has ${list.length} entries but weight.scale has ${scales.length}`);
    }
    zeroPoints = list.values;
  }
  return { perChannel: true, length: scales.length, scales: scales.values, zeroPoints };
}

function savedInputQuantization(what, value) {
  return value === undefined ? null : parseActivationQParams(what, 'inputQuantization', value);
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

// A value the bytes hold that the module rejects is a bad value of the
// bytes argument: a RangeError naming load and quoting the module's message.
function storedValueError(what, e) {
  if (!(e instanceof TypeError || e instanceof RangeError)) return e;
  // A full heap is not the bytes' fault.
  if (/out of memory: /.test(e.message)) {
    return new RangeError(`${what}: ${e.message.replace(/^[\w.]+: /, '')}`);
  }
  return new RangeError(`${what}: the bytes hold a value the module rejects: ${e.message}`);
}

function hasSetter(object, key) {
  for (let o = object; o !== null; o = Object.getPrototypeOf(o)) {
    const d = Object.getOwnPropertyDescriptor(o, key);
    if (d) return typeof d.set === 'function' || d.writable === true;
  }
  return false;
}
