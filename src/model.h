// A whole quantized model: a graph of convolution operators and the ops
// between them (qops.h) over quint8 NCW tensors that live in one arena.
// Built node by node (the JS layer reads a .qconv model file,
// docs/MODEL-FORMAT.md, and calls these), then reshape for an input shape,
// then fill the input tensor, run, and read the output tensor.
//
// Like an operator: every function that can fail returns a Status with a
// message, and a failed call leaves the model as it was (a failed reshape
// leaves it not ready: run refuses until a reshape succeeds).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "buffer.h"
#include "qconv/qconv.h"
#include "qops.h"

namespace qconv {

enum class ModelOp : int {
  kConv = 0,             // Conv1d or ConvTranspose1d (an Operator), optionally with a fused ReLU
  kRelu = 1,             // UnaryTable
  kHardtanh = 2,         // UnaryTable
  kLeakyRelu = 3,        // UnaryTable
  kRequantize = 4,       // UnaryTable
  kAdd = 5,              // AddParams
  kCat = 6,              // along channels, one table per input
  kReflectionPad1d = 7,  // left, right
};

struct Model;

Status create_model(Model** model_out, Error* error);
void delete_model(Model* model);

// Tensors, numbered from 0 in the order they are added: channels >= 1 and
// their quantization. Returns the index in *index.
Status add_tensor(Model* model, int64_t channels, double scale, double zero_point, int32_t* index,
                  Error* error);

// The model's input tensor: set before the nodes (which may read it).
Status set_model_input(Model* model, int32_t input, Error* error);

// Nodes, in an order where each node's inputs are the model input or
// outputs of earlier nodes; each tensor but the input is produced once.
// Messages name a node by index and op ("node 3 (conv_transpose1d): ...");
// the JS layer, which knows the names, adds them.
//
// A convolution: the model takes ownership of `op` (weights set, output
// quantization equal to the output tensor's) whether or not the call
// succeeds. output_length: < 0 none, else ConvTranspose1d's outputSize;
// output_length_of: >= 0 the index of an earlier tensor whose length is
// the outputSize (as `up(x, output_size=skip.size())`), else -1.
Status add_conv_node(Model* model, Operator* op, int32_t input,
                     int32_t output, bool relu, int64_t output_length, int32_t output_length_of,
                     Error* error);
// relu, hardtanh (min_val, max_val), leaky_relu (negative_slope), requantize.
Status add_unary_node(Model* model, ModelOp op, int32_t input,
                      int32_t output, double a, double b, Error* error);
Status add_add_node(Model* model, int32_t a, int32_t b, int32_t output,
                    bool relu, Error* error);
Status add_cat_node(Model* model, const int32_t* inputs,
                    size_t num_inputs, int32_t output, Error* error);
// inspection_only: the padded tensor is only looked at (a trace), because
// its reader, a Conv1d, pads the same way itself (built with reflect
// padding by the JS layer): the node runs, and its output takes memory,
// only when the model is reshaped with keep_all.
Status add_reflection_pad_node(Model* model, int32_t input,
                               int32_t output, int64_t left, int64_t right, bool inspection_only,
                               Error* error);

// The model's output tensor (after the nodes): the model input or a node's output.
Status set_model_output(Model* model, int32_t output, Error* error);

size_t model_num_tensors(const Model* model);
size_t model_num_nodes(const Model* model);

// Lengths of every tensor for an input [batch, C, length], checks along the
// graph (each message names the node), arena layout, the operators'
// reshapes. keep_all: every tensor keeps its own memory after run (to read
// intermediates); otherwise tensors whose last reader has run share memory.
// Allocates only when the arena grows; the same shape again does nothing.
Status reshape_model(Model* model, int64_t batch, int64_t length, bool keep_all, Error* error);

// After a successful reshape: a tensor's length and its bytes [batch, C, L]
// in the arena (valid until the next reshape).
int64_t model_tensor_length(const Model* model, int32_t tensor);
uint8_t* model_tensor_data(Model* model, int32_t tensor);
size_t model_arena_bytes(const Model* model);

// Runs nodes [begin, end) (all: 0, model_num_nodes): a forward in steps,
// e.g. to time each node. Fails only when no reshape succeeded since the
// model changed.
Status run_model(Model* model, size_t begin, size_t end, Error* error);

// Scalar kernels for the convolutions (tests: the same bytes).
Status set_model_backend(Model* model, Backend backend, Error* error);

}  // namespace qconv
