// The bound runners of one NativeConv (m.bind in JS): each keeps the input
// it was bound for and its own input and output buffers in wasm memory, so
// that a forward of another shape, or another runner, cannot break it: its
// run re-binds the operator to its own shape and buffers (reshape's fast
// path makes that a few compares when nothing changed).
#pragma once

#include <cstdint>
#include <cstdlib>

#include "qconv/qconv.h"

namespace qconv_bindings {

// Runners alive in the instance, for memoryStats().
inline int live_runners = 0;

struct BoundRunner {
  bool used = false;
  qconv::InputDesc in;
  int64_t requested = -1;
  int64_t output_length = 0;
  uint8_t* input = nullptr;
  uint8_t* output = nullptr;
  size_t input_size = 0, output_size = 0;
};

class BoundRunners {
 public:
  BoundRunners() = default;
  BoundRunners(const BoundRunners&) = delete;
  BoundRunners& operator=(const BoundRunners&) = delete;
  ~BoundRunners() {
    for (int i = 0; i < count_; ++i) remove(i);
    std::free(slots_);
  }

  // A new runner's index, or -1 when memory is full (nothing is kept then).
  // An empty batch needs (and gets) no buffers.
  int add(const qconv::InputDesc& in, int64_t requested, int64_t output_length, size_t input_size,
          size_t output_size) {
    int id = 0;
    while (id < count_ && slots_[id].used) ++id;
    if (id == count_) {
      // Slots are POD-like: realloc moves them.
      const int capacity = count_ == 0 ? 4 : count_ * 2;
      void* grown = std::realloc(slots_, static_cast<size_t>(capacity) * sizeof(BoundRunner));
      if (grown == nullptr) return -1;
      slots_ = static_cast<BoundRunner*>(grown);
      for (int i = count_; i < capacity; ++i) slots_[i] = BoundRunner();
      count_ = capacity;
    }
    BoundRunner r;
    r.in = in;
    r.requested = requested;
    r.output_length = output_length;
    r.input_size = input_size;
    r.output_size = output_size;
    r.input = input_size == 0 ? nullptr : static_cast<uint8_t*>(std::malloc(input_size));
    r.output = output_size == 0 ? nullptr : static_cast<uint8_t*>(std::malloc(output_size));
    if ((input_size != 0 && r.input == nullptr) || (output_size != 0 && r.output == nullptr)) {
      std::free(r.input);
      std::free(r.output);
      return -1;
    }
    r.used = true;
    slots_[id] = r;
    ++used_;
    ++live_runners;
    return id;
  }

  // The runner, or nullptr for an index that is not a live runner's.
  const BoundRunner* get(int id) const {
    return id >= 0 && id < count_ && slots_[id].used ? &slots_[id] : nullptr;
  }

  void remove(int id) {
    if (get(id) == nullptr) return;
    std::free(slots_[id].input);
    std::free(slots_[id].output);
    slots_[id] = BoundRunner();
    --live_runners;
    // The last runner gone: the table too (the heap back where it was).
    if (--used_ == 0) {
      std::free(slots_);
      slots_ = nullptr;
      count_ = 0;
    }
  }

 private:
  BoundRunner* slots_ = nullptr;
  int count_ = 0;  // slots
  int used_ = 0;   // live runners
};

}  // namespace qconv_bindings
