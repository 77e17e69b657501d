// fromFloat: torch's from_float with the qnnpack default weight observer
// (symmetric qint8 MinMax, per tensor) or its per-channel twin, and MinMax
// quint8 activation observers run over calibration batches (docs/SEMANTICS.md §7).
// The float side (float weights, calibration batches and the float forward
// over them) never reaches the core and is checked here; the module built
// from them is the core's to check.

import {
  observeMinMax, observeMinMaxPerChannel, symmetricQInt8Params, affineQUInt8Params, quantizeQInt8,
  float32Reciprocal, weightOutputChannels,
} from './observers.mjs';
import { floatConvTranspose1d, floatConv1d } from './float-conv.mjs';
import { readFields, isPlainOptions, isArrayValue, readShape, readFloat32List, describe } from './caller-values.mjs';
import { weightShape, readWeightQParams, readQParams, parseInputQuantization, checkInputRank } from './args.mjs';

// Output values per row the float calibration forward keeps in memory (float64).
const MAX_CALIBRATION_ROW = 2 ** 26;
// What a forward may produce (the core's limit on any buffer: 2 GiB); the
// float forward has no core to ask, so it keeps to the same bound.
const MAX_FORWARD_BYTES = 2 ** 31;
const MAX_CALIBRATION_BATCHES = 2 ** 20;
const FROM_FLOAT_TRANSPOSED_GEOMETRY = ['inChannels', 'outChannels', 'kernelSize',
  'stride', 'padding', 'outputPadding', 'groups', 'dilation', 'paddingMode'];
const FROM_FLOAT_CONV_GEOMETRY = ['inChannels', 'outChannels', 'kernelSize',
  'stride', 'padding', 'dilation', 'groups', 'paddingMode'];
const FROM_FLOAT_KEYS = ['weight', 'bias', 'weightQScheme', 'input', 'output', 'calibration'];

// Module: the library instance's ConvTranspose1d or Conv1d (name: its name,
// spelled out since minifiers rename classes); internal: the module
// operations of js/modules.mjs that name fromFloat in their messages.
export function fromFloat(runtime, internal, Module, name, options) {
  const what = `${name}.fromFloat`;
  runtime.requireNative(what);
  const transposed = name === 'ConvTranspose1d';
  const o = readFromFloatOptions(what, transposed, options);
  // The module checks the geometry (and is disposed if anything below fails).
  // The values below are read after it is built; the caller cannot reach it.
  const m = new Module(o.inChannels, o.outChannels, o.kernelSize, o.geometry);
  try {
    // Explicit qparams win over observed ones.
    if (o.output !== null) internal.setOutputQuantization(m, `${what}: output`, o.output);
    const shape = weightShape(transposed, m);
    const weight = floatWeights(what, o.weight, shape);
    const bias = o.bias === null ? null : readFloat32List(what, 'bias', o.bias, m.outChannels);
    const batches = o.calibration === null ? null
      : readCalibration(what, o.calibration, m, (label, length) => internal.outputLength(m, `${what}: ${label}`, length));
    const qweight = quantizeWeights(what, o.qscheme, transposed, weight, shape, m);
    internal.setWeights(m, what, qweight.data, qweight.qparams, bias);
    if (batches !== null) {
      // The bias passed the core's checks: finite, one per output channel.
      const observed = calibrate(what, m, transposed, weight, bias === null ? null : bias.values, batches,
        internal.paddingBefore(m, what));
      if (o.output === null) internal.setOutputQuantization(m, what, observed.output);
      m.inputQuantization = o.input ?? observed.input;
    } else {
      m.inputQuantization = o.input;
    }
    return m;
  } catch (e) {
    m.dispose();
    throw e;
  }
}

// The options, each read once: the geometry as the constructor takes it,
// the float values unread (they are read against the module's shape).
function readFromFloatOptions(what, transposed, options) {
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
  const o = readFields(what, 'options', options, known);
  if (o.weight === undefined) throw new TypeError(`${what}: weight (the float weights) is required`);
  const qscheme = o.weightQScheme === undefined ? 'per_tensor' : o.weightQScheme;
  if (typeof qscheme !== 'string') {
    throw new TypeError(`${what}: weightQScheme must be a string, got ${describe(qscheme)}`);
  }
  if (qscheme !== 'per_tensor' && qscheme !== 'per_channel') {
    throw new RangeError(`${what}: weightQScheme (${JSON.stringify(qscheme)}) must be 'per_tensor' or 'per_channel'`);
  }
  const input = o.input === undefined ? null : parseInputQuantization(what, 'input', o.input);
  const output = o.output === undefined || o.output === null ? null : readQParams(what, 'output', o.output);
  const hasBias = o.bias !== undefined && o.bias !== null;
  const geometry = { bias: hasBias };
  for (const key of geometryKeys.slice(3)) {
    if (o[key] !== undefined) geometry[key] = o[key];
  }
  return {
    inChannels: o.inChannels, outChannels: o.outChannels, kernelSize: o.kernelSize, geometry, qscheme, input, output,
    weight: o.weight, bias: hasBias ? o.bias : null,
    calibration: o.calibration === undefined || o.calibration === null ? null : o.calibration,
  };
}

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

// The float weights, as many as the module's weight shape holds.
function floatWeights(what, value, shape) {
  const size = shape[0] * shape[1] * shape[2];
  const weight = floatValues(what, 'weight', value, size);
  if (weight.length !== size) {
    throw new RangeError(`${what}: weight has ${weight.length} elements but its shape [${shape}] needs ${size}`);
  }
  return weight.values;
}

// The observed weight qparams and the int8 weights: { data: { array,
// length }, qparams (as readWeightQParams gives them) }.
function quantizeWeights(what, qscheme, transposed, values, shape, m) {
  let data, scale;
  if (qscheme === 'per_tensor') {
    const range = observeMinMax(null, values);
    scale = symmetricQInt8Params(range.min, range.max).scale;
    const inverse = float32Reciprocal(scale);
    data = quantizeQInt8(values, () => inverse);
  } else {
    const channelOf = weightOutputChannels(transposed, shape, m.groups);
    const params = observeMinMaxPerChannel(values, channelOf, m.outChannels)
      .map((p) => symmetricQInt8Params(p.min, p.max));
    const inverses = params.map((p) => float32Reciprocal(p.scale));
    data = quantizeQInt8(values, (i) => inverses[channelOf[i]]);
    scale = params.map((p) => p.scale);
  }
  return { data: { array: data, length: data.length }, qparams: readWeightQParams(what, scale, 0, m.outChannels) };
}

// The calibration batches, read once and checked against the module: a
// list of { n, length, outLength, values: Float32Array } copies.
// outputLength(label, length): the module's output length, its error
// naming the batch.
function readCalibration(what, calibration, m, outputLength) {
  if (!isArrayValue(calibration)) {
    throw new TypeError(`${what}: calibration must be an array of { data, shape } batches, got ${describe(calibration)}`);
  }
  const count = calibration.length;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 0 || count > MAX_CALIBRATION_BATCHES) {
    throw new RangeError(`${what}: calibration has ${describe(count)} batches, at most ${MAX_CALIBRATION_BATCHES} are allowed`);
  }
  const raw = [];
  for (let b = 0; b < count; b++) raw.push(calibration[b]);
  return raw.map((batch, b) => {
    const name = `calibration[${b}]`;
    const { n, length, values } = readCalibrationBatch(what, name, batch, m.inChannels);
    const outLength = outputLength(name, length);
    if (outLength > MAX_CALIBRATION_ROW) {
      throw new RangeError(`${what}: ${name}: the output length (${outLength}) is beyond the float calibration forward's limit (${MAX_CALIBRATION_ROW})`);
    }
    // The float forward's work, bounded as forward's is: what forward
    // refuses as too large, the calibration refuses too (at once).
    const outputs = n * m.outChannels * outLength;
    if (outputs > MAX_FORWARD_BYTES) {
      throw new RangeError(`${what}: ${name}: the output [${n}, ${m.outChannels}, ${outLength}] has ${outputs} values, more than a forward can produce (2 GiB of quint8)`);
    }
    return { n, length, outLength, values };
  });
}

// One batch { shape: [N, C, L] or [C, L], data }: { n, length, values }.
function readCalibrationBatch(what, name, batch, inChannels) {
  if (!isPlainOptions(batch)) {
    throw new TypeError(`${what}: ${name} must be an object { data: Float32Array | number[], shape: [N, C, L] or [C, L] }, got ${describe(batch)}`);
  }
  const fields = readFields(what, name, batch, ['shape', 'data']);
  const dims = readShape(what, `${name}.shape`, fields.shape);
  checkInputRank(what, name, dims);
  const [n, c, length] = dims.length === 2 ? [1, ...dims] : dims;
  if (c !== inChannels) {
    throw new RangeError(`${what}: ${name}.shape ([${dims}]) has ${c} channels but inChannels is ${inChannels}`);
  }
  if (fields.data === undefined) throw new TypeError(`${what}: ${name}.data is required`);
  const size = n * c * length;
  const x = floatValues(what, `${name}.data`, fields.data, size);
  if (x.length !== size) {
    throw new RangeError(`${what}: ${name}.data has ${x.length} elements but shape [${dims}] needs ${size}`);
  }
  return { n, length, values: x.values };
}

// Runs the float module over the calibration batches and MinMax-observes
// its inputs (as a QuantStub would) and outputs (activation_post_process).
function calibrate(what, m, transposed, weight, bias, batches, paddingBefore) {
  const geometry = {
    inChannels: m.inChannels, outChannels: m.outChannels, kernelSize: m.kernelSize, stride: m.stride,
    padding: paddingBefore, dilation: m.dilation, groups: m.groups, paddingMode: m.paddingMode, outLength: 0,
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
