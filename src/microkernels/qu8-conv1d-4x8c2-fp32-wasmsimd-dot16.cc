// conv1d tile of 4 output positions x 8 output channels on WebAssembly
// SIMD128. Per pair of input channels (c2): each row's int16 pair is
// broadcast to all lanes and i32x4.dot_i16x8_s multiplies it with 4 channels'
// pairs, so one instruction does 8 MACs. 8 accumulators + 2 weight vectors +
// 1 broadcast = 11 live vectors, under V8's ~13 before it spills. A last
// block of 1-4 channels does half the dots; with adjacent output positions
// (c_row_stride 1) a channel's 4 bytes go out in one store.
#include <cstring>

#include "microkernels/microkernels.h"
#include "microkernels/requantization-fp32-wasmsimd.h"

namespace qconv {
namespace {

// Stores channel N of the 4 rows: rows 0/1 are the low/high 8 lanes of v01,
// rows 2/3 those of v23.
template <int N>
inline void store_channel(uint8_t* c, size_t row_stride, v128_t v01, v128_t v23) {
  wasm_v128_store8_lane(c, v01, N);
  wasm_v128_store8_lane(c + row_stride, v01, N + 8);
  wasm_v128_store8_lane(c + 2 * row_stride, v23, N);
  wasm_v128_store8_lane(c + 3 * row_stride, v23, N + 8);
}

// requantize_fp32_to_u8x16 without the upper clamp at +512: the magic-number
// rounding is exact below 2^22, and from 512 up, larger floats have larger
// bit patterns, so the result stays above 255 + zero point and the
// saturating narrows give 255, as the clamp would. The lower clamp stays:
// it is the fused ReLU's bound, and negative floats' bits would wrap.
QCONV_INLINE v128_t requantize_lower_clamp(v128_t acc, v128_t scale,
                                           const Fp32Requantization& rq) {
  v128_t f = wasm_f32x4_mul(wasm_f32x4_convert_i32x4(acc), scale);
  f = wasm_f32x4_pmax(f, rq.min);
  return wasm_i32x4_sub(wasm_f32x4_add(f, rq.magic), rq.magic_less_zero_point);
}

QCONV_INLINE v128_t requantize_to_u8x16(v128_t a, v128_t a_scale, v128_t b, v128_t b_scale,
                                        v128_t c, v128_t c_scale, v128_t d, v128_t d_scale,
                                        const Fp32Requantization& rq) {
  return wasm_u8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(requantize_lower_clamp(a, a_scale, rq),
                                                         requantize_lower_clamp(b, b_scale, rq)),
                                 wasm_i16x8_narrow_i32x4(requantize_lower_clamp(c, c_scale, rq),
                                                         requantize_lower_clamp(d, d_scale, rq)));
}

// Up to 4 rows (mr <= 4) by all nc channels.
QCONV_INLINE void conv1d_rows(size_t mr, size_t nc, size_t kc, size_t ks, const int16_t* a,
                              size_t a_row_stride, size_t a_tap_stride, const void* packed_w,
                              uint8_t* c, size_t c_row_stride, size_t c_col_stride,
                              const Fp32Requantization& rq) {
  const size_t kc2 = conv1d_kc_rounded(kc);
  // Rows past mr repeat the last row; their results are never stored.
  const char* a0 = reinterpret_cast<const char*>(a);
  const char* a1 = mr > 1 ? a0 + a_row_stride : a0;
  const char* a2 = mr > 2 ? a1 + a_row_stride : a1;
  const char* a3 = mr > 3 ? a2 + a_row_stride : a2;
  const int16_t* w = static_cast<const int16_t*>(packed_w);

  for (;;) {
    v128_t acc0x0123 = wasm_v128_load(w);
    v128_t acc0x4567 = wasm_v128_load(w + 8);
    w += 16;
    v128_t acc1x0123 = acc0x0123, acc1x4567 = acc0x4567;
    v128_t acc2x0123 = acc0x0123, acc2x4567 = acc0x4567;
    v128_t acc3x0123 = acc0x0123, acc3x4567 = acc0x4567;

    if (nc <= 4) {
      // The last block's 1-4 channels: channels 4-7 are zero weights, so
      // their half of the dots is skipped (acc*x4567 keep the bias).
      for (size_t t = 0; t < ks; ++t) {
        const size_t tap = t * a_tap_stride;
        const int16_t* x0 = reinterpret_cast<const int16_t*>(a0 + tap);
        const int16_t* x1 = reinterpret_cast<const int16_t*>(a1 + tap);
        const int16_t* x2 = reinterpret_cast<const int16_t*>(a2 + tap);
        const int16_t* x3 = reinterpret_cast<const int16_t*>(a3 + tap);
        for (size_t k = 0; k < kc2; k += 2) {
          const v128_t vb0123 = wasm_v128_load(w);
          w += 16;
          acc0x0123 = wasm_i32x4_add(acc0x0123,
                                     wasm_i32x4_dot_i16x8(wasm_v128_load32_splat(x0), vb0123));
          acc1x0123 = wasm_i32x4_add(acc1x0123,
                                     wasm_i32x4_dot_i16x8(wasm_v128_load32_splat(x1), vb0123));
          acc2x0123 = wasm_i32x4_add(acc2x0123,
                                     wasm_i32x4_dot_i16x8(wasm_v128_load32_splat(x2), vb0123));
          acc3x0123 = wasm_i32x4_add(acc3x0123,
                                     wasm_i32x4_dot_i16x8(wasm_v128_load32_splat(x3), vb0123));
          x0 += 2;
          x1 += 2;
          x2 += 2;
          x3 += 2;
        }
      }
    } else {
      for (size_t t = 0; t < ks; ++t) {
        const size_t tap = t * a_tap_stride;
        const int16_t* x0 = reinterpret_cast<const int16_t*>(a0 + tap);
        const int16_t* x1 = reinterpret_cast<const int16_t*>(a1 + tap);
        const int16_t* x2 = reinterpret_cast<const int16_t*>(a2 + tap);
        const int16_t* x3 = reinterpret_cast<const int16_t*>(a3 + tap);
        for (size_t k = 0; k < kc2; k += 2) {
          const v128_t vb0123 = wasm_v128_load(w);
          const v128_t vb4567 = wasm_v128_load(w + 8);
          w += 16;
          const v128_t va0 = wasm_v128_load32_splat(x0);
          acc0x0123 = wasm_i32x4_add(acc0x0123, wasm_i32x4_dot_i16x8(va0, vb0123));
          acc0x4567 = wasm_i32x4_add(acc0x4567, wasm_i32x4_dot_i16x8(va0, vb4567));
          const v128_t va1 = wasm_v128_load32_splat(x1);
          acc1x0123 = wasm_i32x4_add(acc1x0123, wasm_i32x4_dot_i16x8(va1, vb0123));
          acc1x4567 = wasm_i32x4_add(acc1x4567, wasm_i32x4_dot_i16x8(va1, vb4567));
          const v128_t va2 = wasm_v128_load32_splat(x2);
          acc2x0123 = wasm_i32x4_add(acc2x0123, wasm_i32x4_dot_i16x8(va2, vb0123));
          acc2x4567 = wasm_i32x4_add(acc2x4567, wasm_i32x4_dot_i16x8(va2, vb4567));
          const v128_t va3 = wasm_v128_load32_splat(x3);
          acc3x0123 = wasm_i32x4_add(acc3x0123, wasm_i32x4_dot_i16x8(va3, vb0123));
          acc3x4567 = wasm_i32x4_add(acc3x4567, wasm_i32x4_dot_i16x8(va3, vb4567));
          x0 += 2;
          x1 += 2;
          x2 += 2;
          x3 += 2;
        }
      }
    }

    const v128_t vscale0123 = wasm_v128_load(w);
    const v128_t vscale4567 = wasm_v128_load(w + 8);
    w += 16;
    // Rows 0 and 1 in vout01, rows 2 and 3 in vout23, 8 channels each.
    const v128_t vout01 =
        requantize_to_u8x16(acc0x0123, vscale0123, acc0x4567, vscale4567, acc1x0123,
                                 vscale0123, acc1x4567, vscale4567, rq);
    const v128_t vout23 =
        requantize_to_u8x16(acc2x0123, vscale0123, acc2x4567, vscale4567, acc3x0123,
                                 vscale0123, acc3x4567, vscale4567, rq);

    if (mr == 4 && nc >= 8 && c_row_stride == 1) {
      // A channel's 4 positions are adjacent: gather each channel's bytes
      // (rows 0-3) into one 32-bit lane and store it whole, 8 stores
      // instead of 32.
      const v128_t v0123 = wasm_i8x16_shuffle(vout01, vout23, 0, 8, 16, 24, 1, 9, 17, 25, 2, 10,
                                              18, 26, 3, 11, 19, 27);
      const v128_t v4567 = wasm_i8x16_shuffle(vout01, vout23, 4, 12, 20, 28, 5, 13, 21, 29, 6, 14,
                                              22, 30, 7, 15, 23, 31);
      const size_t cs = c_col_stride;
      wasm_v128_store32_lane(c, v0123, 0);
      wasm_v128_store32_lane(c + cs, v0123, 1);
      wasm_v128_store32_lane(c + 2 * cs, v0123, 2);
      wasm_v128_store32_lane(c + 3 * cs, v0123, 3);
      wasm_v128_store32_lane(c + 4 * cs, v4567, 0);
      wasm_v128_store32_lane(c + 5 * cs, v4567, 1);
      wasm_v128_store32_lane(c + 6 * cs, v4567, 2);
      wasm_v128_store32_lane(c + 7 * cs, v4567, 3);
    } else if (mr == 4 && nc >= 8) {
      const size_t cs = c_col_stride;
      store_channel<0>(c, c_row_stride, vout01, vout23);
      store_channel<1>(c + cs, c_row_stride, vout01, vout23);
      store_channel<2>(c + 2 * cs, c_row_stride, vout01, vout23);
      store_channel<3>(c + 3 * cs, c_row_stride, vout01, vout23);
      store_channel<4>(c + 4 * cs, c_row_stride, vout01, vout23);
      store_channel<5>(c + 5 * cs, c_row_stride, vout01, vout23);
      store_channel<6>(c + 6 * cs, c_row_stride, vout01, vout23);
      store_channel<7>(c + 7 * cs, c_row_stride, vout01, vout23);
    } else {
      uint8_t out[32];
      wasm_v128_store(out, vout01);
      wasm_v128_store(out + 16, vout23);
      const size_t nb = nc < 8 ? nc : 8;
      for (size_t m = 0; m < mr; ++m) {
        for (size_t n = 0; n < nb; ++n) c[m * c_row_stride + n * c_col_stride] = out[m * 8 + n];
      }
    }
    if (nc <= 8) return;
    nc -= 8;
    c += 8 * c_col_stride;
  }
}

}  // namespace

// Any number of rows, 4 at a time: one call per phase and output block
// instead of one per 4 rows (short reductions spent a good part of their
// time in the calls and their setup).
void qu8_conv1d_fp32_ukernel_4x8c2__wasmsimd_dot16(size_t mr, size_t nc, size_t kc, size_t ks,
                                                   const int16_t* a, size_t a_row_stride,
                                                   size_t a_tap_stride, const void* packed_w,
                                                   uint8_t* c, size_t c_row_stride,
                                                   size_t c_col_stride,
                                                   const RequantParams& params) {
  const Fp32Requantization rq(params);
  for (;;) {
    conv1d_rows(mr < kConv1dMr ? mr : kConv1dMr, nc, kc, ks, a, a_row_stride, a_tap_stride,
                packed_w, c, c_row_stride, c_col_stride, rq);
    if (mr <= kConv1dMr) return;
    mr -= kConv1dMr;
    a = reinterpret_cast<const int16_t*>(reinterpret_cast<const char*>(a) +
                                         kConv1dMr * a_row_stride);
    c += kConv1dMr * c_row_stride;
  }
}

}  // namespace qconv
