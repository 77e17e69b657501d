// The scalar reference kernel: one output position, one channel at a time,
// one input channel per step. Later SIMD kernels are tested against it.
#include "microkernels/microkernels.h"
#include "quantization.h"

namespace qconv {

void qu8_indirect_dot_ukernel_1x1c1__scalar(const IndirectDotParams& p) {
  for (size_t j = 0; j < p.channels; ++j) {
    // Sum in uint32 so that wrap-around is defined behaviour.
    uint32_t acc = static_cast<uint32_t>(p.bias[j]);
    const int16_t* w_j = p.weights + j * p.kernel_size * p.kc;
    for (size_t t = 0; t < p.num_taps; ++t) {
      const int16_t* x = p.rows[t];
      const int16_t* w = w_j + static_cast<size_t>(p.taps[t]) * p.kc;
      for (size_t c = 0; c < p.kc; ++c) {
        acc += static_cast<uint32_t>(static_cast<int32_t>(x[c]) * static_cast<int32_t>(w[c]));
      }
    }
    p.output[j * p.output_stride] =
        requantize_fp32_magic(static_cast<int32_t>(acc), p.scales[j], p.output_zero_point);
  }
}

}  // namespace qconv
