// 8x8 transpose-widen on WebAssembly SIMD128: 8 channels x 8 positions are
// loaded widened to int16, shifted by the zero point and transposed in three
// rounds of interleaves (16-, 32-, 64-bit); edges fall back to scalar.
#include "microkernels/microkernels.h"
#include "microkernels/wasm_simd.h"

namespace qconv {

void qu8_transpose_widen_ukernel_8x8__wasmsimd(size_t channels, size_t length, const uint8_t* x,
                                               size_t x_stride, int32_t zero_point, int16_t* rows,
                                               size_t row_stride) {
  const v128_t vzp = wasm_i16x8_splat(static_cast<int16_t>(zero_point));
  const size_t full_channels = channels & ~size_t{7};
  const size_t full_length = length & ~size_t{7};
  for (size_t ch = 0; ch < full_channels; ch += 8) {
    const uint8_t* src = x + ch * x_stride;
    for (size_t l = 0; l < full_length; l += 8) {
      const uint8_t* p = src + l;
      const v128_t r0 = wasm_i16x8_sub(wasm_u16x8_load8x8(p), vzp);
      const v128_t r1 = wasm_i16x8_sub(wasm_u16x8_load8x8(p + x_stride), vzp);
      const v128_t r2 = wasm_i16x8_sub(wasm_u16x8_load8x8(p + 2 * x_stride), vzp);
      const v128_t r3 = wasm_i16x8_sub(wasm_u16x8_load8x8(p + 3 * x_stride), vzp);
      const v128_t r4 = wasm_i16x8_sub(wasm_u16x8_load8x8(p + 4 * x_stride), vzp);
      const v128_t r5 = wasm_i16x8_sub(wasm_u16x8_load8x8(p + 5 * x_stride), vzp);
      const v128_t r6 = wasm_i16x8_sub(wasm_u16x8_load8x8(p + 6 * x_stride), vzp);
      const v128_t r7 = wasm_i16x8_sub(wasm_u16x8_load8x8(p + 7 * x_stride), vzp);
      const v128_t a01l = wasm_i16x8_shuffle(r0, r1, 0, 8, 1, 9, 2, 10, 3, 11);
      const v128_t a01h = wasm_i16x8_shuffle(r0, r1, 4, 12, 5, 13, 6, 14, 7, 15);
      const v128_t a23l = wasm_i16x8_shuffle(r2, r3, 0, 8, 1, 9, 2, 10, 3, 11);
      const v128_t a23h = wasm_i16x8_shuffle(r2, r3, 4, 12, 5, 13, 6, 14, 7, 15);
      const v128_t a45l = wasm_i16x8_shuffle(r4, r5, 0, 8, 1, 9, 2, 10, 3, 11);
      const v128_t a45h = wasm_i16x8_shuffle(r4, r5, 4, 12, 5, 13, 6, 14, 7, 15);
      const v128_t a67l = wasm_i16x8_shuffle(r6, r7, 0, 8, 1, 9, 2, 10, 3, 11);
      const v128_t a67h = wasm_i16x8_shuffle(r6, r7, 4, 12, 5, 13, 6, 14, 7, 15);
      const v128_t b0 = wasm_i32x4_shuffle(a01l, a23l, 0, 4, 1, 5);
      const v128_t b1 = wasm_i32x4_shuffle(a01l, a23l, 2, 6, 3, 7);
      const v128_t b2 = wasm_i32x4_shuffle(a01h, a23h, 0, 4, 1, 5);
      const v128_t b3 = wasm_i32x4_shuffle(a01h, a23h, 2, 6, 3, 7);
      const v128_t c0 = wasm_i32x4_shuffle(a45l, a67l, 0, 4, 1, 5);
      const v128_t c1 = wasm_i32x4_shuffle(a45l, a67l, 2, 6, 3, 7);
      const v128_t c2 = wasm_i32x4_shuffle(a45h, a67h, 0, 4, 1, 5);
      const v128_t c3 = wasm_i32x4_shuffle(a45h, a67h, 2, 6, 3, 7);
      int16_t* dst = rows + l * row_stride + ch;
      wasm_v128_store(dst, wasm_i64x2_shuffle(b0, c0, 0, 2));
      wasm_v128_store(dst + row_stride, wasm_i64x2_shuffle(b0, c0, 1, 3));
      wasm_v128_store(dst + 2 * row_stride, wasm_i64x2_shuffle(b1, c1, 0, 2));
      wasm_v128_store(dst + 3 * row_stride, wasm_i64x2_shuffle(b1, c1, 1, 3));
      wasm_v128_store(dst + 4 * row_stride, wasm_i64x2_shuffle(b2, c2, 0, 2));
      wasm_v128_store(dst + 5 * row_stride, wasm_i64x2_shuffle(b2, c2, 1, 3));
      wasm_v128_store(dst + 6 * row_stride, wasm_i64x2_shuffle(b3, c3, 0, 2));
      wasm_v128_store(dst + 7 * row_stride, wasm_i64x2_shuffle(b3, c3, 1, 3));
    }
    for (size_t c = ch; c < ch + 8; ++c) {
      for (size_t l = full_length; l < length; ++l) {
        rows[l * row_stride + c] = static_cast<int16_t>(x[c * x_stride + l] - zero_point);
      }
    }
  }
  for (size_t c = full_channels; c < channels; ++c) {
    for (size_t l = 0; l < length; ++l) {
      rows[l * row_stride + c] = static_cast<int16_t>(x[c * x_stride + l] - zero_point);
    }
  }
}

}  // namespace qconv
