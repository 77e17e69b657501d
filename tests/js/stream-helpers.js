'use strict';
// Helpers of the streaming tests: a seeded generator, random modules,
// random chunkings, and running a signal through a stream.

// A seeded generator (the same cases every run).
const { mulberry32: rng } = require('../../tools/mulberry32.cjs');

const pick = (random, list) => list[Math.floor(random() * list.length)];
const int = (random, lo, hi) => lo + Math.floor(random() * (hi - lo + 1));

// A random valid module with random weights, bias and output quantization:
// { m, inChannels, kernelSize, minLength (the shortest signal forward takes), describe }.
function randomModule(q, kind, random) {
  for (;;) {
    const groups = pick(random, [1, 1, 2, 3, 'depthwise']);
    const g = groups === 'depthwise' ? int(random, 1, 6) : groups;
    const inChannels = groups === 'depthwise' ? g : g * int(random, 1, 3);
    const outChannels = groups === 'depthwise' ? g * pick(random, [1, 1, 2]) : g * int(random, 1, 3);
    const kernelSize = int(random, 1, 9);
    const dilation = pick(random, [1, 1, 2, 3]);
    const stride = pick(random, [1, 1, 2, 3, 5, 12]);
    const reach = dilation * (kernelSize - 1);
    const options = { stride, dilation, groups: g, bias: random() < 0.8, relu: random() < 0.2 };
    let minLength = 1;
    if (kind === 'Conv1d') {
      const mode = pick(random, ['zeros', 'zeros', 'reflect']);
      options.paddingMode = mode;
      const padding = stride === 1 && random() < 0.3 ? pick(random, ['same', 'valid']) : int(random, 0, reach + 3);
      options.padding = padding;
      const total = padding === 'same' ? reach : padding === 'valid' ? 0 : 2 * padding;
      const before = padding === 'same' ? Math.floor(reach / 2) : padding === 'valid' ? 0 : padding;
      minLength = Math.max(1, reach + 1 - total);
      if (mode === 'reflect') minLength = Math.max(minLength, Math.max(before, total - before) + 1);
    } else {
      options.padding = int(random, 0, reach + 2);
      const maxOp = Math.max(stride, dilation) - 1;
      options.outputPadding = int(random, 0, maxOp);
      // Output length (L-1)s - 2p + reach + op + 1 >= 1.
      const need = 2 * options.padding - reach - options.outputPadding;
      minLength = Math.max(1, 1 + Math.ceil(need / stride));
    }
    let m;
    try {
      m = new q[kind](inChannels, outChannels, kernelSize, options);
    } catch (e) {
      if (e instanceof RangeError) continue;  // a combination PyTorch refuses
      throw e;
    }
    const wShape = kind === 'Conv1d' ? [outChannels, inChannels / g, kernelSize] : [inChannels, outChannels / g, kernelSize];
    const w = new Int8Array(wShape[0] * wShape[1] * wShape[2]);
    for (let i = 0; i < w.length; i++) w[i] = int(random, -128, 127);
    const perChannel = random() < 0.3;
    const weight = perChannel
      ? { data: w, shape: wShape, scale: Array.from({ length: outChannels }, () => 0.001 + random() * 0.02),
        zeroPoint: new Array(outChannels).fill(0) }
      : { data: w, shape: wShape, scale: 0.001 + random() * 0.02, zeroPoint: 0 };
    const bias = options.bias ? Float32Array.from({ length: outChannels }, () => (random() - 0.5) * 4) : null;
    m.setWeightBias(weight, bias);
    m.scale = 0.01 + random() * 0.1;
    m.zeroPoint = int(random, 0, 255);
    const describe = `${kind}(${inChannels}, ${outChannels}, ${kernelSize}, ${JSON.stringify(options)}${perChannel ? ' per-channel' : ''})`;
    return { m, inChannels, kernelSize, minLength, describe };
  }
}

// Four chunkings of `length` samples: random chunks of 0..kernelSize
// (shorter than the kernel, empty ones included), 1-sample chunks with
// empty ones between, random long chunks, and the whole signal at once.
function chunkings(random, length, kernelSize) {
  const split = (next) => {
    const sizes = [];
    for (let left = length; left > 0;) {
      const l = Math.min(left, next());
      sizes.push(l);
      left -= l;
    }
    return sizes;
  };
  return [
    split(() => int(random, 0, kernelSize)),
    split(() => (random() < 0.2 ? 0 : 1)),
    split(() => int(random, 0, 150)),
    [0, length, 0],
  ];
}

// Samples [at, at + l) of each (item, channel) row of x ([n, c, length]).
function sliceChunk(x, rows, length, at, l) {
  const chunk = new Uint8Array(rows * l);
  for (let r = 0; r < rows; r++) chunk.set(x.subarray(r * length + at, r * length + at + l), r * l);
  return chunk;
}

// Outputs ([rows, k_i] each) concatenated along the length.
function concatOutputs(outs, rows) {
  const total = outs.reduce((a, o) => a + o.shape[o.shape.length - 1], 0);
  const data = new Uint8Array(rows * total);
  let at = 0;
  for (const o of outs) {
    const k = o.shape[o.shape.length - 1];
    for (let r = 0; r < rows; r++) data.set(o.data.subarray(r * k, r * k + k), r * total + at);
    at += k;
  }
  return { data, total };
}

// The signal through m.stream() in chunks of the given sizes; returns the
// concatenated QTensor.
function runStream(m, x, n, c, length, sizes, scale, zeroPoint, unbatched) {
  const s = m.stream();
  const outs = [];
  let at = 0;
  for (const l of sizes) {
    const data = sliceChunk(x, n * c, length, at, l);
    outs.push(s.push({ data, shape: unbatched ? [c, l] : [n, c, l], scale, zeroPoint }));
    at += l;
  }
  outs.push(s.flush());
  const last = outs[outs.length - 1];
  const rows = n * m.outChannels;
  const { data, total } = concatOutputs(outs, rows);
  for (const o of outs) {
    if (o.scale !== last.scale || o.zeroPoint !== last.zeroPoint) throw new Error('output quantization changed');
  }
  return { data, shape: unbatched ? [m.outChannels, total] : [n, m.outChannels, total], scale: last.scale, zeroPoint: last.zeroPoint };
}

module.exports = { rng, randomModule, chunkings, sliceChunk, concatOutputs, runStream };
