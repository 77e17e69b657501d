// operator new for the wasm builds: when malloc fails (the 2 GiB heap is
// full), small allocations come from a static arena instead of aborting.
//
// Big buffers never come through here: the core allocates them with malloc
// and turns a failure into "out of memory" (Status::kOutOfMemory). What does
// come through here is short-lived: the std::string pieces of an error
// message, embind's temporaries. Without this, building the message that
// says "out of memory" would itself abort the whole instance.
//
// The arena is a bump allocator that starts over whenever everything in it
// has been freed, which happens at the end of every call that used it.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace {

constexpr size_t kArenaBytes = size_t{64} << 10;
constexpr size_t kAlign = alignof(std::max_align_t);
alignas(kAlign) unsigned char arena[kArenaBytes];
size_t arena_used = 0;
size_t arena_live = 0;
std::atomic_flag arena_lock = ATOMIC_FLAG_INIT;
// Allocations the arena served since start (tests read it to prove the path ran).
std::atomic<uint64_t> arena_allocations{0};

struct Lock {
  Lock() {
    while (arena_lock.test_and_set(std::memory_order_acquire)) {
    }
  }
  ~Lock() { arena_lock.clear(std::memory_order_release); }
};

bool in_arena(const void* p) {
  const unsigned char* c = static_cast<const unsigned char*>(p);
  return c >= arena && c < arena + kArenaBytes;
}

void* arena_allocate(size_t n) {
  Lock lock;
  const size_t size = (n + kAlign - 1) / kAlign * kAlign;
  if (size > kArenaBytes - arena_used) return nullptr;
  void* p = arena + arena_used;
  arena_used += size;
  ++arena_live;
  arena_allocations.fetch_add(1, std::memory_order_relaxed);
  return p;
}

void arena_free() {
  Lock lock;
  if (--arena_live == 0) arena_used = 0;
}

void* allocate(size_t n) {
  if (n == 0) n = 1;
  if (void* p = std::malloc(n)) return p;
  if (void* p = arena_allocate(n)) return p;
  std::abort();  // not even the arena: nothing sensible is left to do
}

void release(void* p) {
  if (p == nullptr) return;
  if (in_arena(p)) {
    arena_free();
  } else {
    std::free(p);
  }
}

}  // namespace

uint64_t qconv_fallback_allocations() { return arena_allocations.load(std::memory_order_relaxed); }

void* operator new(size_t n) { return allocate(n); }
void* operator new[](size_t n) { return allocate(n); }
// The nothrow forms report failure as nullptr: their callers handle it, and
// what they allocate may live long (it must not pin the arena).
void* operator new(size_t n, const std::nothrow_t&) noexcept { return std::malloc(n == 0 ? 1 : n); }
void* operator new[](size_t n, const std::nothrow_t&) noexcept { return std::malloc(n == 0 ? 1 : n); }
void operator delete(void* p) noexcept { release(p); }
void operator delete[](void* p) noexcept { release(p); }
void operator delete(void* p, size_t) noexcept { release(p); }
void operator delete[](void* p, size_t) noexcept { release(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { release(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { release(p); }
