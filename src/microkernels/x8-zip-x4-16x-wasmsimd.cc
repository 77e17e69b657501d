// x4 zip on WebAssembly SIMD128: 16 bytes of each row to 64 bytes out. Rows
// a, b and c, d are zipped bytewise, then the two results 16 bits at a time:
// 8 shuffles per 64 bytes. A run that is not a multiple of 16 ends with one
// more step on its last 16 bytes, rewriting some bytes with the same values.
#include "microkernels/microkernels.h"
#include "microkernels/wasm_simd.h"

namespace qconv {

void x8_zip_x4_ukernel_16x__wasmsimd(size_t n, const uint8_t* input, size_t input_stride,
                                     uint8_t* output) {
  const uint8_t* a = input;
  const uint8_t* b = input + input_stride;
  const uint8_t* c = input + 2 * input_stride;
  const uint8_t* d = input + 3 * input_stride;
  if (n < 16) {
    for (size_t i = 0; i < n; ++i) {
      output[4 * i] = a[i], output[4 * i + 1] = b[i];
      output[4 * i + 2] = c[i], output[4 * i + 3] = d[i];
    }
    return;
  }
  size_t i = 0;
  for (;;) {
    const v128_t va = wasm_v128_load(a + i);
    const v128_t vb = wasm_v128_load(b + i);
    const v128_t vc = wasm_v128_load(c + i);
    const v128_t vd = wasm_v128_load(d + i);
    const v128_t ab_lo =
        wasm_i8x16_shuffle(va, vb, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const v128_t ab_hi =
        wasm_i8x16_shuffle(va, vb, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    const v128_t cd_lo =
        wasm_i8x16_shuffle(vc, vd, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const v128_t cd_hi =
        wasm_i8x16_shuffle(vc, vd, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    uint8_t* o = output + 4 * i;
    wasm_v128_store(o, wasm_i16x8_shuffle(ab_lo, cd_lo, 0, 8, 1, 9, 2, 10, 3, 11));
    wasm_v128_store(o + 16, wasm_i16x8_shuffle(ab_lo, cd_lo, 4, 12, 5, 13, 6, 14, 7, 15));
    wasm_v128_store(o + 32, wasm_i16x8_shuffle(ab_hi, cd_hi, 0, 8, 1, 9, 2, 10, 3, 11));
    wasm_v128_store(o + 48, wasm_i16x8_shuffle(ab_hi, cd_hi, 4, 12, 5, 13, 6, 14, 7, 15));
    if (i + 16 == n) return;
    i = i + 32 <= n ? i + 16 : n - 16;
  }
}

}  // namespace qconv
