// The public functions' arguments, read once (js/caller-values.mjs) and
// checked for what only JavaScript sees: types (TypeError), shapes and
// counts of JS values, and names mapped to the core's codes. Value ranges
// of anything that reaches the core are the core's to check (its messages
// come back through Runtime.nativeError). Pure functions: no native module.

import {
  MAX_RANK, typedArrayTag, measureTypedArray, readFields, isPlainOptions, isArrayValue, isRevokedProxy,
  checkInteger, readShape, readNumberList, readFloat32List, describe,
} from './caller-values.mjs';

// ---- the constructors' arguments ----------------------------------------------

const TRANSPOSED_ORDER = ['stride', 'padding', 'outputPadding', 'groups', 'bias', 'dilation', 'paddingMode'];
const CONV_ORDER = ['stride', 'padding', 'dilation', 'groups', 'bias', 'paddingMode'];
const DEFAULTS = {
  stride: 1, padding: 0, outputPadding: 0, groups: 1, bias: true, dilation: 1, paddingMode: 'zeros', relu: false,
};
// Options with no place in PyTorch's positional order: the options object only.
const OPTION_ONLY = ['relu'];
const PADDING_STRINGS = ['same', 'valid'];
// The core's PaddingMode codes, by name.
const PADDING_MODES = ['zeros', 'reflect'];

// The constructor's options after the three sizes: positional (PyTorch's
// order) or one options object. Every value read once.
function constructorOptions(name, transposed, args) {
  const order = transposed ? TRANSPOSED_ORDER : CONV_ORDER;
  const rest = args.slice(3);
  const values = { ...DEFAULTS };
  if (rest.length === 1 && isPlainOptions(rest[0])) {
    // Each option read once (Object.entries reads every own enumerable one).
    for (const [key, value] of Object.entries(rest[0])) {
      if (!order.includes(key) && !OPTION_ONLY.includes(key)) {
        throw new TypeError(`${name}: unknown option '${key}' (known: ${[...order, ...OPTION_ONLY].join(', ')})`);
      }
      if (value !== undefined) values[key] = value;
    }
    return values;
  }
  if (rest.length > order.length) {
    throw new TypeError(`${name}: takes at most ${3 + order.length} arguments, got ${args.length}`);
  }
  rest.forEach((value, i) => {
    if (isPlainOptions(value)) {
      throw new TypeError(`${name}: an options object must be the 4th and last argument`);
    }
    if (value !== undefined) values[order[i]] = value;
  });
  return values;
}

// The constructor's arguments as the core's create() takes them, plus the
// names the module shows (paddingName, paddingModeName).
export function parseConstructorArgs(name, transposed, args) {
  const [inChannels, outChannels, kernelSize] = args;
  const values = constructorOptions(name, transposed, args);
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
  // A fused ReLU (torch's ConvReLU1d): outputs at least the zero point.
  p.relu = values.relu;
  if (typeof p.relu !== 'boolean') {
    throw new TypeError(`${name}: relu must be true or false, got ${describe(p.relu)}`);
  }
  p.paddingModeName = paddingModeArg(name, transposed, values.paddingMode);
  p.paddingMode = PADDING_MODES.indexOf(p.paddingModeName);
  return p;
}

function paddingModeArg(name, transposed, mode) {
  if (typeof mode !== 'string') {
    throw new TypeError(`${name}: paddingMode must be a string, got ${describe(mode)}`);
  }
  // The names the core's modes go by; which mode an operator takes is the
  // core's rule (ConvTranspose1d: 'zeros' only).
  if (!PADDING_MODES.includes(mode)) {
    throw new RangeError(`${name}: paddingMode (${JSON.stringify(mode)}) must be ${
      (transposed ? ['zeros'] : PADDING_MODES).map((m) => `'${m}'`).join(' or ')}`);
  }
  return mode;
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

// ---- weights --------------------------------------------------------------------

// PyTorch's weight layout: [inChannels, outChannels / groups, kernelSize]
// for ConvTranspose1d, [outChannels, inChannels / groups, kernelSize] for
// Conv1d (g: a module, or anything with those four sizes).
export function weightShape(transposed, g) {
  return transposed
    ? [g.inChannels, g.outChannels / g.groups, g.kernelSize]
    : [g.outChannels, g.inChannels / g.groups, g.kernelSize];
}

// setWeightBias's weight, each field read once: { data (unmeasured), dims
// (null when no shape is given), qparams (readWeightQParams) }.
export function readWeightArg(what, weight, outChannels) {
  if (weight === null || typeof weight !== 'object') {
    throw new TypeError(`${what}: weight must be an object { data: Int8Array, scale, zeroPoint?, shape? }, got ${describe(weight)}`);
  }
  const fields = readFields(what, 'weight', weight, ['data', 'scale', 'zeroPoint', 'shape']);
  const dims = fields.shape === undefined ? null : readShape(what, 'weight.shape', fields.shape);
  const qparams = readWeightQParams(what, fields.scale, fields.zeroPoint, outChannels);
  return { data: fields.data, dims, qparams };
}

// Step 2 for readWeightArg's result: the data measured (no caller code
// runs) and the given shape compared with the module's.
export function measureWeightArg(what, arg, expectedShape) {
  const data = measureTypedArray(what, 'weight.data', arg.data, 'Int8Array');
  const dims = arg.dims;
  if (dims !== null && (dims.length !== 3 || dims.some((d, i) => d !== expectedShape[i]))) {
    throw new RangeError(`${what}: weight.shape [${dims}] must be [${expectedShape}]`);
  }
  return data;
}

// A weight's qparams, read once: a number scale is per-tensor (zeroPoint a
// number or absent); an array or typed array of scales is per-channel
// (zeroPoint one number for all, or as many). Returns { perChannel, length,
// scales, zeroPoints }: the caller's count, and the values when the count
// is at most maxLength (else null: the core refuses the count, unread).
export function readWeightQParams(what, scale, zeroPoint, maxLength) {
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
    // The core takes one count for both lists: that they pair up is this
    // argument's own rule.
    if (list.length !== scales.length) {
      throw new RangeError(`${what}: weight.zeroPoint has ${list.length} entries but weight.scale has ${scales.length}`);
    }
    zeroPoints = list.values;
  }
  return { perChannel: true, length: scales.length, scales: scales.values, zeroPoints };
}

// setWeightBias's bias: null, or { length, values } (values null when there
// are more than maxLength: the core refuses the count).
export function readBiasArg(what, bias, maxLength) {
  if (bias === null || bias === undefined) return null;
  if (typedArrayTag(bias) !== 'Float32Array' && !isArrayValue(bias)) {
    throw new TypeError(`${what}: bias must be a Float32Array, an array of numbers or null, got ${describe(bias)}`);
  }
  return readFloat32List(what, 'bias', bias, maxLength);
}

// ---- activations ----------------------------------------------------------------

// An activation's { scale, zeroPoint }, each read once and type-checked.
// Other properties are ignored, so a QTensor can be passed.
export function readQParams(owner, name, value) {
  if (!isPlainOptions(value)) {
    throw new TypeError(`${owner}: ${name} must be an object { scale, zeroPoint } or null, got ${describe(value)}`);
  }
  const { scale, zeroPoint } = readFields(owner, name, value, ['scale', 'zeroPoint']);
  if (typeof scale !== 'number') {
    throw new TypeError(`${owner}: ${name}.scale must be a number, got ${describe(scale)}`);
  }
  checkInteger(owner, `${name}.zeroPoint`, zeroPoint);
  return { scale, zeroPoint };
}

// quint8 per-tensor quantization, for the values that never reach the core
// (quantizePerTensor, dequantize, inputQuantization): the rule the core
// applies to a module's input and output quantization.
export function checkQuantization(owner, scaleName, zeroPointName, scale, zeroPoint) {
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

// inputQuantization: null, or { scale, zeroPoint } read once and checked.
export function parseInputQuantization(owner, name, value) {
  if (value === null) return null;
  const q = readQParams(owner, name, value);
  checkQuantization(owner, `${name}.scale`, `${name}.zeroPoint`, q.scale, q.zeroPoint);
  return q;
}

// ---- quantized tensors ----------------------------------------------------------

// A QTensor's fields, each read once: { data (unmeasured), dims, scale,
// zeroPoint }. TypeError for a value that is not an object.
export function readQTensor(owner, name, q, maxRank = MAX_RANK) {
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
  const dims = readShape(owner, `${name}.shape`, shape, maxRank);
  return { data, dims, scale, zeroPoint };
}

// Step 2 for a QTensor read by readQTensor: its data measured (no caller
// code runs) and checked against its shape.
export function measureQTensorData(owner, name, t) {
  const data = measureTypedArray(owner, `${name}.data`, t.data, 'Uint8Array');
  const size = t.dims.reduce((a, b) => a * b, 1);
  if (size !== data.length) {
    throw new RangeError(`${owner}: ${name}.data has ${data.length} elements but shape [${t.dims}] needs ${size}`);
  }
  return data;
}

// forward's input: [N, C, L] or unbatched [C, L] (a JS shape: the core
// takes N, C and L).
export function checkInputRank(owner, name, dims) {
  if (dims.length !== 2 && dims.length !== 3) {
    throw new RangeError(`${owner}: ${name}.shape ([${dims}]) must be [N, C, L] or [C, L], got ${dims.length} dimensions`);
  }
}

// outputSize, read once: -1 for none (undefined or null), else the length
// it asks for (the core checks the value). rank: the input's dimensions (an
// array must have 1 or that many entries), or null for outputLength, which
// also takes a bare number.
export function readOutputSize(what, transposed, outputSize, rank) {
  if (outputSize === undefined || outputSize === null) return -1;
  if (!transposed) {
    // An argument Conv1d's signature does not have (as an unknown option).
    throw new TypeError(`${what}: outputSize is a ConvTranspose1d argument; Conv1d takes none`);
  }
  if (rank === null && typeof outputSize === 'number') {
    checkInteger(what, 'outputSize', outputSize);
    // -1 means "none" to the core: a negative value must not reach it.
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
