'use strict';
// Wasm bytes for the init({ wasmBinary }) tests (tests/js/init-failure.test.js
// and tests/browser/init-failure.test.js): valid modules that are not ours.

// A copy of a wasm module's bytes with the first import's field name changed
// to '~' (one byte for one byte): still a valid module, with the imports'
// shape of the original, but it links against nothing the glue provides.
function renameFirstImport(bytes) {
  const out = Uint8Array.from(bytes);
  let p = 8;
  const leb = () => {
    let value = 0;
    let shift = 0;
    let b;
    do {
      b = out[p++];
      value += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    return value;
  };
  while (p < out.length) {
    const id = out[p++];
    const size = leb();
    if (id === 2) {  // the import section: count, then (module, field, kind, ...) entries
      leb();
      const moduleNameLength = leb();
      p += moduleNameLength;
      leb();  // the field name's length
      out[p] = '~'.charCodeAt(0);
      return out;
    }
    p += size;
  }
  throw new Error('no import section');
}

// The smallest modules that validate, neither of them ours: an empty module
// (magic and version only), and one exporting a function f() {}: the type
// section (one type () -> ()), the function section, the export "f" and a
// code section whose body is no locals and `end`.
const EMPTY_MODULE = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
const TINY_MODULE = [...EMPTY_MODULE,
  0x01, 0x04, 0x01, 0x60, 0x00, 0x00,
  0x03, 0x02, 0x01, 0x00,
  0x07, 0x05, 0x01, 0x01, 0x66, 0x00, 0x00,
  0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b];

module.exports = { renameFirstImport, EMPTY_MODULE, TINY_MODULE };
