// The operators' heap: how many bytes the C heap has handed out and not
// taken back (for messages that tell a caller what is in use when an
// allocation fails), and the allocation their buffers go through.
#pragma once

#include <cstddef>
#include <cstdint>

namespace qconv {

uint64_t heap_bytes_in_use();

// malloc for the operators' buffers, unless a test asked it to fail.
void* heap_allocate(size_t bytes);
// Tests: the next `count` heap_allocate calls succeed and every later one
// fails, as on a full heap, so that each allocation's failure path can be
// walked in turn; a negative count (the default) lets every call through.
void fail_allocations_after(int64_t count);

}  // namespace qconv
