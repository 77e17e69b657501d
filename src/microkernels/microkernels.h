// Micro-kernel interfaces. File names follow XNNPACK's
// <datatype>-<op>-<tile>-<requantization>-<isa>.cc convention.
#pragma once

#include <cstddef>
#include <cstdint>

namespace qconv {

// Indirect dot-product kernel for one output position of one group:
//   out[j * out_stride] = requantize(bias[j] + sum_t dot(rows[t], w_j[taps[t]]))
// for j in [0, channels). rows[t] points at kc int16 values (input minus its
// zero point); the packed weights hold, per output channel j, kernel_size
// rows of kc int16 values (weight minus its zero point):
//   w + (j * kernel_size + k) * kc.
// Accumulation wraps modulo 2^32; requantization is fp32 with round half to
// even and saturation (SEMANTICS.md §4.4 under policy P1).
struct IndirectDotParams {
  size_t channels;
  size_t kc;
  size_t kernel_size;
  size_t num_taps;
  const int16_t* const* rows;
  const uint32_t* taps;
  const int16_t* weights;
  const int32_t* bias;
  const float* scales;
  int32_t output_zero_point;
  uint8_t* output;
  size_t output_stride;
};

void qu8_indirect_dot_ukernel_1x1c1__scalar(const IndirectDotParams& p);

}  // namespace qconv
