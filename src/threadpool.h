// The threads operators share for their parallel loops (one pool per process,
// like XNNPACK's pthreadpool). The calling thread always takes part, so a
// pool of n threads starts n - 1 workers. Without thread support in the build
// (QCONV_THREADS undefined: the single-threaded wasm flavours) it has one
// thread and every loop runs inline.
#pragma once

#include <cstddef>

namespace qconv {

// task(context, thread, item) for every item in [0, items), items handed out
// in increasing order; thread < num_threads() identifies per-thread scratch.
using ParallelTask = void (*)(void* context, size_t thread, size_t item);

// Sets the number of threads (>= 1). False when threads cannot be started
// (no thread support, or the system refused); the pool then keeps 1 thread.
bool set_pool_threads(size_t threads);
size_t pool_threads();
// Whether this build can run more than one thread at all.
bool pool_threads_supported();

// Runs the loop on at most max_threads threads (so that thread indices stay
// below what the caller sized its scratch for); returns when every item is
// done. A call made while another thread's loop is running (native
// multi-threaded callers) runs inline.
void parallel_for(size_t items, ParallelTask task, void* context, size_t max_threads);

template <typename F>
void parallel_for(size_t items, F& body, size_t max_threads) {
  parallel_for(
      items, [](void* c, size_t thread, size_t item) { (*static_cast<F*>(c))(thread, item); }, &body,
      max_threads);
}

}  // namespace qconv
