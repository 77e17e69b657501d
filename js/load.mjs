// Loading a module from save()'s bytes (docs/FORMAT.md): the top-level
// load(bytes), which builds whichever kind the bytes hold, and
// ConvTranspose1d.load / Conv1d.load, which refuse the other kind.

import { typedArrayTag, measureTypedArray, arrayBufferByteLength, uint8Copy, describe } from './caller-values.mjs';
import { decodeModuleFile } from './format.mjs';

// classes: the library instance's { ConvTranspose1d, Conv1d }. cls: the
// class load() was called on (a subclass builds an instance of itself), or
// null; kind: the class's name ('ConvTranspose1d' or 'Conv1d', spelled out
// since minifiers rename classes), or null for the top-level load.
export function loadModule(runtime, classes, cls, kind, bytes) {
  const what = kind === null ? 'load' : `${kind}.load`;
  runtime.requireNative(what);
  const d = decodeModuleFile(what, readBytes(what, bytes), kind);
  const base = classes[d.kind];
  const Cls = typeof cls === 'function' && (cls === base || cls.prototype instanceof base) ? cls : base;
  return buildModule(what, Cls, d);
}

// Our own copy of the bytes first: the caller's buffer (shared, resizable)
// could change between the checksum and the parse.
export function readBytes(what, bytes) {
  const tag = typedArrayTag(bytes);
  if (tag === 'Uint8Array') {
    const view = measureTypedArray(what, 'bytes', bytes, 'Uint8Array');
    return uint8Copy(view.array, view.length);
  }
  if (tag === undefined && arrayBufferByteLength(bytes) >= 0) {
    // A detached ArrayBuffer has byte length 0: it holds no bytes.
    const length = arrayBufferByteLength(bytes);
    return length === 0 ? new Uint8Array(0) : uint8Copy(new Uint8Array(bytes, 0, length), length);
  }
  throw new TypeError(`${what}: bytes must be a Uint8Array or an ArrayBuffer, got ${describe(bytes)}`);
}

// The module the description d (decodeModuleFile) holds, built through the
// public API, so that the module checks every value as it would a caller's.
export function buildModule(what, Cls, d) {
  const options = {
    stride: d.stride, padding: d.padding, dilation: d.dilation, groups: d.groups,
    bias: d.bias !== null, paddingMode: d.paddingMode, relu: d.relu === true,
  };
  if (d.kind === 'ConvTranspose1d') options.outputPadding = d.outputPadding;
  let m;
  try {
    m = new Cls(d.inChannels, d.outChannels, d.kernelSize, options);
  } catch (e) {
    throw storedValueError(what, e);
  }
  try {
    m.setWeightBias(d.weight, d.bias);
    m.scale = d.scale;
    m.zeroPoint = d.zeroPoint;
    // Stored by builds that have the property; restored where it can be set.
    if (d.inputQuantization !== null && hasSetter(m, 'inputQuantization')) {
      m.inputQuantization = d.inputQuantization;
    }
  } catch (e) {
    m.dispose();
    throw storedValueError(what, e);
  }
  return m;
}

// A value the bytes hold that the module rejects is a bad value of the
// bytes argument: a RangeError naming load and quoting the module's message.
function storedValueError(what, e) {
  if (!(e instanceof TypeError || e instanceof RangeError)) return e;
  // A full heap is not the bytes' fault.
  if (/out of memory: /.test(e.message)) {
    return new RangeError(`${what}: ${e.message.replace(/^[\w.]+: /, '')}`);
  }
  return new RangeError(`${what}: the bytes hold a value the module rejects: ${e.message}`);
}

function hasSetter(object, key) {
  for (let o = object; o !== null; o = Object.getPrototypeOf(o)) {
    const d = Object.getOwnPropertyDescriptor(o, key);
    if (d) return typeof d.set === 'function' || d.writable === true;
  }
  return false;
}
