// How many bytes the C heap has handed out and not taken back, for messages
// that tell a caller what is in use when an allocation fails.
#pragma once

#include <cstdint>

namespace qconv {

uint64_t heap_bytes_in_use();

}  // namespace qconv
