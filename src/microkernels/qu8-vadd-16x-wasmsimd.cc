// QNNPACK's q8 add on WebAssembly SIMD128, 16 elements per step.
//
// The products a * am + b * bm come from i32x4.dot_i16x8_s over interleaved
// (a, b) pairs: with each multiplier split as m = (m >> 15) * 2^15 + (m & 0x7FFF)
// (both halves fit int16 for m < 2^30),
//   a*am + b*bm = dot((a, b), (am_lo, bm_lo)) + dot((a, b), (am_hi, bm_hi)) << 15
// modulo 2^32, which is all the wrapping int32 sum needs. Then QNNPACK's
// rounding shift, the zero point added after a saturating narrowing to int16
// (an int32 beyond int16 saturates to the same final 0 or 255), the unsigned
// narrowing (the [0, 255] clamp) and the [output_min, output_max] clamp.
#include <cstring>

#include "microkernels/microkernels.h"
#include "microkernels/wasm_simd.h"
#include "qops.h"

#define QCONV_INLINE inline __attribute__((always_inline))

namespace qconv {
namespace {

struct VaddConstants {
  v128_t zero_point_product, mul_lo, mul_hi, remainder_mask, remainder_threshold;
  v128_t output_zero_point, output_min, output_max;
  uint32_t shift;
  explicit VaddConstants(const AddParams& p)
      : zero_point_product(wasm_i32x4_splat(p.zero_point_product)),
        mul_lo(wasm_i16x8_make(
            static_cast<int16_t>(p.a_multiplier & 0x7FFF), static_cast<int16_t>(p.b_multiplier & 0x7FFF),
            static_cast<int16_t>(p.a_multiplier & 0x7FFF), static_cast<int16_t>(p.b_multiplier & 0x7FFF),
            static_cast<int16_t>(p.a_multiplier & 0x7FFF), static_cast<int16_t>(p.b_multiplier & 0x7FFF),
            static_cast<int16_t>(p.a_multiplier & 0x7FFF), static_cast<int16_t>(p.b_multiplier & 0x7FFF))),
        mul_hi(wasm_i16x8_make(
            static_cast<int16_t>(p.a_multiplier >> 15), static_cast<int16_t>(p.b_multiplier >> 15),
            static_cast<int16_t>(p.a_multiplier >> 15), static_cast<int16_t>(p.b_multiplier >> 15),
            static_cast<int16_t>(p.a_multiplier >> 15), static_cast<int16_t>(p.b_multiplier >> 15),
            static_cast<int16_t>(p.a_multiplier >> 15), static_cast<int16_t>(p.b_multiplier >> 15))),
        remainder_mask(wasm_i32x4_splat(p.remainder_mask)),
        remainder_threshold(wasm_i32x4_splat(p.remainder_threshold)),
        output_zero_point(wasm_i16x8_splat(static_cast<int16_t>(p.output_zero_point))),
        output_min(wasm_i8x16_splat(static_cast<int8_t>(p.output_min))),
        output_max(wasm_i8x16_splat(static_cast<int8_t>(p.output_max))),
        shift(p.shift) {}
};

// 4 interleaved (a, b) int16 pairs -> 4 int32 results before the zero point.
QCONV_INLINE v128_t add4(v128_t ab, const VaddConstants& k, uint32_t shift) {
  v128_t acc = wasm_i32x4_add(k.zero_point_product, wasm_i32x4_dot_i16x8(ab, k.mul_lo));
  acc = wasm_i32x4_add(acc, wasm_i32x4_shl(wasm_i32x4_dot_i16x8(ab, k.mul_hi), 15));
  // rem = (acc & mask) - (acc < 0); round up where rem > threshold.
  const v128_t rem = wasm_i32x4_add(wasm_v128_and(acc, k.remainder_mask), wasm_i32x4_shr(acc, 31));
  return wasm_i32x4_sub(wasm_i32x4_shr(acc, shift), wasm_i32x4_gt(rem, k.remainder_threshold));
}

QCONV_INLINE v128_t add16(v128_t va, v128_t vb, const VaddConstants& k) {
  // LLVM 14 (Emscripten 3.1.6) hoists the shift's splat out of the loop and
  // then lowers a shift by a vector from another block lane by lane
  // (extract, i32.shr_s, replace); an opaque copy made here keeps the splat
  // next to its i32x4.shr_s.
  uint32_t shift = k.shift;
#if defined(__wasm__)
  __asm__ volatile("" : "+r"(shift));
#endif
  const v128_t ab_lo = wasm_i8x16_shuffle(va, vb, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const v128_t ab_hi = wasm_i8x16_shuffle(va, vb, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const v128_t y0 = add4(wasm_u16x8_extend_low_u8x16(ab_lo), k, shift);
  const v128_t y1 = add4(wasm_u16x8_extend_high_u8x16(ab_lo), k, shift);
  const v128_t y2 = add4(wasm_u16x8_extend_low_u8x16(ab_hi), k, shift);
  const v128_t y3 = add4(wasm_u16x8_extend_high_u8x16(ab_hi), k, shift);
  const v128_t y01 = wasm_i16x8_add_sat(wasm_i16x8_narrow_i32x4(y0, y1), k.output_zero_point);
  const v128_t y23 = wasm_i16x8_add_sat(wasm_i16x8_narrow_i32x4(y2, y3), k.output_zero_point);
  const v128_t y = wasm_u8x16_narrow_i16x8(y01, y23);
  return wasm_u8x16_min(wasm_u8x16_max(y, k.output_min), k.output_max);
}

}  // namespace

void qu8_vadd_ukernel_16x__wasmsimd(size_t n, const uint8_t* a, const uint8_t* b, uint8_t* output,
                                    const AddParams& params) {
  const VaddConstants k(params);
  for (; n >= 16; n -= 16) {
    const v128_t va = wasm_v128_load(a);
    const v128_t vb = wasm_v128_load(b);
    a += 16;
    b += 16;
    wasm_v128_store(output, add16(va, vb, k));
    output += 16;
  }
  if (n != 0) {
    // The last 1..15 elements through 16-byte copies: nothing read or
    // written past n.
    uint8_t ta[16] = {0}, tb[16] = {0}, ty[16];
    std::memcpy(ta, a, n);
    std::memcpy(tb, b, n);
    wasm_v128_store(ty, add16(wasm_v128_load(ta), wasm_v128_load(tb), k));
    std::memcpy(output, ty, n);
  }
}

}  // namespace qconv
