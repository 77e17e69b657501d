// Running a model (model.h run_model): the nodes in order, on arena pointers.
#include <algorithm>
#include <cmath>
#include <limits>
#include <new>

#include "model-state.h"
#include "quantization.h"

namespace qconv {

using namespace model_detail;

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
