'use strict';
// Whole models exported from PyTorch 1.13 (tools/gen_model_cases.py writes
// tests/data/models: each .qconv file with the input torch ran and every
// tensor torch computed). Every tensor of the graph and the final float
// output must be torch's, byte for byte. Shared by the flavour test files
// (simd, scalar, threads) and the browser test.
const fs = require('fs');
const path = require('path');

const DIR = path.join(__dirname, '..', 'data', 'models');
const MANIFEST = JSON.parse(fs.readFileSync(path.join(DIR, 'manifest.json'), 'utf8'));

function readCase(entry) {
  const json = JSON.parse(fs.readFileSync(path.join(DIR, entry.json), 'utf8'));
  const bytes = new Uint8Array(fs.readFileSync(path.join(DIR, entry.file)));
  const b64 = (s) => new Uint8Array(Buffer.from(s, 'base64'));
  const f32 = (s) => {
    const raw = Buffer.from(s, 'base64');
    return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
  };
  return {
    name: entry.name,
    workflow: entry.workflow,
    bytes,
    input: {
      shape: json.input.shape,
      floats: f32(json.input.float32),
      quantized: {
        data: b64(json.input.quantized.bytes), shape: json.input.shape,
        scale: json.input.quantized.scale, zeroPoint: json.input.quantized.zeroPoint,
      },
    },
    tensors: json.tensors.map((t) => ({ ...t, bytes: b64(t.bytes) })),
    output: { shape: json.output.shape, floats: f32(json.output.float32), dequantize: json.output.dequantize },
  };
}

const CASES = MANIFEST.cases.map(readCase);

// The first index where two byte arrays differ, or -1.
function firstDifference(a, b) {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

// Runs every case through q (an initialised library); calls expect-style
// checks through `check(name, ok, detail)`. Returns counts.
function defineModelSuite(q, { describe, test, expect }) {
  describe.each(CASES.map((c) => [c.name, c]))('%s (PyTorch 1.13, every tensor byte for byte)', (name, c) => {
    test('every tensor equals torch\'s', () => {
      const model = q.loadModel(c.bytes);
      const traced = model.trace(c.input.quantized);
      expect(traced.tensors).toHaveLength(c.tensors.length);
      for (const t of c.tensors) {
        const ours = traced.tensors[t.index];
        expect({ index: t.index, name: t.name, shape: ours.shape, scale: ours.scale, zeroPoint: ours.zeroPoint })
          .toEqual({ index: t.index, name: t.name, shape: t.shape, scale: t.scale, zeroPoint: t.zeroPoint });
        const at = firstDifference(ours.data, t.bytes);
        expect({ index: t.index, name: t.name, firstDifference: at, ours: ours.data[at], torch: t.bytes[at] })
          .toEqual({ index: t.index, name: t.name, firstDifference: -1, ours: undefined, torch: undefined });
      }
      model.dispose();
    });

    test('forward on torch\'s float input gives torch\'s float output; a QTensor input gives the same', () => {
      const model = q.loadModel(c.bytes);
      const fromFloats = model.forward({ data: c.input.floats, shape: c.input.shape });
      expect(fromFloats.shape).toEqual(c.output.shape);
      expect(Buffer.from(fromFloats.data.buffer).equals(Buffer.from(c.output.floats.buffer))).toBe(true);
      const fromBytes = model.forward(c.input.quantized);
      expect(Buffer.from(fromBytes.data.buffer).equals(Buffer.from(c.output.floats.buffer))).toBe(true);
      // The quantized input torch made from the floats is ours too.
      const q8 = q.quantizePerTensor(c.input.floats, c.input.shape, c.input.quantized.scale, c.input.quantized.zeroPoint);
      expect(Buffer.from(q8.data).equals(Buffer.from(c.input.quantized.data))).toBe(true);
      model.dispose();
    });
  });
}

module.exports = { CASES, MANIFEST, defineModelSuite, firstDifference };
