'use strict';
// m.save() / ConvTranspose1d.load / Conv1d.load and the format of
// docs/FORMAT.md. Round trips compare forward bytes with the original
// module's; corrupt bytes must give the documented RangeError (never a crash
// or a leaked module); the header is read back at the offsets the document's
// table gives. CRCs are cross-checked with Node's zlib.crc32.
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const { execFileSync } = require('child_process');
const q = require('../..');
const { mulberry32 } = require('../../tools/mulberry32.cjs');

const ROOT = path.join(__dirname, '..', '..');
const FORMAT_DOC = fs.readFileSync(path.join(ROOT, 'docs', 'FORMAT.md'), 'utf8');

// Recomputes both CRCs, for bytes that are intact but say something wrong.
function reseal(bytes) {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  v.setUint32(92, zlib.crc32(bytes.subarray(0, 92)), true);
  v.setUint32(bytes.length - 4, zlib.crc32(bytes.subarray(0, bytes.length - 4)), true);
  return bytes;
}
function edited(bytes, change) {
  const b = bytes.slice();
  change(new DataView(b.buffer), b);
  return reseal(b);
}
function loadError(cls, bytes) {
  try {
    cls.load(bytes).dispose();
  } catch (e) {
    return e;
  }
  throw new Error('load did not throw');
}
const hex32 = (v) => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;

// The example module of docs/FORMAT.md.
function docExample() {
  const m = new q.ConvTranspose1d(1, 2, 2, { stride: 2 });
  m.setWeightBias({ data: Int8Array.of(1, -2, 3, -4), scale: 0.25, zeroPoint: 0 }, [0.5, -1]);
  m.scale = 0.125;
  m.zeroPoint = 100;
  return m;
}

function randomModule(kind, args, options, qscheme, seed) {
  const rand = mulberry32(seed);
  const m = new q[kind](...args, options);
  const w = m.weight();
  const data = Int8Array.from({ length: w.data.length }, () => Math.floor(rand() * 256) - 128);
  const cout = m.outChannels;
  const scale = qscheme === 'per_channel' ? Array.from({ length: cout }, () => 0.002 + rand() * 0.008)
    : 0.002 + rand() * 0.008;
  const zeroPoint = qscheme === 'per_channel' ? Array.from({ length: cout }, () => Math.floor(rand() * 11) - 5)
    : Math.floor(rand() * 11) - 5;
  const bias = options.bias === false ? null : Float32Array.from({ length: cout }, () => rand() * 4 - 2);
  m.setWeightBias({ data, scale, zeroPoint }, bias);
  m.scale = 0.03 + rand() * 0.05;
  m.zeroPoint = 100 + Math.floor(rand() * 50);
  return m;
}

function randomInput(m, batch, length, seed) {
  const rand = mulberry32(seed);
  const size = batch * m.inChannels * length;
  return {
    data: Uint8Array.from({ length: size }, () => Math.floor(rand() * 256)),
    shape: [batch, m.inChannels, length], scale: 0.02, zeroPoint: 120,
  };
}

test('load before init() throws an Error naming init()', () => {
  for (const cls of [q.ConvTranspose1d, q.Conv1d]) {
    expect(() => cls.load(new Uint8Array(0))).toThrow(Error);
    expect(() => cls.load(new Uint8Array(0))).toThrow(`${cls.name}.load: qconv-wasm is not initialised; call and await init() first`);
  }
  expect(() => q.load(new Uint8Array(0))).toThrow('load: qconv-wasm is not initialised; call and await init() first');
});

describe('save / load', () => {
  beforeAll(() => q.init());

  const ROUND_TRIPS = [
    ['ConvTranspose1d', [4, 6, 3], { stride: 2, padding: 1, outputPadding: 1 }, 'per_tensor'],
    ['ConvTranspose1d', [4, 6, 3], { groups: 2, dilation: 2, bias: false }, 'per_tensor'],
    ['ConvTranspose1d', [6, 4, 4], { stride: 3, groups: 2, outputPadding: 2 }, 'per_channel'],
    ['ConvTranspose1d', [3, 5, 1], { bias: false }, 'per_channel'],
    ['Conv1d', [4, 6, 3], { stride: 2, padding: 2, paddingMode: 'reflect' }, 'per_tensor'],
    ['Conv1d', [6, 9, 3], { groups: 3, dilation: 2, bias: false }, 'per_channel'],
    ['Conv1d', [5, 4, 1], {}, 'per_tensor'],
    ['Conv1d', [4, 4, 5], { padding: 3, groups: 4 }, 'per_channel'],
  ];

  test.each(ROUND_TRIPS.map((c, i) => [i, ...c]))(
    'round trip %i: %s%j %j %s gives the same module and forward bytes', (i, kind, args, options, qscheme) => {
      const m = randomModule(kind, args, options, qscheme, 100 + i);
      const x = randomInput(m, 2, 11, 200 + i);
      const y = m.forward(x);
      expect(new Set(y.data).size).toBeGreaterThan(10);  // not a clipped, constant output
      expect(Math.fround(m.scale)).not.toBe(m.scale);    // a full double: the format must keep it
      const bytes = m.save();
      expect(bytes).toBeInstanceOf(Uint8Array);

      const inside = new Uint8Array(bytes.length + 13);
      inside.set(bytes, 5);
      const forms = [bytes, bytes.slice().buffer, Buffer.from(bytes), inside.subarray(5, 5 + bytes.length)];
      // The class's load, and the top-level one, which builds the kind the bytes hold.
      const loads = [q[kind].load.bind(q[kind]), q.load];
      for (const [form, load] of forms.flatMap((f) => loads.map((l) => [f, l]))) {
        const loaded = load(form);
        expect(loaded).toBeInstanceOf(q[kind]);
        expect(loaded.constructor).toBe(q[kind]);
        for (const key of ['inChannels', 'outChannels', 'kernelSize', 'stride', 'padding', 'dilation', 'groups',
          'paddingMode', 'outputPadding', 'scale', 'zeroPoint']) {
          expect([key, loaded[key]]).toEqual([key, m[key]]);
        }
        expect(loaded.weight()).toEqual(m.weight());
        expect(loaded.bias()).toEqual(m.bias());
        expect(Buffer.from(loaded.forward(x).data).equals(Buffer.from(y.data))).toBe(true);
        expect(Buffer.from(loaded.save()).equals(Buffer.from(bytes))).toBe(true);
        loaded.dispose();
      }
      m.dispose();
    });

  test('a module never given weights round-trips (zero weights, zero bias)', () => {
    const m = new q.Conv1d(2, 3, 2);
    const loaded = q.Conv1d.load(m.save());
    expect(loaded.weight()).toEqual(m.weight());
    expect(loaded.bias()).toEqual(new Float32Array(3));
    loaded.dispose();
    m.dispose();
  });

  describe('the bytes, field by field, as docs/FORMAT.md describes them', () => {
    // The document's header table: | offset | size | type | field | ... |
    const rows = [...FORMAT_DOC.split('### Body')[0].matchAll(/^\| (\d+) \| (\d+) \| ([a-z0-9[\]]+) \| (\w+) \|/gm)]
      .map(([, offset, size, type, field]) => ({ offset: +offset, size: +size, type, field }));
    const read = (bytes, { offset, type }) => {
      const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
      switch (type) {
        case 'u8[8]': return Array.from(bytes.subarray(offset, offset + 8));
        case 'u8': return v.getUint8(offset);
        case 'u16': return v.getUint16(offset, true);
        case 'u32': return v.getUint32(offset, true);
        case 'i32': return v.getInt32(offset, true);
        case 'f64': return v.getFloat64(offset, true);
        default: throw new Error(`FORMAT.md: unknown type ${type}`);
      }
    };
    const SIZES = { 'u8[8]': 8, u8: 1, u16: 2, u32: 4, i32: 4, f64: 8 };

    test('the header table covers bytes 0-95 without gaps, sizes matching the types', () => {
      expect(rows.length).toBe(25);
      let next = 0;
      for (const row of rows) {
        expect([row.field, row.offset]).toEqual([row.field, next]);
        expect([row.field, row.size]).toEqual([row.field, SIZES[row.type]]);
        next += row.size;
      }
      expect(next).toBe(96);
    });

    test('magic at 0, version u16 at 8, kind at 10: read by hand', () => {
      const bytes = docExample().save();
      expect(Buffer.from(bytes.subarray(0, 8)).toString('latin1')).toBe('QCONV1D\0');
      expect(bytes[8] | (bytes[9] << 8)).toBe(1);
      expect(bytes[10]).toBe(1);  // ConvTranspose1d
      expect(q.Conv1d.load(new q.Conv1d(1, 1, 1).save()).save()[10]).toBe(0);
    });

    test.each([
      ['the documentation example', docExample, {
        kind: 1, flags: 1, totalLength: 124, inChannels: 1, outChannels: 2, kernelSize: 2, stride: 2, padding: 0,
        outputPadding: 0, dilation: 1, groups: 1, paddingKind: 0, paddingMode: 0, outputZeroPoint: 100,
        outputScale: 0.125, inputScale: 0, inputZeroPoint: 0, scaleCount: 1, weightCount: 4, biasCount: 2,
      }],
      ['a per-channel reflect Conv1d without bias', () => {
        const m = new q.Conv1d(4, 6, 3, { stride: 2, padding: 1, dilation: 2, groups: 2, bias: false, paddingMode: 'reflect' });
        m.setWeightBias({ data: Int8Array.from({ length: 36 }, (_, i) => i - 18), scale: [1, 2, 3, 4, 5, 6].map((s) => s / 7), zeroPoint: [0, 1, -1, 2, -2, 3] }, null);
        m.scale = 0.3;
        m.zeroPoint = 7;
        return m;
      }, {
        // S = 6, W = 36: 96 + 72 + 36 = 204 (a multiple of 4), + CRC.
        kind: 0, flags: 2, totalLength: 208, inChannels: 4, outChannels: 6, kernelSize: 3, stride: 2, padding: 1,
        outputPadding: 0, dilation: 2, groups: 2, paddingKind: 0, paddingMode: 1, outputZeroPoint: 7,
        outputScale: 0.3, inputScale: 0, inputZeroPoint: 0, scaleCount: 6, weightCount: 36, biasCount: 0,
      }],
    ])('%s: every header field at its documented offset, then the body', (_, build, fields) => {
      const m = build();
      const bytes = m.save();
      const expected = {
        magic: [0x51, 0x43, 0x4f, 0x4e, 0x56, 0x31, 0x44, 0x00], version: 1, reserved: 0,
        headerCrc: zlib.crc32(bytes.subarray(0, 92)), ...fields,
      };
      for (const row of rows) expect([row.field, row.offset, read(bytes, row)]).toEqual([row.field, row.offset, expected[row.field]]);
      expect(bytes.length).toBe(fields.totalLength);
      // Body: f64 scales at 96, i32 zero points, int8 weights, pad, f32 bias, CRC.
      const v = new DataView(bytes.buffer);
      const w = m.weight();
      const scales = [].concat(w.scale), zps = [].concat(w.zeroPoint), S = scales.length;
      scales.forEach((s, i) => expect(v.getFloat64(96 + 8 * i, true)).toBe(s));
      zps.forEach((z, i) => expect(v.getInt32(96 + 8 * S + 4 * i, true)).toBe(z));
      expect(new Int8Array(bytes.buffer, 96 + 12 * S, w.data.length)).toEqual(w.data);
      const biasAt = Math.ceil((96 + 12 * S + w.data.length) / 4) * 4;
      const bias = m.bias() ?? new Float32Array(0);
      bias.forEach((b, i) => expect(v.getFloat32(biasAt + 4 * i, true)).toBe(b));
      expect(biasAt + 4 * bias.length + 4).toBe(bytes.length);
      expect(v.getUint32(bytes.length - 4, true)).toBe(zlib.crc32(bytes.subarray(0, bytes.length - 4)));
    });

    test('the example hexdump in docs/FORMAT.md is what save() writes', () => {
      const dump = FORMAT_DOC.split('## Example')[1].split('```')[1];
      const lines = dump.trim().split('\n');
      const documented = Uint8Array.from(lines.flatMap((line, i) => {
        const [offset, ...hex] = line.trim().split(/\s+/);
        expect(parseInt(offset, 16)).toBe(16 * i);
        return hex.map((h) => parseInt(h, 16));
      }));
      expect(documented.length).toBe(124);
      expect(Buffer.from(docExample().save()).toString('hex')).toBe(Buffer.from(documented).toString('hex'));
    });

    test('a pad byte follows weights whose end is not a multiple of 4 (W = 3)', () => {
      const m = new q.Conv1d(1, 1, 3);
      m.setWeightBias({ data: Int8Array.of(5, -6, 7), scale: 0.5 }, [0.25]);
      const bytes = m.save();
      // 96 + 12 + 3 = 111, one zero byte, bias at 112, CRC at 116.
      expect(bytes.length).toBe(120);
      expect(Array.from(new Int8Array(bytes.buffer, 108, 3))).toEqual([5, -6, 7]);
      expect(bytes[111]).toBe(0);
      expect(new DataView(bytes.buffer).getFloat32(112, true)).toBe(0.25);
      expect(Array.from(q.Conv1d.load(bytes).weight().data)).toEqual([5, -6, 7]);
    });
  });

  describe('input quantization (stored when the module has it, restored where it can be set)', () => {
    // A module class with the property, standing in for builds that have it.
    class WithInputQuantization extends q.ConvTranspose1d {
      inputQuantization = null;
    }

    test('a subclass with inputQuantization: stored at offsets 64/72 with flag bit 2, restored by load', () => {
      const m = new WithInputQuantization(2, 2, 3);
      m.inputQuantization = { scale: 0.1 + 1e-12, zeroPoint: 17 };
      const bytes = m.save();
      const v = new DataView(bytes.buffer);
      expect(bytes[11] & 4).toBe(4);
      expect(v.getFloat64(64, true)).toBe(0.1 + 1e-12);
      expect(v.getInt32(72, true)).toBe(17);
      const loaded = WithInputQuantization.load(bytes);
      expect(loaded).toBeInstanceOf(WithInputQuantization);
      expect(loaded.inputQuantization).toEqual({ scale: 0.1 + 1e-12, zeroPoint: 17 });
      expect(Buffer.from(loaded.save()).equals(Buffer.from(bytes))).toBe(true);
      // The base class restores it when it has the property, and otherwise still loads.
      const plain = q.ConvTranspose1d.load(bytes);
      if ('inputQuantization' in plain) expect(plain.inputQuantization).toEqual({ scale: 0.1 + 1e-12, zeroPoint: 17 });
      expect(plain.weight()).toEqual(m.weight());
      // A module without one (null) stores none.
      const none = new WithInputQuantization(2, 2, 3).save();
      expect(none[11] & 4).toBe(0);
      expect(new DataView(none.buffer).getFloat64(64, true)).toBe(0);
    });

    test('flag bit 2 follows the base class\'s inputQuantization (absent or null: clear)', () => {
      const m = new q.Conv1d(2, 2, 1);
      const has = 'inputQuantization' in m && m.inputQuantization != null;
      expect(m.save()[11] & 4).toBe(has ? 4 : 0);
    });
  });

  test('padding kinds 1 (\'valid\') and 2 (\'same\'): loaded as strings where Conv1d takes them', () => {
    const base = new q.Conv1d(2, 2, 3).save();
    for (const [code, name] of [[1, 'valid'], [2, 'same']]) {
      const bytes = edited(base, (v) => v.setUint8(48, code));
      let accepted = true;
      try { new q.Conv1d(2, 2, 3, { padding: name }).dispose(); } catch (e) { accepted = false; }
      if (accepted) {
        const m = q.Conv1d.load(bytes);
        expect(m.padding).toBe(name);
        expect(Buffer.from(m.save()).equals(Buffer.from(bytes))).toBe(true);
      } else {
        expect(loadError(q.Conv1d, bytes)).toBeInstanceOf(RangeError);
        expect(loadError(q.Conv1d, bytes).message).toMatch(
          new RegExp(`^Conv1d\\.load: the bytes hold a value the module rejects: Conv1d: padding .*"${name}"`));
      }
    }
  });

  describe('bad bytes: the documented RangeError, nothing leaked, the library still usable', () => {
    let example;
    let live;
    beforeAll(() => { example = docExample().save(); });
    beforeEach(() => { live = q.memoryStats().liveModules; });
    afterEach(() => {
      expect(q.memoryStats().liveModules).toBe(live);
      const m = q.ConvTranspose1d.load(example);
      expect(Array.from(m.forward({ data: Uint8Array.of(10, 20), shape: [1, 1, 2], scale: 1, zeroPoint: 0 }).data))
        // Hand-derived: inputs 10, 20; taps [1, -2] to channel 0 and [3, -4] to channel 1 (stride 2: o = 2i + k);
        // bias 0.5 and -1 quantize (scale 0.25) to 2 and -4; acc * (0.25 / 0.125) + 100.
        // channel 0: (2 + 10)·2, (2 - 20)·2, (2 + 20)·2, (2 - 40)·2 -> 124, 64, 144, 24
        // channel 1: (-4 + 30)·2, (-4 - 40)·2, (-4 + 60)·2, (-4 - 80)·2 -> 152, 12, 212, 0 (clamped)
        .toEqual([124, 64, 144, 24, 152, 12, 212, 0]);
      m.dispose();
    });

    test('not bytes: TypeError naming load and the value', () => {
      const cases = [
        [undefined, 'undefined'], [null, 'null'], ['QCONV1D', '"QCONV1D"'], [42, '42'], [[81, 67], '[81, 67]'],
        [{}, 'an object (Object)'], [new Int8Array(4), 'an Int8Array of length 4'],
        [new Uint16Array(2), 'a Uint16Array of length 2'],
      ];
      for (const [value, shown] of cases) {
        for (const cls of [q.ConvTranspose1d, q.Conv1d]) {
          const e = loadError(cls, value);
          expect(e).toBeInstanceOf(TypeError);
          expect(e.message).toBe(`${cls.name}.load: bytes must be a Uint8Array or an ArrayBuffer, got ${shown}`);
        }
      }
      const e = loadError(q.Conv1d, new DataView(example.slice().buffer));
      expect(e).toBeInstanceOf(TypeError);
      expect(e.message).toMatch(/^Conv1d\.load: bytes must be a Uint8Array or an ArrayBuffer, got a DataView/);
    });

    test('truncated at every length: "the bytes are truncated", with the lengths', () => {
      for (let n = 0; n < example.length; n++) {
        const e = loadError(q.ConvTranspose1d, example.subarray(0, n));
        expect(e).toBeInstanceOf(RangeError);
        expect(e.message).toBe(n < 96
          ? `ConvTranspose1d.load: the bytes are truncated: got ${n} bytes, the header alone is 96`
          : `ConvTranspose1d.load: the bytes are truncated: the header says the module is 124 bytes, got ${n}`);
      }
      // A detached ArrayBuffer has no bytes left.
      const buffer = example.slice().buffer;
      structuredClone(buffer, { transfer: [buffer] });
      expect(loadError(q.ConvTranspose1d, buffer).message).toMatch(/truncated: got 0 bytes/);
    });

    test('every byte flipped (two masks): magic, version or checksum error with both CRCs', () => {
      let counts = { magic: 0, version: 0, header: 0, file: 0 };
      for (let i = 0; i < example.length; i++) {
        for (const mask of [0xff, 0x01]) {
          const b = example.slice();
          b[i] ^= mask;
          const e = loadError(q.ConvTranspose1d, b);
          expect(e).toBeInstanceOf(RangeError);
          const v = new DataView(b.buffer);
          if (i < 8) {
            expect(e.message).toMatch(/^ConvTranspose1d\.load: not a saved qconv-wasm module: the bytes start with ([0-9a-f]{2} ){7}[0-9a-f]{2}, not the magic 51 43 4f 4e 56 31 44 00/);
            counts.magic++;
          } else if (i < 10) {
            const version = v.getUint16(8, true);
            // Version 2 is one this library reads: the header checksum then fails.
            expect(e.message).toBe(version === 0
              ? 'ConvTranspose1d.load: format version 0 is not a valid version (versions start at 1)'
              : version === 2
                ? `ConvTranspose1d.load: header checksum mismatch (stored ${hex32(v.getUint32(92, true))}, computed ${hex32(zlib.crc32(b.subarray(0, 92)))}): the bytes are corrupt`
                : `ConvTranspose1d.load: format version ${version} is newer than this library reads (2)`);
            counts.version++;
          } else if (i < 96) {
            expect(e.message).toBe(`ConvTranspose1d.load: header checksum mismatch (stored ${hex32(v.getUint32(92, true))}, computed ${hex32(zlib.crc32(b.subarray(0, 92)))}): the bytes are corrupt`);
            counts.header++;
          } else {
            expect(e.message).toBe(`ConvTranspose1d.load: checksum mismatch (stored ${hex32(v.getUint32(120, true))}, computed ${hex32(zlib.crc32(b.subarray(0, 120)))}): the bytes are corrupt`);
            counts.file++;
          }
        }
      }
      expect(counts).toEqual({ magic: 16, version: 4, header: 172, file: 56 });
    });

    test('another file type: the magic error shows its first bytes', () => {
      const png = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0);
      expect(loadError(q.Conv1d, png).message).toBe(
        'Conv1d.load: not a saved qconv-wasm module: the bytes start with 89 50 4e 47 0d 0a 1a 0a, not the magic 51 43 4f 4e 56 31 44 00 ("QCONV1D\\0")');
    });

    test('wrong versions (checksums intact)', () => {
      for (const version of [3, 7, 65535]) {
        const e = loadError(q.ConvTranspose1d, edited(example, (v) => v.setUint16(8, version, true)));
        expect(e).toBeInstanceOf(RangeError);
        expect(e.message).toBe(`ConvTranspose1d.load: format version ${version} is newer than this library reads (2)`);
      }
      expect(loadError(q.ConvTranspose1d, edited(example, (v) => v.setUint16(8, 0, true))).message)
        .toBe('ConvTranspose1d.load: format version 0 is not a valid version (versions start at 1)');
    });

    test('a fused ReLU: version 2 with flag bit 3, read back; a version-1 file with bit 3 is refused; version 2 without it reads as version 1', () => {
      const plain = docExample();
      const relu = q.ConvTranspose1d.load(edited(plain.save(), (v) => {
        v.setUint16(8, 2, true);
        v.setUint8(11, v.getUint8(11) | 8);
      }));
      expect(relu.relu).toBe(true);
      const saved = relu.save();
      expect([saved[8], saved[9], saved[11] & 8]).toEqual([2, 0, 8]);
      const x = { data: Uint8Array.from({ length: 24 }, (_, i) => (i * 53) % 256), shape: [1, 1, 24], scale: 0.5, zeroPoint: 7 };
      // By hand: the fused ReLU is max(output, zero point) of the plain module.
      const expected = plain.forward(x).data.map((v) => Math.max(v, plain.zeroPoint));
      expect(expected.some((v, i) => v !== plain.forward(x).data[i])).toBe(true);
      expect(Array.from(relu.forward(x).data)).toEqual(Array.from(expected));
      const loaded = q.load(saved);
      expect(Array.from(loaded.forward(x).data)).toEqual(Array.from(expected));
      loaded.dispose();
      const e = loadError(q.ConvTranspose1d, edited(plain.save(), (v) => v.setUint8(11, v.getUint8(11) | 8)));
      expect(e.message).toBe('ConvTranspose1d.load: unknown flag bits 0x8 in the flags byte (0x9) of a format version 1 file');
      const v2 = q.ConvTranspose1d.load(edited(plain.save(), (v) => v.setUint16(8, 2, true)));
      expect(v2.relu).toBe(false);
      expect(Buffer.from(v2.save()).equals(Buffer.from(plain.save()))).toBe(true);
      for (const m of [plain, relu, v2]) m.dispose();
    });

    test('wrong module kind', () => {
      const c = new q.Conv1d(1, 1, 1);
      const conv = c.save();
      c.dispose();
      expect(loadError(q.Conv1d, example)).toBeInstanceOf(RangeError);
      expect(loadError(q.Conv1d, example).message).toBe('Conv1d.load: the bytes hold a ConvTranspose1d, not a Conv1d');
      expect(loadError(q.ConvTranspose1d, conv).message).toBe('ConvTranspose1d.load: the bytes hold a Conv1d, not a ConvTranspose1d');
      expect(loadError(q.ConvTranspose1d, edited(example, (v) => v.setUint8(10, 5))).message)
        .toBe('ConvTranspose1d.load: unknown module kind 5 (known: 0 Conv1d, 1 ConvTranspose1d)');
    });

    test('trailing bytes', () => {
      const plus = (extra) => { const b = new Uint8Array(example.length + extra); b.set(example); return b; };
      expect(loadError(q.ConvTranspose1d, plus(1)).message)
        .toBe('ConvTranspose1d.load: 1 trailing byte after the module\'s end (the header says 124 bytes, got 125)');
      expect(loadError(q.ConvTranspose1d, plus(124)).message)
        .toBe('ConvTranspose1d.load: 124 trailing bytes after the module\'s end (the header says 124 bytes, got 248)');
    });

    // Intact checksums, fields a writer got wrong.
    test.each([
      // Counts against the geometry: the module's rules, met when it is built.
      ['inChannels 2: the weight no longer fits the parameters', (v) => v.setUint32(16, 2, true),
        'the bytes hold a value the module rejects: ConvTranspose1d.setWeightBias: weight data has 4 elements but shape [2, 2, 2] needs 8'],
      ['weightCount 5: the counts no longer make the file\'s length', (v) => v.setUint32(80, 5, true),
        'the header says the module is 124 bytes, its counts (1 scales, 5 weights, 2 bias values) make 128'],
      ['outChannels 3: the weight no longer fits', (v) => v.setUint32(20, 3, true),
        'the bytes hold a value the module rejects: ConvTranspose1d.setWeightBias: weight data has 4 elements but shape [1, 3, 2] needs 6'],
      ['inChannels 2, outChannels 1: the weight still fits, the bias count no longer does',
        (v) => { v.setUint32(16, 2, true); v.setUint32(20, 1, true); },
        'the bytes hold a value the module rejects: ConvTranspose1d.setWeightBias: bias has 2 elements but outChannels is 1'],
      ['the per-channel flag set on a per-tensor weight', (v) => v.setUint8(11, 3),
        'the bytes hold a value the module rejects: ConvTranspose1d.setWeightBias: per-channel weight scales must have outChannels (2) entries, got 1'],
      ['the bias flag cleared', (v) => v.setUint8(11, 0),
        '2 bias values stored, this module has no bias (flag clear)'],
      ['an unknown flag bit', (v) => v.setUint8(11, 0x81),
        'unknown flag bits 0x80 in the flags byte (0x81) of a format version 1 file'],
      ['reserved u16 at 50', (v) => v.setUint16(50, 1, true),
        'the reserved header fields (offsets 50 and 88) must be 0 in format version 1'],
      ['reserved u32 at 88', (v) => v.setUint32(88, 9, true),
        'the reserved header fields (offsets 50 and 88) must be 0 in format version 1'],
      ['paddingMode 2', (v) => v.setUint8(49, 2),
        'unknown padding mode code 2 (known: 0 \'zeros\', 1 \'reflect\')'],
      ['paddingKind 3', (v) => v.setUint8(48, 3),
        'unknown padding kind 3 (known: 0 integer, 1 \'valid\', 2 \'same\')'],
      ['paddingKind 2 on a ConvTranspose1d', (v) => v.setUint8(48, 2),
        /^the bytes hold a value the module rejects: ConvTranspose1d: padding must be an integer \(ConvTranspose1d takes no 'same' or 'valid'; .*\), got "same"$/],
      ['input quantization fields without the flag', (v) => v.setFloat64(64, 0.5, true),
        'no input quantization is flagged, but its fields hold scale 0.5 and zero point 0 (must be 0)'],
      ['groups 0', (v) => v.setUint32(44, 0, true),
        /^the bytes hold a value the module rejects: ConvTranspose1d: groups \(0\) must be an integer >= 1$/],
      ['stride 0', (v) => v.setUint32(28, 0, true),
        /^the bytes hold a value the module rejects: ConvTranspose1d: stride \(0\) must be an integer >= 1$/],
      ['kernelSize 2^31 - 1 (a weight too large for wasm memory)', (v) => v.setUint32(24, 2 ** 31 - 1, true),
        'the bytes hold a value the module rejects: ConvTranspose1d: a weight of shape [1, 2, 2147483647] needs 12884901882 bytes, more than wasm memory can hold (2 GiB)'],
      ['inChannels 2^32 - 1', (v) => v.setUint32(16, 2 ** 32 - 1, true),
        'the bytes hold a value the module rejects: ConvTranspose1d: inChannels (4294967295) must be at most 2147483647'],
      ['outputPadding 2 (>= stride)', (v) => v.setUint32(36, 2, true),
        /^the bytes hold a value the module rejects: ConvTranspose1d: outputPadding \(2\) must be smaller than/],
      ['paddingMode reflect on a ConvTranspose1d', (v) => v.setUint8(49, 1),
        "the bytes hold a value the module rejects: ConvTranspose1d: paddingMode (\"reflect\") must be 'zeros' (the only mode PyTorch supports here)"],
      ['output zero point 300', (v) => v.setInt32(52, 300, true),
        /^the bytes hold a value the module rejects: .*zeroPoint.*300/],
      ['output scale NaN', (v) => v.setFloat64(56, NaN, true),
        /^the bytes hold a value the module rejects: .*scale.*NaN/],
      ['weight scale 0', (v) => v.setFloat64(96, 0, true),
        'the bytes hold a value the module rejects: ConvTranspose1d.setWeightBias: weight scale (0) must be finite, > 0 and a normal float32'],
      ['weight zero point 200', (v) => v.setInt32(104, 200, true),
        'the bytes hold a value the module rejects: ConvTranspose1d.setWeightBias: weight zeroPoint (200) must be an integer in [-128, 127]'],
      ['a bias of +inf', (v) => v.setFloat32(112, Infinity, true),
        'the bytes hold a value the module rejects: ConvTranspose1d.setWeightBias: bias[0] (Infinity) must be finite as a float32'],
    ])('%s', (_, change, message) => {
      const e = loadError(q.ConvTranspose1d, edited(example, change));
      expect(e).toBeInstanceOf(RangeError);
      expect(e.message.slice(0, 'ConvTranspose1d.load: '.length)).toBe('ConvTranspose1d.load: ');
      expect(e.message.slice('ConvTranspose1d.load: '.length)).toMatch(
        typeof message === 'string' ? new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) : message);
    });

    test('load(bytes) refuses what ConvTranspose1d.load refuses, with the same error naming load', () => {
      const bad = [
        example.subarray(0, 50),                                          // truncated
        Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8),                            // not the magic
        (() => { const b = example.slice(); b[100] ^= 1; return b; })(),  // corrupt
        edited(example, (v) => v.setUint16(8, 7, true)),                  // a newer version
        edited(example, (v) => v.setUint8(10, 5)),                        // an unknown kind
        edited(example, (v) => v.setUint32(44, 0, true)),                 // groups 0 (the constructor)
        edited(example, (v) => v.setFloat32(112, Infinity, true)),        // a bias of +inf (setWeightBias)
        5,                                                                // not bytes (TypeError)
      ];
      for (const bytes of bad) {
        const expected = loadError(q.ConvTranspose1d, bytes);
        const e = loadError(q, bytes);
        expect(e.constructor).toBe(expected.constructor);
        expect(e.message).toBe(expected.message.replace(/^ConvTranspose1d\.load: /, 'load: '));
        expect(e.message).toMatch(/^load: /);
      }
    });

    test('a per-tensor weight (flag bit 1 clear) has one scale', () => {
      const m = new q.ConvTranspose1d(1, 2, 2);
      m.setWeightBias({ data: Int8Array.of(1, 2, 3, 4), scale: [0.5, 0.25] }, null);
      const perChannel = m.save();
      m.dispose();
      const e = loadError(q.ConvTranspose1d, edited(perChannel, (v) => v.setUint8(11, perChannel[11] & ~2)));
      expect(e).toBeInstanceOf(RangeError);
      expect(e.message).toBe('ConvTranspose1d.load: 2 weight scales stored, a per-tensor weight of this module has 1');
    });

    test('totalLength that disagrees with the counts', () => {
      // Four more bytes before the CRC, and a header saying so.
      const b = new Uint8Array(example.length + 4);
      b.set(example.subarray(0, 120));
      new DataView(b.buffer).setUint32(12, 128, true);
      expect(loadError(q.ConvTranspose1d, reseal(b)).message).toBe(
        'ConvTranspose1d.load: the header says the module is 128 bytes, its counts (1 scales, 4 weights, 2 bias values) make 124');
    });

    test('Conv1d-only rules: outputPadding, padding kind with a non-zero padding, a non-zero pad byte', () => {
      const m = new q.Conv1d(1, 1, 3);
      const conv = m.save();
      m.dispose();
      expect(loadError(q.Conv1d, edited(conv, (v) => v.setUint32(36, 1, true))).message)
        .toBe('Conv1d.load: a Conv1d has no outputPadding, but the field holds 1');
      expect(loadError(q.Conv1d, edited(conv, (v) => { v.setUint8(48, 2); v.setUint32(32, 1, true); })).message)
        .toBe('Conv1d.load: padding kind 2 needs the integer padding field to be 0, got 1');
      expect(loadError(q.Conv1d, edited(conv, (v, b) => { b[111] = 7; })).message)
        .toBe('Conv1d.load: the padding byte at offset 111 must be 0, got 7');
    });

    test('save() on a disposed module throws the disposed Error', () => {
      const m = docExample();
      m.dispose();
      expect(() => m.save()).toThrow(Error);
      expect(() => m.save()).toThrow('ConvTranspose1d.save: the module was disposed');
    });
  });

  test('the ESM source (js/api.mjs + js/format.mjs, as browsers load it) and dist/api.cjs agree', () => {
    const exampleBytes = docExample().save();
    // The browser entry's createQconv with Node's wasm loader, in a child process (Jest runs CommonJS).
    const script = `
      import { createQconv } from './js/api.mjs';
      import { crc32 } from './js/format.mjs';
      import { createRequire } from 'node:module';
      const { loadNativeModule } = createRequire(import.meta.url)('./js/node-loader.cjs');
      const esm = createQconv(loadNativeModule);
      await esm.init();
      const m = esm.ConvTranspose1d.load(Buffer.from(process.argv[1], 'hex'));
      const any = esm.load(Buffer.from(process.argv[1], 'hex'));
      console.log(JSON.stringify({ resaved: Buffer.from(m.save()).toString('hex'),
        anyKind: any instanceof esm.ConvTranspose1d, anyResaved: Buffer.from(any.save()).toString('hex'),
        check: crc32(new TextEncoder().encode('123456789')) }));
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script, Buffer.from(exampleBytes).toString('hex')],
      { cwd: ROOT, encoding: 'utf8' });
    const r = JSON.parse(out.trim().split('\n').pop());
    expect(r.resaved).toBe(Buffer.from(exampleBytes).toString('hex'));
    expect(r.anyKind).toBe(true);
    expect(r.anyResaved).toBe(Buffer.from(exampleBytes).toString('hex'));
    expect(r.check).toBe(0xcbf43926);  // the CRC-32 check value docs/FORMAT.md gives
  });
});
