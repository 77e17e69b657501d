// The state of a model (src/model.h) and what its stages share: model.cc
// builds the graph, model-plan.cc sizes it for an input shape and places the
// tensors in the arena, model-run.cc runs it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "buffer.h"
#include "heap.h"
#include "model.h"
#include "operator.h"
#include "qops.h"

namespace qconv {
namespace model_detail {

constexpr size_t kAlignment = 16;

// A growable array of trivially copyable values whose allocation failure is
// a return value: a model built or reshaped while the heap is full fails
// with "out of memory" instead of aborting (std::vector would take operator
// new's small fallback arena, meant only for short-lived message strings).
template <typename T>
class Vec {
 public:
  Vec() = default;
  Vec(const Vec&) = delete;
  Vec& operator=(const Vec&) = delete;
  ~Vec() { std::free(data_); }
  bool push_back(const T& v) {
    if (size_ == capacity_ && !grow(capacity_ ? capacity_ * 2 : 8)) return false;
    data_[size_++] = v;
    return true;
  }
  // n elements, their values unspecified (kept when it does not grow).
  bool resize(size_t n) {
    if (n > capacity_ && !grow(n)) return false;
    size_ = n;
    return true;
  }
  void clear() { size_ = 0; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T* begin() { return data_; }
  T* end() { return data_ + size_; }
  const T* begin() const { return data_; }
  const T* end() const { return data_ + size_; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }
  T& back() { return data_[size_ - 1]; }
  void pop_back() { --size_; }

 private:
  bool grow(size_t n) {
    if (n > SIZE_MAX / sizeof(T)) return false;
    T* fresh = static_cast<T*>(heap_allocate(n * sizeof(T)));
    if (fresh == nullptr) return false;
    if (size_ > 0) std::memcpy(fresh, data_, size_ * sizeof(T));
    std::free(data_);
    data_ = fresh;
    capacity_ = n;
    return true;
  }
  T* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

struct ModelTensor {
  int64_t channels = 0;
  QuantParams q;
  bool defined = false;  // the input, or produced by a node added so far
  bool inspection_only = false;  // reshape_model: not computed (no bytes)
  // reshape_model
  int64_t length = 0;
  size_t offset = 0;
  size_t bytes = 0;
};

struct OperatorDeleter {
  void operator()(Operator* op) const { delete_operator(op); }
};

struct ModelNode {
  ModelOp op = ModelOp::kRelu;
  Vec<int32_t> inputs;
  int32_t output = -1;
  // kConv
  std::unique_ptr<Operator, OperatorDeleter> conv;
  int64_t output_length = -1;
  int32_t output_length_of = -1;
  // unary ops
  UnaryTable table{};
  // kAdd
  AddParams add;
  // kCat: one table and part per input
  Vec<UnaryTable> cat_tables;
  Vec<CatPart> cat_parts;
  // kReflectionPad1d
  int64_t left = 0, right = 0;
  bool inspection_only = false;
};

inline const char* op_name(ModelOp op, bool transposed = false) {
  switch (op) {
    case ModelOp::kConv:
      return transposed ? "conv_transpose1d" : "conv1d";
    case ModelOp::kRelu: return "relu";
    case ModelOp::kHardtanh: return "hardtanh";
    case ModelOp::kLeakyRelu: return "leaky_relu";
    case ModelOp::kRequantize: return "requantize";
    case ModelOp::kAdd: return "add";
    case ModelOp::kCat: return "cat";
    case ModelOp::kReflectionPad1d: return "reflection_pad1d";
  }
  return "?";
}

inline std::string number(double v) {
  char text[40];
  std::snprintf(text, sizeof text, "%.17g", v);
  return text;
}


inline Status fail(Error* error, Status status, std::string message) {
  if (error != nullptr) error->message = std::move(message);
  return status;
}

inline Status invalid(Error* error, std::string message) {
  return fail(error, Status::kInvalidArgument, std::move(message));
}

inline Status out_of_memory(Error* error, const char* what) {
  return fail(error, Status::kOutOfMemory,
              std::string("out of memory: ") + what + ", " + std::to_string(heap_bytes_in_use()) +
                  " bytes in use");
}

// "node 3 (up1)" is what the JS layer shows: the core knows nodes by index
// and op ("node 3 (conv_transpose1d)"), the names stay in JS.
inline std::string node_label(size_t index, const char* op) {
  return "node " + std::to_string(index) + " (" + op + ")";
}

}  // namespace model_detail

struct Model {
  ~Model() {
    for (model_detail::ModelNode* node : nodes) delete node;
  }
  model_detail::Vec<model_detail::ModelTensor> tensors;
  model_detail::Vec<model_detail::ModelNode*> nodes;
  // reshape_model's scratch: the last node reading each tensor; the tensors
  // placed in the arena, by offset.
  model_detail::Vec<int64_t> last_read;
  model_detail::Vec<int32_t> live;
  int32_t input = -1;
  int32_t output = -1;
  Buffer<uint8_t> arena;
  // reshape_model
  bool ready = false;
  int64_t batch = 0;
  int64_t length = -1;
  bool keep_all = false;
};

}  // namespace qconv
