// x2 zip on WebAssembly SIMD128: 16 bytes of each row, two shuffles, 32
// bytes out. A run that is not a multiple of 16 ends with one more step on
// its last 16 bytes, rewriting some bytes with the same values.
#include "microkernels/microkernels.h"
#include "microkernels/wasm_simd.h"

namespace qconv {

void x8_zip_x2_ukernel_16x__wasmsimd(size_t n, const uint8_t* input, size_t input_stride,
                                     uint8_t* output) {
  const uint8_t* a = input;
  const uint8_t* b = input + input_stride;
  if (n < 16) {
    for (size_t i = 0; i < n; ++i) output[2 * i] = a[i], output[2 * i + 1] = b[i];
    return;
  }
  size_t i = 0;
  for (;;) {
    const v128_t va = wasm_v128_load(a + i);
    const v128_t vb = wasm_v128_load(b + i);
    wasm_v128_store(output + 2 * i, wasm_i8x16_shuffle(va, vb, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20,
                                                       5, 21, 6, 22, 7, 23));
    wasm_v128_store(output + 2 * i + 16, wasm_i8x16_shuffle(va, vb, 8, 24, 9, 25, 10, 26, 11, 27,
                                                            12, 28, 13, 29, 14, 30, 15, 31));
    if (i + 16 == n) return;
    i = i + 32 <= n ? i + 16 : n - 16;
  }
}

}  // namespace qconv
