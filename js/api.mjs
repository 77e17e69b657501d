// The public JS API of qconv-wasm (spec/API.md), independent of how the wasm
// module is loaded. js/index.browser.mjs uses this file as ESM; the build
// writes dist/api.cjs from it for Node's CommonJS entry (one source).
//
// This layer checks JS types (TypeError) and shapes of JS values; the C++
// core checks value ranges (RangeError) and writes the messages.

import {
  roundHalfEven, observeMinMax, observeMinMaxPerChannel, symmetricQInt8Params, affineQUInt8Params,
  quantizeQInt8, float32Reciprocal, weightOutputChannels,
} from './observers.mjs';
import { floatConvTranspose1d, floatConv1d } from './float-conv.mjs';
import { encodeModuleFile, decodeModuleFile } from './format.mjs';
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
    if (options === null || typeof options !== 'object' || Array.isArray(options)) {
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
    // Non-finite values are allowed here: they saturate (policy).
    const floats = toFloat32(what, 'values', values);
    const dims = checkShape(what, 'shape', shape);
    const size = dims.reduce((a, b) => a * b, 1);
    if (size !== floats.length) {
      throw new RangeError(`${what}: values has ${floats.length} elements but shape [${dims}] needs ${size}`);
    }
    checkQuantization(what, 'scale', 'zeroPoint', scale, zeroPoint);
    const inv = Math.fround(1 / Math.fround(scale));
    const zp = zeroPoint;
    const data = new Uint8Array(size);
    for (let i = 0; i < size; i++) {
      // torch: zp + rint_f32(x * (1/scale)), in float32; saturating (policy).
      const v = Math.fround(zp + roundHalfEven(Math.fround(floats[i] * inv)));
      data[i] = v >= 0 ? (v <= 255 ? v : 255) : 0;  // NaN -> 0
    }
    return { data, shape: dims, scale, zeroPoint };
  }

  function dequantize(q) {
    const what = 'dequantize';
    requireNative(what);
    const { data } = checkQTensor(what, 'q', q, null);
    checkQuantization(what, 'q.scale', 'q.zeroPoint', q.scale, q.zeroPoint);
    const scale = Math.fround(q.scale);
    const zp = q.zeroPoint;
    const out = new Float32Array(data.length);
    for (let i = 0; i < data.length; i++) out[i] = Math.fround(scale * (data[i] - zp));
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

    constructor(name, kind, args) {
      const mod = requireNative(name);
      this.#name = name;
      this.#transposed = kind === KIND_CONV_TRANSPOSE1D;
      const p = parseConstructorArgs(name, this.#transposed, args);
      const handle = new mod.NativeConv();
      const status = handle.create(kind, p.inChannels, p.outChannels, p.kernelSize, p.stride,
        p.padding, p.paddingSame, p.outputPadding, p.dilation, p.groups, p.bias, p.paddingMode);
      if (status !== 0) {
        const message = handle.lastError();
        handle.delete();
        throw statusError(status, message);
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

    #live(method) {
      if (this.#handle === null) {
        throw new Error(`${this.#name}.${method}: the module was disposed`);
      }
      return this.#handle;
    }

    #check(status, handle) {
      if (status !== 0) throw statusError(status, handle.lastError());
    }

    #weightShape() {
      const cin = this.#inChannels, cout = this.#outChannels, g = this.#groups;
      return this.#transposed ? [cin, cout / g, this.#kernelSize] : [cout, cin / g, this.#kernelSize];
    }

    setWeightBias(weight, bias) {
      const handle = this.#live('setWeightBias');
      const what = `${this.#name}.setWeightBias`;
      if (weight === null || typeof weight !== 'object') {
        throw new TypeError(`${what}: weight must be an object { data: Int8Array, scale, zeroPoint?, shape? }, got ${describe(weight)}`);
      }
      if (!(weight.data instanceof Int8Array)) {
        throw new TypeError(`${what}: weight.data must be an Int8Array, got ${describe(weight.data)}`);
      }
      const expectedShape = this.#weightShape();
      if (weight.shape !== undefined) {
        const dims = checkShape(what, 'weight.shape', weight.shape);
        if (dims.length !== 3 || dims.some((d, i) => d !== expectedShape[i])) {
          throw new RangeError(`${what}: weight.shape [${dims}] must be [${expectedShape}]`);
        }
      }
      const { scales, zeroPoints, perChannel } = parseWeightQParams(what, weight.scale, weight.zeroPoint);
      if (perChannel && scales.length !== this.#outChannels) {
        throw new RangeError(`${what}: per-channel weight.scale must have outChannels (${this.#outChannels}) entries, got ${scales.length}`);
      }
      let biasValues = null;
      if (bias !== null && bias !== undefined) {
        if (bias instanceof Float32Array) {
          biasValues = bias;
        } else if (Array.isArray(bias)) {
          for (let i = 0; i < bias.length; i++) {
            if (typeof bias[i] !== 'number') throw new TypeError(`${what}: bias[${i}] must be a number, got ${describe(bias[i])}`);
          }
          biasValues = Float32Array.from(bias);
        } else {
          throw new TypeError(`${what}: bias must be a Float32Array, an array of numbers or null, got ${describe(bias)}`);
        }
      }
      this.#check(handle.setWeightBias(weight.data, scales, zeroPoints, perChannel, biasValues), handle);
    }

    weight() {
      const handle = this.#live('weight');
      const scales = Array.from(handle.weightScalesView());
      const zeroPoints = Array.from(handle.weightZeroPointsView());
      const perChannel = handle.weightPerChannel();
      return {
        data: handle.weightView().slice(),
        shape: this.#weightShape(),
        scale: perChannel ? scales : scales[0],
        zeroPoint: perChannel ? zeroPoints : zeroPoints[0],
        qscheme: perChannel ? 'per_channel_affine' : 'per_tensor_affine',
      };
    }

    bias() {
      const view = this.#live('bias').biasView();
      return view === null ? null : view.slice();
    }

    get scale() { return this.#live('scale').outputScale(); }
    set scale(value) {
      const handle = this.#live('scale');
      if (typeof value !== 'number') {
        throw new TypeError(`${this.#name}: scale must be a number, got ${describe(value)}`);
      }
      this.#check(handle.setOutputQuantization(value, this.#outZeroPoint), handle);
      this.#outScale = handle.outputScale();
    }

    get zeroPoint() { return this.#live('zeroPoint').outputZeroPoint(); }
    set zeroPoint(value) {
      const handle = this.#live('zeroPoint');
      checkInteger(this.#name, 'zeroPoint', value);
      this.#check(handle.setOutputQuantization(this.#outScale, value), handle);
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
      this.#inputQuantization = parseActivationQParams(this.#name, 'inputQuantization', value);
    }

    outputLength(inputLength, outputSize) {
      const handle = this.#live('outputLength');
      const what = `${this.#name}.outputLength`;
      checkInteger(what, 'inputLength', inputLength);
      const requested = this.#requestedLength(what, outputSize, null);
      const n = handle.outputLength(inputLength, requested);
      if (n < 0) throw new RangeError(handle.lastError());
      return n;
    }

    // outputSize: undefined/null, or [L], or as many entries as the input
    // has dimensions (a bare number is accepted by outputLength only).
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
      if (!Array.isArray(outputSize)) {
        throw new TypeError(`${what}: outputSize must be an array of integers, got ${describe(outputSize)}`);
      }
      for (let i = 0; i < outputSize.length; i++) {
        checkInteger(what, `outputSize[${i}]`, outputSize[i]);
        // The core reads a negative length as "none": reject it here.
        if (outputSize[i] < 0) throw new RangeError(`${what}: outputSize[${i}] (${outputSize[i]}) must be >= 0`);
      }
      const allowed = rank === null ? [1, 2, 3] : [1, rank];
      if (!allowed.includes(outputSize.length)) {
        throw new RangeError(`${what}: outputSize ([${outputSize}]) must have ${allowed.join(' or ')} entries, got ${outputSize.length}`);
      }
      return outputSize[outputSize.length - 1];
    }

    forward(input, outputSize) {
      const handle = this.#live('forward');
      const what = `${this.#name}.forward`;
      const { data, dims } = checkQTensor(what, 'input', input, [2, 3]);
      if (typeof input.scale !== 'number') {
        throw new TypeError(`${what}: input.scale must be a number, got ${describe(input.scale)}`);
      }
      checkInteger(what, 'input.zeroPoint', input.zeroPoint);
      const unbatched = dims.length === 2;
      const [n, c, l] = unbatched ? [1, dims[0], dims[1]] : dims;
      const requested = this.#requestedLength(what, outputSize, dims.length);
      const outLength = handle.setup(n, c, l, input.scale, input.zeroPoint, requested);
      if (outLength < 0) throw statusError(-outLength, handle.lastError());
      const inBytes = n * c * l, outBytes = n * this.#outChannels * outLength;
      let inputView = this.#inputView;
      if (inputView === null || inputView.length !== inBytes || (inBytes > 0 && inputView.byteLength === 0)) {
        inputView = this.#inputView = handle.inputView();
      }
      inputView.set(data);
      this.#check(handle.run(), handle);
      let outputView = this.#outputView;
      if (outputView === null || outputView.length !== outBytes || (outBytes > 0 && outputView.byteLength === 0)) {
        outputView = this.#outputView = handle.outputView();
      }
      return {
        data: outputView.slice(),
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
        scale: this.scale,
        zeroPoint: this.zeroPoint,
        inputQuantization: savedInputQuantization(this),
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
    if (!isOptionsObject(options)) {
      throw new TypeError(`${what}: options must be an object { weight, bias?, inChannels, outChannels, kernelSize, ... }, got ${describe(options)}`);
    }
    const geometryKeys = transposed ? FROM_FLOAT_TRANSPOSED_GEOMETRY : FROM_FLOAT_CONV_GEOMETRY;
    const known = [...geometryKeys, ...FROM_FLOAT_KEYS];
    for (const key of Object.keys(options)) {
      if (!known.includes(key)) {
        throw new TypeError(`${what}: unknown option '${key}' (known: ${known.join(', ')})`);
      }
    }
    if (options.weight === undefined) throw new TypeError(`${what}: weight (the float weights) is required`);
    const weight = floatValues(what, 'weight', options.weight);
    const bias = options.bias === undefined || options.bias === null
      ? null : floatValues(what, 'bias', options.bias);
    const qscheme = options.weightQScheme === undefined ? 'per_tensor' : options.weightQScheme;
    if (typeof qscheme !== 'string') {
      throw new TypeError(`${what}: weightQScheme must be a string, got ${describe(qscheme)}`);
    }
    if (qscheme !== 'per_tensor' && qscheme !== 'per_channel') {
      throw new RangeError(`${what}: weightQScheme (${JSON.stringify(qscheme)}) must be 'per_tensor' or 'per_channel'`);
    }
    const explicitInput = options.input === undefined ? null : parseActivationQParams(what, 'input', options.input);
    const explicitOutput = options.output === undefined ? null : parseActivationQParams(what, 'output', options.output);
    const calibration = options.calibration === undefined || options.calibration === null
      ? null : options.calibration;
    if (calibration !== null && !Array.isArray(calibration)) {
      throw new TypeError(`${what}: calibration must be an array of { data, shape } batches, got ${describe(calibration)}`);
    }

    const geometry = { bias: bias !== null };
    for (const key of geometryKeys.slice(3)) {
      if (options[key] !== undefined) geometry[key] = options[key];
    }
    const m = new Module(options.inChannels, options.outChannels, options.kernelSize, geometry);
    try {
      const { inChannels, outChannels, kernelSize, groups } = m;
      const weightShape = transposed
        ? [inChannels, outChannels / groups, kernelSize] : [outChannels, inChannels / groups, kernelSize];
      const weightSize = weightShape[0] * weightShape[1] * weightShape[2];
      if (weight.length !== weightSize) {
        throw new RangeError(`${what}: weight has ${weight.length} elements but its shape [${weightShape}] needs ${weightSize}`);
      }
      if (bias !== null && bias.length !== outChannels) {
        throw new RangeError(`${what}: bias has ${bias.length} elements but outChannels is ${outChannels}`);
      }
      let qweight;
      if (qscheme === 'per_tensor') {
        const range = observeMinMax(null, weight);
        const { scale } = symmetricQInt8Params(range.min, range.max);
        const inverse = float32Reciprocal(scale);
        qweight = { data: quantizeQInt8(weight, () => inverse), scale, zeroPoint: 0 };
      } else {
        const channelOf = weightOutputChannels(transposed, inChannels, outChannels, groups, kernelSize);
        const params = observeMinMaxPerChannel(weight, channelOf, outChannels)
          .map((r) => symmetricQInt8Params(r.min, r.max));
        const inverses = params.map((p) => float32Reciprocal(p.scale));
        qweight = {
          data: quantizeQInt8(weight, (i) => inverses[channelOf[i]]),
          scale: params.map((p) => p.scale),
          zeroPoint: 0,
        };
      }
      m.setWeightBias(qweight, bias);

      let observed = null;
      if (calibration !== null) observed = calibrate(what, m, transposed, weight, bias, calibration);
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

  // Runs the float module over the calibration batches and MinMax-observes
  // its inputs (as a QuantStub would) and outputs (activation_post_process).
  function calibrate(what, m, transposed, weight, bias, calibration) {
    const geometry = {
      inChannels: m.inChannels, outChannels: m.outChannels, kernelSize: m.kernelSize, stride: m.stride,
      padding: leadingPadding(m), dilation: m.dilation, groups: m.groups, paddingMode: m.paddingMode,
      outLength: 0,
    };
    let inputRange = null, outputRange = null;
    for (let b = 0; b < calibration.length; b++) {
      const name = `calibration[${b}]`;
      const batch = calibration[b];
      if (batch === null || typeof batch !== 'object' || Array.isArray(batch)) {
        throw new TypeError(`${what}: ${name} must be an object { data: Float32Array | number[], shape: [N, C, L] or [C, L] }, got ${describe(batch)}`);
      }
      const dims = checkShape(what, `${name}.shape`, batch.shape);
      if (dims.length !== 2 && dims.length !== 3) {
        throw new RangeError(`${what}: ${name}.shape ([${dims}]) must be [N, C, L] or [C, L], got ${dims.length} dimensions`);
      }
      const [n, c, length] = dims.length === 2 ? [1, ...dims] : dims;
      if (c !== m.inChannels) {
        throw new RangeError(`${what}: ${name}.shape ([${dims}]) has ${c} channels but inChannels is ${m.inChannels}`);
      }
      if (batch.data === undefined) throw new TypeError(`${what}: ${name}.data is required`);
      const x = floatValues(what, `${name}.data`, batch.data);
      if (x.length !== n * c * length) {
        throw new RangeError(`${what}: ${name}.data has ${x.length} elements but shape [${dims}] needs ${n * c * length}`);
      }
      try {
        geometry.outLength = m.outputLength(length);
      } catch (e) {
        throw new RangeError(`${what}: ${name}: ${e.message}`);
      }
      if (geometry.outLength > MAX_CALIBRATION_ROW) {
        throw new RangeError(`${what}: ${name}: the output length (${geometry.outLength}) is beyond the float calibration forward's limit (${MAX_CALIBRATION_ROW})`);
      }
      if (n === 0) continue;  // torch's observers skip empty tensors
      inputRange = observeMinMax(inputRange, x);
      const observeRow = (row) => { outputRange = observeMinMax(outputRange, row); };
      if (transposed) floatConvTranspose1d(x, n, length, weight, bias, geometry, observeRow);
      else floatConv1d(x, n, length, weight, bias, geometry, observeRow);
    }
    if (inputRange === null) {
      throw new RangeError(`${what}: calibration has no values to observe (${calibration.length} batches, all empty)`);
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
    let view;
    if (bytes instanceof Uint8Array) {
      view = bytes;
    } else if (bytes instanceof ArrayBuffer) {
      // A detached buffer (byteLength 0) cannot be viewed: it holds no bytes.
      view = bytes.byteLength === 0 ? new Uint8Array(0) : new Uint8Array(bytes);
    } else {
      throw new TypeError(`${what}: bytes must be a Uint8Array or an ArrayBuffer, got ${describe(bytes)}`);
    }
    const d = decodeModuleFile(what, view, name);
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
  if (rest.length === 1 && isOptionsObject(rest[0])) {
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
      if (isOptionsObject(value)) {
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
const FROM_FLOAT_TRANSPOSED_GEOMETRY = ['inChannels', 'outChannels', 'kernelSize',
  'stride', 'padding', 'outputPadding', 'groups', 'dilation', 'paddingMode'];
const FROM_FLOAT_CONV_GEOMETRY = ['inChannels', 'outChannels', 'kernelSize',
  'stride', 'padding', 'dilation', 'groups', 'paddingMode'];
const FROM_FLOAT_KEYS = ['weight', 'bias', 'weightQScheme', 'input', 'output', 'calibration'];

// Float32Array as it is, or an array of numbers rounded to float32.
function toFloat32(owner, name, values) {
  if (values instanceof Float32Array) return values;
  if (!Array.isArray(values)) {
    throw new TypeError(`${owner}: ${name} must be a Float32Array or an array of numbers, got ${describe(values)}`);
  }
  // An index loop, not forEach: holes of a sparse array are undefined, not skipped.
  for (let i = 0; i < values.length; i++) {
    if (typeof values[i] !== 'number') {
      throw new TypeError(`${owner}: ${name}[${i}] must be a number, got ${describe(values[i])}`);
    }
  }
  return Float32Array.from(values);
}

// Float32Array, or an array of numbers (rounded to float32): every value
// must be finite as a float32.
function floatValues(owner, name, values) {
  const floats = toFloat32(owner, name, values);
  for (let i = 0; i < floats.length; i++) {
    if (!Number.isFinite(floats[i])) {
      const given = Array.isArray(values) ? values[i] : floats[i];
      throw new RangeError(`${owner}: ${name}[${i}] (${given}) must be finite as a float32`);
    }
  }
  return floats;
}

// An activation's { scale, zeroPoint } (quint8), or null. Other properties
// are ignored, so a QTensor can be passed.
function parseActivationQParams(owner, name, value) {
  if (value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value) || ArrayBuffer.isView(value)) {
    throw new TypeError(`${owner}: ${name} must be an object { scale, zeroPoint } or null, got ${describe(value)}`);
  }
  checkQuantization(owner, `${name}.scale`, `${name}.zeroPoint`, value.scale, value.zeroPoint);
  return { scale: value.scale, zeroPoint: value.zeroPoint };
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
  if (!transposed && typeof value !== 'number' && !Array.isArray(value)) {
    throw new TypeError(`${name}: padding must be an integer, 'same' or 'valid', got ${describe(value)}`);
  }
  return { padding: sizeArg(name, 'padding', value), paddingSame: false, paddingName: null };
}

function isOptionsObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

// An integer, or a one-element array holding one (PyTorch's _single).
function sizeArg(owner, name, value) {
  if (Array.isArray(value)) {
    if (value.length !== 1) {
      throw new RangeError(`${owner}: ${name} (${describe(value)}) must be one integer or a one-element array: this is a 1-D module`);
    }
    value = value[0];
  }
  checkInteger(owner, name, value);
  return value;
}

function checkInteger(owner, name, value) {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`${owner}: ${name} must be an integer, got ${describe(value)}`);
  }
}

function checkShape(owner, name, shape) {
  if (!Array.isArray(shape)) {
    throw new TypeError(`${owner}: ${name} must be an array of integers, got ${describe(shape)}`);
  }
  for (let i = 0; i < shape.length; i++) {  // holes of a sparse array are undefined, not skipped
    checkInteger(owner, `${name}[${i}]`, shape[i]);
    if (shape[i] < 0) throw new RangeError(`${owner}: ${name}[${i}] (${shape[i]}) must be >= 0`);
  }
  return shape.slice();
}

// Type and size checks of a QTensor-shaped object (values: the core's).
function checkQTensor(owner, name, q, ranks) {
  if (q === null || typeof q !== 'object') {
    throw new TypeError(`${owner}: ${name} must be a QTensor { data: Uint8Array, shape, scale, zeroPoint }, got ${describe(q)}`);
  }
  if (!(q.data instanceof Uint8Array)) {
    throw new TypeError(`${owner}: ${name}.data must be a Uint8Array, got ${describe(q.data)}`);
  }
  const dims = checkShape(owner, `${name}.shape`, q.shape);
  if (ranks !== null && !ranks.includes(dims.length)) {
    throw new RangeError(`${owner}: ${name}.shape ([${dims}]) must be [N, C, L] or [C, L], got ${dims.length} dimensions`);
  }
  const size = dims.reduce((a, b) => a * b, 1);
  if (size !== q.data.length) {
    throw new RangeError(`${owner}: ${name}.data has ${q.data.length} elements but shape [${dims}] needs ${size}`);
  }
  return { data: q.data, dims };
}

function checkQuantization(owner, scaleName, zeroPointName, scale, zeroPoint) {
  if (typeof scale !== 'number') {
    throw new TypeError(`${owner}: ${scaleName} must be a number, got ${describe(scale)}`);
  }
  const f = Math.fround(scale);
  if (!(Number.isFinite(scale) && scale > 0 && Number.isFinite(f) && f >= 1.1754943508222875e-38)) {
    throw new RangeError(`${owner}: ${scaleName} (${scale}) must be finite, > 0 and a normal float32`);
  }
  checkInteger(owner, zeroPointName, zeroPoint);
  if (zeroPoint < 0 || zeroPoint > 255) {
    throw new RangeError(`${owner}: ${zeroPointName} (${zeroPoint}) must be an integer in [0, 255]`);
  }
}

function parseWeightQParams(what, scale, zeroPoint) {
  if (typeof scale === 'number') {
    if (zeroPoint !== undefined && typeof zeroPoint !== 'number') {
      throw new TypeError(`${what}: a per-tensor weight (scalar scale) needs a scalar zeroPoint, got ${describe(zeroPoint)}`);
    }
    const zp = zeroPoint === undefined ? 0 : zeroPoint;
    checkInteger(what, 'weight.zeroPoint', zp);
    return { scales: Float64Array.of(scale), zeroPoints: Float64Array.of(zp), perChannel: false };
  }
  if (!isArrayLike(scale)) {
    throw new TypeError(`${what}: weight.scale must be a number (per-tensor) or an array of numbers (per-channel), got ${describe(scale)}`);
  }
  const scales = Float64Array.from(Array.from(scale, (v, i) => {
    if (typeof v !== 'number') throw new TypeError(`${what}: weight.scale[${i}] must be a number, got ${describe(v)}`);
    return v;
  }));
  let zeroPoints;
  if (zeroPoint === undefined || typeof zeroPoint === 'number') {
    const zp = zeroPoint === undefined ? 0 : zeroPoint;
    checkInteger(what, 'weight.zeroPoint', zp);
    zeroPoints = new Float64Array(scales.length).fill(zp);
  } else if (isArrayLike(zeroPoint)) {
    if (zeroPoint.length !== scales.length) {
      throw new RangeError(`${what}: weight.zeroPoint has ${zeroPoint.length} entries but weight.scale has ${scales.length}`);
    }
    zeroPoints = Float64Array.from(Array.from(zeroPoint, (v, i) => {
      checkInteger(what, `weight.zeroPoint[${i}]`, v);
      return v;
    }));
  } else {
    throw new TypeError(`${what}: weight.zeroPoint must be an integer or an array of integers, got ${describe(zeroPoint)}`);
  }
  return { scales, zeroPoints, perChannel: true };
}

function isArrayLike(v) {
  return Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView));
}

// A value the bytes hold that the module rejects is a bad value of the
// bytes argument: a RangeError naming load and quoting the module's message.
function storedValueError(what, e) {
  if (!(e instanceof TypeError || e instanceof RangeError)) return e;
  return new RangeError(`${what}: the bytes hold a value the module rejects: ${e.message}`);
}

function savedInputQuantization(m) {
  const q = 'inputQuantization' in m ? m.inputQuantization : null;
  return q === null || q === undefined ? null : { scale: q.scale, zeroPoint: q.zeroPoint };
}

function hasSetter(object, key) {
  for (let o = object; o !== null; o = Object.getPrototypeOf(o)) {
    const d = Object.getOwnPropertyDescriptor(o, key);
    if (d) return typeof d.set === 'function' || d.writable === true;
  }
  return false;
}

function statusError(status, message) {
  if (status === STATUS_INVALID_ARGUMENT || status === STATUS_OUT_OF_MEMORY) {
    return new RangeError(message);
  }
  return new Error(message || `qconv-wasm: internal status ${status}`);
}

function describe(v) {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return `${v}n (a BigInt)`;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'symbol') return `${v.toString()} (a Symbol)`;
  if (Array.isArray(v)) {
    const items = v.length <= 8 ? v.map(describe).join(', ') : `${v.slice(0, 8).map(describe).join(', ')}, ...`;
    return `[${items}]`;
  }
  if (ArrayBuffer.isView(v)) {
    const name = v.constructor.name;
    return `${/^[AEIO]/.test(name) ? 'an' : 'a'} ${name} of length ${v.length}`;
  }
  return `an object (${Object.prototype.toString.call(v).slice(8, -1)})`;
}
