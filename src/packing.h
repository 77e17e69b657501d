// Packing of the conv1d micro-kernels' weights (the layout is in
// microkernels/microkernels.h): weights once per set_weights, bias and
// requantization scale slots once per input or output scale.
#pragma once

#include <cstddef>
#include <cstdint>

#include "microkernels/microkernels.h"

namespace qconv {

// weight(n, t, k) gives the int16 (weight - zero point) of output channel n,
// tap t, position k < kc. Channels past nc and positions past kc are zero.
template <typename WeightFn>
void pack_conv1d_weights(size_t nc, size_t kc, size_t ks, WeightFn weight, void* packed) {
  const size_t kc2 = conv1d_kc_rounded(kc);
  char* block = static_cast<char*>(packed);
  for (size_t n0 = 0; n0 < nc; n0 += kConv1dNr) {
    int16_t* w = reinterpret_cast<int16_t*>(block + kConv1dNr * sizeof(int32_t));
    for (size_t t = 0; t < ks; ++t) {
      for (size_t k = 0; k < kc2; k += kConv1dKr) {
        for (size_t n = 0; n < kConv1dNr; ++n) {
          for (size_t kr = 0; kr < kConv1dKr; ++kr) {
            const bool inside = n0 + n < nc && k + kr < kc;
            *w++ = inside ? weight(n0 + n, t, k + kr) : int16_t{0};
          }
        }
      }
    }
    block += conv1d_packed_block_bytes(kc, ks);
  }
}

// Writes the int32 bias and float scale of every channel into packed weights
// (channels past nc get bias 0 and scale 1).
void pack_conv1d_bias_scale(size_t nc, size_t kc, size_t ks, const int32_t* bias,
                            const float* scale, void* packed);

}  // namespace qconv
