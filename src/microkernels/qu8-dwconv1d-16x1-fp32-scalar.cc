// Scalar twin of the 16x1 dwconv1d kernel (one output channel, positions in
// the inner loop): the reference for the SIMD kernel and the scalar flavour's
// kernel.
#include "microkernels/microkernels.h"
#include "quantization.h"

namespace qconv {

void qu8_dwconv1d_fp32_ukernel_16x1__scalar(size_t n, size_t num_taps, const int16_t* const* rows,
                                            size_t row_offset, const int16_t* w, int32_t bias,
                                            float scale, uint8_t* c, size_t c_stride,
                                            const RequantParams& params) {
  for (size_t j = 0; j < n; ++j) {
    uint32_t acc = static_cast<uint32_t>(bias);  // wraps modulo 2^32, defined
    for (size_t t = 0; t < num_taps; ++t) {
      acc += static_cast<uint32_t>(int32_t{w[t]} * int32_t{rows[t][row_offset + j]});
    }
    c[j * c_stride] =
        requantize_fp32_magic(static_cast<int32_t>(acc), scale, params.output_zero_point,
                              params.min_less_zero_point);
  }
}

}  // namespace qconv
