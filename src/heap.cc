#include "heap.h"

#include <malloc.h>

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

}  // namespace qconv
