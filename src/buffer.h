// A growable, non-copying array whose allocation failure is a return value
// (not an exception or an abort), so that an oversized request becomes a
// clean error and the owner stays usable.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <utility>

#include "heap.h"

namespace qconv {

template <typename T>
class Buffer {
 public:
  Buffer() = default;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  Buffer(Buffer&& other) noexcept { swap(other); }
  Buffer& operator=(Buffer&& other) noexcept {
    swap(other);
    return *this;
  }
  ~Buffer() { std::free(data_); }

  // Makes room for n elements; old contents are discarded when it grows.
  // Never shrinks, so a steady state allocates nothing.
  bool reserve_discard(size_t n) {
    if (n <= capacity_) {
      size_ = n;
      return true;
    }
    T* fresh = static_cast<T*>(heap_allocate(n * sizeof(T)));
    if (fresh == nullptr) return false;
    std::free(data_);
    data_ = fresh;
    capacity_ = n;
    size_ = n;
    return true;
  }

  void swap(Buffer& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    std::swap(capacity_, other.capacity_);
  }

  T* data() { return data_; }
  const T* data() const { return data_; }
  size_t size() const { return size_; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }

 private:
  T* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace qconv
