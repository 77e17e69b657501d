// Helpers of init() (js/api.mjs): what a failed start of the wasm module
// tells the caller. Inlined into dist/api.cjs by scripts/build-js.mjs, so
// this file imports nothing.

// The glue's abort text wraps the cause and suggests rebuilding with
// ASSERTIONS, which a user of the package cannot act on.
function abortCause(e) {
  const message = String(e && e.message !== undefined ? e.message : e);
  const m = /^Aborted\(([\s\S]*)\)(?:\. Build with -s ASSERTIONS=1 for more info\.)?$/.exec(message);
  return m ? m[1] : `${e && e.name ? `${e.name}: ` : ''}${message}`;
}

export const GLUE_NAMES = { simd: 'SIMD128', scalar: 'scalar', 'simd-mt': 'threaded' };

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
