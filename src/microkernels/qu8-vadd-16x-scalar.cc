// Scalar twin of the 16x q8 add: QNNPACK's fixed-point arithmetic, one
// element at a time; the reference for the SIMD kernel and the scalar
// flavour's kernel.
#include "microkernels/microkernels.h"
#include "qops.h"

namespace qconv {

void qu8_vadd_ukernel_16x__scalar(size_t n, const uint8_t* a, const uint8_t* b, uint8_t* output,
                                  const AddParams& params) {
  const uint32_t am = params.a_multiplier, bm = params.b_multiplier;
  const uint32_t zpp = static_cast<uint32_t>(params.zero_point_product);
  const uint32_t mask = static_cast<uint32_t>(params.remainder_mask);
  const int32_t threshold = params.remainder_threshold;
  const uint32_t shift = params.shift;
  const int32_t zp = params.output_zero_point, ymin = params.output_min, ymax = params.output_max;
  for (size_t i = 0; i < n; ++i) {
    // Wrapping int32 sum, then a rounding arithmetic shift (ties away from 0).
    const int32_t acc = static_cast<int32_t>(zpp + a[i] * am + b[i] * bm);
    const int32_t rem = static_cast<int32_t>(static_cast<uint32_t>(acc) & mask) - (acc < 0 ? 1 : 0);
    int32_t y = (acc >> shift) + (rem > threshold ? 1 : 0) + zp;
    y = y < ymin ? ymin : (y > ymax ? ymax : y);
    output[i] = static_cast<uint8_t>(y);
  }
}

}  // namespace qconv
