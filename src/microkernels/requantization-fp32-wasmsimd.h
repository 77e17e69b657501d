// fp32 requantization on SIMD128, the one sequence every SIMD kernel uses:
// the vector form of requantize_fp32_magic (quantization.h). Scale in
// float32, clamp to +-512 (exact: nothing beyond survives the final clamp),
// round half to even with the 1.5*2^23 magic number, add the zero point in
// the integer domain; every value is then in [-512 + zp, 512 + zp], inside
// int16, so the signed narrowing is exact and the unsigned one is the final
// [0, 255] clamp.
#pragma once

#include <cstdint>

#include "microkernels/microkernels.h"
#include "microkernels/wasm_simd.h"

#define QCONV_INLINE inline __attribute__((always_inline))

namespace qconv {

struct Fp32Requantization {
  v128_t min, max, magic, magic_less_zero_point;
  explicit Fp32Requantization(const RequantParams& params)
      : min(wasm_f32x4_splat(params.min_less_zero_point)),
        max(wasm_f32x4_splat(512.0f)),
        magic(wasm_f32x4_splat(12582912.0f)),  // 1.5 * 2^23
        magic_less_zero_point(wasm_i32x4_splat(0x4B400000 - params.output_zero_point)) {}
};

// 4 int32 accumulators -> 4 int32 outputs (zero point added, not clamped).
QCONV_INLINE v128_t requantize_fp32(v128_t acc, v128_t scale, const Fp32Requantization& rq) {
  v128_t f = wasm_f32x4_mul(wasm_f32x4_convert_i32x4(acc), scale);
  f = wasm_f32x4_pmin(wasm_f32x4_pmax(f, rq.min), rq.max);
  return wasm_i32x4_sub(wasm_f32x4_add(f, rq.magic), rq.magic_less_zero_point);
}

// 16 accumulators (a, b, c, d: lanes 0-3, 4-7, 8-11, 12-15) with their
// scales -> 16 uint8 outputs.
QCONV_INLINE v128_t requantize_fp32_to_u8x16(v128_t a, v128_t a_scale, v128_t b, v128_t b_scale,
                                             v128_t c, v128_t c_scale, v128_t d, v128_t d_scale,
                                             const Fp32Requantization& rq) {
  return wasm_u8x16_narrow_i16x8(
      wasm_i16x8_narrow_i32x4(requantize_fp32(a, a_scale, rq), requantize_fp32(b, b_scale, rq)),
      wasm_i16x8_narrow_i32x4(requantize_fp32(c, c_scale, rq), requantize_fp32(d, d_scale, rq)));
}

}  // namespace qconv
