// Reading what a caller passes, so that no caller code can change it after
// it was checked. Every public function reads each caller value exactly
// once, in two steps:
//   1. read: property reads and array elements, into plain numbers, arrays
//      and copies (getters, Proxy traps and valueOf-free checks run here,
//      and may do anything, dispose the module included);
//   2. measure: typed arrays (the big data) are brand-checked and measured
//      through the built-in getters, which run no caller code, and copied
//      into wasm memory right away.
// Nothing the caller controls runs between step 2 and the native calls.
//
// The built-ins are captured when this file loads, so a page that patches
// prototypes later (a `length` getter, Symbol.species, Array.from) cannot
// change what is read.
//
// Pure functions, no imports: the other files of js/ build on these.

const reflectApply = Reflect.apply;
const ownDescriptor = Reflect.getOwnPropertyDescriptor;
const TypedArrayPrototype = Reflect.getPrototypeOf(Uint8Array.prototype);
const typedArrayTagGetter = ownDescriptor(TypedArrayPrototype, Symbol.toStringTag).get;
const typedArrayLengthGetter = ownDescriptor(TypedArrayPrototype, 'length').get;
const typedArrayBufferGetter = ownDescriptor(TypedArrayPrototype, 'buffer').get;
const typedArraySet = TypedArrayPrototype.set;
const arrayBufferByteLengthGetter = ownDescriptor(ArrayBuffer.prototype, 'byteLength').get;
const sharedByteLengthGetter = typeof SharedArrayBuffer === 'function'
  ? ownDescriptor(SharedArrayBuffer.prototype, 'byteLength').get : null;
const isArray = Array.isArray;
const isInteger = Number.isInteger;
const objectToString = Object.prototype.toString;
const Uint8ArrayOf = Uint8Array;
const Int8ArrayOf = Int8Array;
const Float32ArrayOf = Float32Array;
const StringOf = String;
const dataViewByteLengthGetter = ownDescriptor(DataView.prototype, 'byteLength').get;
const jsonStringify = JSON.stringify;

// The most dimensions a shape may have (PyTorch's limit is 64 as well); a
// longer array is refused before its entries are read.
export const MAX_RANK = 64;

// ---- typed arrays, without caller code ----------------------------------------

// 'Uint8Array', 'Float32Array', ... for a real typed array (a subclass, a
// Node Buffer), else undefined (a Proxy, an object with a typed array's
// prototype, a DataView).
export function typedArrayTag(value) {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return undefined;
  return reflectApply(typedArrayTagGetter, value, []);
}

// The real element count (0 once the buffer is detached or the view is out
// of bounds of a shrunk resizable buffer), whatever `length` claims.
export function typedArrayLength(array) {
  return reflectApply(typedArrayLengthGetter, array, []);
}

// The result of a built-in getter, or `otherwise` when it refuses the value
// (a getter throws for a receiver of the wrong kind; it runs no caller code).
function builtInGet(getter, value, otherwise) {
  if (getter === null || value === null || typeof value !== 'object') return otherwise;
  try {
    return reflectApply(getter, value, []);
  } catch (e) {
    return otherwise;
  }
}

function isSharedBuffer(buffer) {
  return builtInGet(sharedByteLengthGetter, buffer, -1) >= 0;
}

// True when the array's buffer was transferred or detached. (Only an empty
// view can be: asking the buffer costs an exception, so the others skip it.)
export function isDetached(array) {
  if (typedArrayLength(array) !== 0) return false;
  const buffer = reflectApply(typedArrayBufferGetter, array, []);
  if (isSharedBuffer(buffer)) return false;
  try {
    new Uint8ArrayOf(buffer, 0, 0);  // eslint-disable-line no-new
    return false;
  } catch (e) {
    return true;
  }
}

// Copies source's elements into target from index 0 (same element type, or
// numeric conversion between number types); reads no caller code.
export function copyInto(target, source) {
  reflectApply(typedArraySet, target, [source]);
}

// A typed array of the caller's, checked: { array, length }. TypeError for
// another type (named), RangeError when its buffer is detached.
export function measureTypedArray(owner, name, value, tag) {
  if (typedArrayTag(value) !== tag) {
    throw new TypeError(`${owner}: ${name} must be ${article(tag)} ${tag}, got ${describe(value)}`);
  }
  if (isDetached(value)) {
    throw new RangeError(`${owner}: ${name} is ${article(tag)} ${tag} on a detached ArrayBuffer (its bytes were transferred): it holds no data`);
  }
  return { array: value, length: typedArrayLength(value) };
}

// True for an ArrayBuffer (not a SharedArrayBuffer, not a look-alike).
export function isArrayBuffer(value) {
  return builtInGet(arrayBufferByteLengthGetter, value, -1) >= 0;
}

// An ArrayBuffer's (or SharedArrayBuffer's) byte length, or -1 when the
// value is neither. Runs no caller code.
export function arrayBufferByteLength(value) {
  const length = builtInGet(arrayBufferByteLengthGetter, value, -1);
  return length >= 0 ? length : builtInGet(sharedByteLengthGetter, value, -1);
}

// Our own copies (never the caller's `slice`, whose Symbol.species the
// caller may have replaced).
function copyAs(Type, source, length) {
  const copy = new Type(length);
  if (length > 0) copyInto(copy, source);
  return copy;
}
export const uint8Copy = (source, length) => copyAs(Uint8ArrayOf, source, length);
export const int8Copy = (source, length) => copyAs(Int8ArrayOf, source, length);
export const float32Copy = (source, length) => copyAs(Float32ArrayOf, source, length);

// ---- caller values, read once ---------------------------------------------------

// A revoked Proxy throws on any use; Array.isArray is the one check that
// tells it apart without running caller code (it calls no trap).
export function isRevokedProxy(value) {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return false;
  try {
    isArray(value);
    return false;
  } catch (e) {
    return true;
  }
}

// Array.isArray, false for a revoked Proxy (instead of throwing).
export function isArrayValue(value) {
  return !isRevokedProxy(value) && isArray(value);
}

// The named properties of an object, each read once, in order.
export function readFields(owner, name, object, keys) {
  if (isRevokedProxy(object)) throw new TypeError(`${owner}: ${name} is a revoked Proxy`);
  const fields = {};
  for (const key of keys) fields[key] = object[key];
  return fields;
}

export function isDataView(value) {
  if (value === null || typeof value !== 'object') return false;
  try {
    reflectApply(dataViewByteLengthGetter, value, []);
    return true;
  } catch (e) {
    // A detached DataView throws too, but it is still one.
    return e instanceof TypeError && /detached/i.test(e.message);
  }
}

export function isPlainOptions(value) {
  return value !== null && typeof value === 'object' && !isRevokedProxy(value) && !isArray(value) &&
    typedArrayTag(value) === undefined && !isDataView(value);
}

// The element count of an array (or an array Proxy), read once: an integer
// in [0, 2^32).
function arrayLength(owner, name, array) {
  const length = array.length;
  if (typeof length !== 'number' || !isInteger(length) || length < 0 || length > 0xffffffff) {
    throw new TypeError(`${owner}: ${name} must be an array, but its length is ${describe(length)}`);
  }
  return length;
}

export function checkInteger(owner, name, value) {
  if (typeof value !== 'number' || !isInteger(value)) {
    throw new TypeError(`${owner}: ${name} must be an integer, got ${describe(value)}`);
  }
}

// A shape: an array of integers >= 0, of at most maxRank entries (a longer
// one is refused before its entries are read). Returns a plain copy.
export function readShape(owner, name, shape, maxRank = MAX_RANK) {
  if (!isArrayValue(shape)) {
    throw new TypeError(`${owner}: ${name} must be an array of integers, got ${describe(shape)}`);
  }
  const rank = arrayLength(owner, name, shape);
  if (rank > maxRank) {
    throw new RangeError(`${owner}: ${name} has ${rank} dimensions, at most ${maxRank} are allowed`);
  }
  const dims = [];
  for (let i = 0; i < rank; i++) dims.push(shape[i]);  // holes read as undefined
  for (let i = 0; i < rank; i++) {
    checkInteger(owner, `${name}[${i}]`, dims[i]);
    if (dims[i] < 0) throw new RangeError(`${owner}: ${name}[${i}] (${dims[i]}) must be >= 0`);
  }
  return dims;
}

// Numbers from an array or a typed array (not a DataView, not BigInt),
// read once: { length, values }, values null when length > maxLength (left
// unread: the count alone is wrong). check(i, v) may throw for a bad entry.
export function readNumberList(owner, name, value, maxLength, check = null) {
  let length;
  let typed = false;
  if (isArrayValue(value)) {
    length = arrayLength(owner, name, value);
  } else {
    const tag = typedArrayTag(value);
    if (tag === undefined) return null;
    if (isDetached(value)) {
      throw new RangeError(`${owner}: ${name} is ${article(tag)} ${tag} on a detached ArrayBuffer (its values were transferred)`);
    }
    typed = true;
    length = typedArrayLength(value);
  }
  if (length > maxLength) return { length, values: null };
  const values = [];
  for (let i = 0; i < length; i++) values.push(value[i]);
  for (let i = 0; i < length; i++) {
    const v = values[i];
    if (typeof v !== 'number') {
      throw new TypeError(`${owner}: ${name}[${i}] must be a number, got ${describe(v)}${typed ? ` (${name} is a ${typedArrayTag(value)})` : ''}`);
    }
    if (check !== null) check(i, v);
  }
  return { length, values };
}

// Float32 values from a Float32Array or an array of numbers, copied:
// { length, values: Float32Array }, values null when length > maxLength.
export function readFloat32List(owner, name, value, maxLength = Infinity) {
  if (typedArrayTag(value) === 'Float32Array') {
    if (isDetached(value)) {
      throw new RangeError(`${owner}: ${name} is a Float32Array on a detached ArrayBuffer (its values were transferred)`);
    }
    const length = typedArrayLength(value);
    return { length, values: length > maxLength ? null : float32Copy(value, length) };
  }
  if (!isArrayValue(value)) {
    throw new TypeError(`${owner}: ${name} must be a Float32Array or an array of numbers, got ${describe(value)}`);
  }
  const list = readNumberList(owner, name, value, maxLength);
  if (list.values === null) return { length: list.length, values: null };
  const values = new Float32ArrayOf(list.length);
  for (let i = 0; i < list.length; i++) values[i] = list.values[i];
  return { length: list.length, values, given: list.values };
}

// ---- messages ---------------------------------------------------------------------

function article(word) {
  return /^[AEIO]/.test(word) ? 'an' : 'a';  // "a Uint8Array"
}

// A short description of any value for an error message. Runs no caller
// code that could change the outcome: what it reads is only printed, and a
// value that throws while being described is "an object".
export function describe(v) {
  try {
    if (v === null) return 'null';
    if (v === undefined) return 'undefined';
    if (typeof v === 'string') return jsonStringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
    if (typeof v === 'bigint') return `${v}n (a BigInt)`;
    if (typeof v === 'number') return Object.is(v, -0) ? '-0' : StringOf(v);
    if (typeof v === 'boolean') return StringOf(v);
    if (typeof v === 'function') return 'a function';
    if (typeof v === 'symbol') return `${v.toString()} (a Symbol)`;
    if (isRevokedProxy(v)) return 'a revoked Proxy';
    const tag = typedArrayTag(v);
    if (tag !== undefined) return `${article(tag)} ${tag} of length ${typedArrayLength(v)}`;
    if (isArray(v)) {
      const length = v.length;
      if (typeof length !== 'number' || length > 8) return `an array of length ${describe(length)}`;
      const items = [];
      for (let i = 0; i < length; i++) items.push(describe(v[i]));
      return `[${items.join(', ')}]`;
    }
    if (arrayBufferByteLength(v) >= 0) return `an ArrayBuffer of ${arrayBufferByteLength(v)} bytes`;
    if (isDataView(v)) return 'a DataView';
    return `an object (${reflectApply(objectToString, v, []).slice(8, -1)})`;
  } catch (e) {
    return 'an object';
  }
}
