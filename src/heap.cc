#include "heap.h"

#include <malloc.h>

#include <atomic>
#include <cstdlib>

namespace qconv {

uint64_t heap_bytes_in_use() {
#if defined(__EMSCRIPTEN__)
  return static_cast<uint64_t>(mallinfo().uordblks);  // dlmalloc's count
#elif defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  return static_cast<uint64_t>(mallinfo2().uordblks);
#else
  return 0;  // unknown here; the message still says what was asked
#endif
}

namespace {
std::atomic<int64_t> allocations_left{-1};
}  // namespace

void* heap_allocate(size_t bytes) {
  // Relaxed: tests set the count while no other thread allocates.
  int64_t left = allocations_left.load(std::memory_order_relaxed);
  while (left >= 0) {
    if (left == 0) return nullptr;
    if (allocations_left.compare_exchange_weak(left, left - 1, std::memory_order_relaxed)) break;
  }
  return std::malloc(bytes);
}

void fail_allocations_after(int64_t count) {
  allocations_left.store(count < 0 ? -1 : count, std::memory_order_relaxed);
}

}  // namespace qconv
