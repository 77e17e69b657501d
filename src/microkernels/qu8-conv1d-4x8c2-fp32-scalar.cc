// Scalar twin of the 4x8c2 conv1d kernel: same interface, same packed
// weights, same bytes. The reference the SIMD kernel is tested against, and
// the kernel of the scalar wasm flavour.
#include <cstring>

#include "microkernels/microkernels.h"
#include "quantization.h"

namespace qconv {

void qu8_conv1d_fp32_ukernel_4x8c2__scalar(size_t mr, size_t nc, size_t kc, size_t ks,
                                           const int16_t* a, size_t a_row_stride,
                                           size_t a_tap_stride, const void* packed_w, uint8_t* c,
                                           size_t c_row_stride, size_t c_col_stride,
                                           const RequantParams& params) {
  const size_t kc2 = conv1d_kc_rounded(kc);
  const char* block = static_cast<const char*>(packed_w);
  for (size_t n0 = 0; n0 < nc; n0 += kConv1dNr) {
    const size_t nb = nc - n0 < kConv1dNr ? nc - n0 : kConv1dNr;
    int32_t bias[kConv1dNr];
    float scale[kConv1dNr];
    std::memcpy(bias, block, sizeof bias);
    const int16_t* w0 = reinterpret_cast<const int16_t*>(block + sizeof bias);
    std::memcpy(scale, block + sizeof bias + ks * kc2 * kConv1dNr * sizeof(int16_t), sizeof scale);
    for (size_t m = 0; m < mr; ++m) {
      // Sum in uint32 so that wrap-around is defined behaviour.
      uint32_t acc[kConv1dNr];
      for (size_t n = 0; n < kConv1dNr; ++n) acc[n] = static_cast<uint32_t>(bias[n]);
      const int16_t* w = w0;
      for (size_t t = 0; t < ks; ++t) {
        const int16_t* x = reinterpret_cast<const int16_t*>(reinterpret_cast<const char*>(a) +
                                                            m * a_row_stride + t * a_tap_stride);
        for (size_t k = 0; k < kc2; k += kConv1dKr) {
          for (size_t n = 0; n < kConv1dNr; ++n) {
            for (size_t kr = 0; kr < kConv1dKr; ++kr) {
              acc[n] += static_cast<uint32_t>(int32_t{x[k + kr]} * int32_t{w[n * kConv1dKr + kr]});
            }
          }
          w += kConv1dNr * kConv1dKr;
        }
      }
      for (size_t n = 0; n < nb; ++n) {
        c[m * c_row_stride + (n0 + n) * c_col_stride] =
            requantize_fp32_magic(static_cast<int32_t>(acc[n]), scale[n], params.output_zero_point,
                                  params.min_less_zero_point);
      }
    }
    block += conv1d_packed_block_bytes(kc, ks);
  }
}

}  // namespace qconv
