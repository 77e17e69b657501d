// A whole model (model.h): the graph, its shapes and its arena.
#include "model.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <new>
#include <utility>

#include "heap.h"
#include "operator.h"
#include "quantization.h"

namespace qconv {
namespace {

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

const char* op_name(ModelOp op, bool transposed = false) {
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

std::string number(double v) {
  char text[40];
  std::snprintf(text, sizeof text, "%.17g", v);
  return text;
}

}  // namespace

struct Model {
  ~Model() {
    for (ModelNode* node : nodes) delete node;
  }
  Vec<ModelTensor> tensors;
  Vec<ModelNode*> nodes;
  // reshape_model's scratch: the last node reading each tensor; the tensors
  // placed in the arena, by offset.
  Vec<int64_t> last_read;
  Vec<int32_t> live;
  int32_t input = -1;
  int32_t output = -1;
  Buffer<uint8_t> arena;
  // reshape_model
  bool ready = false;
  int64_t batch = 0;
  int64_t length = -1;
  bool keep_all = false;
};

namespace {

Status fail(Error* error, Status status, std::string message) {
  if (error != nullptr) error->message = std::move(message);
  return status;
}

Status invalid(Error* error, std::string message) {
  return fail(error, Status::kInvalidArgument, std::move(message));
}

Status out_of_memory(Error* error, const char* what) {
  return fail(error, Status::kOutOfMemory,
              std::string("out of memory: ") + what + ", " + std::to_string(heap_bytes_in_use()) +
                  " bytes in use");
}

// "node 3 (up1)" is what the JS layer shows: the core knows nodes by index
// and op ("node 3 (conv_transpose1d)"), the names stay in JS.
std::string node_label(size_t index, const char* op) {
  return "node " + std::to_string(index) + " (" + op + ")";
}

Status check_tensor(const Model* m, const std::string& label, const char* what, int32_t t,
                    Error* error) {
  if (t < 0 || static_cast<size_t>(t) >= m->tensors.size()) {
    return invalid(error, label + ": " + what + " tensor " + std::to_string(t) +
                              " does not exist (the model has " + std::to_string(m->tensors.size()) +
                              " tensors)");
  }
  return Status::kOk;
}

// Inputs defined (the model input or produced earlier), output not yet.
Status check_node_tensors(const Model* m, const std::string& label, const int32_t* inputs,
                          size_t num_inputs, int32_t output, Error* error) {
  if (m->input < 0) return invalid(error, label + ": the model input must be set before the nodes");
  for (size_t i = 0; i < num_inputs; ++i) {
    if (Status s = check_tensor(m, label, "input", inputs[i], error); s != Status::kOk) return s;
    if (!m->tensors[inputs[i]].defined) {
      return invalid(error, label + ": input tensor " + std::to_string(inputs[i]) +
                                " is neither the model input nor the output of an earlier node");
    }
  }
  if (Status s = check_tensor(m, label, "output", output, error); s != Status::kOk) return s;
  if (m->tensors[output].defined) {
    return invalid(error, label + ": output tensor " + std::to_string(output) +
                              (output == m->input ? " is the model input"
                                                  : " is already the output of an earlier node"));
  }
  return Status::kOk;
}

Status check_same_channels(const Model* m, const std::string& label, int32_t input, int32_t output,
                           Error* error) {
  const int64_t a = m->tensors[input].channels, b = m->tensors[output].channels;
  if (a != b) {
    return invalid(error, label + ": input tensor " + std::to_string(input) + " has " +
                              std::to_string(a) + " channels but output tensor " +
                              std::to_string(output) + " has " + std::to_string(b));
  }
  return Status::kOk;
}

Status check_same_quantization(const Model* m, const std::string& label, int32_t input,
                               int32_t output, Error* error) {
  const QuantParams a = m->tensors[input].q, b = m->tensors[output].q;
  if (a.scale != b.scale || a.zero_point != b.zero_point) {
    return invalid(error, label + ": the output tensor's quantization (scale " + number(b.scale) +
                              ", zero point " + std::to_string(b.zero_point) +
                              ") must be the input's (scale " + number(a.scale) + ", zero point " +
                              std::to_string(a.zero_point) + ")");
  }
  return Status::kOk;
}

// A new node with its inputs, or nullptr on a full heap.
ModelNode* new_node(ModelOp op, const int32_t* inputs, size_t num_inputs, int32_t output) {
  ModelNode* node = new (std::nothrow) ModelNode();
  if (node == nullptr) return nullptr;
  if (!node->inputs.resize(num_inputs)) {
    delete node;
    return nullptr;
  }
  for (size_t i = 0; i < num_inputs; ++i) node->inputs[i] = inputs[i];
  node->op = op;
  node->output = output;
  return node;
}

// Adds the node (the model owns it from here, or frees it on a full heap).
Status append(Model* m, ModelNode* node, Error* error) {
  if (!m->nodes.push_back(node)) {
    delete node;
    return out_of_memory(error, "a model node");
  }
  m->tensors[node->output].defined = true;
  m->ready = false;
  return Status::kOk;
}

constexpr size_t kMaxGraphEntries = size_t{1} << 20;

}  // namespace

Status create_model(Model** model_out, Error* error) {
  Model* m = new (std::nothrow) Model();
  if (m == nullptr) return out_of_memory(error, "the model");
  *model_out = m;
  return Status::kOk;
}

void delete_model(Model* model) { delete model; }

Status add_tensor(Model* m, int64_t channels, double scale, double zero_point, int32_t* index,
                  Error* error) {
  const std::string label = "tensor " + std::to_string(m->tensors.size());
  if (m->tensors.size() >= kMaxGraphEntries) {
    return invalid(error, label + ": a model has at most 2^20 tensors");
  }
  if (channels < 1 || channels > (int64_t{1} << 31) - 1) {
    return invalid(error, label + ": channels (" + std::to_string(channels) +
                              ") must be an integer in [1, 2^31 - 1]");
  }
  if (!is_valid_scale(scale)) {
    return invalid(error, label + ": scale (" + number(scale) + ") must be finite, > 0 and a normal float32");
  }
  if (!(zero_point >= 0 && zero_point <= 255 && std::floor(zero_point) == zero_point)) {
    return invalid(error, label + ": zeroPoint (" + number(zero_point) + ") must be an integer in [0, 255]");
  }
  ModelTensor t;
  t.channels = channels;
  t.q.scale = scale;
  t.q.zero_point = static_cast<int32_t>(zero_point);
  if (!m->tensors.push_back(t)) return out_of_memory(error, "a model tensor");
  *index = static_cast<int32_t>(m->tensors.size() - 1);
  m->ready = false;
  return Status::kOk;
}

Status set_model_input(Model* m, int32_t input, Error* error) {
  if (m->input >= 0) return invalid(error, "the model input is already set");
  if (Status s = check_tensor(m, "the model", "input", input, error); s != Status::kOk) return s;
  m->input = input;
  m->tensors[input].defined = true;
  return Status::kOk;
}

Status add_conv_node(Model* m, Operator* op_raw, int32_t input, int32_t output, bool relu,
                     int64_t output_length, int32_t output_length_of, Error* error) {
  std::unique_ptr<Operator, OperatorDeleter> op(op_raw);
  if (op == nullptr) return invalid(error, node_label(m->nodes.size(), "conv1d") + ": no operator");
  const ConvParams& p = op->params;
  const std::string label = node_label(m->nodes.size(), op_name(ModelOp::kConv, is_transposed(p)));
  if (m->nodes.size() >= kMaxGraphEntries) return invalid(error, label + ": a model has at most 2^20 nodes");
  if (Status s = check_node_tensors(m, label, &input, 1, output, error); s != Status::kOk) return s;
  const char* kind = is_transposed(p) ? "ConvTranspose1d" : "Conv1d";
  if (m->tensors[input].channels != p.in_channels) {
    return invalid(error, label + ": the " + kind + " takes " + std::to_string(p.in_channels) +
                              " channels but input tensor " + std::to_string(input) + " has " +
                              std::to_string(m->tensors[input].channels));
  }
  if (m->tensors[output].channels != p.out_channels) {
    return invalid(error, label + ": the " + kind + " gives " + std::to_string(p.out_channels) +
                              " channels but output tensor " + std::to_string(output) + " has " +
                              std::to_string(m->tensors[output].channels));
  }
  const QuantParams q = m->tensors[output].q;
  if (output_scale(op.get()) != q.scale || output_zero_point(op.get()) != q.zero_point) {
    return invalid(error, label + ": the " + kind + "'s output quantization (scale " +
                              number(output_scale(op.get())) + ", zero point " +
                              std::to_string(output_zero_point(op.get())) +
                              ") must be the output tensor's (scale " + number(q.scale) +
                              ", zero point " + std::to_string(q.zero_point) + ")");
  }
  if (output_length_of >= 0) {
    if (Status s = check_tensor(m, label, "outputSize", output_length_of, error); s != Status::kOk) return s;
    if (!m->tensors[output_length_of].defined) {
      return invalid(error, label + ": outputSize's tensor " + std::to_string(output_length_of) +
                                " is neither the model input nor the output of an earlier node");
    }
  }
  if ((output_length >= 0 || output_length_of >= 0) && !is_transposed(p)) {
    return invalid(error, label + ": only a ConvTranspose1d takes an outputSize");
  }
  ModelNode* node = new_node(ModelOp::kConv, &input, 1, output);
  if (node == nullptr) return out_of_memory(error, "a model node");
  set_fused_relu(op.get(), relu);
  node->conv = std::move(op);
  node->output_length = output_length_of >= 0 ? -1 : output_length;
  node->output_length_of = output_length_of;
  return append(m, node, error);
}

Status add_unary_node(Model* m, ModelOp op, int32_t input, int32_t output, double a, double b,
                      Error* error) {
  const std::string label = node_label(m->nodes.size(), op_name(op));
  if (op != ModelOp::kRelu && op != ModelOp::kHardtanh && op != ModelOp::kLeakyRelu &&
      op != ModelOp::kRequantize) {
    return invalid(error, label + ": not a unary op");
  }
  if (m->nodes.size() >= kMaxGraphEntries) return invalid(error, label + ": a model has at most 2^20 nodes");
  if (Status s = check_node_tensors(m, label, &input, 1, output, error); s != Status::kOk) return s;
  if (Status s = check_same_channels(m, label, input, output, error); s != Status::kOk) return s;
  if (op == ModelOp::kRelu || op == ModelOp::kHardtanh) {
    if (Status s = check_same_quantization(m, label, input, output, error); s != Status::kOk) return s;
  }
  const QuantParams in = m->tensors[input].q, out = m->tensors[output].q;
  UnaryTable table;
  Error op_error;
  Status s = Status::kOk;
  switch (op) {
    case ModelOp::kRelu: s = make_relu(in, &table, &op_error); break;
    case ModelOp::kHardtanh: s = make_hardtanh(in, a, b, &table, &op_error); break;
    case ModelOp::kLeakyRelu: s = make_leaky_relu(in, out, a, &table, &op_error); break;
    default: s = make_requantize(in, out, &table, &op_error); break;
  }
  if (s != Status::kOk) return fail(error, s, label + ": " + op_error.message);
  ModelNode* node = new_node(op, &input, 1, output);
  if (node == nullptr) return out_of_memory(error, "a model node");
  node->table = table;
  return append(m, node, error);
}

Status add_add_node(Model* m, int32_t a, int32_t b, int32_t output, bool relu, Error* error) {
  const std::string label = node_label(m->nodes.size(), "add");
  if (m->nodes.size() >= kMaxGraphEntries) return invalid(error, label + ": a model has at most 2^20 nodes");
  const int32_t inputs[2] = {a, b};
  if (Status s = check_node_tensors(m, label, inputs, 2, output, error); s != Status::kOk) return s;
  if (Status s = check_same_channels(m, label, a, output, error); s != Status::kOk) return s;
  if (Status s = check_same_channels(m, label, b, output, error); s != Status::kOk) return s;
  AddParams params;
  Error op_error;
  const Status s = make_add(m->tensors[a].q, m->tensors[b].q, m->tensors[output].q, relu, &params,
                            &op_error);
  if (s != Status::kOk) return fail(error, s, label + ": " + op_error.message);
  ModelNode* node = new_node(ModelOp::kAdd, inputs, 2, output);
  if (node == nullptr) return out_of_memory(error, "a model node");
  node->add = params;
  return append(m, node, error);
}

Status add_cat_node(Model* m, const int32_t* inputs, size_t num_inputs, int32_t output,
                    Error* error) {
  const std::string label = node_label(m->nodes.size(), "cat");
  if (m->nodes.size() >= kMaxGraphEntries) return invalid(error, label + ": a model has at most 2^20 nodes");
  if (num_inputs == 0) return invalid(error, label + ": cat needs at least one input");
  if (Status s = check_node_tensors(m, label, inputs, num_inputs, output, error); s != Status::kOk) return s;
  int64_t channels = 0;
  for (size_t i = 0; i < num_inputs; ++i) channels += m->tensors[inputs[i]].channels;
  if (channels != m->tensors[output].channels) {
    return invalid(error, label + ": the inputs have " + std::to_string(channels) +
                              " channels together but output tensor " + std::to_string(output) +
                              " has " + std::to_string(m->tensors[output].channels));
  }
  std::unique_ptr<ModelNode, void (*)(ModelNode*)> node(new_node(ModelOp::kCat, inputs, num_inputs, output),
                                                        [](ModelNode* n) { delete n; });
  if (node == nullptr || !node->cat_tables.resize(num_inputs) || !node->cat_parts.resize(num_inputs)) {
    return out_of_memory(error, "a model node");
  }
  for (size_t i = 0; i < num_inputs; ++i) {
    Error op_error;
    const Status s = make_requantize(m->tensors[inputs[i]].q, m->tensors[output].q,
                                     &node->cat_tables[i], &op_error);
    if (s != Status::kOk) {
      return fail(error, s, label + ": input " + std::to_string(i) + ": " + op_error.message);
    }
    node->cat_parts[i].data = nullptr;
    node->cat_parts[i].channels = m->tensors[inputs[i]].channels;
    node->cat_parts[i].table = &node->cat_tables[i];
  }
  return append(m, node.release(), error);
}

Status add_reflection_pad_node(Model* m, int32_t input, int32_t output, int64_t left, int64_t right,
                               bool inspection_only, Error* error) {
  const std::string label = node_label(m->nodes.size(), "reflection_pad1d");
  if (m->nodes.size() >= kMaxGraphEntries) return invalid(error, label + ": a model has at most 2^20 nodes");
  if (Status s = check_node_tensors(m, label, &input, 1, output, error); s != Status::kOk) return s;
  if (Status s = check_same_channels(m, label, input, output, error); s != Status::kOk) return s;
  if (Status s = check_same_quantization(m, label, input, output, error); s != Status::kOk) return s;
  if (left < 0 || right < 0 || left > (int64_t{1} << 31) - 1 || right > (int64_t{1} << 31) - 1) {
    return invalid(error, label + ": padding (" + std::to_string(left) + ", " + std::to_string(right) +
                              ") must be integers in [0, 2^31 - 1]");
  }
  ModelNode* node = new_node(ModelOp::kReflectionPad1d, &input, 1, output);
  if (node == nullptr) return out_of_memory(error, "a model node");
  node->left = left;
  node->right = right;
  node->inspection_only = inspection_only;
  return append(m, node, error);
}

Status set_model_output(Model* m, int32_t output, Error* error) {
  if (Status s = check_tensor(m, "the model", "output", output, error); s != Status::kOk) return s;
  if (!m->tensors[output].defined) {
    return invalid(error, "the model output tensor " + std::to_string(output) +
                              " is neither the model input nor the output of a node");
  }
  m->output = output;
  m->ready = false;
  return Status::kOk;
}

size_t model_num_tensors(const Model* m) { return m->tensors.size(); }
size_t model_num_nodes(const Model* m) { return m->nodes.size(); }

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

Status run_model(Model* m, size_t begin, size_t end, Error* error) {
  if (!m->ready) return invalid(error, "the model needs a successful reshape before it runs");
  end = std::min(end, m->nodes.size());
  const int64_t batch = m->batch;
  for (size_t i = begin; i < end; ++i) {
    ModelNode& node = *m->nodes[i];
    const ModelTensor& in = m->tensors[node.inputs[0]];
    const ModelTensor& out = m->tensors[node.output];
    const uint8_t* x = model_tensor_data(m, node.inputs[0]);
    uint8_t* y = model_tensor_data(m, node.output);
    switch (node.op) {
      case ModelOp::kConv: {
        Status s = setup(node.conv.get(), x, y);
        if (s == Status::kOk) s = run(node.conv.get());
        if (s != Status::kOk) {
          return fail(error, s, node_label(i, op_name(node.op, is_transposed(node.conv->params))) +
                                    ": the operator was not ready to run");
        }
        break;
      }
      case ModelOp::kRelu:
      case ModelOp::kHardtanh:
      case ModelOp::kLeakyRelu:
      case ModelOp::kRequantize:
        apply_unary(node.table, x, y, out.bytes);
        break;
      case ModelOp::kAdd:
        apply_add(node.add, x, model_tensor_data(m, node.inputs[1]), y, out.bytes);
        break;
      case ModelOp::kCat:
        for (size_t k = 0; k < node.inputs.size(); ++k) {
          node.cat_parts[k].data = model_tensor_data(m, node.inputs[k]);
        }
        apply_cat_channels(node.cat_parts.begin(), node.cat_parts.size(), batch, out.length, y);
        break;
      case ModelOp::kReflectionPad1d:
        if (node.inspection_only && !m->keep_all) break;
        apply_reflection_pad1d(x, batch, in.channels, in.length, node.left, node.right, y);
        break;
    }
  }
  return Status::kOk;
}

Status set_model_backend(Model* m, Backend backend, Error* error) {
  for (ModelNode* node : m->nodes) {
    if (node->op != ModelOp::kConv) continue;
    if (Status s = set_backend(node->conv.get(), backend, error); s != Status::kOk) return s;
  }
  return Status::kOk;
}

}  // namespace qconv
