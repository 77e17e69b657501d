// The byte table lookup 4 bytes at a time: one 32-bit load and one 32-bit
// store per 4 elements instead of 4 byte loads and 4 byte stores (the table
// reads stay bytes). Same interface and results as x8-lut-64x-scalar.cc.
#include <cstring>

#include "microkernels/microkernels.h"

namespace qconv {

void x8_lut_ukernel_64x__scalar_u32(size_t n, const uint8_t* input, uint8_t* output,
                                    const uint8_t* table) {
  for (; n >= 4; n -= 4) {
    uint32_t x;
    std::memcpy(&x, input, 4);  // little-endian on wasm and x86
    input += 4;
    const uint32_t y = uint32_t{table[x & 0xFF]} | uint32_t{table[(x >> 8) & 0xFF]} << 8 |
                       uint32_t{table[(x >> 16) & 0xFF]} << 16 | uint32_t{table[x >> 24]} << 24;
    std::memcpy(output, &y, 4);
    output += 4;
  }
  for (; n != 0; --n) *output++ = table[*input++];
}

}  // namespace qconv
