/// <reference lib="esnext.disposable" />
// Types of qconv-wasm's public API (docs/API.md), for the CommonJS entry (`require`);
// index.d.mts gives them to the ES-module entries (`import`).

/** A quantized (quint8, per-tensor affine) tensor; any object of this shape is accepted. */
export interface QTensor {
  data: Uint8Array;
  shape: number[];
  scale: number;
  zeroPoint: number;
}

export interface InitOptions {
  /** 'auto' (default) probes for WebAssembly SIMD128; false forces the scalar flavour. */
  simd?: 'auto' | boolean;
  /**
   * Threads every forward may use, 1 to 64 (default 1). More than 1 loads the threaded
   * SIMD128 flavour (Emscripten pthreads: Node worker threads, or Web Workers on a
   * cross-origin-isolated page); the output bytes are the same for any count. Where
   * threads cannot run, init() warns once on the console and uses one thread.
   */
  numThreads?: number;
  /**
   * The .wasm bytes, when the default location cannot be read or fetched: those of the
   * flavour init() loads ('qconv-simd.wasm', 'qconv-scalar.wasm' with simd: false,
   * 'qconv-simd-mt.wasm' with numThreads > 1). Other views than Uint8Array are a TypeError;
   * other bytes reject init() with an Error saying why.
   */
  wasmBinary?: ArrayBuffer | Uint8Array;
  /**
   * Maps the name of each file init() loads to a URL (browsers) or a path (Node). Browsers:
   * the glue 'qconv-simd.mjs' / 'qconv-scalar.mjs' / 'qconv-simd-mt.mjs', its .wasm, and for
   * numThreads > 1 the workers' script 'qconv-simd-mt.worker.js'. Node: the '.cjs' glue, the
   * .wasm and 'qconv-simd-mt.worker.cjs'. `prefix` is where the package would look (its
   * dist/, or the URL a bundler gave it), so `(name, prefix) => prefix + name` changes nothing.
   */
  locateFile?: (name: string, prefix: string) => string;
}

export interface InitInfo {
  readonly simd: boolean;
  readonly version: string;
  /** The micro-kernel flavour compiled into the loaded module ('wasmsimd' or 'scalar'). */
  readonly flavour: string;
  /** Threads forwards run on: numThreads when threads could start, else 1. */
  readonly threads: number;
}

/**
 * Loads the wasm module: one per page or process, chosen by the first call. While it is
 * pending or after it succeeded, a later call asking for nothing else (no options,
 * simd 'auto' or what runs, the first call's numThreads) returns the same promise;
 * locateFile and wasmBinary are then ignored. A later call asking for another module
 * (other simd true/false, other numThreads) rejects with an Error and changes nothing.
 * After a rejection, init() may be called again with any options. Bad options reject
 * with a TypeError or RangeError, also once initialised.
 */
export function init(options?: InitOptions): Promise<InitInfo>;

/** torch.quantize_per_tensor(x, scale, zeroPoint, torch.quint8), bit for bit (saturating). */
export function quantizePerTensor(
  values: Float32Array | number[], shape: number[], scale: number, zeroPoint: number): QTensor;

/** q.dequantize(): float32(scale) * (q - zeroPoint). */
export function dequantize(q: QTensor): Float32Array;

export const version: string;

export interface MemoryStats {
  /** Bytes of wasm linear memory (it grows when needed and never shrinks). */
  wasmBytes: number;
  /** Bytes currently allocated on the wasm heap (malloc's count). */
  heapBytesInUse: number;
  /** Native modules not yet freed by dispose() or the garbage collector. */
  liveModules: number;
  /** Native models (loadModel) not yet freed by dispose() or the garbage collector. */
  liveModels: number;
  /** Bound runners (bind) not yet freed by their dispose(), their module's, or the garbage collector. */
  liveRunners: number;
}
/** Diagnostics for leak checks. */
export function memoryStats(): MemoryStats;

export type Size1d = number | [number];

/**
 * Conv1d's padding as torch.nn.Conv1d takes it: an integer (both sides), 'valid' (none) or
 * 'same' (output as long as the input; stride 1 only; dilation*(kernelSize-1) split with the
 * larger half after the input).
 */
export type Conv1dPadding = Size1d | 'same' | 'valid';

export interface QuantizedWeight {
  /** int8 values in PyTorch's layout, C order. */
  data: Int8Array;
  /** A number: per-tensor. outChannels numbers: per-channel (entry c for output channel c). */
  scale: number | ArrayLike<number>;
  /** Integers in [-128, 127]; default 0. An array only with an array scale. */
  zeroPoint?: number | ArrayLike<number>;
  /** If given, must equal the module's weight shape. */
  shape?: number[];
}

export interface WeightInfo {
  data: Int8Array;
  shape: number[];
  scale: number | number[];
  zeroPoint: number | number[];
  qscheme: 'per_tensor_affine' | 'per_channel_affine';
}

/** The quantization of a quint8 activation (per-tensor affine). */
export interface ActivationQuantization {
  /** Finite, > 0, a normal float32. */
  scale: number;
  /** An integer in [0, 255]. */
  zeroPoint: number;
}

/** Float input for calibration: [N, inChannels, L] or [inChannels, L], C order. */
export interface CalibrationBatch {
  data: Float32Array | number[];
  shape: number[];
}

/** fromFloat's options besides the geometry (see ConvTranspose1d.fromFloat). */
export interface FromFloatOptions {
  inChannels: number;
  outChannels: number;
  kernelSize: Size1d;
  /** Float weights in PyTorch's layout, C order; finite as float32. */
  weight: Float32Array | number[];
  /** outChannels float values kept as they are; null or absent: no bias. */
  bias?: Float32Array | number[] | null;
  /**
   * 'per_tensor' (default, the qnnpack qconfig's weight observer) or 'per_channel':
   * symmetric qint8 MinMax, one scale per output channel.
   */
  weightQScheme?: 'per_tensor' | 'per_channel';
  /** Explicit input qparams (inputQuantization); win over calibration. */
  input?: ActivationQuantization | null;
  /** Explicit output qparams (scale, zeroPoint); win over calibration. */
  output?: ActivationQuantization | null;
  /**
   * Float input batches: the float module runs over them and MinMax observers
   * (quint8, affine) on its inputs and outputs give inputQuantization and the
   * output scale and zero point.
   */
  calibration?: CalibrationBatch[] | null;
}

export interface ConvTranspose1dFromFloatOptions extends FromFloatOptions, Omit<ConvTranspose1dOptions, 'bias' | 'relu'> {}
export interface Conv1dFromFloatOptions extends FromFloatOptions, Omit<Conv1dOptions, 'bias' | 'relu'> {}

/** The input a runner is bound for (bind's options); every value is checked once, by bind. */
export interface BindOptions {
  /** The input's scale; default: the module's inputQuantization. */
  scale?: number;
  /** The input's zero point; default: the module's inputQuantization. */
  zeroPoint?: number;
}

/**
 * A module bound to one input shape and quantization (bind): fill `input`, call run(), read
 * `output`. Both are views of wasm memory, valid until the runner or its module is disposed;
 * re-read them after memory growth (a view kept from before has length 0).
 */
export interface BoundRunner {
  /** The input shape bound ([N, inChannels, L] or [inChannels, L]). */
  readonly inputShape: readonly number[];
  /** The output's shape. */
  readonly outputShape: readonly number[];
  /** The input bytes, in inputShape's order (a view of wasm memory). */
  readonly input: Uint8Array;
  /** The output bytes after run(), quantized with the module's scale and zeroPoint (a view of wasm memory). */
  readonly output: Uint8Array;
  /** Computes output from input, with the same bytes as forward; returns `output`. */
  run(): Uint8Array;
  /** True after dispose() or the module's dispose(). */
  readonly disposed: boolean;
  /** Frees the runner's buffers; the module stays usable. */
  dispose(): void;
  [Symbol.dispose](): void;
}

declare abstract class QuantizedConv1dBase {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number;
  readonly stride: number;
  readonly dilation: number;
  readonly groups: number;
  readonly paddingMode: string;
  /** A fused ReLU (torch's ConvReLU1d): every output at least the zero point. */
  readonly relu: boolean;
  /** True after dispose(). */
  readonly disposed: boolean;
  /** Output quantization scale: finite, > 0, a normal float32. */
  scale: number;
  /** Output zero point: an integer in [0, 255]. */
  zeroPoint: number;
  /**
   * The input quantization the module expects (set by fromFloat or by you), or
   * null (the default). Metadata: forward uses the input tensor's own qparams.
   */
  inputQuantization: ActivationQuantization | null;
  setWeightBias(weight: QuantizedWeight, bias: Float32Array | number[] | null): void;
  weight(): WeightInfo;
  bias(): Float32Array | null;
  /**
   * The module as bytes in the versioned format of docs/FORMAT.md (geometry, weights, bias,
   * output quantization, a CRC-32); load, ConvTranspose1d.load and Conv1d.load read them back.
   */
  save(): Uint8Array;
  /**
   * A chunked forward over a snapshot of this module (weights, bias, output quantization):
   * push(chunk) returns the outputs no later input can change, flush() the rest; concatenated,
   * they are the bytes of one forward over the whole signal (docs/API.md, "Streaming").
   */
  stream(): ConvStream;
  /** Frees the module's wasm memory (and ends its open streams); later calls throw. */
  dispose(): void;
  [Symbol.dispose](): void;
}

/**
 * A stateful chunked forward (module.stream()). The first chunk fixes the batch, the rank and
 * the input quantization; later chunks must match (RangeError).
 */
export interface ConvStream {
  /** chunk: [N, inChannels, l] or [inChannels, l], l >= 0. Returns [N, outChannels, k], k >= 0. */
  push(chunk: QTensor): QTensor;
  /** The remaining outputs (the padding after the input included); ends the stream. */
  flush(): QTensor;
  /** True after flush() or dispose(). */
  readonly ended: boolean;
  /** True after dispose() (or the module's dispose()). */
  readonly disposed: boolean;
  /** Frees the stream's wasm memory; later calls throw. */
  dispose(): void;
  [Symbol.dispose](): void;
}

export interface ConvTranspose1dOptions {
  stride?: Size1d;
  padding?: Size1d;
  outputPadding?: Size1d;
  groups?: number;
  bias?: boolean;
  dilation?: Size1d;
  paddingMode?: 'zeros';
  /** A fused ReLU (a ConvTranspose1d followed by ReLU), clamped in the requantization. Default false. */
  relu?: boolean;
}

/** torch.ao.nn.quantized.ConvTranspose1d. Weight layout [inChannels, outChannels / groups, kernelSize]. */
export class ConvTranspose1d extends QuantizedConv1dBase {
  constructor(inChannels: number, outChannels: number, kernelSize: Size1d,
    options?: ConvTranspose1dOptions);
  constructor(inChannels: number, outChannels: number, kernelSize: Size1d,
    stride?: Size1d, padding?: Size1d, outputPadding?: Size1d, groups?: number,
    bias?: boolean, dilation?: Size1d, paddingMode?: 'zeros');
  readonly padding: number;
  readonly outputPadding: number;
  /**
   * nnq.ConvTranspose1d.from_float with MinMax observers: weight [inChannels,
   * outChannels / groups, kernelSize] quantized to symmetric qint8 (per tensor or per
   * output channel), float bias kept, output qparams from `output` or `calibration`
   * (else 1.0 / 0).
   */
  static fromFloat(options: ConvTranspose1dFromFloatOptions): ConvTranspose1d;
  /**
   * input: [N, inChannels, L] or [inChannels, L]. outputSize: [L_out] or one entry per input
   * dimension (only the last is used); it overrides outputPadding. options.out: a Uint8Array
   * of exactly the output's size, written and returned as the result's data.
   */
  forward(input: QTensor, outputSize?: number[]): QTensor;
  forward(input: QTensor, options?: { outputSize?: number[]; out?: Uint8Array }): QTensor;
  /** A runner for inputs of this shape (see BoundRunner); outputSize: the output length or forward's form. */
  bind(inputShape: number[], options?: BindOptions & { outputSize?: number | number[] }): BoundRunner;
  outputLength(inputLength: number, outputSize?: number | number[]): number;
  /**
   * A module from save()'s bytes. Truncated, corrupt (checksum), newer-version or
   * inconsistent bytes, or a saved Conv1d, throw a RangeError saying which; a value
   * that is neither a Uint8Array nor an ArrayBuffer, a TypeError.
   */
  static load(bytes: Uint8Array | ArrayBuffer): ConvTranspose1d;
}

export interface Conv1dOptions {
  stride?: Size1d;
  padding?: Conv1dPadding;
  dilation?: Size1d;
  groups?: number;
  bias?: boolean;
  paddingMode?: 'zeros' | 'reflect';
  /** A fused ReLU (torch's ConvReLU1d), clamped in the requantization. Default false. */
  relu?: boolean;
}

/** torch.ao.nn.quantized.Conv1d. Weight layout [outChannels, inChannels / groups, kernelSize]. */
export class Conv1d extends QuantizedConv1dBase {
  constructor(inChannels: number, outChannels: number, kernelSize: Size1d, options?: Conv1dOptions);
  constructor(inChannels: number, outChannels: number, kernelSize: Size1d,
    stride?: Size1d, padding?: Conv1dPadding, dilation?: Size1d, groups?: number,
    bias?: boolean, paddingMode?: 'zeros' | 'reflect');
  /** nnq.Conv1d.from_float with MinMax observers; weight [outChannels, inChannels / groups, kernelSize]. */
  static fromFloat(options: Conv1dFromFloatOptions): Conv1d;
  /** The integer, or 'same' / 'valid' as given. */
  readonly padding: number | 'same' | 'valid';
  /** input: [N, inChannels, L] or [inChannels, L]. options.out: as ConvTranspose1d.forward's. */
  forward(input: QTensor, options?: { out?: Uint8Array }): QTensor;
  /** A runner for inputs of this shape (see BoundRunner). */
  bind(inputShape: number[], options?: BindOptions): BoundRunner;
  outputLength(inputLength: number): number;
  /** A module from save()'s bytes; errors as ConvTranspose1d.load. */
  static load(bytes: Uint8Array | ArrayBuffer): Conv1d;
}

/**
 * A module from save()'s bytes, of the kind they hold: a ConvTranspose1d or a Conv1d (check
 * with instanceof). Errors as ConvTranspose1d.load, their messages starting with 'load:'.
 */
export function load(bytes: Uint8Array | ArrayBuffer): ConvTranspose1d | Conv1d;

/** A float tensor: values and a shape [N, C, L] or [C, L]. */
export interface FloatTensor {
  data: Float32Array;
  shape: number[];
}

/** A float input for Model.forward: a Float32Array or an array of numbers. */
export interface FloatTensorInput {
  data: Float32Array | ArrayLike<number>;
  shape: readonly number[];
}

export interface ModelNodeInfo {
  readonly name: string;
  readonly op: 'conv1d' | 'conv_transpose1d' | 'relu' | 'hardtanh' | 'leaky_relu' | 'add' | 'cat' |
    'reflection_pad1d' | 'requantize';
  /** Tensor indices. */
  readonly inputs: readonly number[];
  readonly output: number;
}

export interface ModelTensorInfo {
  name: string;
  channels: number;
  scale: number;
  zeroPoint: number;
}

export interface ModelTrace {
  /** What forward(input) returns. */
  output: FloatTensor | QTensor;
  /** Every tensor of the graph by index (null for a tensor no node produces), named. */
  tensors: Array<(QTensor & { name: string }) | null>;
  /** Each node's own time in milliseconds, in graph order. */
  nodes: Array<{ name: string; op: ModelNodeInfo['op']; ms: number }>;
}

/**
 * A whole quantized model read by loadModel (docs/MODEL-FORMAT.md): its forward runs every node
 * in wasm, the intermediate tensors staying in wasm memory.
 */
export class Model {
  private constructor();
  readonly name: string;
  readonly inputChannels: number;
  readonly outputChannels: number;
  /** The input tensor's quantization: floats given to forward are quantized with it. */
  readonly inputQuantization: Readonly<ActivationQuantization>;
  readonly outputQuantization: Readonly<ActivationQuantization>;
  /** True when the PyTorch model returns its output dequantized (forward then returns floats). */
  readonly dequantizesOutput: boolean;
  readonly nodes: readonly ModelNodeInfo[];
  readonly tensors: ModelTensorInfo[];
  readonly disposed: boolean;
  /**
   * Runs the model on floats (quantized with inputQuantization, like torch's QuantStub) or on a
   * QTensor with the model's input quantization. Returns floats when the model dequantizes its
   * output (options.quantized: true returns the QTensor instead), else a QTensor.
   */
  forward(input: FloatTensorInput | QTensor, options?: { quantized?: false }): FloatTensor | QTensor;
  forward(input: FloatTensorInput | QTensor, options: { quantized: true }): QTensor;
  /** forward, keeping every tensor, with each node timed on its own. */
  trace(input: FloatTensorInput | QTensor): ModelTrace;
  dispose(): void;
  [Symbol.dispose](): void;
}

/**
 * A model from a .qconv model file (tools/export_torch.py's export_model): a Uint8Array or an
 * ArrayBuffer. RangeError (message starting 'loadModel:') for bytes that are not a valid model.
 */
export function loadModel(bytes: Uint8Array | ArrayBuffer): Model;

declare const qconv: {
  init: typeof init;
  ConvTranspose1d: typeof ConvTranspose1d;
  Conv1d: typeof Conv1d;
  load: typeof load;
  loadModel: typeof loadModel;
  Model: typeof Model;
  quantizePerTensor: typeof quantizePerTensor;
  dequantize: typeof dequantize;
  memoryStats: typeof memoryStats;
  version: string;
};
export default qconv;
