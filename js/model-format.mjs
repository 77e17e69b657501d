// Reading a .qconv model file (docs/MODEL-FORMAT.md): the envelope (magic,
// version, lengths, checksums), then the graph's JSON, checked field by field
// before anything is built. Every problem is a RangeError starting with
// `what` ('loadModel').

import { checkEnvelope, decodeModuleFile } from './format.mjs';

export const MODEL_MAGIC = [0x51, 0x43, 0x4f, 0x4e, 0x56, 0x4d, 0x44, 0x4c];  // "QCONVMDL"
const MODULE_MAGIC = [0x51, 0x43, 0x4f, 0x4e, 0x56, 0x31, 0x44, 0x00];       // "QCONV1D\0"
export const MODEL_VERSION = 1;
const HEADER_BYTES = 32;
const MODEL_ENVELOPE = {
  magic: MODEL_MAGIC, magicText: '51 43 4f 4e 56 4d 44 4c ("QCONVMDL")', notA: 'a qconv-wasm model', noun: 'model',
  versionWord: 'model format version', maxVersion: MODEL_VERSION, headerBytes: HEADER_BYTES, headerCrcAt: 28,
};

// op -> { inputs: exact count or 'many', fields: { name: check } }.
const isBool = (v) => typeof v === 'boolean';
const isNumber = (v) => typeof v === 'number' && Number.isFinite(v);
const OPS = {
  conv1d: { inputs: 1, fields: { module: 'module', relu: isBool } },
  conv_transpose1d: { inputs: 1, fields: { module: 'module', relu: isBool, outputSize: 'outputSize' } },
  relu: { inputs: 1, fields: {} },
  hardtanh: { inputs: 1, fields: { min: isNumber, max: isNumber } },
  leaky_relu: { inputs: 1, fields: { negativeSlope: isNumber } },
  add: { inputs: 2, fields: { relu: isBool } },
  cat: { inputs: 'many', fields: { dim: (v) => v === 1 } },
  reflection_pad1d: { inputs: 1, fields: { padding: 'pair' } },
  requantize: { inputs: 1, fields: {} },
};
const NODE_KEYS = ['name', 'op', 'inputs', 'output'];
const MAX_COUNT = 1 << 20;

function textOf(bytes) {
  if (typeof TextDecoder === 'function') return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  let escaped = '';
  for (const b of bytes) escaped += `%${b < 16 ? '0' : ''}${b.toString(16)}`;
  return decodeURIComponent(escaped);  // throws URIError on bad UTF-8
}

// bytes: our own copy. Returns { graph, modules: [description per node
// (null for non-conv nodes)] }.
export function decodeModelFile(what, bytes) {
  const bad = (message) => new RangeError(`${what}: ${message}`);
  const n = bytes.length;
  const starts = (magic) => magic.every((b, i) => i >= n || bytes[i] === b);
  if (n >= 8 && starts(MODULE_MAGIC)) {
    throw bad('the bytes hold a single saved module (docs/FORMAT.md), not a model: read it with load(bytes)');
  }
  const view = checkEnvelope(bytes, bad, MODEL_ENVELOPE);
  const total = view.getUint32(12, true);
  // From here on the bytes are what a writer wrote: what fails is the writer's.
  if (view.getUint16(10, true) !== 0 || view.getUint32(24, true) !== 0) {
    throw bad('the reserved header fields (offsets 10 and 24) must be 0 in model format version 1');
  }
  const graphLength = view.getUint32(16, true);
  const dataLength = view.getUint32(20, true);
  if (graphLength % 8 !== 0 || dataLength % 8 !== 0) {
    throw bad(`graphLength (${graphLength}) and dataLength (${dataLength}) must be multiples of 8`);
  }
  if (HEADER_BYTES + graphLength + dataLength + 4 !== total) {
    throw bad(`totalLength (${total}) must be 32 + graphLength (${graphLength}) + dataLength (${dataLength}) + 4`);
  }
  let graph;
  try {
    graph = JSON.parse(textOf(bytes.subarray(HEADER_BYTES, HEADER_BYTES + graphLength)));
  } catch (e) {
    throw bad(`the graph is not valid UTF-8 JSON (${e.message})`);
  }
  const data = bytes.subarray(HEADER_BYTES + graphLength, HEADER_BYTES + graphLength + dataLength);
  checkGraph(graph, bad);
  const modules = graph.nodes.map((node, i) => (node.module === undefined ? null
    : readModule(what, node, i, data, bad)));
  return { graph, modules };
}

function isPlainObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function checkKeys(object, allowed, where, bad) {
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key)) throw bad(`${where}: unknown field "${key}" (model format version 1 has ${allowed.join(', ')})`);
  }
}

const isIndex = (v, count) => Number.isInteger(v) && v >= 0 && v < count;

function checkGraph(g, bad) {
  if (!isPlainObject(g)) throw bad('the graph must be a JSON object');
  checkKeys(g, ['format', 'version', 'name', 'producer', 'input', 'output', 'tensors', 'nodes'], 'the graph', bad);
  if (g.format !== 'qconv-model') throw bad(`the graph's format must be "qconv-model", got ${JSON.stringify(g.format)}`);
  if (g.version !== MODEL_VERSION) throw bad(`the graph's version (${JSON.stringify(g.version)}) must be the header's (${MODEL_VERSION})`);
  for (const key of ['name', 'producer']) {
    if (g[key] !== undefined && typeof g[key] !== 'string') throw bad(`the graph's ${key} must be a string`);
  }
  if (!Array.isArray(g.tensors) || g.tensors.length === 0 || g.tensors.length > MAX_COUNT) {
    throw bad('the graph\'s tensors must be a non-empty array');
  }
  g.tensors.forEach((t, i) => {
    const where = `tensor ${i}`;
    if (!isPlainObject(t)) throw bad(`${where} must be an object`);
    checkKeys(t, ['name', 'channels', 'scale', 'zeroPoint'], where, bad);
    if (t.name !== undefined && typeof t.name !== 'string') throw bad(`${where}: name must be a string`);
    if (!Number.isInteger(t.channels) || t.channels < 1 || t.channels > 2 ** 31 - 1) {
      throw bad(`${where}: channels (${JSON.stringify(t.channels)}) must be an integer in [1, 2^31 - 1]`);
    }
    // Scale and zero point: the core checks their ranges (finite, > 0, normal float32; [0, 255]).
    if (typeof t.scale !== 'number') throw bad(`${where}: scale must be a number`);
    if (typeof t.zeroPoint !== 'number') throw bad(`${where}: zeroPoint must be a number`);
  });
  const count = g.tensors.length;
  if (!isPlainObject(g.input)) throw bad('the graph\'s input must be an object');
  checkKeys(g.input, ['tensor'], 'the graph\'s input', bad);
  if (!isIndex(g.input.tensor, count)) throw bad(`the graph's input.tensor (${JSON.stringify(g.input.tensor)}) must be a tensor index below ${count}`);
  if (!isPlainObject(g.output)) throw bad('the graph\'s output must be an object');
  checkKeys(g.output, ['tensor', 'dequantize'], 'the graph\'s output', bad);
  if (!isIndex(g.output.tensor, count)) throw bad(`the graph's output.tensor (${JSON.stringify(g.output.tensor)}) must be a tensor index below ${count}`);
  if (!isBool(g.output.dequantize)) throw bad('the graph\'s output.dequantize must be true or false');
  if (!Array.isArray(g.nodes) || g.nodes.length > MAX_COUNT) throw bad('the graph\'s nodes must be an array');
  g.nodes.forEach((node, i) => checkNode(node, i, count, bad));
}

function checkNode(node, i, count, bad) {
  if (!isPlainObject(node)) throw bad(`node ${i} must be an object`);
  const name = typeof node.name === 'string' ? node.name : null;
  const where = name === null ? `node ${i}` : `node ${i} "${name}"`;
  if (name === null) throw bad(`${where}: name must be a string`);
  // Own properties only: "toString" or "__proto__" are not ops.
  const spec = typeof node.op === 'string' && Object.prototype.hasOwnProperty.call(OPS, node.op) ? OPS[node.op] : undefined;
  if (spec === undefined) {
    throw bad(`${where}: unknown op ${JSON.stringify(node.op)} (model format version 1 has ${Object.keys(OPS).join(', ')})`);
  }
  checkKeys(node, [...NODE_KEYS, ...Object.keys(spec.fields)], `${where} (${node.op})`, bad);
  const inputs = node.inputs;
  if (!Array.isArray(inputs) || !inputs.every((t) => isIndex(t, count))) {
    throw bad(`${where} (${node.op}): inputs must be an array of tensor indices below ${count}`);
  }
  if (spec.inputs === 'many' ? inputs.length === 0 || inputs.length > 4096 : inputs.length !== spec.inputs) {
    throw bad(`${where} (${node.op}): takes ${spec.inputs === 'many' ? '1 to 4096' : spec.inputs} input${spec.inputs === 1 ? '' : 's'}, got ${inputs.length}`);
  }
  if (!isIndex(node.output, count)) throw bad(`${where} (${node.op}): output must be a tensor index below ${count}`);
  for (const [key, check] of Object.entries(spec.fields)) {
    const v = node[key];
    const field = `${where} (${node.op}): ${key}`;
    if (check === 'module') {
      if (!isPlainObject(v) || !Number.isInteger(v.offset) || !Number.isInteger(v.length) || v.offset < 0 || v.length < 0) {
        throw bad(`${field} must be { offset, length } with integers >= 0`);
      }
      checkKeys(v, ['offset', 'length'], field, bad);
    } else if (check === 'outputSize') {
      if (v === null) continue;
      if (!isPlainObject(v)) throw bad(`${field} must be null, { "length": n } or { "lengthOf": tensor }`);
      checkKeys(v, ['length', 'lengthOf'], field, bad);
      const keys = Object.keys(v);
      if (keys.length !== 1) throw bad(`${field} must have exactly one of length and lengthOf`);
      if (keys[0] === 'length' && !(Number.isInteger(v.length) && v.length >= 0 && v.length <= 2 ** 31 - 1)) {
        throw bad(`${field}.length (${JSON.stringify(v.length)}) must be an integer in [0, 2^31 - 1]`);
      }
      if (keys[0] === 'lengthOf' && !isIndex(v.lengthOf, count)) {
        throw bad(`${field}.lengthOf (${JSON.stringify(v.lengthOf)}) must be a tensor index below ${count}`);
      }
    } else if (check === 'pair') {
      if (!Array.isArray(v) || v.length !== 2 || !v.every((p) => Number.isInteger(p) && p >= 0 && p <= 2 ** 31 - 1)) {
        throw bad(`${field} must be [left, right], integers in [0, 2^31 - 1]`);
      }
    } else if (!check(v)) {
      throw bad(`${field} has the invalid value ${JSON.stringify(v)}`);
    }
  }
}

function readModule(what, node, i, data, bad) {
  const { offset, length } = node.module;
  const where = `node ${i} "${node.name}" (${node.op})`;
  if (offset % 8 !== 0 || offset + length > data.length) {
    throw bad(`${where}: module { offset: ${offset}, length: ${length} } must start at a multiple of 8 and lie within the data section (${data.length} bytes)`);
  }
  const kind = node.op === 'conv1d' ? 'Conv1d' : 'ConvTranspose1d';
  let d;
  try {
    d = decodeModuleFile(what, data.slice(offset, offset + length), kind);
  } catch (e) {
    throw bad(`${where}: ${e.message.replace(`${what}: `, '')}`);
  }
  if (d.relu) {
    throw bad(`${where}: the module record has the fused-ReLU flag; in a model the node's relu field says it (docs/MODEL-FORMAT.md)`);
  }
  return d;
}
