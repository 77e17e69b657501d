// dwconv1d 2x8c2 on WebAssembly SIMD128: 8 positions of both phases (16
// interleaved outputs) per step. Each tap pair's two uint8 rows are widened
// by their loads (u16x8.load8x8) and zipped, so one i32x4.dot_i16x8_s adds
// both taps for 4 positions; the zero point is folded into the bias. The two
// phases' int16 results are zipped before the last narrowing: one 16-byte
// store per step instead of 16 single-lane stores.
//
// Requantization: when no reachable accumulator can scale beyond 2^21, the
// magic-number rounding is exact without the +-512 clamps (the saturating
// narrows clamp), and a fused ReLU becomes one u8 max with the zero point
// (round and saturate are monotone, so max commutes with them).
#include <cmath>

#include "microkernels/microkernels.h"
#include "microkernels/requantization-fp32-wasmsimd.h"

namespace qconv {
namespace {

// acc = bias + sum w * (x - zp) with x in [0, 255]: |acc| <= |bias| + 255 * sum |w|
// (or 2^31 once it may wrap); the clamps can go when that times the scale
// (float rounding included, with margin) stays below 2^21.
bool clamps_needed(size_t pairs, const int16_t* w_a, const int16_t* w_b, int32_t bias,
                   float scale) {
  double sum_a = 0, sum_b = 0;
  for (size_t t = 0; t < 2 * pairs; ++t) {
    sum_a += std::fabs(static_cast<double>(w_a[t]));
    sum_b += std::fabs(static_cast<double>(w_b[t]));
  }
  double bound = std::fabs(static_cast<double>(bias)) + 255.0 * (sum_a > sum_b ? sum_a : sum_b);
  if (bound > 2147483648.0) bound = 2147483648.0;
  return !(bound * std::fabs(static_cast<double>(scale)) < 2097152.0);
}

// bias - zp * sum(w), wrapping like the accumulators.
int32_t folded_bias(size_t pairs, const int16_t* w, int32_t zero_point, int32_t bias) {
  uint32_t b = static_cast<uint32_t>(bias);
  for (size_t t = 0; t < 2 * pairs; ++t) {
    b -= static_cast<uint32_t>(int32_t{w[t]} * zero_point);
  }
  return static_cast<int32_t>(b);
}

QCONV_INLINE v128_t requantize_unclamped(v128_t acc, v128_t scale, v128_t magic,
                                         v128_t magic_less_zero_point) {
  const v128_t f = wasm_f32x4_mul(wasm_f32x4_convert_i32x4(acc), scale);
  return wasm_i32x4_sub(wasm_f32x4_add(f, magic), magic_less_zero_point);
}

// Adds one tap pair's products for positions u..u+7 (two dot products per
// phase; the zipped inputs serve both phases when they share rows).
template <bool kShared>
QCONV_INLINE void add_pair(const uint8_t* a0p, const uint8_t* a1p, const uint8_t* b0p,
                           const uint8_t* b1p, v128_t wa, v128_t wb, v128_t* a0, v128_t* a1,
                           v128_t* b0, v128_t* b1) {
  const v128_t x0 = wasm_u16x8_load8x8(a0p);
  const v128_t x1 = wasm_u16x8_load8x8(a1p);
  const v128_t lo = wasm_i16x8_shuffle(x0, x1, 0, 8, 1, 9, 2, 10, 3, 11);
  const v128_t hi = wasm_i16x8_shuffle(x0, x1, 4, 12, 5, 13, 6, 14, 7, 15);
  *a0 = wasm_i32x4_add(*a0, wasm_i32x4_dot_i16x8(lo, wa));
  *a1 = wasm_i32x4_add(*a1, wasm_i32x4_dot_i16x8(hi, wa));
  if constexpr (kShared) {
    *b0 = wasm_i32x4_add(*b0, wasm_i32x4_dot_i16x8(lo, wb));
    *b1 = wasm_i32x4_add(*b1, wasm_i32x4_dot_i16x8(hi, wb));
  } else {
    const v128_t y0 = wasm_u16x8_load8x8(b0p);
    const v128_t y1 = wasm_u16x8_load8x8(b1p);
    const v128_t blo = wasm_i16x8_shuffle(y0, y1, 0, 8, 1, 9, 2, 10, 3, 11);
    const v128_t bhi = wasm_i16x8_shuffle(y0, y1, 4, 12, 5, 13, 6, 14, 7, 15);
    *b0 = wasm_i32x4_add(*b0, wasm_i32x4_dot_i16x8(blo, wb));
    *b1 = wasm_i32x4_add(*b1, wasm_i32x4_dot_i16x8(bhi, wb));
  }
}

// kOnePair: one tap pair (a K = 4 or K = 3 kernel), its rows and weights
// kept in locals; otherwise the pairs are walked per step.
template <bool kShared, bool kClamp, bool kOnePair>
void run(size_t n, size_t pairs, const uint8_t* const* rows_a, const int16_t* w_a,
         const uint8_t* const* rows_b, const int16_t* w_b, int32_t bias_a, int32_t bias_b,
         float scale, uint8_t* c, const RequantParams& params) {
  const v128_t vbias_a = wasm_i32x4_splat(bias_a);
  const v128_t vbias_b = wasm_i32x4_splat(bias_b);
  const v128_t vscale = wasm_f32x4_splat(scale);
  const Fp32Requantization rq(params);
  // The lowest output: the zero point under a fused ReLU, else 0 (no-op).
  int32_t low = params.output_zero_point + static_cast<int32_t>(params.min_less_zero_point);
  low = low < 0 ? 0 : (low > 255 ? 255 : low);
  const v128_t vlow = wasm_i8x16_splat(static_cast<int8_t>(low));
  const uint8_t* ra0 = rows_a[0];
  const uint8_t* ra1 = rows_a[1];
  const uint8_t* rb0 = rows_b[0];
  const uint8_t* rb1 = rows_b[1];
  const v128_t wa = wasm_v128_load32_splat(w_a);
  const v128_t wb = wasm_v128_load32_splat(w_b);
  // 16 outputs (8 positions of both phases) from position u.
  auto step = [&](size_t u) __attribute__((always_inline)) {
    v128_t a0 = vbias_a, a1 = vbias_a, b0 = vbias_b, b1 = vbias_b;
    if constexpr (kOnePair) {
      add_pair<kShared>(ra0 + u, ra1 + u, rb0 + u, rb1 + u, wa, wb, &a0, &a1, &b0, &b1);
    } else {
      for (size_t p = 0; p < pairs; ++p) {
        add_pair<kShared>(rows_a[2 * p] + u, rows_a[2 * p + 1] + u, rows_b[2 * p] + u,
                          rows_b[2 * p + 1] + u, wasm_v128_load32_splat(w_a + 2 * p),
                          wasm_v128_load32_splat(w_b + 2 * p), &a0, &a1, &b0, &b1);
      }
    }
    v128_t va, vb;
    if constexpr (kClamp) {
      va = wasm_i16x8_narrow_i32x4(requantize_fp32(a0, vscale, rq), requantize_fp32(a1, vscale, rq));
      vb = wasm_i16x8_narrow_i32x4(requantize_fp32(b0, vscale, rq), requantize_fp32(b1, vscale, rq));
    } else {
      va = wasm_i16x8_narrow_i32x4(
          requantize_unclamped(a0, vscale, rq.magic, rq.magic_less_zero_point),
          requantize_unclamped(a1, vscale, rq.magic, rq.magic_less_zero_point));
      vb = wasm_i16x8_narrow_i32x4(
          requantize_unclamped(b0, vscale, rq.magic, rq.magic_less_zero_point),
          requantize_unclamped(b1, vscale, rq.magic, rq.magic_less_zero_point));
    }
    v128_t out = wasm_u8x16_narrow_i16x8(wasm_i16x8_shuffle(va, vb, 0, 8, 1, 9, 2, 10, 3, 11),
                                         wasm_i16x8_shuffle(va, vb, 4, 12, 5, 13, 6, 14, 7, 15));
    if constexpr (!kClamp) out = wasm_u8x16_max(out, vlow);
    return out;
  };
  size_t u = 0;
  for (; 2 * u + 16 <= n; u += 8) wasm_v128_store(c + 2 * u, step(u));
  if (2 * u < n) {
    uint8_t tail[16];
    wasm_v128_store(tail, step(u));
    for (size_t i = 0; i < n - 2 * u; ++i) c[2 * u + i] = tail[i];
  }
}

template <bool kShared, bool kClamp>
void run_pairs(size_t n, size_t pairs, const uint8_t* const* rows_a, const int16_t* w_a,
               const uint8_t* const* rows_b, const int16_t* w_b, int32_t bias_a, int32_t bias_b,
               float scale, uint8_t* c, const RequantParams& params) {
  if (pairs == 1) {
    run<kShared, kClamp, true>(n, pairs, rows_a, w_a, rows_b, w_b, bias_a, bias_b, scale, c,
                               params);
  } else {
    run<kShared, kClamp, false>(n, pairs, rows_a, w_a, rows_b, w_b, bias_a, bias_b, scale, c,
                                params);
  }
}

}  // namespace

void qu8_dwconv1d_fp32_ukernel_2x8c2__wasmsimd_dot16(size_t n, size_t pairs,
                                                     const uint8_t* const* rows_a,
                                                     const int16_t* w_a,
                                                     const uint8_t* const* rows_b,
                                                     const int16_t* w_b, int32_t zero_point,
                                                     int32_t bias, float scale, uint8_t* c,
                                                     const RequantParams& params) {
  bool shared = true;
  for (size_t t = 0; t < 2 * pairs; ++t) shared = shared && rows_a[t] == rows_b[t];
  const int32_t bias_a = folded_bias(pairs, w_a, zero_point, bias);
  const int32_t bias_b = folded_bias(pairs, w_b, zero_point, bias);
  const bool clamp = clamps_needed(pairs, w_a, w_b, bias, scale);
  if (shared) {
    if (clamp) {
      run_pairs<true, true>(n, pairs, rows_a, w_a, rows_b, w_b, bias_a, bias_b, scale, c, params);
    } else {
      run_pairs<true, false>(n, pairs, rows_a, w_a, rows_b, w_b, bias_a, bias_b, scale, c, params);
    }
  } else if (clamp) {
    run_pairs<false, true>(n, pairs, rows_a, w_a, rows_b, w_b, bias_a, bias_b, scale, c, params);
  } else {
    run_pairs<false, false>(n, pairs, rows_a, w_a, rows_b, w_b, bias_a, bias_b, scale, c, params);
  }
}

}  // namespace qconv
