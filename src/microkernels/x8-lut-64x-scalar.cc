// Scalar twin of the 64x byte table lookup: the reference for the SIMD
// kernel and the scalar flavour's kernel.
#include "microkernels/microkernels.h"

namespace qconv {

void x8_lut_ukernel_64x__scalar(size_t n, const uint8_t* input, uint8_t* output,
                                const uint8_t* table) {
  for (; n >= 4; n -= 4) {
    const uint8_t x0 = input[0], x1 = input[1], x2 = input[2], x3 = input[3];
    input += 4;
    const uint8_t y0 = table[x0], y1 = table[x1], y2 = table[x2], y3 = table[x3];
    output[0] = y0;
    output[1] = y1;
    output[2] = y2;
    output[3] = y3;
    output += 4;
  }
  for (; n != 0; --n) *output++ = table[*input++];
}

}  // namespace qconv
