// Streaming (chunked) forward for Conv1d and ConvTranspose1d: m.stream()
// gives an object whose push(chunk) returns the outputs that no later input
// can change, and whose flush() returns the rest. The concatenated outputs
// are byte-identical to one forward over the whole signal.
//
// Why that holds: an output is an integer sum over the inputs that reach it
// (exact), then one requantization that depends only on that sum and the
// scales. So the stream runs a second operator (its "twin": the module's
// weights, bias, stride, dilation, groups, ReLU and output quantization,
// with no padding) on a window of input holding every input that reaches
// the outputs it returns, and adds the padding itself (Conv1d) or crops
// (ConvTranspose1d). The twin is a snapshot taken by stream(): later
// setWeightBias or scale changes on the module do not reach an open stream.
//
// Conv1d, in padded coordinates (padded index = input index + padding
// before): output t reads [t*stride, t*stride + dilation*(k-1)], so it is
// final once that window was received. Left padding is known once the
// first sample arrived ('zeros': the input zero point, as the core pads) or
// once max(before, after) + 1 samples arrived ('reflect': the length the
// whole forward needs, so that no output is returned for a signal forward
// would refuse). Right padding is added by flush.
//
// ConvTranspose1d, in unpadded coordinates u = o + padding: input i reaches
// u in [i*stride, i*stride + dilation*(k-1)], so after R inputs every
// u < R*stride is final (and belongs to the output when o < outputLength(R),
// which only grows with R). The twin has outputPadding max(stride - 1,
// outputPadding), so that its output covers the bias-only positions past
// the last input of a window (a gap when stride > dilation*(k-1) + 1, and
// the outputPadding tail at flush).

import { typedArrayLength, copyInto, uint8Copy, describe } from './caller-values.mjs';
import { readQTensor, measureQTensorData, checkInputRank, checkQuantization } from './args.mjs';
import { STATUS_OUT_OF_MEMORY } from './runtime.mjs';

const streamApply = Reflect.apply;
const streamDescriptor = Reflect.getOwnPropertyDescriptor;
const StreamTypedArray = Reflect.getPrototypeOf(Uint8Array.prototype);
const streamBufferGetter = streamDescriptor(StreamTypedArray, 'buffer').get;
const streamByteOffsetGetter = streamDescriptor(StreamTypedArray, 'byteOffset').get;
const streamCopyWithin = StreamTypedArray.copyWithin;
const streamFill = StreamTypedArray.fill;
const streamSet = StreamTypedArray.set;
const StreamUint8 = Uint8Array;
const streamFloor = Math.floor;
const streamCeil = Math.ceil;
const streamMax = Math.max;
const streamMin = Math.min;

const streamRegistry = typeof FinalizationRegistry === 'function'
  ? new FinalizationRegistry((twin) => { twin.delete(); })
  : null;

// A view of `length` bytes of a typed array's memory from element `start`
// (built from the buffer: subarray would consult Symbol.species).
function byteView(array, start, length) {
  const buffer = streamApply(streamBufferGetter, array, []);
  return new StreamUint8(buffer, streamApply(streamByteOffsetGetter, array, []) + start, length);
}

// set(source, offset) through the intrinsic.
function setAt(target, source, offset) {
  streamApply(streamSet, target, [source, offset]);
}

const OPEN = 0;
const ENDED = 1;
const DISPOSED = 2;

class ConvStream {
  #runtime;
  #name;
  #what;
  #twin;
  #moduleHandle;
  #owner;
  #state = OPEN;
  #transposed;
  #inChannels;
  #outChannels;
  #stride;
  #reach;  // dilation * (kernelSize - 1)
  #before;  // Conv1d: padding before; ConvTranspose1d: padding
  #after;
  #reflect;
  #outputPadding;
  #outScale;
  #outZeroPoint;
  // From the first chunk.
  #batch = -1;
  #unbatched = false;
  #inScale = 0;
  #inZeroPoint = 0;
  #rows = 0;
  // The kept input, one row per (batch item, channel): #length samples of
  // #capacity each. Conv1d: padded indices from the next output's window;
  // ConvTranspose1d: inputs from #base.
  #history = new StreamUint8(0);
  #capacity = 0;
  #length = 0;
  #received = 0;
  #emitted = 0;
  // Conv1d: padded samples still to drop (windows that skip inputs), whether
  // the left padding is in place, the samples needed first, and the last
  // after + 1 samples of each row (for reflect padding after the input).
  #skip = 0;
  #padded = false;
  #gate = 1;
  #tail = null;
  #tailLength = 0;
  // ConvTranspose1d: the input index of the first kept sample.
  #base = 0;
  #inputView = null;
  #outputView = null;
  // The window length the twin was last set up for, and its output length.
  #setupLength = -1;
  #setupOutput = 0;

  // geometry: the module's parameters, resolved (see openConvStream).
  constructor(runtime, name, twin, moduleHandle, owner, g) {
    this.#runtime = runtime;
    this.#name = name;
    this.#what = `${name}.stream`;
    this.#twin = twin;
    this.#moduleHandle = moduleHandle;
    this.#owner = owner;
    this.#transposed = g.transposed;
    this.#inChannels = g.inChannels;
    this.#outChannels = g.outChannels;
    this.#stride = g.stride;
    this.#reach = g.dilation * (g.kernelSize - 1);
    this.#before = g.before;
    this.#after = g.after;
    this.#reflect = g.reflect;
    this.#outputPadding = g.outputPadding;
    this.#outScale = twin.outputScale();
    this.#outZeroPoint = twin.outputZeroPoint();
    if (g.reflect) this.#gate = streamMax(g.before, g.after) + 1;
    owner.add(this);
    if (streamRegistry) streamRegistry.register(this, twin, this);
  }

  get ended() { return this.#state !== OPEN; }

  #live(what) {
    if (this.#state === DISPOSED) throw new Error(`${what}: the stream was disposed (or its module was)`);
    if (this.#state === ENDED) throw new Error(`${what}: the stream has ended (flush() was called)`);
    return this.#twin;
  }

  push(chunk) {
    const what = `${this.#what}.push`;
    this.#live(what);
    // 1. Every caller value, read once.
    const x = readQTensor(what, 'chunk', chunk);
    checkInputRank(what, 'chunk', x.dims);
    checkQuantization(what, 'chunk.scale', 'chunk.zeroPoint', x.scale, x.zeroPoint);
    // 2. No caller code from here on.
    const data = measureQTensorData(what, 'chunk', x);
    this.#live(what);  // a getter may have disposed the module
    const unbatched = x.dims.length === 2;
    const [n, c, l] = unbatched ? [1, x.dims[0], x.dims[1]] : x.dims;
    this.#checkChunk(what, unbatched, n, c, x.scale, x.zeroPoint);
    if (this.#transposed) {
      this.#append(data.array, l, 0);
      this.#received += l;
      const r = this.#received;
      const available = r === 0 ? 0 : streamMin(this.#transposedLength(r), r * this.#stride - this.#before);
      return this.#emitTransposed(what, available);
    }
    this.#keepTail(data.array, l);
    const skipped = streamMin(this.#skip, l);
    this.#skip -= skipped;
    this.#append(data.array, l, skipped);
    this.#received += l;
    if (!this.#padded) {
      if (this.#received < this.#gate) return this.#result(new StreamUint8(0), 0);
      this.#padBefore();
    }
    return this.#emitConv(what);
  }

  flush() {
    const what = `${this.#what}.flush`;
    this.#live(what);
    try {
      // The whole forward's checks and length, from the core's own rule.
      const total = this.#moduleHandle.outputLength(this.#received, -1);
      if (total < 0) throw this.#runtime.nativeError(what, this.#name, -total);
      let out;
      if (this.#transposed) {
        out = this.#emitTransposed(what, total);
      } else {
        if (!this.#padded) this.#padBefore();
        this.#padAfter();
        out = this.#emitConv(what);
      }
      if (this.#emitted !== total) {
        throw new Error(`${what}: returned ${this.#emitted} outputs, forward gives ${total} (internal error)`);
      }
      return out;
    } finally {
      this.#end(ENDED);
    }
  }

  dispose() {
    if (this.#state !== DISPOSED) this.#end(DISPOSED);
  }

  get disposed() { return this.#state === DISPOSED; }

  #end(state) {
    if (this.#twin !== null) {
      if (streamRegistry) streamRegistry.unregister(this);
      this.#twin.delete();
      this.#twin = null;
      this.#owner.delete(this);
    }
    this.#moduleHandle = null;
    this.#inputView = this.#outputView = null;
    this.#history = new StreamUint8(0);
    this.#tail = null;
    this.#state = state;
  }

  // The first chunk fixes the batch, the rank and the input quantization.
  #checkChunk(what, unbatched, n, c, scale, zeroPoint) {
    if (c !== this.#inChannels) {
      throw new RangeError(`${what}: chunk has ${c} channels, the module takes ${this.#inChannels}`);
    }
    if (this.#batch < 0) {
      this.#batch = n;
      this.#unbatched = unbatched;
      this.#inScale = scale;
      this.#inZeroPoint = zeroPoint;
      this.#rows = n * c;
      this.#reserve(this.#before + this.#reach + this.#stride + 128);
      if (!this.#transposed) this.#length = this.#before;
      if (this.#reflect && this.#after > 0) this.#tail = new StreamUint8(this.#rows * (this.#after + 1));
      return;
    }
    const rule = 'as the first chunk set it: a stream has one input quantization and shape';
    if (unbatched !== this.#unbatched) {
      throw new RangeError(`${what}: chunk.shape must be ${this.#unbatched ? '[C, L]' : '[N, C, L]'} ${rule}`);
    }
    if (n !== this.#batch) throw new RangeError(`${what}: chunk batch (${n}) must be ${this.#batch} ${rule}`);
    if (scale !== this.#inScale) {
      throw new RangeError(`${what}: chunk.scale (${describe(scale)}) must be ${this.#inScale} ${rule}`);
    }
    if (zeroPoint !== this.#inZeroPoint) {
      throw new RangeError(`${what}: chunk.zeroPoint (${zeroPoint}) must be ${this.#inZeroPoint} ${rule}`);
    }
  }

  // Room for `length` samples per row (kept rows move when it grows).
  #reserve(length) {
    if (length <= this.#capacity) return;
    const capacity = streamMax(length, this.#capacity * 2);
    const grown = new StreamUint8(this.#rows * capacity);
    for (let r = 0; r < this.#rows && this.#length > 0; r++) {
      setAt(grown, byteView(this.#history, r * this.#capacity, this.#length), r * capacity);
    }
    this.#history = grown;
    this.#capacity = capacity;
  }

  // Samples [from, l) of each row of src ([rows, l]) after the kept ones.
  #append(src, l, from) {
    const count = l - from;
    if (count <= 0) return;
    this.#reserve(this.#length + count);
    const cap = this.#capacity, at = this.#length, history = this.#history;
    if (this.#rows === 1 && from === 0) {
      setAt(history, src, at);
    } else {
      for (let r = 0; r < this.#rows; r++) setAt(history, byteView(src, r * l + from, count), r * cap + at);
    }
    this.#length += count;
  }

  // Drops the first `count` kept samples of each row.
  #drop(count) {
    const keep = this.#length - count, cap = this.#capacity, history = this.#history;
    if (keep > 0) {
      for (let r = 0; r < this.#rows; r++) {
        streamApply(streamCopyWithin, history, [r * cap, r * cap + count, r * cap + this.#length]);
      }
    }
    this.#length = keep;
  }

  // Conv1d reflect: the last after + 1 samples of each row.
  #keepTail(src, l) {
    const tail = this.#tail;
    if (tail === null || l === 0) return;
    const k = this.#after + 1;
    for (let r = 0; r < this.#rows; r++) {
      if (l >= k) {
        setAt(tail, byteView(src, r * l + l - k, k), r * k);
      } else {
        streamApply(streamCopyWithin, tail, [r * k, r * k + l, r * k + k]);
        setAt(tail, byteView(src, r * l, l), r * k + k - l);
      }
    }
    this.#tailLength = streamMin(k, this.#tailLength + l);
  }

  // The padding before the input, in the slots kept for it at the start
  // of each row (nothing was dropped yet).
  #padBefore() {
    this.#padded = true;
    const p = this.#before, cap = this.#capacity, history = this.#history;
    if (p === 0) return;
    for (let r = 0; r < this.#rows; r++) {
      const row = r * cap;
      if (this.#reflect) {
        for (let j = 0; j < p; j++) history[row + j] = history[row + 2 * p - j];
      } else {
        streamApply(streamFill, history, [this.#inZeroPoint, row, row + p]);
      }
    }
  }

  // The padding after the input, through #append (a window may skip it).
  #padAfter() {
    const p = this.#after;
    if (p === 0) return;
    const pad = new StreamUint8(this.#rows * p);
    if (this.#reflect) {
      // After the input: x[L - 2 - j], the tail holding x[L - k .. L - 1].
      const k = this.#after + 1, tail = this.#tail;
      for (let r = 0; r < this.#rows; r++) {
        for (let j = 0; j < p; j++) pad[r * p + j] = tail[r * k + k - 2 - j];
      }
    } else {
      streamApply(streamFill, pad, [this.#inZeroPoint]);
    }
    const skipped = streamMin(this.#skip, p);
    this.#skip -= skipped;
    this.#append(pad, p, skipped);
  }

  // Conv1d: every output whose window lies in the kept samples.
  #emitConv(what) {
    const w = this.#length, span = this.#reach + 1, s = this.#stride;
    const k = w >= span ? streamFloor((w - span) / s) + 1 : 0;
    if (k === 0) return this.#result(new StreamUint8(0), 0);
    const out = this.#runTwin(what, 0, w, k);
    const bytes = this.#batch * this.#outChannels * k;
    const data = uint8Copy(this.#outputView, bytes);
    this.#emitted += k;
    const consumed = k * s;
    if (consumed <= this.#length) {
      this.#drop(consumed);
    } else {
      this.#skip += consumed - this.#length;
      this.#length = 0;
    }
    return this.#result(data, out);
  }

  // ConvTranspose1d: the outputs up to `end` (exclusive).
  #emitTransposed(what, end) {
    const o0 = this.#emitted;
    if (end <= o0) return this.#result(new StreamUint8(0), 0);
    const s = this.#stride, u0 = o0 + this.#before, u1 = end + this.#before;
    const last = this.#received - 1;
    const first = this.#firstInput(u0, last);
    const lastUsed = streamMin(last, streamFloor((u1 - 1) / s));
    const m = lastUsed - first + 1;
    const twinLength = this.#runTwin(what, first - this.#base, m, -1);
    const k = end - o0, from = u0 - first * s;
    const rowsOut = this.#batch * this.#outChannels;
    const data = new StreamUint8(rowsOut * k);
    const view = this.#outputView;
    for (let r = 0; r < rowsOut; r++) setAt(data, byteView(view, r * twinLength + from, k), r * k);
    this.#emitted = end;
    const keepFrom = this.#firstInput(u1, last);
    this.#drop(keepFrom - this.#base);
    this.#base = keepFrom;
    return this.#result(data, k);
  }

  // The first input that reaches unpadded output u (or, when none does, the
  // last input at or before u), at most `last`: inputs before it are never
  // needed again.
  #firstInput(u, last) {
    const s = this.#stride;
    let i = streamCeil((u - this.#reach) / s);
    if (i * s > u) i = streamFloor(u / s);
    return streamMax(0, streamMin(i, last));
  }

  // ConvTranspose1d's output length for an input of length r (r >= 1).
  #transposedLength(r) {
    return (r - 1) * this.#stride - 2 * this.#before + this.#reach + this.#outputPadding + 1;
  }

  // Runs the twin on `length` kept samples of each row from `start`;
  // returns its output length (checked against `expected` unless -1).
  #runTwin(what, start, length, expected) {
    const twin = this.#twin;
    // The twin is ours alone: with the window length of the last push (the
    // steady state of equal chunks) its plan and buffers are still bound.
    let outLength = this.#setupOutput;
    if (length !== this.#setupLength) {
      this.#setupLength = -1;
      outLength = twin.setup(this.#batch, this.#inChannels, length, this.#inScale, this.#inZeroPoint, -1);
      if (outLength < 0) throw this.#runtime.nativeError(what, this.#name, -outLength);
      this.#setupLength = length;
      this.#setupOutput = outLength;
    }
    if (expected >= 0 && outLength !== expected) {
      throw new Error(`${what}: window of ${length} gives ${outLength} outputs, expected ${expected} (internal error)`);
    }
    const inBytes = this.#rows * length;
    let view = this.#inputView;
    if (view === null || typedArrayLength(view) !== inBytes) view = this.#inputView = twin.inputView();
    const cap = this.#capacity, history = this.#history;
    if (this.#rows === 1) {
      setAt(view, byteView(history, start, length), 0);
    } else {
      for (let r = 0; r < this.#rows; r++) setAt(view, byteView(history, r * cap + start, length), r * length);
    }
    const status = twin.run();
    if (status !== 0) throw this.#runtime.nativeError(what, this.#name, status);
    const outBytes = this.#batch * this.#outChannels * outLength;
    let out = this.#outputView;
    if (out === null || typedArrayLength(out) !== outBytes) out = this.#outputView = twin.outputView();
    return outLength;
  }

  #result(data, length) {
    const n = this.#batch < 0 ? 1 : this.#batch;
    return {
      data,
      shape: this.#unbatched ? [this.#outChannels, length] : [n, this.#outChannels, length],
      scale: this.#outScale,
      zeroPoint: this.#outZeroPoint,
    };
  }
}
if (typeof Symbol.dispose === 'symbol') {
  ConvStream.prototype[Symbol.dispose] = function dispose() { this.dispose(); };
}

// Builds the twin of a module's native operator (handle) and the stream
// over it. module: the public module (its parameters are read-only own
// properties); owner: the module's set of open streams.
export function openConvStream(runtime, name, what, module, handle, owner) {
  const transposed = name === 'ConvTranspose1d';
  const g = {
    transposed,
    inChannels: module.inChannels,
    outChannels: module.outChannels,
    kernelSize: module.kernelSize,
    stride: module.stride,
    dilation: module.dilation,
    before: handle.paddingBefore(),
    after: 0,
    reflect: module.paddingMode === 'reflect',
    outputPadding: transposed ? module.outputPadding : 0,
  };
  const reach = g.dilation * (g.kernelSize - 1);
  if (transposed) g.after = g.before;
  else g.after = module.padding === 'same' ? reach - g.before : g.before;
  const twinPadding = transposed ? streamMax(g.stride - 1, g.outputPadding) : 0;
  const twin = runtime.requireNative(name).createNativeConv();
  if (twin === null) throw runtime.nativeError(what, name, STATUS_OUT_OF_MEMORY);
  try {
    const hasBias = handle.hasBias();
    let status = twin.create(transposed ? 1 : 0, g.inChannels, g.outChannels, g.kernelSize, g.stride, 0, false,
      twinPadding, g.dilation, module.groups, hasBias, 0);
    if (status !== 0) throw runtime.nativeError(what, name, status);
    if (module.relu) twin.setFusedRelu(true);
    const weightCount = typedArrayLength(handle.weightView());
    const qCount = typedArrayLength(handle.weightScalesView());
    const biasCount = hasBias ? typedArrayLength(handle.biasView()) : -1;
    status = twin.stageWeights(weightCount, qCount, streamMax(biasCount, 0));
    if (status !== 0) throw runtime.nativeError(what, name, status);
    // Each view is taken after the staging (an allocation may move memory).
    if (weightCount > 0) copyInto(twin.stagedWeights(), handle.weightView());
    if (qCount > 0) {
      copyInto(twin.stagedScales(), handle.weightScalesView());
      copyInto(twin.stagedZeroPoints(), handle.weightZeroPointsView());
    }
    if (biasCount > 0) copyInto(twin.stagedBias(), handle.biasView());
    status = twin.commitWeights(handle.weightPerChannel(), qCount, biasCount);
    if (status !== 0) throw runtime.nativeError(what, name, status);
    status = twin.setOutputQuantization(handle.outputScale(), handle.outputZeroPoint());
    if (status !== 0) throw runtime.nativeError(what, name, status);
  } catch (e) {
    twin.delete();
    throw e;
  }
  return new ConvStream(runtime, name, twin, handle, owner, g);
}
