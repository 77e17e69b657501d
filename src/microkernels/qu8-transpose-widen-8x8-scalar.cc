// Scalar twin of the 8x8 transpose-widen kernel: uint8 [channels][length] to
// int16 (x - zero point) [length][row_stride].
#include "microkernels/microkernels.h"

namespace qconv {

void qu8_transpose_widen_ukernel_8x8__scalar(size_t channels, size_t length, const uint8_t* x,
                                             size_t x_stride, int32_t zero_point, int16_t* rows,
                                             size_t row_stride) {
  // Blocks of 8 positions keep the strided reads within a few cache lines.
  for (size_t l0 = 0; l0 < length; l0 += 8) {
    const size_t l1 = length - l0 < 8 ? length : l0 + 8;
    for (size_t ch = 0; ch < channels; ++ch) {
      const uint8_t* src = x + ch * x_stride;
      for (size_t l = l0; l < l1; ++l) {
        rows[l * row_stride + ch] = static_cast<int16_t>(src[l] - zero_point);
      }
    }
  }
}

}  // namespace qconv
