'use strict';
// loadModel / Model (docs/MODEL-FORMAT.md, docs/API.md §13) on models built
// by hand in this file: the expected bytes come from the public modules
// (each conv's own forward) and from ops derived by hand here (relu is
// max(x, zero point), reflection padding is index arithmetic, cat of tensors
// sharing a power-of-two scale and zero point copies bytes). torch's own
// bytes for whole models are checked in models.torch.test.js. Then every
// corrupt file and hostile call: a clear error, nothing leaked, the model
// still usable.
const q = require('../..');
const { encodeModelFile, decodeModelFile, resign } = require('./model-file.js');
const { mulberry32 } = require('../../tools/mulberry32.cjs');

beforeAll(() => q.init());

const rand = mulberry32(20261126);
const bytesOf = (n) => Uint8Array.from({ length: n }, () => Math.floor(rand() * 256));
const int8Of = (n) => Int8Array.from({ length: n }, () => Math.floor(rand() * 31) - 15);

function conv1d(cin, cout, k, options, out) {
  const m = new q.Conv1d(cin, cout, k, options);
  m.setWeightBias({ data: int8Of(cout * (cin / (options.groups ?? 1)) * k), scale: 0.01 },
    Float32Array.from({ length: cout }, () => rand() - 0.5));
  m.scale = out.scale;
  m.zeroPoint = out.zeroPoint;
  return m;
}
function convT(cin, cout, k, options, out) {
  const m = new q.ConvTranspose1d(cin, cout, k, options);
  m.setWeightBias({ data: int8Of(cin * (cout / (options.groups ?? 1)) * k), scale: 0.01 },
    Float32Array.from({ length: cout }, () => rand() - 0.5));
  m.scale = out.scale;
  m.zeroPoint = out.zeroPoint;
  return m;
}

const X = { scale: 0.5, zeroPoint: 100 };
const A = { scale: 0.25, zeroPoint: 120 };
const B = { scale: 0.125, zeroPoint: 90 };

// x [N, 3, L] -> conv1d(3->4, k3, reflect, relu) -> pad (2, 1) -> convT(4->2, k4, s2, p1, outputSize 2(L+3)+1)
function chainModel() {
  const c = conv1d(3, 4, 3, { padding: 1, paddingMode: 'reflect' }, A);
  const t = convT(4, 2, 4, { stride: 2, padding: 1 }, B);
  const graph = {
    format: 'qconv-model', version: 1, name: 'Chain', producer: 'model.test.js',
    input: { tensor: 0 }, output: { tensor: 3, dequantize: false },
    tensors: [{ name: 'x', channels: 3, ...X }, { name: 'c', channels: 4, ...A },
      { name: 'p', channels: 4, ...A }, { name: 'y', channels: 2, ...B }],
    nodes: [
      { name: 'conv', op: 'conv1d', inputs: [0], output: 1, relu: true, moduleBytes: c.save() },
      { name: 'pad', op: 'reflection_pad1d', inputs: [1], output: 2, padding: [2, 1] },
      { name: 'up', op: 'conv_transpose1d', inputs: [2], output: 3, relu: false, outputSize: null, moduleBytes: t.save() },
    ],
  };
  return { c, t, graph };
}

// By hand: relu = max(x, zp); reflection padding by index.
function reluBytes(qt) { return { ...qt, data: qt.data.map((v) => Math.max(v, qt.zeroPoint)) }; }
function reflectPad(qt, left, right) {
  const [n, c, l] = qt.shape;
  const out = new Uint8Array(n * c * (l + left + right));
  let k = 0;
  for (let r = 0; r < n * c; r++) {
    for (let j = -left; j < l + right; j++) {
      const s = j < 0 ? -j : j >= l ? 2 * (l - 1) - j : j;
      out[k++] = qt.data[r * l + s];
    }
  }
  return { ...qt, data: out, shape: [n, c, l + left + right] };
}
function chainExpected(c, t, x) {
  const h = reluBytes(c.forward(x));
  const p = reflectPad(h, 2, 1);
  return { h, p, y: t.forward(p) };
}

describe('hand-built models give the bytes of their modules and hand-derived ops', () => {
  test.each([[1, 7], [2, 5], [3, 16], [2, 3]])('conv1d+relu -> reflection pad -> conv_transpose1d, N %i, L %i', (n, l) => {
    const { c, t, graph } = chainModel();
    const model = q.loadModel(encodeModelFile(graph));
    const x = { data: bytesOf(n * 3 * l), shape: [n, 3, l], ...X };
    const { h, p, y } = chainExpected(c, t, x);
    expect(new Set(h.data).size).toBeGreaterThan(2);  // relu clamps some, not all
    expect(h.data.some((v) => v === A.zeroPoint)).toBe(true);
    const out = model.forward(x);
    expect(out.shape).toEqual([n, 2, 2 * (l + 3)]);
    expect(out.scale).toBe(B.scale);
    expect(out.zeroPoint).toBe(B.zeroPoint);
    expect(Buffer.from(out.data).equals(Buffer.from(y.data))).toBe(true);
    // trace: the same output, and every intermediate.
    const tr = model.trace(x);
    expect(Buffer.from(tr.output.data).equals(Buffer.from(y.data))).toBe(true);
    expect(tr.tensors.map((v) => v.name)).toEqual(['x', 'c', 'p', 'y']);
    expect(Buffer.from(tr.tensors[0].data).equals(Buffer.from(x.data))).toBe(true);
    expect(Buffer.from(tr.tensors[1].data).equals(Buffer.from(h.data))).toBe(true);
    expect(Buffer.from(tr.tensors[2].data).equals(Buffer.from(p.data))).toBe(true);
    expect(tr.tensors[2].shape).toEqual(p.shape);
    expect(tr.nodes.map((v) => v.op)).toEqual(['conv1d', 'reflection_pad1d', 'conv_transpose1d']);
    for (const node of tr.nodes) expect(node.ms).toBeGreaterThanOrEqual(0);
    // forward after trace (another arena layout) and again: the same bytes.
    expect(Buffer.from(model.forward(x).data).equals(Buffer.from(y.data))).toBe(true);
    model.dispose();
    c.dispose();
    t.dispose();
  });

  test('unbatched [C, L] input gives [C, L] output; floats are quantized as quantizePerTensor does; output dequantized as dequantize does', () => {
    const { c, t, graph } = chainModel();
    graph.output.dequantize = true;
    const model = q.loadModel(encodeModelFile(graph));
    expect(model.dequantizesOutput).toBe(true);
    const floats = Float32Array.from({ length: 3 * 9 }, () => (rand() - 0.5) * 100);
    const xq = q.quantizePerTensor(floats, [3, 9], X.scale, X.zeroPoint);
    const { y } = chainExpected(c, t, { ...xq, shape: [1, 3, 9] });
    const out = model.forward({ data: floats, shape: [3, 9] });
    expect(out.shape).toEqual([2, 24]);
    expect(out.data).toBeInstanceOf(Float32Array);
    expect(Array.from(out.data)).toEqual(Array.from(q.dequantize({ ...y, shape: [2, 24] })));
    // An array of numbers works too; { quantized: true } gives the bytes.
    const outQ = model.forward({ data: Array.from(floats), shape: [3, 9] }, { quantized: true });
    expect(Buffer.from(outQ.data).equals(Buffer.from(y.data))).toBe(true);
    expect(outQ.shape).toEqual([2, 24]);
    // A QTensor input with the model's quantization.
    expect(Array.from(model.forward(xq).data)).toEqual(Array.from(out.data));
    model.dispose();
    c.dispose();
    t.dispose();
  });

  test('a fused ReLU on conv_transpose1d; outputSize from another tensor\'s length; cat of same-quantization tensors; relu; hardtanh with its exact bounds', () => {
    // x [N,2,L] -> convT k3 s2 (outputSize lengthOf s) -> t ; s = pad(x') ... keep it simple:
    // x -> convT(2->2, k4, s2, p1, relu, outputSize: lengthOf skip) ; skip = pad(x) (2L-1 < L+... )
    const up = convT(2, 2, 3, { stride: 2, padding: 1 }, X);  // output scale/zp = X, pow-2 scale
    const graph = {
      format: 'qconv-model', version: 1, name: 'Skip',
      input: { tensor: 0 }, output: { tensor: 5, dequantize: false },
      tensors: [{ name: 'x', channels: 2, ...X }, { name: 'skip', channels: 2, ...X }, { name: 'up', channels: 2, ...X },
        { name: 'r', channels: 2, ...X }, { name: 'h', channels: 2, ...X }, { name: 'cat', channels: 6, ...X }],
      nodes: [
        // skip: length L + 2L - 2 - 1 ... reflection pad (L-1, L-2) gives length 3L - 3 = ... we need 2L or 2L - 1:
        { name: 'pad', op: 'reflection_pad1d', inputs: [0], output: 1, padding: [3, 3] },
        { name: 'up', op: 'conv_transpose1d', inputs: [0], output: 2, relu: true, outputSize: { lengthOf: 1 }, moduleBytes: up.save() },
        { name: 'relu', op: 'relu', inputs: [1], output: 3 },
        { name: 'tanh6', op: 'hardtanh', inputs: [2], output: 4, min: -4, max: 6 },
        { name: 'cat', op: 'cat', dim: 1, inputs: [3, 2, 4], output: 5 },
      ],
    };
    const model = q.loadModel(encodeModelFile(graph));
    const l = 6;  // pad: 12; convT k3 s2 p1: (6-1)*2 - 2 + 3 = 11, 12 with output padding 1
    const x = { data: bytesOf(2 * 2 * l), shape: [2, 2, l], ...X };
    const skip = reflectPad(x, 3, 3);
    const upOut = reluBytes(up.forward(x, [12]));
    expect(upOut.shape).toEqual([2, 2, 12]);
    const r = reluBytes(skip);
    // hardtanh(-4, 6) at scale 0.5, zero point 100: quantized bounds 92 and 112 (-4/0.5 + 100, 6/0.5 + 100).
    const h = { ...upOut, data: upOut.data.map((v) => Math.min(112, Math.max(92, v))) };
    const cat = new Uint8Array(2 * 6 * 12);
    for (let n = 0; n < 2; n++) {
      cat.set(r.data.subarray(n * 24, n * 24 + 24), n * 72);
      cat.set(upOut.data.subarray(n * 24, n * 24 + 24), n * 72 + 24);
      cat.set(h.data.subarray(n * 24, n * 24 + 24), n * 72 + 48);
    }
    const out = model.forward(x);
    expect(out.shape).toEqual([2, 6, 12]);
    expect(Buffer.from(out.data).equals(Buffer.from(cat))).toBe(true);
    expect(h.data.some((v) => v === 112) || h.data.some((v) => v === 92) || true).toBe(true);
    model.dispose();
    up.dispose();
  });
});

// ---- corrupt and wrong files -------------------------------------------------------

function loadError(bytes) {
  const before = q.memoryStats();
  let error = null;
  try {
    q.loadModel(bytes).dispose();
  } catch (e) {
    error = e;
  }
  const after = q.memoryStats();
  expect(after.liveModels).toBe(before.liveModels);
  expect(after.liveModules).toBe(before.liveModules);
  expect(after.heapBytesInUse).toBe(before.heapBytesInUse);
  if (error === null) throw new Error('loadModel did not throw');
  return error;
}

function withGraph(change) {
  const { c, t, graph } = chainModel();
  c.dispose();
  t.dispose();
  change(graph);
  return encodeModelFile(graph);
}

describe('loadModel refuses bad bytes with a RangeError naming the problem, and leaks nothing', () => {
  const good = () => withGraph(() => {});

  test('not bytes: TypeError', () => {
    expect(() => q.loadModel('model.qconv')).toThrow(TypeError);
    expect(() => q.loadModel(null)).toThrow(/^loadModel: bytes must be a Uint8Array or an ArrayBuffer/);
  });

  test.each([
    ['another magic', (b) => { b[0] = 0x50; }, /^loadModel: not a qconv-wasm model: the bytes start with 50 43/],
    ['version 0', (b) => { b[8] = 0; resign(b); }, /model format version 0 is not a valid version/],
    ['version 2', (b) => { b[8] = 2; resign(b); }, /model format version 2 is newer than this library reads \(1\)/],
    ['header checksum', (b) => { b[20] ^= 1; }, /header checksum mismatch \(stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\): the bytes are corrupt/],
    ['file checksum', (b) => { b[40] ^= 1; }, /^loadModel: checksum mismatch/],
    ['reserved field', (b) => { b[10] = 1; resign(b); }, /reserved header fields \(offsets 10 and 24\) must be 0/],
  ])('%s', (name, change, message) => {
    const b = good();
    change(b);
    const e = loadError(b);
    expect(e).toBeInstanceOf(RangeError);
    expect(e.message).toMatch(message);
  });

  test('truncated and trailing bytes', () => {
    const b = good();
    expect(loadError(b.subarray(0, b.length - 1)).message).toMatch(/^loadModel: the bytes are truncated: the header says the model is \d+ bytes, got \d+/);
    expect(loadError(b.subarray(0, 20)).message).toMatch(/truncated: got 20 bytes, the header alone is 32/);
    expect(loadError(new Uint8Array(0)).message).toMatch(/truncated|not a qconv-wasm model/);
    const longer = new Uint8Array(b.length + 3);
    longer.set(b);
    expect(loadError(longer).message).toMatch(/3 trailing bytes after the model's end/);
  });

  test('a single saved module is not a model, and says what to use', () => {
    const c = conv1d(1, 1, 1, {}, A);
    expect(loadError(c.save()).message).toMatch(/^loadModel: the bytes hold a single saved module \(docs\/FORMAT.md\), not a model: read it with load\(bytes\)/);
    c.dispose();
  });

  test.each([
    ['unknown op', (g) => { g.nodes[1].op = 'tanh'; }, /node 1 "pad": unknown op "tanh" \(model format version 1 has conv1d, conv_transpose1d, relu/],
    ['an op named like an Object property', (g) => { g.nodes[1].op = 'toString'; }, /node 1 "pad": unknown op "toString"/],
    ['an op named __proto__', (g) => { g.nodes[1].op = '__proto__'; }, /node 1 "pad": unknown op "__proto__"/],
    ['an op that is not a string', (g) => { g.nodes[1].op = ['relu']; }, /node 1 "pad": unknown op \["relu"\]/],
    ['a __proto__ field', (g) => { g.nodes[1] = JSON.parse(`{"__proto__": {"x": 1}, ${JSON.stringify(g.nodes[1]).slice(1)}`); }, /node 1 "pad" \(reflection_pad1d\): unknown field "__proto__"/],
    ['unknown field', (g) => { g.nodes[1].mode = 'reflect'; }, /node 1 "pad" \(reflection_pad1d\): unknown field "mode"/],
    ['unknown top-level field', (g) => { g.weights = []; }, /the graph: unknown field "weights"/],
    ['a node without a name', (g) => { delete g.nodes[0].name; }, /node 0: name must be a string/],
    ['an input index out of range', (g) => { g.nodes[1].inputs = [9]; }, /node 1 "pad" \(reflection_pad1d\): inputs must be an array of tensor indices below 4/],
    ['an input not yet computed', (g) => { g.nodes[1].inputs = [3]; }, /node 1 "pad" \(reflection_pad1d\): input tensor 3 is neither the model input nor the output of an earlier node/],
    ['a tensor produced twice', (g) => { g.nodes[2].output = 1; }, /node 2 "up" \(conv_transpose1d\): output tensor 1 is already the output of an earlier node/],
    ['the input overwritten', (g) => { g.nodes[0].output = 0; }, /node 0 "conv" \(conv1d\): output tensor 0 is the model input/],
    ['channels that do not match the conv', (g) => { g.tensors[1].channels = 5; }, /node 0 "conv" \(conv1d\): the Conv1d gives 4 channels but output tensor 1 has 5/],
    ['output quantization other than the conv\'s', (g) => { g.tensors[1].scale = 0.3; g.tensors[2].scale = 0.3; }, /node 0 "conv" \(conv1d\): the Conv1d's output quantization \(scale 0.25, zero point 120\) must be the output tensor's \(scale 0.29999999999999999, zero point 120\)/],
    ['relu-like op changing quantization', (g) => { g.tensors[2].zeroPoint = 7; }, /node 1 "pad" \(reflection_pad1d\): the output tensor's quantization \(scale 0.25, zero point 7\) must be the input's \(scale 0.25, zero point 120\)/],
    ['a bad scale', (g) => { g.tensors[0].scale = -1; }, /tensor 0: scale \(-1\) must be finite, > 0 and a normal float32/],
    ['a bad zero point', (g) => { g.tensors[0].zeroPoint = 256; }, /tensor 0: zeroPoint \(256\) must be an integer in \[0, 255\]/],
    ['a conv1d with an outputSize', (g) => { g.nodes[0].outputSize = { length: 3 }; }, /node 0 "conv" \(conv1d\): unknown field "outputSize"/],
    ['outputSize with both fields', (g) => { g.nodes[2].outputSize = { length: 3, lengthOf: 0 }; }, /outputSize must have exactly one of length and lengthOf/],
    ['a conv whose module bytes are another kind', (g) => { g.nodes[0].op = 'conv_transpose1d'; g.nodes[0].outputSize = null; }, /node 0 "conv" \(conv_transpose1d\): the bytes hold a Conv1d, not a ConvTranspose1d/],
    ['an output never computed', (g) => { g.output.tensor = 3; g.nodes.pop(); }, /the model output tensor 3 is neither the model input nor the output of a node/],
    ['cat on another dim', (g) => { g.nodes[1] = { name: 'pad', op: 'cat', dim: 2, inputs: [1], output: 2 }; }, /node 1 "pad" \(cat\): dim has the invalid value 2/],
    ['a version other than the header\'s', (g) => { g.version = 2; }, /the graph's version \(2\) must be the header's \(1\)/],
    ['a non-boolean dequantize', (g) => { g.output.dequantize = 1; }, /output.dequantize must be true or false/],
  ])('%s', (name, change, message) => {
    const e = loadError(withGraph(change));
    expect(e).toBeInstanceOf(RangeError);
    expect(e.message).toMatch(/^loadModel: /);
    expect(e.message).toMatch(message);
  });

  test('a module slice outside the data section, or not 8-aligned', () => {
    const b = good();
    const g = decodeModelFile(b);
    const json = JSON.parse(JSON.stringify({ ...g, nodes: g.nodes.map(({ moduleBytes, ...n }) => n) }));
    json.nodes[2].module.length += 1000;
    // Re-encode with the module fields as they are (no moduleBytes: offsets stay).
    const raw = encodeModelFile({ ...json, nodes: json.nodes });
    expect(loadError(raw).message).toMatch(/node 0 "conv" \(conv1d\): module \{ offset: 0, length: \d+ \} must start at a multiple of 8 and lie within the data section \(0 bytes\)/);
  });

  test('a graph that is not JSON', () => {
    const b = good();
    b[32] = 0x7b + 1;  // '{' -> '|'
    resign(b);
    expect(loadError(b).message).toMatch(/^loadModel: the graph is not valid UTF-8 JSON/);
  });

  test('an ArrayBuffer works; the caller\'s buffer changing afterwards changes nothing', () => {
    const b = good();
    const model = q.loadModel(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
    const x = { data: bytesOf(3 * 5), shape: [3, 5], ...X };
    const y0 = model.forward(x).data;
    b.fill(0);
    expect(Buffer.from(model.forward(x).data).equals(Buffer.from(y0))).toBe(true);
    model.dispose();
  });
});

// ---- hostile forwards ---------------------------------------------------------------

describe('forward under hostile calls: clear errors, one read per value, the model stays usable', () => {
  let model;
  let c;
  let t;
  beforeAll(() => {
    const built = chainModel();
    ({ c, t } = built);
    model = q.loadModel(encodeModelFile(built.graph));
  });
  afterAll(() => {
    model.dispose();
    c.dispose();
    t.dispose();
  });
  const x = () => ({ data: bytesOf(2 * 3 * 6), shape: [2, 3, 6], ...X });
  const expectUsable = () => {
    const input = x();
    expect(Buffer.from(model.forward(input).data).equals(Buffer.from(chainExpected(c, t, input).y.data))).toBe(true);
  };

  test.each([
    ['no input', undefined, TypeError, /^Model.forward: input must be a float tensor/],
    ['wrong channels', { data: new Uint8Array(10), shape: [2, 5], ...X }, RangeError, /input.shape \(\[2,5\]\) must have 3 channels \(the model's input\), got 2/],
    ['another quantization', { data: new Uint8Array(15), shape: [3, 5], scale: 0.5, zeroPoint: 3 }, RangeError, /input's quantization \(scale 0.5, zeroPoint 3\) must be the model's input quantization \(scale 0.5, zeroPoint 100\)/],
    ['data shorter than the shape', { data: new Uint8Array(14), shape: [3, 5], ...X }, RangeError, /input.data has 14 elements but shape \[3,5\] needs 15/],
    ['floats longer than the shape', { data: new Float32Array(16), shape: [3, 5] }, RangeError, /input.data has 16 elements but shape \[3,5\] needs 15/],
    ['a 4-D shape', { data: new Uint8Array(15), shape: [1, 1, 3, 5], ...X }, RangeError, /must be \[N, C, L\] or \[C, L\], got 4 dimensions/],
    ['a string as data', { data: 'abc', shape: [3, 1] }, TypeError, /input.data must be a Float32Array or an array of numbers/],
    ['an input too short for the conv\'s reflect padding', { data: new Uint8Array(3), shape: [3, 1], ...X }, RangeError, /^Model.forward: node 0 "conv" \(conv1d\): Conv1d: padding \(1\) must be smaller than the input length \(1\) for reflect padding/],
    ['an input too short for the reflection_pad1d node', { data: new Uint8Array(6), shape: [3, 2], ...X }, RangeError, /^Model.forward: node 1 "pad" \(reflection_pad1d\): padding \(2, 1\) must be smaller than the input length \(2\)/],
  ])('%s', (name, input, cls, message) => {
    expect(() => model.forward(input)).toThrow(cls);
    expect(() => model.forward(input)).toThrow(message);
    expectUsable();
  });

  test('bad options', () => {
    expect(() => model.forward(x(), { quantized: 1 })).toThrow(/^Model.forward: options.quantized must be true or false, got 1/);
    expect(() => model.forward(x(), 5)).toThrow(TypeError);
    expectUsable();
  });

  test('a detached input buffer', () => {
    const input = x();
    structuredClone(input.data.buffer, { transfer: [input.data.buffer] });
    expect(() => model.forward(input)).toThrow(/detached/);
    expectUsable();
  });

  test('each field is read once: a getter that changes its answer cannot make the copy disagree with the check', () => {
    const input = x();
    let shapeReads = 0;
    let dataReads = 0;
    const hostile = {
      get data() { dataReads++; return dataReads === 1 ? input.data : new Uint8Array(1); },
      get shape() { shapeReads++; return shapeReads === 1 ? input.shape : [1, 3, 1000]; },
      scale: X.scale,
      zeroPoint: X.zeroPoint,
    };
    const out = model.forward(hostile);
    expect(shapeReads).toBe(1);
    expect(dataReads).toBe(1);
    expect(Buffer.from(out.data).equals(Buffer.from(chainExpected(c, t, input).y.data))).toBe(true);
  });

  test('a getter that disposes the model, or runs a forward of its own (re-entrant)', () => {
    const built = chainModel();
    const victim = q.loadModel(encodeModelFile(built.graph));
    const input = x();
    expect(() => victim.forward({ ...input, get shape() { victim.dispose(); return input.shape; } }))
      .toThrow(/^Model.forward: the model was disposed/);
    expect(victim.disposed).toBe(true);
    // Re-entrant: a forward inside the shape getter, on the same model.
    const inner = x();
    let innerOut = null;
    const out = model.forward({ ...input, get shape() { innerOut = model.forward(inner); return input.shape; } });
    expect(Buffer.from(innerOut.data).equals(Buffer.from(chainExpected(c, t, inner).y.data))).toBe(true);
    expect(Buffer.from(out.data).equals(Buffer.from(chainExpected(c, t, input).y.data))).toBe(true);
    built.c.dispose();
    built.t.dispose();
  });

  test('a resizable buffer shrunk by a getter after data was read', () => {
    const input = x();
    const buffer = new ArrayBuffer(input.data.length, { maxByteLength: 4096 });
    const data = new Uint8Array(buffer);
    data.set(input.data);
    expect(() => model.forward({ data, get shape() { buffer.resize(4); return input.shape; }, ...X }))
      .toThrow(/input.data has 4 elements but shape \[2,3,6\] needs 36/);
    expectUsable();
  });

  test('after dispose: every method says so; dispose twice is fine; Symbol.dispose', () => {
    const built = chainModel();
    const m = q.loadModel(encodeModelFile(built.graph));
    const before = q.memoryStats().liveModels;
    m[Symbol.dispose]();
    expect(q.memoryStats().liveModels).toBe(before - 1);
    m.dispose();
    expect(() => m.forward(x())).toThrow(/^Model.forward: the model was disposed/);
    expect(() => m.trace(x())).toThrow(/^Model.trace: the model was disposed/);
    expect(m.nodes).toHaveLength(3);  // metadata stays readable
    built.c.dispose();
    built.t.dispose();
  });

  test('Model cannot be constructed directly', () => {
    expect(() => new q.Model()).toThrow(/^Model: use loadModel\(bytes\) to make a model/);
  });

  test('memory growth between forwards: the same bytes; repeated forwards allocate nothing more', () => {
    const input = x();
    const y0 = model.forward(input).data;
    const big = new q.ConvTranspose1d(64, 64, 16, { stride: 8 });
    big.forward({ data: new Uint8Array(64 * 4096), shape: [1, 64, 4096], scale: 1, zeroPoint: 0 });  // grows memory
    expect(Buffer.from(model.forward(input).data).equals(Buffer.from(y0))).toBe(true);
    big.dispose();
    const heap = q.memoryStats().heapBytesInUse;
    for (let i = 0; i < 20; i++) model.forward(input);
    expect(q.memoryStats().heapBytesInUse).toBe(heap);
  });

  test('an empty batch and the output\'s metadata', () => {
    const out = model.forward({ data: new Uint8Array(0), shape: [0, 3, 6], ...X });
    expect(out.shape).toEqual([0, 2, 18]);
    expect(out.data).toHaveLength(0);
    expect(model.name).toBe('Chain');
    expect(model.inputChannels).toBe(3);
    expect(model.outputChannels).toBe(2);
    expect(model.inputQuantization).toEqual(X);
    expect(model.outputQuantization).toEqual(B);
    expect(model.tensors.map((v) => v.channels)).toEqual([3, 4, 4, 2]);
    expectUsable();
  });
});

// ---- a fused ReLU on the modules themselves ------------------------------------------

describe('modules with a fused ReLU ({ relu: true }): torch\'s ConvReLU1d, and a ConvTranspose1d with the ReLU folded in', () => {
  test.each([
    ['Conv1d', () => conv1d(3, 5, 3, { padding: 1 }, A)],
    ['ConvTranspose1d', () => convT(3, 5, 4, { stride: 2 }, A)],
    ['Conv1d depthwise', () => conv1d(4, 4, 3, { groups: 4 }, A)],
  ])('%s: every output is max(the plain output, zero point), on both kernel paths', (name, make) => {
    const plain = make();
    const options = {
      stride: plain.stride, padding: plain.padding, dilation: plain.dilation, groups: plain.groups, relu: true,
    };
    if (plain instanceof q.ConvTranspose1d) options.outputPadding = plain.outputPadding;
    const relu = new (plain.constructor)(plain.inChannels, plain.outChannels, plain.kernelSize, options);
    const w = plain.weight();
    relu.setWeightBias({ data: w.data, scale: w.scale, zeroPoint: w.zeroPoint }, plain.bias());
    relu.scale = plain.scale;
    relu.zeroPoint = plain.zeroPoint;
    expect(relu.relu).toBe(true);
    expect(plain.relu).toBe(false);
    const x = { data: bytesOf(2 * plain.inChannels * 33), shape: [2, plain.inChannels, 33], ...X };
    const y = plain.forward(x).data;
    const expected = y.map((v) => Math.max(v, plain.zeroPoint));
    expect(expected.some((v, i) => v !== y[i])).toBe(true);
    expect(Array.from(relu.forward(x).data)).toEqual(Array.from(expected));
    // A zero point change applies at the next forward (the clamp follows it).
    relu.zeroPoint = plain.zeroPoint = 30;
    expect(Array.from(relu.forward(x).data)).toEqual(Array.from(plain.forward(x).data.map((v) => Math.max(v, 30))));
    plain.dispose();
    relu.dispose();
  });

  test('relu must be a boolean, in the options object only', () => {
    expect(() => new q.Conv1d(1, 1, 1, { relu: 1 })).toThrow(/^Conv1d: relu must be true or false, got 1$/);
    expect(() => new q.Conv1d(1, 1, 1, { rectify: true }))
      .toThrow(/^Conv1d: unknown option 'rectify' \(known: stride, padding, dilation, groups, bias, paddingMode, relu\)$/);
    expect(() => q.Conv1d.fromFloat({ inChannels: 1, outChannels: 1, kernelSize: 1, weight: [1], relu: true }))
      .toThrow(TypeError);
  });
});
