// WebAssembly SIMD128 intrinsics: the real ones on wasm, SIMDe's portable
// implementation natively, so the same kernel source is unit-tested, fuzzed
// and sanitized on x86 too.
#pragma once

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#else
#define SIMDE_WASM_SIMD128_ENABLE_NATIVE_ALIASES
#include <simde/wasm/simd128.h>
#endif
