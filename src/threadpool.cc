#include "threadpool.h"

#if QCONV_THREADS
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <new>
#include <system_error>
#include <thread>
#include <vector>
#endif

namespace qconv {

#if QCONV_THREADS
namespace {

// Workers spin this many polls (some 100 us) for the next loop before
// sleeping: a forward often follows another within microseconds, and waking a
// sleeping thread costs tens to hundreds of microseconds (a futex, or
// Atomics.wait/notify in wasm). Longer spins take the core from the
// browser's own threads.
constexpr int kSpinPolls = 1 << 18;

// job_: the loop's generation (high 32 bits), whether it is closed to
// joiners, and how many workers are inside it. The caller closes the loop
// when every item is taken and waits only for the workers inside: a worker
// still asleep when a short loop ends is never waited for.
constexpr uint64_t kClosed = uint64_t{1} << 31;
constexpr uint64_t kInsideMask = kClosed - 1;

class Pool {
 public:
  ~Pool() { stop(); }

  bool resize(size_t threads) {
    std::lock_guard<std::mutex> busy(run_mutex_);
    stop();
    if (threads <= 1) return true;
#if defined(__cpp_exceptions)
    try {
#endif
      workers_.reserve(threads - 1);
      // The generation a worker starts from is read here, not in the new
      // thread: a thread that starts late must still see the first loop.
      const unsigned start = generation_.load(std::memory_order_acquire);
      for (size_t t = 1; t < threads; ++t) {
        workers_.emplace_back([this, t, start] { work(t, start); });
      }
#if defined(__cpp_exceptions)
    } catch (const std::system_error&) {
      stop();
      return false;
    } catch (const std::bad_alloc&) {
      stop();
      return false;
    }
#endif
    return true;
  }

  size_t threads() const { return workers_.size() + 1; }

  void run(size_t items, ParallelTask task, void* context, size_t max_threads) {
    std::unique_lock<std::mutex> busy(run_mutex_, std::try_to_lock);
    if (items <= 1 || max_threads <= 1 || workers_.empty() || !busy.owns_lock()) {
      for (size_t i = 0; i < items; ++i) task(context, 0, i);
      return;
    }
    task_ = task;
    context_ = context;
    items_ = items;
    max_threads_ = max_threads;
    next_.store(0, std::memory_order_relaxed);
    const unsigned generation = generation_.load(std::memory_order_relaxed) + 1;
    job_.store(uint64_t{generation} << 32, std::memory_order_release);
    {
      std::lock_guard<std::mutex> lock(wake_mutex_);
      generation_.store(generation, std::memory_order_release);
    }
    wake_.notify_all();
    take_items(0);
    job_.fetch_or(kClosed, std::memory_order_acq_rel);
    while ((job_.load(std::memory_order_acquire) & kInsideMask) != 0) {
    }
  }

 private:
  void take_items(size_t thread) {
    if (thread >= max_threads_) return;
    for (;;) {
      const size_t i = next_.fetch_add(1, std::memory_order_relaxed);
      if (i >= items_) return;
      task_(context_, thread, i);
    }
  }

  void work(size_t thread, unsigned seen) {
    for (;;) {
      unsigned now = seen;
      for (int poll = 0; poll < kSpinPolls && now == seen; ++poll) {
        now = generation_.load(std::memory_order_acquire);
      }
      if (now == seen) {
        std::unique_lock<std::mutex> lock(wake_mutex_);
        wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
        now = generation_.load(std::memory_order_acquire);
      }
      seen = now;
      if (stopping_.load(std::memory_order_acquire)) return;
      if (join(now)) {
        take_items(thread);
        job_.fetch_sub(1, std::memory_order_acq_rel);
      }
    }
  }

  // Enters loop `generation` unless it is over (closed, or already followed
  // by another loop, which this worker will see next).
  bool join(unsigned generation) {
    uint64_t state = job_.load(std::memory_order_acquire);
    for (;;) {
      if ((state >> 32) != generation || (state & kClosed) != 0) return false;
      if (job_.compare_exchange_weak(state, state + 1, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
        return true;
      }
    }
  }

  void stop() {
    if (workers_.empty()) return;
    {
      std::lock_guard<std::mutex> lock(wake_mutex_);
      stopping_.store(true, std::memory_order_release);
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    for (std::thread& w : workers_) w.join();
    workers_.clear();
    stopping_.store(false, std::memory_order_release);
  }

  std::vector<std::thread> workers_;
  std::mutex run_mutex_;  // one loop at a time
  std::mutex wake_mutex_;
  std::condition_variable wake_;
  std::atomic<unsigned> generation_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> next_{0};
  std::atomic<uint64_t> job_{0};
  ParallelTask task_ = nullptr;
  void* context_ = nullptr;
  size_t items_ = 0;
  size_t max_threads_ = 1;
};

Pool& pool() {
  static Pool* instance = new Pool();  // never destroyed: workers may outlive static destructors
  return *instance;
}

}  // namespace

bool set_pool_threads(size_t threads) { return pool().resize(threads == 0 ? 1 : threads); }
size_t pool_threads() { return pool().threads(); }
bool pool_threads_supported() { return true; }
void parallel_for(size_t items, ParallelTask task, void* context, size_t max_threads) {
  pool().run(items, task, context, max_threads);
}

#else

bool set_pool_threads(size_t threads) { return threads <= 1; }
size_t pool_threads() { return 1; }
bool pool_threads_supported() { return false; }
void parallel_for(size_t items, ParallelTask task, void* context, size_t /*max_threads*/) {
  for (size_t i = 0; i < items; ++i) task(context, 0, i);
}

#endif

}  // namespace qconv
