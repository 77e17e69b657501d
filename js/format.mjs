// The saved-module file format (docs/FORMAT.md): encoding and decoding
// between bytes and a plain description of a module. Pure functions, no
// imports (scripts/build-js.mjs inlines this file into dist/api.cjs), no wasm.
// Little-endian, fixed-width fields; a CRC-32 over the 96-byte header and one
// over everything before the file's last 4 bytes.
//
// The description (what encodeModuleFile takes and decodeModuleFile returns):
//   { kind: 'Conv1d' | 'ConvTranspose1d', inChannels, outChannels, kernelSize,
//     stride, padding: integer | 'valid' | 'same', outputPadding, dilation,
//     groups, paddingMode: 'zeros' | 'reflect', relu: boolean, scale, zeroPoint,
//     inputQuantization: { scale, zeroPoint } | null,
//     weight: { data: Int8Array, scale: number | number[], zeroPoint: number | number[] },
//     bias: Float32Array | null }
// (a number weight scale is per-tensor, an array per output channel).

export const FORMAT_MAGIC = Uint8Array.of(0x51, 0x43, 0x4f, 0x4e, 0x56, 0x31, 0x44, 0x00);  // "QCONV1D\0"
// Version 2 adds flag bit 3 (a fused ReLU); a file without it is written as
// version 1, which every reader reads.
export const FORMAT_VERSION = 2;
export const FORMAT_HEADER_BYTES = 96;

const FORMAT_KINDS = ['Conv1d', 'ConvTranspose1d'];
const FORMAT_PADDING_KINDS = [null, 'valid', 'same'];  // 0: the integer padding field
const FORMAT_PADDING_MODES = ['zeros', 'reflect'];
const FLAG_BIAS = 1;
const FLAG_PER_CHANNEL = 2;
const FLAG_INPUT_QUANTIZATION = 4;
const FLAG_RELU = 8;  // version 2
const FLAGS_OF_VERSION = [0, FLAG_BIAS | FLAG_PER_CHANNEL | FLAG_INPUT_QUANTIZATION,
  FLAG_BIAS | FLAG_PER_CHANNEL | FLAG_INPUT_QUANTIZATION | FLAG_RELU];

// Header field offsets (docs/FORMAT.md's table).
const OFF_VERSION = 8;
const OFF_KIND = 10;
const OFF_FLAGS = 11;
const OFF_TOTAL_LENGTH = 12;
const OFF_IN_CHANNELS = 16;
const OFF_OUT_CHANNELS = 20;
const OFF_KERNEL_SIZE = 24;
const OFF_STRIDE = 28;
const OFF_PADDING = 32;
const OFF_OUTPUT_PADDING = 36;
const OFF_DILATION = 40;
const OFF_GROUPS = 44;
const OFF_PADDING_KIND = 48;
const OFF_PADDING_MODE = 49;
const OFF_RESERVED_A = 50;  // u16
const OFF_OUTPUT_ZERO_POINT = 52;
const OFF_OUTPUT_SCALE = 56;
const OFF_INPUT_SCALE = 64;
const OFF_INPUT_ZERO_POINT = 72;
const OFF_SCALE_COUNT = 76;
const OFF_WEIGHT_COUNT = 80;
const OFF_BIAS_COUNT = 84;
const OFF_RESERVED_B = 88;  // u32
const OFF_HEADER_CRC = 92;

// The file's length for S weight scales, W int8 weights and B bias values:
// header, f64[S], i32[S], i8[W], zero bytes up to a multiple of 4, f32[B], CRC.
export function formatFileLength(scaleCount, weightCount, biasCount) {
  const weightEnd = FORMAT_HEADER_BYTES + 12 * scaleCount + weightCount;
  return weightEnd + ((4 - (weightEnd % 4)) % 4) + 4 * biasCount + 4;
}

let crcTable = null;

// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, as zlib's crc32) of
// bytes[start, end).
export function crc32(bytes, start = 0, end = bytes.length) {
  if (crcTable === null) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) crc = crcTable[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function hex32(v) {
  return `0x${v.toString(16).padStart(8, '0')}`;
}

function checkU32(what, name, v) {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw new RangeError(`${what}: ${name} (${v}) does not fit the format's u32 field`);
  }
}

// Returns the file's bytes (a new Uint8Array). `what` prefixes error messages.
export function encodeModuleFile(what, m) {
  const kind = FORMAT_KINDS.indexOf(m.kind);
  if (kind < 0) throw new RangeError(`${what}: unknown module kind ${JSON.stringify(m.kind)}`);
  let paddingKind = 0;
  let padding = m.padding;
  if (typeof padding === 'string') {
    paddingKind = FORMAT_PADDING_KINDS.indexOf(padding);
    if (paddingKind <= 0) {
      throw new RangeError(`${what}: padding ${JSON.stringify(padding)} has no code in the format (known: 'valid', 'same')`);
    }
    padding = 0;
  }
  const paddingMode = FORMAT_PADDING_MODES.indexOf(m.paddingMode);
  if (paddingMode < 0) {
    throw new RangeError(`${what}: paddingMode ${JSON.stringify(m.paddingMode)} has no code in the format`);
  }
  const perChannel = typeof m.weight.scale !== 'number';
  const scales = perChannel ? Array.from(m.weight.scale) : [m.weight.scale];
  const zeroPoints = perChannel ? Array.from(m.weight.zeroPoint) : [m.weight.zeroPoint];
  if (zeroPoints.length !== scales.length) {
    throw new RangeError(`${what}: ${scales.length} weight scales but ${zeroPoints.length} zero points`);
  }
  const weights = m.weight.data;
  const bias = m.bias;
  const inputQ = m.inputQuantization;
  const sizes = {
    inChannels: m.inChannels, outChannels: m.outChannels, kernelSize: m.kernelSize, stride: m.stride,
    padding, outputPadding: m.outputPadding, dilation: m.dilation, groups: m.groups,
  };
  for (const [name, v] of Object.entries(sizes)) checkU32(what, name, v);

  const total = formatFileLength(scales.length, weights.length, bias === null ? 0 : bias.length);
  checkU32(what, 'the file length', total);
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  bytes.set(FORMAT_MAGIC, 0);
  view.setUint16(OFF_VERSION, m.relu ? 2 : 1, true);
  view.setUint8(OFF_KIND, kind);
  view.setUint8(OFF_FLAGS, (bias !== null ? FLAG_BIAS : 0) | (perChannel ? FLAG_PER_CHANNEL : 0) |
    (inputQ ? FLAG_INPUT_QUANTIZATION : 0) | (m.relu ? FLAG_RELU : 0));
  view.setUint32(OFF_TOTAL_LENGTH, total, true);
  view.setUint32(OFF_IN_CHANNELS, sizes.inChannels, true);
  view.setUint32(OFF_OUT_CHANNELS, sizes.outChannels, true);
  view.setUint32(OFF_KERNEL_SIZE, sizes.kernelSize, true);
  view.setUint32(OFF_STRIDE, sizes.stride, true);
  view.setUint32(OFF_PADDING, sizes.padding, true);
  view.setUint32(OFF_OUTPUT_PADDING, sizes.outputPadding, true);
  view.setUint32(OFF_DILATION, sizes.dilation, true);
  view.setUint32(OFF_GROUPS, sizes.groups, true);
  view.setUint8(OFF_PADDING_KIND, paddingKind);
  view.setUint8(OFF_PADDING_MODE, paddingMode);
  view.setInt32(OFF_OUTPUT_ZERO_POINT, m.zeroPoint, true);
  view.setFloat64(OFF_OUTPUT_SCALE, m.scale, true);
  view.setFloat64(OFF_INPUT_SCALE, inputQ ? inputQ.scale : 0, true);
  view.setInt32(OFF_INPUT_ZERO_POINT, inputQ ? inputQ.zeroPoint : 0, true);
  view.setUint32(OFF_SCALE_COUNT, scales.length, true);
  view.setUint32(OFF_WEIGHT_COUNT, weights.length, true);
  view.setUint32(OFF_BIAS_COUNT, bias === null ? 0 : bias.length, true);
  view.setUint32(OFF_HEADER_CRC, crc32(bytes, 0, OFF_HEADER_CRC), true);
  let at = FORMAT_HEADER_BYTES;
  for (const s of scales) { view.setFloat64(at, s, true); at += 8; }
  for (const z of zeroPoints) { view.setInt32(at, z, true); at += 4; }
  bytes.set(new Uint8Array(weights.buffer, weights.byteOffset, weights.length), at);
  at += weights.length;
  at += (4 - (at % 4)) % 4;
  if (bias !== null) for (const b of bias) { view.setFloat32(at, b, true); at += 4; }
  view.setUint32(at, crc32(bytes, 0, at), true);
  return bytes;
}

// Checks the bytes and returns the module's description; every problem is a
// RangeError starting with `what` (e.g. 'Conv1d.load'). expectedKind: the
// module the caller builds ('Conv1d' or 'ConvTranspose1d'), or null for
// whichever the bytes hold. The format's own rules are checked here; whether
// the values make a valid module (counts against the geometry included) is
// the module's to say when it is built from them.
export function decodeModuleFile(what, bytes, expectedKind) {
  const bad = (message) => new RangeError(`${what}: ${message}`);
  const view = checkEnvelope(bytes, bad, MODULE_ENVELOPE);
  const { m, flags, counts } = readHeader(view, bad, expectedKind);
  readBody(bytes, view, m, flags, counts, bad);
  return m;
}

// The saved module's envelope (docs/FORMAT.md), for checkEnvelope.
const MODULE_ENVELOPE = {
  magic: FORMAT_MAGIC, magicText: '51 43 4f 4e 56 31 44 00 ("QCONV1D\\0")', notA: 'a saved qconv-wasm module',
  noun: 'module', versionWord: 'format version', maxVersion: FORMAT_VERSION, headerBytes: FORMAT_HEADER_BYTES,
  headerCrcAt: OFF_HEADER_CRC,
};

// The magic, version, lengths and checksums, in docs/FORMAT.md's order
// (docs/MODEL-FORMAT.md's envelope is the same with its own layout: magic,
// the u16 version at 8, the u32 total length at 12, a header CRC, a file
// CRC): after them the bytes are what a writer wrote. Returns a DataView of them.
export function checkEnvelope(bytes, bad, layout) {
  const n = bytes.length;
  const truncated = (detail) => bad(`the bytes are truncated: ${detail}`);
  for (let i = 0; i < Math.min(n, layout.magic.length); i++) {
    if (bytes[i] !== layout.magic[i]) {
      const seen = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
      throw bad(`not ${layout.notA}: the bytes start with ${seen}, not the magic ${layout.magicText}`);
    }
  }
  if (n < OFF_VERSION + 2) {
    throw truncated(`got ${n} bytes, the header alone is ${layout.headerBytes}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, n);
  const version = view.getUint16(OFF_VERSION, true);
  if (version === 0) throw bad(`${layout.versionWord} 0 is not a valid version (versions start at 1)`);
  if (version > layout.maxVersion) {
    throw bad(`${layout.versionWord} ${version} is newer than this library reads (${layout.maxVersion})`);
  }
  if (n < layout.headerBytes) {
    throw truncated(`got ${n} bytes, the header alone is ${layout.headerBytes}`);
  }
  const storedHeaderCrc = view.getUint32(layout.headerCrcAt, true);
  const headerCrc = crc32(bytes, 0, layout.headerCrcAt);
  if (storedHeaderCrc !== headerCrc) {
    throw bad(`header checksum mismatch (stored ${hex32(storedHeaderCrc)}, computed ${hex32(headerCrc)}): the bytes are corrupt`);
  }
  const total = view.getUint32(OFF_TOTAL_LENGTH, true);
  if (n < total) throw truncated(`the header says the ${layout.noun} is ${total} bytes, got ${n}`);
  if (n > total) {
    throw bad(`${n - total} trailing byte${n - total === 1 ? '' : 's'} after the ${layout.noun}'s end (the header says ${total} bytes, got ${n})`);
  }
  const storedCrc = view.getUint32(total - 4, true);
  const fileCrc = crc32(bytes, 0, total - 4);
  if (storedCrc !== fileCrc) {
    throw bad(`checksum mismatch (stored ${hex32(storedCrc)}, computed ${hex32(fileCrc)}): the bytes are corrupt`);
  }
  return view;
}

// The header's fields, checked against the format's codes and flags:
// { m (the description without weight and bias), flags, counts }.
function readHeader(view, bad, expectedKind) {
  const kindCode = view.getUint8(OFF_KIND);
  const kind = FORMAT_KINDS[kindCode];
  if (kind === undefined) throw bad(`unknown module kind ${kindCode} (known: 0 Conv1d, 1 ConvTranspose1d)`);
  if (expectedKind !== null && kind !== expectedKind) throw bad(`the bytes hold a ${kind}, not a ${expectedKind}`);
  const flags = view.getUint8(OFF_FLAGS);
  const version = view.getUint16(OFF_VERSION, true);
  const known = FLAGS_OF_VERSION[version];
  if (flags & ~known) {
    throw bad(`unknown flag bits 0x${(flags & ~known).toString(16)} in the flags byte (0x${flags.toString(16)}) of a format version ${version} file`);
  }
  if (view.getUint16(OFF_RESERVED_A, true) !== 0 || view.getUint32(OFF_RESERVED_B, true) !== 0) {
    throw bad(`the reserved header fields (offsets ${OFF_RESERVED_A} and ${OFF_RESERVED_B}) must be 0 in format version ${version}`);
  }
  const u32 = (offset) => view.getUint32(offset, true);
  const m = {
    kind,
    inChannels: u32(OFF_IN_CHANNELS),
    outChannels: u32(OFF_OUT_CHANNELS),
    kernelSize: u32(OFF_KERNEL_SIZE),
    stride: u32(OFF_STRIDE),
    padding: readPadding(view, bad),
    outputPadding: u32(OFF_OUTPUT_PADDING),
    dilation: u32(OFF_DILATION),
    groups: u32(OFF_GROUPS),
    paddingMode: FORMAT_PADDING_MODES[view.getUint8(OFF_PADDING_MODE)],
    relu: (flags & FLAG_RELU) !== 0,
    scale: view.getFloat64(OFF_OUTPUT_SCALE, true),
    zeroPoint: view.getInt32(OFF_OUTPUT_ZERO_POINT, true),
    inputQuantization: readInputQuantization(view, bad, flags),
    weight: null,
    bias: null,
  };
  if (m.paddingMode === undefined) {
    throw bad(`unknown padding mode code ${view.getUint8(OFF_PADDING_MODE)} (known: 0 'zeros', 1 'reflect')`);
  }
  // The field exists for both kinds; a Conv1d's public constructor has no
  // such argument to pass it to.
  if (kind === 'Conv1d' && m.outputPadding !== 0) {
    throw bad(`a Conv1d has no outputPadding, but the field holds ${m.outputPadding}`);
  }
  const counts = { scales: u32(OFF_SCALE_COUNT), weights: u32(OFF_WEIGHT_COUNT), bias: u32(OFF_BIAS_COUNT) };
  // The flags say how to read the arrays: a per-tensor weight has one
  // scale, a module without bias no bias values. (Per-channel and bias
  // counts against outChannels are the module's rules.)
  if (!(flags & FLAG_PER_CHANNEL) && counts.scales !== 1) {
    throw bad(`${counts.scales} weight scales stored, a per-tensor weight of this module has 1`);
  }
  if (!(flags & FLAG_BIAS) && counts.bias !== 0) {
    throw bad(`${counts.bias} bias values stored, this module has no bias (flag clear)`);
  }
  const wantTotal = formatFileLength(counts.scales, counts.weights, counts.bias);
  const total = u32(OFF_TOTAL_LENGTH);
  if (total !== wantTotal) {
    throw bad(`the header says the module is ${total} bytes, its counts (${counts.scales} scales, ${counts.weights} weights, ${counts.bias} bias values) make ${wantTotal}`);
  }
  return { m, flags, counts };
}

// The padding: the integer field, or 'valid' / 'same' by the padding kind
// (which modules take the strings is the constructor's to say).
function readPadding(view, bad) {
  const padding = view.getUint32(OFF_PADDING, true);
  const paddingKind = view.getUint8(OFF_PADDING_KIND);
  if (paddingKind >= FORMAT_PADDING_KINDS.length) {
    throw bad(`unknown padding kind ${paddingKind} (known: 0 integer, 1 'valid', 2 'same')`);
  }
  if (paddingKind === 0) return padding;
  if (padding !== 0) throw bad(`padding kind ${paddingKind} needs the integer padding field to be 0, got ${padding}`);
  return FORMAT_PADDING_KINDS[paddingKind];
}

function readInputQuantization(view, bad, flags) {
  const scale = view.getFloat64(OFF_INPUT_SCALE, true);
  const zeroPoint = view.getInt32(OFF_INPUT_ZERO_POINT, true);
  if (flags & FLAG_INPUT_QUANTIZATION) return { scale, zeroPoint };
  if (!Object.is(scale, 0) || zeroPoint !== 0) {
    // +0.0 only: -0.0 would load, and save() would then write other bytes.
    const scaleText = Object.is(scale, -0) ? '-0' : String(scale);
    throw bad(`no input quantization is flagged, but its fields hold scale ${scaleText} and zero point ${zeroPoint} (must be 0)`);
  }
  return null;
}

// The arrays after the header, into m.weight and m.bias.
function readBody(bytes, view, m, flags, counts, bad) {
  let at = FORMAT_HEADER_BYTES;
  const scales = [];
  for (let i = 0; i < counts.scales; i++, at += 8) scales.push(view.getFloat64(at, true));
  const zeroPoints = [];
  for (let i = 0; i < counts.scales; i++, at += 4) zeroPoints.push(view.getInt32(at, true));
  const data = new Int8Array(counts.weights);
  data.set(new Int8Array(bytes.buffer, bytes.byteOffset + at, counts.weights));
  at += counts.weights;
  for (const end = at + ((4 - (at % 4)) % 4); at < end; at++) {
    if (bytes[at] !== 0) throw bad(`the padding byte at offset ${at} must be 0, got ${bytes[at]}`);
  }
  m.weight = flags & FLAG_PER_CHANNEL
    ? { data, scale: scales, zeroPoint: zeroPoints }
    : { data, scale: scales[0], zeroPoint: zeroPoints[0] };
  if (flags & FLAG_BIAS) {
    m.bias = new Float32Array(counts.bias);
    for (let i = 0; i < counts.bias; i++, at += 4) m.bias[i] = view.getFloat32(at, true);
  }
}
