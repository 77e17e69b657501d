// x3 zip on WebAssembly SIMD128: 16 bytes of each row to 48 bytes out. Each
// output vector takes its a and b bytes in one shuffle, then its c bytes in
// a second: 6 shuffles per 48 bytes. A run that is not a multiple of 16 ends
// with one more step on its last 16 bytes, rewriting some bytes with the
// same values.
#include "microkernels/microkernels.h"
#include "microkernels/wasm_simd.h"

namespace qconv {

void x8_zip_x3_ukernel_16x__wasmsimd(size_t n, const uint8_t* input, size_t input_stride,
                                     uint8_t* output) {
  const uint8_t* a = input;
  const uint8_t* b = input + input_stride;
  const uint8_t* c = input + 2 * input_stride;
  if (n < 16) {
    for (size_t i = 0; i < n; ++i) {
      output[3 * i] = a[i], output[3 * i + 1] = b[i], output[3 * i + 2] = c[i];
    }
    return;
  }
  size_t i = 0;
  for (;;) {
    const v128_t va = wasm_v128_load(a + i);
    const v128_t vb = wasm_v128_load(b + i);
    const v128_t vc = wasm_v128_load(c + i);
    // Output byte 3k + r is row r's byte k (lanes 0 are the c slots' fillers).
    const v128_t ab0 =
        wasm_i8x16_shuffle(va, vb, 0, 16, 0, 1, 17, 0, 2, 18, 0, 3, 19, 0, 4, 20, 0, 5);
    const v128_t ab1 =
        wasm_i8x16_shuffle(va, vb, 21, 0, 6, 22, 0, 7, 23, 0, 8, 24, 0, 9, 25, 0, 10, 26);
    const v128_t ab2 =
        wasm_i8x16_shuffle(va, vb, 0, 11, 27, 0, 12, 28, 0, 13, 29, 0, 14, 30, 0, 15, 31, 0);
    uint8_t* o = output + 3 * i;
    wasm_v128_store(o, wasm_i8x16_shuffle(ab0, vc, 0, 1, 16, 3, 4, 17, 6, 7, 18, 9, 10, 19, 12,
                                          13, 20, 15));
    wasm_v128_store(o + 16, wasm_i8x16_shuffle(ab1, vc, 0, 21, 2, 3, 22, 5, 6, 23, 8, 9, 24, 11,
                                               12, 25, 14, 15));
    wasm_v128_store(o + 32, wasm_i8x16_shuffle(ab2, vc, 26, 1, 2, 27, 4, 5, 28, 7, 8, 29, 10, 11,
                                               30, 13, 14, 31));
    if (i + 16 == n) return;
    i = i + 32 <= n ? i + 16 : n - 16;
  }
}

}  // namespace qconv
