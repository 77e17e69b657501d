// A model's plan for an input shape (model.h reshape_model): every tensor's
// length along the graph, the checks torch makes on them, and the arena.
#include <algorithm>
#include <cmath>
#include <limits>
#include <new>

#include "model-state.h"
#include "quantization.h"

namespace qconv {

using namespace model_detail;

Status reshape_model(Model* m, int64_t batch, int64_t length, bool keep_all, Error* error) {
  if (m->input < 0 || m->output < 0) return invalid(error, "the model has no input or no output");
  if (m->ready && m->batch == batch && m->length == length && m->keep_all == keep_all) {
    return Status::kOk;
  }
  m->ready = false;
  if (batch < 0 || batch > (int64_t{1} << 31) - 1) {
    return invalid(error, "batch (" + std::to_string(batch) + ") must be an integer in [0, 2^31 - 1]");
  }
  if (length < 0 || length > (int64_t{1} << 31) - 1) {
    return invalid(error, "length (" + std::to_string(length) + ") must be an integer in [0, 2^31 - 1]");
  }
  // 1. Lengths along the graph, and the operators' reshapes.
  Vec<ModelTensor>& t = m->tensors;
  t[m->input].length = length;
  for (size_t i = 0; i < m->nodes.size(); ++i) {
    ModelNode& node = *m->nodes[i];
    const ModelTensor& in = t[node.inputs[0]];
    const bool transposed = node.op == ModelOp::kConv && is_transposed(node.conv->params);
    const std::string label = node_label(i, op_name(node.op, transposed));
    int64_t lout = in.length;
    switch (node.op) {
      case ModelOp::kConv: {
        InputDesc desc;
        desc.batch = batch;
        desc.channels = in.channels;
        desc.length = in.length;
        desc.scale = in.q.scale;
        desc.zero_point = in.q.zero_point;
        const int64_t requested =
            node.output_length_of >= 0 ? t[node.output_length_of].length : node.output_length;
        Error op_error;
        const Status s = reshape(node.conv.get(), desc, requested, &lout, &op_error);
        if (s != Status::kOk) return fail(error, s, label + ": " + op_error.message);
        break;
      }
      case ModelOp::kAdd:
      case ModelOp::kCat:
        for (int32_t other : node.inputs) {
          if (t[other].length != in.length) {
            return invalid(error, label + ": the inputs' lengths differ (" + std::to_string(in.length) +
                                      " and " + std::to_string(t[other].length) +
                                      "): torch would refuse these shapes");
          }
        }
        break;
      case ModelOp::kReflectionPad1d:
        if (node.left >= in.length || node.right >= in.length) {
          return invalid(error, label + ": padding (" + std::to_string(node.left) + ", " +
                                    std::to_string(node.right) +
                                    ") must be smaller than the input length (" +
                                    std::to_string(in.length) + ")");
        }
        lout = in.length + node.left + node.right;
        break;
      default:
        break;
    }
    t[node.output].length = lout;
  }
  // 2. Sizes, and which node reads each tensor last.
  const size_t num_tensors = t.size();
  if (!m->last_read.resize(num_tensors) || !m->live.resize(num_tensors)) {
    return out_of_memory(error, "the model's memory plan");
  }
  for (int64_t& v : m->last_read) v = -1;
  for (size_t i = 0; i < m->nodes.size(); ++i) {
    for (int32_t in : m->nodes[i]->inputs) m->last_read[in] = static_cast<int64_t>(i);
  }
  m->last_read[m->output] = std::numeric_limits<int64_t>::max();
  for (size_t k = 0; k < num_tensors; ++k) t[k].inspection_only = false;
  if (!keep_all) {
    for (ModelNode* node : m->nodes) {
      if (node->op == ModelOp::kReflectionPad1d && node->inspection_only) {
        t[node->output].inspection_only = true;
      }
    }
  }
  for (size_t k = 0; k < num_tensors; ++k) {
    if (!t[k].defined || t[k].inspection_only) {
      t[k].bytes = 0;
      continue;
    }
    const uint64_t bytes = mul_sat(mul_sat(static_cast<uint64_t>(batch), static_cast<uint64_t>(t[k].channels)),
                                   static_cast<uint64_t>(t[k].length));
    if (bytes > kMaxBytes) {
      return fail(error, Status::kOutOfMemory,
                  "tensor " + std::to_string(k) + " of shape [" + std::to_string(batch) + ", " +
                      std::to_string(t[k].channels) + ", " + std::to_string(t[k].length) +
                      "] needs more than 2^31 bytes");
    }
    t[k].bytes = static_cast<size_t>(bytes);
  }
  // 3. The arena: each tensor at the first gap it fits (first fit), freed
  // after its last reader unless keep_all. `live` holds the placed tensors
  // by offset (at most one entry per tensor: its room was reserved above).
  auto aligned = [](size_t v) { return (v + kAlignment - 1) / kAlignment * kAlignment; };
  Vec<int32_t>& live = m->live;
  live.clear();
  uint64_t total = 0;
  auto place = [&](int32_t k) {
    size_t offset = 0;
    size_t at = 0;
    for (; at < live.size(); ++at) {
      const ModelTensor& other = t[live[at]];
      if (offset + aligned(t[k].bytes) <= other.offset) break;
      offset = std::max(offset, other.offset + aligned(other.bytes));
    }
    t[k].offset = offset;
    live.resize(live.size() + 1);  // within the reserved room: cannot fail
    for (size_t j = live.size() - 1; j > at; --j) live[j] = live[j - 1];
    live[at] = k;
    total = std::max<uint64_t>(total, offset + aligned(t[k].bytes));
  };
  place(m->input);
  for (size_t i = 0; i < m->nodes.size(); ++i) {
    if (!keep_all) {
      size_t kept = 0;
      for (size_t j = 0; j < live.size(); ++j) {
        if (m->last_read[live[j]] >= static_cast<int64_t>(i)) live[kept++] = live[j];
      }
      live.resize(kept);
    }
    place(m->nodes[i]->output);
  }
  if (total > kMaxBytes) {
    return fail(error, Status::kOutOfMemory,
                "the model's tensors need " + std::to_string(total) + " bytes, more than 2^31");
  }
  if (!m->arena.reserve_discard(static_cast<size_t>(total) + kAlignment)) {
    return fail(error, Status::kOutOfMemory,
                "out of memory: needs " + std::to_string(total) + " bytes for the model's tensors, " +
                    std::to_string(heap_bytes_in_use()) + " in use");
  }
  m->batch = batch;
  m->length = length;
  m->keep_all = keep_all;
  m->ready = true;
  return Status::kOk;
}

int64_t model_tensor_length(const Model* m, int32_t tensor) {
  if (!m->ready || tensor < 0 || static_cast<size_t>(tensor) >= m->tensors.size()) return -1;
  return m->tensors[tensor].length;
}

uint8_t* model_tensor_data(Model* m, int32_t tensor) {
  if (!m->ready || tensor < 0 || static_cast<size_t>(tensor) >= m->tensors.size()) return nullptr;
  // The arena's start rounded up to the alignment (malloc gives 8 on wasm32).
  const uintptr_t base = reinterpret_cast<uintptr_t>(m->arena.data());
  const uintptr_t start = (base + kAlignment - 1) / kAlignment * kAlignment;
  return reinterpret_cast<uint8_t*>(start) + m->tensors[tensor].offset;
}

size_t model_arena_bytes(const Model* m) { return m->arena.size(); }

}  // namespace qconv
