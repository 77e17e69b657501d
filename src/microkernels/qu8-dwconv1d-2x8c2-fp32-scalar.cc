// Scalar twin of the 2x8c2 dwconv1d kernel (two interleaved phases, uint8
// rows): the reference for the SIMD kernel and the scalar flavour's kernel.
#include "microkernels/microkernels.h"
#include "quantization.h"

namespace qconv {

void qu8_dwconv1d_fp32_ukernel_2x8c2__scalar(size_t n, size_t pairs, const uint8_t* const* rows_a,
                                             const int16_t* w_a, const uint8_t* const* rows_b,
                                             const int16_t* w_b, int32_t zero_point, int32_t bias,
                                             float scale, uint8_t* c, const RequantParams& params) {
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* const* rows = i % 2 == 0 ? rows_a : rows_b;
    const int16_t* w = i % 2 == 0 ? w_a : w_b;
    const size_t u = i / 2;
    uint32_t acc = static_cast<uint32_t>(bias);  // wraps modulo 2^32, defined
    for (size_t t = 0; t < 2 * pairs; ++t) {
      acc += static_cast<uint32_t>(int32_t{w[t]} * (int32_t{rows[t][u]} - zero_point));
    }
    c[i] = requantize_fp32_magic(static_cast<int32_t>(acc), scale, params.output_zero_point,
                                 params.min_less_zero_point);
  }
}

}  // namespace qconv
