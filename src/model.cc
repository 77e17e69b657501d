// A whole model (model.h): building the graph, node by node, with every
// check of a node against the tensors it reads and writes.
#include <algorithm>
#include <cmath>
#include <limits>
#include <new>

#include "model-state.h"
#include "quantization.h"

namespace qconv {

using namespace model_detail;

namespace {

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

}  // namespace qconv
