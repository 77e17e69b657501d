// Measures this engine's peak rate of wasm SIMD128 `i32x4.dot_i16x8_s`, the
// instruction an int8/int16 convolution kernel's inner loop is built on: a
// hand-encoded wasm module (no build step) runs CHAINS independent chains
// x_i = i32x4.dot_i16x8_s(x_i, b) in a loop unrolled UNROLL times, so the
// loop's counter and branch are a few instructions per CHAINS*UNROLL dots.
//
// Why the chains cannot be folded away: every chain starts from the
// function's runtime argument, depends on its previous value, and all of
// them are summed into the return value. V8 does no algebraic rewriting of
// SIMD operations anyway.

export const CHAINS = 12;  // >= latency x throughput of pmaddwd; 13 live vectors fit V8's ~15 registers
export const UNROLL = 4;
export const MACS_PER_DOT = 8;  // 8 i16 x i16 products per i32x4.dot_i16x8_s
export const MACS_PER_ITERATION = CHAINS * UNROLL * MACS_PER_DOT;

// ---- a minimal wasm binary encoder --------------------------------------------

function unsignedLeb128(value) {
  const out = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

function signedLeb128(value) {
  const out = [];
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    const done = (value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

const vector = (items) => [...unsignedLeb128(items.length), ...items.flat()];
const section = (id, bytes) => [id, ...unsignedLeb128(bytes.length), ...bytes];

const OP = {
  block: 0x02, loop: 0x03, brIf: 0x0d, end: 0x0b, void: 0x40,
  localGet: 0x20, localSet: 0x21, localTee: 0x22,
  i32Const: 0x41, i32Add: 0x6a, i32Sub: 0x6b,
  i32: 0x7f, v128: 0x7b, funcType: 0x60, exportFunc: 0x00,
};
// SIMD instructions: the 0xfd prefix and a LEB128 opcode.
const simd = (opcode) => [0xfd, ...unsignedLeb128(opcode)];
const I16X8_SPLAT = simd(0x10);
const I32X4_SPLAT = simd(0x11);
const I32X4_EXTRACT_LANE_0 = [...simd(0x1b), 0];
const I32X4_ADD = simd(0xae);
const I32X4_DOT_I16X8_S = simd(0xba);

// (func (export "dotChains") (param $iterations i32) (param $seed i32) (result i32))
// locals: 0 = iterations, 1 = seed, 2..2+CHAINS-1 = chains, 2+CHAINS = b.
function dotChainsModule() {
  const chainLocal = (i) => 2 + i;
  const bLocal = 2 + CHAINS;
  const body = [];
  // b = i16x8.splat(seed); x_i = i32x4.splat(seed + i)
  body.push(OP.localGet, 1, ...I16X8_SPLAT, OP.localSet, bLocal);
  for (let i = 0; i < CHAINS; i++) {
    body.push(OP.localGet, 1, OP.i32Const, ...signedLeb128(i + 1), OP.i32Add, ...I32X4_SPLAT,
      OP.localSet, chainLocal(i));
  }
  // do { UNROLL x CHAINS dots } while (--iterations != 0)
  body.push(OP.loop, OP.void);
  for (let u = 0; u < UNROLL; u++) {
    for (let i = 0; i < CHAINS; i++) {
      body.push(OP.localGet, chainLocal(i), OP.localGet, bLocal, ...I32X4_DOT_I16X8_S,
        OP.localSet, chainLocal(i));
    }
  }
  body.push(OP.localGet, 0, OP.i32Const, 1, OP.i32Sub, OP.localTee, 0, OP.brIf, 0, OP.end);
  // return lane 0 of the sum of all chains
  body.push(OP.localGet, chainLocal(0));
  for (let i = 1; i < CHAINS; i++) body.push(OP.localGet, chainLocal(i), ...I32X4_ADD);
  body.push(...I32X4_EXTRACT_LANE_0, OP.end);

  const localDeclarations = vector([[...unsignedLeb128(CHAINS + 1), OP.v128]]);
  const functionBody = [...localDeclarations, ...body];
  const name = [...new TextEncoder().encode('dotChains')];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,  // magic, version 1
    ...section(1, vector([[OP.funcType, ...vector([[OP.i32], [OP.i32]]), ...vector([[OP.i32]])]])),  // types
    ...section(3, vector([[0]])),                                                                  // functions
    ...section(7, vector([[...vector(name.map((b) => [b])), OP.exportFunc, 0]])),                 // exports
    ...section(10, vector([[...unsignedLeb128(functionBody.length), ...functionBody]])),          // code
  ]);
}

// ---- measurement ---------------------------------------------------------------

// Returns { gmacs, samples }: the best of `samples` timed calls, each about
// `sampleMs` long, after a warm-up long enough for V8 to tier the function
// up from its baseline compiler (Liftoff) to the optimizing one (TurboFan).
export async function measureDotPeak({ samples = 7, sampleMs = 40, warmupMs = 300 } = {}) {
  const { instance } = await WebAssembly.instantiate(dotChainsModule());
  const dotChains = instance.exports.dotChains;
  let sink = 0;
  let iterations = 1000;
  const warmupEnd = performance.now() + warmupMs;
  while (performance.now() < warmupEnd) {
    const t0 = performance.now();
    sink ^= dotChains(iterations, sink & 7);
    const ms = performance.now() - t0;
    // grow the call until it takes about sampleMs
    if (ms < sampleMs / 2) iterations = Math.min(iterations * 2, 2 ** 30);
  }
  const rates = [];
  for (let s = 0; s < samples; s++) {
    const t0 = performance.now();
    sink ^= dotChains(iterations, s);
    const seconds = (performance.now() - t0) / 1000;
    rates.push((iterations * MACS_PER_ITERATION) / seconds / 1e9);
  }
  rates.sort((a, b) => a - b);
  return {
    gmacs: rates[rates.length - 1],
    medianGmacs: rates[rates.length >> 1],
    chains: CHAINS, unroll: UNROLL, iterationsPerCall: iterations, samples, sink,
  };
}

export { dotChainsModule };
