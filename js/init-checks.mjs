// Helpers of init() (js/runtime.mjs): its options, and what a failed start
// of the wasm module tells the caller.

import {
  typedArrayTag, isArrayBuffer, isArrayValue, isRevokedProxy, readFields, describe,
} from './caller-values.mjs';

const INIT_OPTIONS = ['simd', 'numThreads', 'wasmBinary', 'locateFile'];
// The threads init() can ask for; the loader starts the pool before the
// core exists, so this limit is init's own.
const MAX_THREADS = 64;

// init()'s options, each read once and checked: { simd: 'auto' | boolean,
// threads, wasmBinary (our copy, or undefined), userBinary, locateFile }.
export function readInitOptions(options) {
  if (options === null || typeof options !== 'object' || isRevokedProxy(options) || isArrayValue(options)) {
    throw new TypeError(`init: options must be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!INIT_OPTIONS.includes(key)) {
      throw new TypeError(`init: unknown option '${key}' (known: ${INIT_OPTIONS.join(', ')})`);
    }
  }
  const o = readFields('init', 'options', options, INIT_OPTIONS);
  const simd = o.simd === undefined ? 'auto' : o.simd;
  if (simd !== 'auto' && simd !== true && simd !== false) {
    throw new TypeError(`init: simd must be 'auto', true or false, got ${describe(simd)}`);
  }
  if (o.locateFile !== undefined && typeof o.locateFile !== 'function') {
    throw new TypeError(`init: locateFile must be a function (name, prefix) => url, got ${describe(o.locateFile)}`);
  }
  const userBinary = o.wasmBinary !== undefined;
  const wasmBinary = userBinary ? wasmBinaryBytes(o.wasmBinary) : undefined;
  if (wasmBinary === null) {
    throw new TypeError('init: wasmBinary must be an ArrayBuffer or a Uint8Array (a Node Buffer ' +
      `is one), got ${describeWasmBinary(o.wasmBinary) || describe(o.wasmBinary)}`);
  }
  const threads = o.numThreads === undefined ? 1 : o.numThreads;
  if (typeof threads !== 'number' || !Number.isInteger(threads)) {
    throw new TypeError(`init: numThreads must be an integer, got ${describe(threads)}`);
  }
  if (threads < 1 || threads > MAX_THREADS) {
    throw new RangeError(`init: numThreads (${threads}) must be in [1, ${MAX_THREADS}]`);
  }
  return {
    simd, threads, wasmBinary, userBinary, locateFile: o.locateFile === undefined ? undefined : checkedLocateFile(o.locateFile),
    given: { simd: o.simd !== undefined, numThreads: o.numThreads !== undefined },
  };
}

// The caller's locateFile as the loaders call it: (name, prefix) -> the
// string it returned (a URL or a path; a URL object becomes its href). An
// exception it throws, or another kind of result, becomes an Error naming
// the file it was asked about.
function checkedLocateFile(locateFile) {
  return (name, prefix) => {
    let located;
    try {
      located = locateFile(name, prefix);
    } catch (e) {
      throw new Error(`init: locateFile('${name}', prefix) threw: ${thrownMessage(e)}`, { cause: e });
    }
    if (typeof located === 'string') return located;
    let url = null;
    try {
      if (located instanceof URL) url = located.href;
    } catch {
      // A revoked Proxy, or one whose prototype trap throws: not a URL.
    }
    if (url === null) {
      throw new TypeError(`init: locateFile('${name}', prefix) must return a string (a URL or a path) or a URL, ` +
        `got ${describe(located)}`);
    }
    return url;
  };
}

// What a caller's exception says, running no more of its code than reading
// message (or converting it to a string) once.
function thrownMessage(e) {
  try {
    return String(e instanceof Error ? e.message : e);
  } catch {
    return 'an exception that cannot be converted to a string';
  }
}

// The glue's abort text wraps the cause and suggests rebuilding with
// ASSERTIONS, which a user of the package cannot act on.
function abortCause(e) {
  const message = String(e && e.message !== undefined ? e.message : e);
  const m = /^Aborted\(([\s\S]*)\)(?:\. Build with -s ASSERTIONS=1 for more info\.)?$/.exec(message);
  return m ? m[1] : `${e && e.name ? `${e.name}: ` : ''}${message}`;
}

const GLUE_NAMES = { simd: 'SIMD128', scalar: 'scalar', 'simd-mt': 'threaded' };

// The Error init() rejects with when the loader failed: the loaders' own
// errors already name the file and the overrides; anything else came from
// the glue starting the module.
export function initFailure(e, flavour, userBinary) {
  if (e instanceof Error && /^(init|qconv-wasm): /.test(e.message)) return e;
  const cause = abortCause(e);
  const file = `qconv-${flavour}.wasm`;
  return new Error(userBinary
    ? `init: wasmBinary could not be started by the ${GLUE_NAMES[flavour]} glue (${cause}); pass the bytes of ${file}`
    : `init: the wasm module ${file} could not be started (${cause})`, { cause: e });
}

// ---- init({ wasmBinary }) ----------------------------------------------------

// typedArrayTag and isArrayBuffer use the engine's own accessors: a
// caller's object can shadow `length` or `byteLength` with properties of its
// own, not these.

// A copy of wasmBinary's bytes (the caller may reuse its buffer while init
// runs), or null when it is neither an ArrayBuffer nor a Uint8Array (a Node
// Buffer is one). Other views are refused: the glue would read a DataView
// as empty and an Int16Array element by element. Copying from a typed array
// reads its internal length and offset, whatever properties it has.
function wasmBinaryBytes(value) {
  const isUint8Array = typedArrayTag(value) === 'Uint8Array';
  if (!isUint8Array && !isArrayBuffer(value)) return null;
  try {
    return new Uint8Array(isUint8Array ? value : new Uint8Array(value));
  } catch {
    return new Uint8Array(0);  // a detached buffer
  }
}

// What wasmBinary was, for its TypeError; null for values describe() says well.
function describeWasmBinary(value) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const article = (name) => `${/^[AEIO]/.test(name) ? 'an' : 'a'} ${name}`;
  const typed = typedArrayTag(value);
  if (typed) return article(typed);
  const tag = Object.prototype.toString.call(value).slice(8, -1);
  if (tag === 'ArrayBuffer' || tag === 'Uint8Array') return `an object that only looks like ${article(tag)}`;
  return tag === 'Object' ? 'an object' : article(tag);
}

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');

// Refuses bytes that are not this flavour's module before the glue sees them
// (the glue would print Emscripten's abort text and reject with it, or wait
// forever for pool workers that cannot instantiate the module). The checks
// are the module's shape, which every Emscripten release keeps: a one-thread
// module exports its memory; a threaded one imports a shared memory; both
// import functions from the glue and export a function table and functions.
// (A promise: the module is compiled to read its imports and exports.)
export function checkWasmBinary(bytes, flavour, threads) {
  return checkCompiled(bytes, flavour, threads);
}

async function checkCompiled(bytes, flavour, threads) {
  const pass = `pass the bytes of qconv-${flavour}.wasm`;
  if (bytes.length === 0) {
    throw new Error(`init: wasmBinary is empty (0 bytes; was its buffer transferred or detached?); ${pass}`);
  }
  if (bytes.length < 8 || bytes[0] !== 0x00 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    const start = bytes.subarray(0, 8);
    const text = Array.from(start, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '')).join('');
    throw new Error(`init: wasmBinary is not WebAssembly: its ${bytes.length} bytes start with ${hex(start)}` +
      `${text.length === start.length ? ` (${JSON.stringify(text)})` : ''}, not the magic number 00 61 73 6d ("\\0asm"); ${pass}`);
  }
  let module;
  try {
    module = await WebAssembly.compile(bytes);
  } catch (e) {
    const message = String(e && e.message ? e.message : e);
    // A page whose Content-Security-Policy forbids compiling: the loader
    // says so with the remedy.
    if (/Content Security Policy|unsafe-eval|wasm-eval/i.test(message)) return;
    throw new Error(`init: wasmBinary (${bytes.length} bytes) does not compile in this WebAssembly engine ` +
      `(${message}): truncated or corrupt bytes, or a module built for features this engine lacks; ${pass}`);
  }
  const imports = WebAssembly.Module.imports(module);
  const exports = WebAssembly.Module.exports(module);
  const importsMemory = imports.some((i) => i.kind === 'memory');
  const exportsMemory = exports.some((e) => e.kind === 'memory');
  if (flavour === 'simd-mt' && exportsMemory && !importsMemory) {
    throw new Error('init: wasmBinary is a one-thread module (it has a memory of its own), but numThreads ' +
      `${threads} loads the threaded glue; ${pass}, or call init({ numThreads: 1 }) to run this one`);
  }
  if (flavour !== 'simd-mt' && importsMemory) {
    throw new Error('init: wasmBinary is the threaded flavour\'s module (it imports a shared memory), but init ' +
      `loaded the one-thread ${GLUE_NAMES[flavour]} glue; ${pass}, or call init({ numThreads: 2 }) or more to run this one`);
  }
  const missing = [];  // exports every flavour has
  if (flavour !== 'simd-mt' && !exportsMemory) missing.push('no memory');
  if (!exports.some((e) => e.kind === 'table')) missing.push('no function table');
  if (!exports.some((e) => e.kind === 'function')) missing.push('no function');
  const problems = [];
  if (missing.length) {
    problems.push(`exports ${missing.length === 1 ? missing[0] : `${missing.slice(0, -1).join(', ')} and ${missing[missing.length - 1]}`}`);
  }
  const unimported = [];  // imports every flavour has
  if (flavour === 'simd-mt' && !importsMemory) unimported.push('no memory');
  if (!imports.some((i) => i.kind === 'function')) unimported.push('no function');
  if (unimported.length) problems.push(`imports ${unimported.join(' and ')}`);
  for (const i of imports.filter((i) => i.kind !== 'function' && i.kind !== 'memory')) {
    problems.push(`imports a ${i.kind} ${i.module}.${i.name}`);
  }
  if (problems.length) {
    throw new Error(`init: wasmBinary is a WebAssembly module but not qconv-wasm's (it ${problems.join(', and ')}); ${pass}`);
  }
}

// After the glue started a wasmBinary: the scalar and SIMD128 modules have
// the same imports and exports; only the module itself knows its kernels.
export function kernelMismatch(kernels, flavour) {
  const want = flavour === 'scalar' ? 'scalar' : 'wasmsimd';
  if (kernels === want) return null;
  return new Error(kernels === 'scalar'
    ? `init: wasmBinary is the scalar flavour's module, but init loaded the ${GLUE_NAMES[flavour]} glue; ` +
      `pass the bytes of qconv-${flavour}.wasm, or call init({ simd: false }) to run this one`
    : `init: wasmBinary is the SIMD128 flavour's module, but init loaded the scalar glue; pass the bytes of qconv-scalar.wasm`);
}

// The glue's print and printErr. While init() runs they are held back: a
// failed start prints Emscripten's abort text, which the rejection says
// better. Once the module has started, held lines and later ones go to the
// console as the glue would print them.
export function glueOutput() {
  let held = [];
  const line = (level) => (text) => {
    if (held) held.push([level, text]);
    else console[level](text);
  };
  return {
    print: line('log'),
    printErr: line('warn'),
    release() {
      const lines = held;
      held = null;
      for (const [level, text] of lines) console[level](text);
    },
  };
}
