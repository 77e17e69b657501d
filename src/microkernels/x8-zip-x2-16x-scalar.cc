// Scalar twin of the x2 zip kernel: same interface, same bytes.
#include "microkernels/microkernels.h"

namespace qconv {

void x8_zip_x2_ukernel_16x__scalar(size_t n, const uint8_t* input, size_t input_stride,
                                    uint8_t* output) {
  for (size_t i = 0; i < n; ++i) {
    for (size_t r = 0; r < 2; ++r) output[i * 2 + r] = input[r * input_stride + i];
  }
}

}  // namespace qconv
