// dwconv1d on WebAssembly SIMD128: 16 output positions of one channel per
// step; each tap is one weight broadcast times two int16x8 loads widened to
// int32 with i32x4.extmul_{low,high}_i16x8_s. 4 accumulators + 2 inputs + 1
// weight: few live vectors, no spills.
#include "microkernels/microkernels.h"
#include "microkernels/requantization-fp32-wasmsimd.h"

namespace qconv {
namespace {

template <int L>
inline void store_lanes_from(uint8_t* c, size_t stride, v128_t v) {
  wasm_v128_store8_lane(c + L * stride, v, L);
  if constexpr (L + 1 < 16) store_lanes_from<L + 1>(c, stride, v);
}

}  // namespace

void qu8_dwconv1d_fp32_ukernel_16x1__wasmsimd_mul16(size_t n, size_t num_taps,
                                                    const int16_t* const* rows, size_t row_offset,
                                                    const int16_t* w, int32_t bias, float scale,
                                                    uint8_t* c, size_t c_stride,
                                                    const RequantParams& params) {
  const v128_t vbias = wasm_i32x4_splat(bias);
  const v128_t vscale = wasm_f32x4_splat(scale);
  const Fp32Requantization rq(params);
  for (size_t j = 0; j < n; j += 16) {
    v128_t acc0 = vbias, acc1 = vbias, acc2 = vbias, acc3 = vbias;
    for (size_t t = 0; t < num_taps; ++t) {
      const int16_t* x = rows[t] + row_offset + j;
      const v128_t vw = wasm_i16x8_splat(w[t]);
      const v128_t vx0 = wasm_v128_load(x);
      const v128_t vx1 = wasm_v128_load(x + 8);
      acc0 = wasm_i32x4_add(acc0, wasm_i32x4_extmul_low_i16x8(vx0, vw));
      acc1 = wasm_i32x4_add(acc1, wasm_i32x4_extmul_high_i16x8(vx0, vw));
      acc2 = wasm_i32x4_add(acc2, wasm_i32x4_extmul_low_i16x8(vx1, vw));
      acc3 = wasm_i32x4_add(acc3, wasm_i32x4_extmul_high_i16x8(vx1, vw));
    }
    const v128_t vout =
        requantize_fp32_to_u8x16(acc0, vscale, acc1, vscale, acc2, vscale, acc3, vscale, rq);
    uint8_t* out = c + j * c_stride;
    if (n - j >= 16) {
      if (c_stride == 1) {
        wasm_v128_store(out, vout);
      } else {
        store_lanes_from<0>(out, c_stride, vout);
      }
    } else {
      uint8_t tail[16];
      wasm_v128_store(tail, vout);
      for (size_t i = 0; i < n - j; ++i) out[i * c_stride] = tail[i];
    }
  }
}

}  // namespace qconv
