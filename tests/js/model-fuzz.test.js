'use strict';
// Fuzzing loadModel and Model.forward with model files that lie: PyTorch's
// models (tests/data/models) with one or more graph fields replaced by
// hostile values (wrong types, out-of-range and huge numbers, references
// to the wrong tensors, cycles), module records re-sealed after a byte was
// changed (so their checksums pass), and raw byte flips. Every call must
// either work or throw a TypeError/RangeError starting with its name;
// nothing may trap, hang or leak, and a model that loads must run a forward
// or refuse it cleanly. Seeded: the same files every run.
const zlib = require('zlib');
const q = require('../..');
const { encodeModelFile, decodeModelFile } = require('./model-file.js');
const { CASES } = require('./models-torch');
const { mulberry32 } = require('../../tools/mulberry32.cjs');

const ITERATIONS = 3000;

beforeAll(() => q.init());

// Re-seals a saved module (docs/FORMAT.md): header CRC at 92, file CRC at the end.
function resealModule(bytes) {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  if (bytes.length >= 96) v.setUint32(92, zlib.crc32(bytes.subarray(0, 92)), true);
  if (bytes.length >= 4) v.setUint32(bytes.length - 4, zlib.crc32(bytes.subarray(0, bytes.length - 4)), true);
  return bytes;
}

function hostileValue(rand, near) {
  const pick = Math.floor(rand() * 16);
  switch (pick) {
    case 0: return -1;
    case 1: return 2 ** 31;
    case 2: return 2 ** 53;
    case 3: return 1e300;
    case 4: return 0.5;
    case 5: return '3';
    case 6: return null;
    case 7: return [near];
    case 8: return { length: near };
    case 9: return true;
    case 10: return 0;
    case 11: return typeof near === 'number' ? near + 1 : 1;
    case 12: return typeof near === 'number' ? near - 1 : -2;
    case 13: return typeof near === 'number' ? near * 1000 : 1000;
    case 14: return 5e-324;
    default: return undefined;
  }
}

function mutate(rand, c) {
  const graph = decodeModelFile(c.bytes);
  const mutations = 1 + Math.floor(rand() * 3);
  let raw = null;
  for (let k = 0; k < mutations; k++) {
    const kind = Math.floor(rand() * 10);
    if (kind <= 4) {
      // A node field.
      const node = graph.nodes[Math.floor(rand() * graph.nodes.length)];
      const keys = Object.keys(node).filter((key) => key !== 'moduleBytes');
      const key = keys[Math.floor(rand() * keys.length)];
      if (key === 'inputs') {
        const inputs = Array.isArray(node.inputs) ? node.inputs : [0];
        node.inputs = rand() < 0.5 ? inputs.map(() => Math.floor(rand() * graph.tensors.length))
          : hostileValue(rand, inputs[0]);
      } else if (key === 'outputSize' && rand() < 0.5) {
        node.outputSize = rand() < 0.5 ? { lengthOf: Math.floor(rand() * graph.tensors.length) }
          : { length: Math.floor(rand() * 500) };
      } else {
        node[key] = hostileValue(rand, node[key]);
      }
    } else if (kind <= 6) {
      // A tensor field.
      const t = graph.tensors[Math.floor(rand() * graph.tensors.length)];
      const key = ['channels', 'scale', 'zeroPoint', 'name'][Math.floor(rand() * 4)];
      t[key] = hostileValue(rand, t[key]);
    } else if (kind === 7) {
      // The input or the output.
      const which = rand() < 0.5 ? graph.input : graph.output;
      which.tensor = Math.floor(rand() * (graph.tensors.length + 2)) - 1;
    } else if (kind === 8) {
      // One byte of a module record, re-sealed so that its checksums pass.
      const convs = graph.nodes.filter((n) => n.moduleBytes);
      const node = convs[Math.floor(rand() * convs.length)];
      if (!(node.moduleBytes instanceof Uint8Array)) continue;
      const b = node.moduleBytes.slice();
      b[Math.floor(rand() * Math.min(b.length - 4, 96))] = Math.floor(rand() * 256);
      node.moduleBytes = resealModule(b);
    } else {
      // Raw bytes of the whole file (checksums then fail, or the header lies).
      raw = encodeModelFile(graph);
      raw[Math.floor(rand() * raw.length)] ^= 1 << Math.floor(rand() * 8);
    }
  }
  return raw ?? encodeModelFile(graph);
}

test(`${ITERATIONS} hostile model files: every call works or throws a TypeError/RangeError naming it; nothing leaks`, () => {
  const rand = mulberry32(14);
  const before = q.memoryStats();
  const counts = { loaded: 0, refused: 0, ran: 0, forwardRefused: 0 };
  const messages = new Set();
  for (let i = 0; i < ITERATIONS; i++) {
    const c = CASES[i % CASES.length];
    const bytes = mutate(rand, c);
    let model = null;
    try {
      model = q.loadModel(bytes);
    } catch (e) {
      expect([i, e.constructor.name]).toEqual([i, expect.stringMatching(/^(RangeError|TypeError)$/)]);
      expect([i, e.message]).toEqual([i, expect.stringMatching(/^loadModel: /)]);
      messages.add(e.message.replace(/\d+/g, 'N').slice(0, 60));
      counts.refused++;
      continue;
    }
    counts.loaded++;
    try {
      // A forward on the case's input (its channels may no longer be the model's).
      const x = c.input.floats;
      const [n, , l] = c.input.shape;
      const channels = model.inputChannels;
      const data = channels * n * l === x.length ? x : new Float32Array(n * channels * l).fill(0.25);
      model.forward({ data, shape: [n, channels, l] });
      counts.ran++;
    } catch (e) {
      expect([i, e.constructor.name]).toEqual([i, 'RangeError']);
      expect([i, e.message]).toEqual([i, expect.stringMatching(/^Model.forward: /)]);
      counts.forwardRefused++;
    } finally {
      model.dispose();
    }
  }
  if (process.env.QCONV_FUZZ_VERBOSE) console.log(counts, messages.size);
  const after = q.memoryStats();
  expect(after.liveModels).toBe(before.liveModels);
  expect(after.liveModules).toBe(before.liveModules);
  expect(after.heapBytesInUse).toBeLessThanOrEqual(before.heapBytesInUse + 64);
  // The run was hostile and varied, and some files still loaded and ran.
  expect(counts.refused).toBeGreaterThan(ITERATIONS / 2);
  expect(messages.size).toBeGreaterThan(30);
  expect(counts.ran).toBeGreaterThan(20);
  // The unchanged models still give torch's bytes afterwards.
  for (const c of CASES) {
    const m = q.loadModel(c.bytes);
    const y = m.forward({ data: c.input.floats, shape: c.input.shape });
    expect(Buffer.from(y.data.buffer).equals(Buffer.from(c.output.floats.buffer))).toBe(true);
    m.dispose();
  }
}, 120000);
