// Byte table lookup on WebAssembly SIMD128: i8x16.swizzle looks up 16 bytes
// in one 16-byte chunk of the table and gives 0 for an index of 16 or more,
// so table[x] = OR over k of swizzle(chunk k, x - 16k) (wrapping subtraction:
// only the chunk holding x sees an index below 16). 64 bytes per step: 4
// inputs + 4 results + 1 chunk + the constant 16 stay below V8's ~13 live
// vectors; each chunk is loaded from the table again on every step rather
// than kept in registers (16 live chunks would spill).
#include "microkernels/microkernels.h"
#include "microkernels/wasm_simd.h"

namespace qconv {

void x8_lut_ukernel_64x__wasmsimd_swizzle(size_t n, const uint8_t* input, uint8_t* output,
                                          const uint8_t* table) {
  // 16, opaque to the compiler: with a known constant LLVM rewrites the
  // chain x - 16 - 16 ... into x + c_k with 15 different constants, which V8
  // then materializes on every step.
  uint32_t sixteen = 16;
#if defined(__wasm__)
  __asm__ volatile("" : "+r"(sixteen));
#endif
  const v128_t v16 = wasm_i8x16_splat(static_cast<int8_t>(sixteen));
  for (; n >= 64; n -= 64) {
    v128_t vx0 = wasm_v128_load(input);
    v128_t vx1 = wasm_v128_load(input + 16);
    v128_t vx2 = wasm_v128_load(input + 32);
    v128_t vx3 = wasm_v128_load(input + 48);
    input += 64;
    v128_t vt = wasm_v128_load(table);
    v128_t vy0 = wasm_i8x16_swizzle(vt, vx0);
    v128_t vy1 = wasm_i8x16_swizzle(vt, vx1);
    v128_t vy2 = wasm_i8x16_swizzle(vt, vx2);
    v128_t vy3 = wasm_i8x16_swizzle(vt, vx3);
    for (size_t k = 16; k < 256; k += 16) {
      vt = wasm_v128_load(table + k);
      vx0 = wasm_i8x16_sub(vx0, v16);
      vx1 = wasm_i8x16_sub(vx1, v16);
      vx2 = wasm_i8x16_sub(vx2, v16);
      vx3 = wasm_i8x16_sub(vx3, v16);
      vy0 = wasm_v128_or(vy0, wasm_i8x16_swizzle(vt, vx0));
      vy1 = wasm_v128_or(vy1, wasm_i8x16_swizzle(vt, vx1));
      vy2 = wasm_v128_or(vy2, wasm_i8x16_swizzle(vt, vx2));
      vy3 = wasm_v128_or(vy3, wasm_i8x16_swizzle(vt, vx3));
    }
    wasm_v128_store(output, vy0);
    wasm_v128_store(output + 16, vy1);
    wasm_v128_store(output + 32, vy2);
    wasm_v128_store(output + 48, vy3);
    output += 64;
  }
  for (; n >= 16; n -= 16) {
    v128_t vx = wasm_v128_load(input);
    input += 16;
    v128_t vy = wasm_i8x16_swizzle(wasm_v128_load(table), vx);
    for (size_t k = 16; k < 256; k += 16) {
      vx = wasm_i8x16_sub(vx, v16);
      vy = wasm_v128_or(vy, wasm_i8x16_swizzle(wasm_v128_load(table + k), vx));
    }
    wasm_v128_store(output, vy);
    output += 16;
  }
  for (; n != 0; --n) *output++ = table[*input++];
}

}  // namespace qconv
