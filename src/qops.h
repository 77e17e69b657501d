// The quantized ops that run between convolutions in a model (relu,
// hardtanh/relu6, leaky_relu, add/add_relu, cat along channels, reflection
// padding, requantization), each byte-exact to PyTorch 1.13 with the QNNPACK
// engine on x86-64 (docs/SEMANTICS.md §12). Tensors are quint8, contiguous,
// NCW ([N, C, L], C order); every op reads whole tensors.
//
// Every op is prepared once from its quantization parameters (make_*: checks
// them and precomputes tables) and then applied any number of times
// (apply_*: no allocation, no failure). A failed make_* leaves its output
// untouched.
#pragma once

#include <cstddef>
#include <cstdint>

#include "qconv/qconv.h"
#include "microkernels/microkernels.h"

namespace qconv {

// A tensor's per-tensor quantization: scale > 0 (a normal float32 once
// rounded), zero point in [0, 255].
struct QuantParams {
  double scale = 1.0;
  int32_t zero_point = 0;
};

// An elementwise op on one quint8 tensor, as tables: out = table[in].
// PyTorch computes the first elements of a tensor in a vector loop and the
// rest in a scalar loop whose float arithmetic may differ (e.g. a fused
// multiply-add in one and not the other), so the table depends on where an
// element sits (see apply_unary).
struct UnaryTable {
  uint8_t vector_path[256];
  uint8_t scalar_path[256];
  bool position_dependent = false;  // false: the two tables are equal
};

// relu: max(x, zero point); output quantization = input's.
Status make_relu(QuantParams input, UnaryTable* table, Error* error);
// hardtanh(min_val, max_val) (ReLU6 is hardtanh(0, 6)); output quantization =
// input's.
Status make_hardtanh(QuantParams input, double min_val, double max_val, UnaryTable* table,
                     Error* error);
// leaky_relu(negative_slope) from `input` to `output` quantization.
Status make_leaky_relu(QuantParams input, QuantParams output, double negative_slope,
                       UnaryTable* table, Error* error);
// quantize_per_tensor(dequantize(x), output): what FX inserts between ops
// whose qparams differ, and what cat does to each input.
Status make_requantize(QuantParams input, QuantParams output, UnaryTable* table, Error* error);

// PyTorch's cpu_kernel_vec handles quint8 in blocks of 2 x 32 elements and
// the rest (count % 64 of them) in a scalar loop.
constexpr size_t kUnaryVectorBlock = 64;

// Applies `table` to a whole tensor of `count` elements (N*C*L), choosing
// per element the path PyTorch takes for that element's position with one
// thread (torch.set_num_threads(1)): element i takes vector_path when
// i < count / 64 * 64, scalar_path otherwise. (With T > 1 threads and
// count > 32768 PyTorch splits the tensor into min(T, ceil(count / 32768))
// chunks, each with its own tail: docs/SEMANTICS.md §12.)
// The apply_* functions run the micro-kernels of `kernels` (null: the
// build's default_kernels()).
void apply_unary(const UnaryTable& table, const uint8_t* input, uint8_t* output, size_t count,
                 const KernelSet* kernels = nullptr);

// add / add_relu of two tensors of the same shape (QNNPACK's q8 add).
struct AddParams {
  int32_t zero_point_product = 0;
  uint32_t a_multiplier = 0;
  uint32_t b_multiplier = 0;
  uint32_t shift = 0;
  int32_t remainder_mask = 0;
  int32_t remainder_threshold = 0;
  int32_t output_zero_point = 0;
  int32_t output_min = 0;
  int32_t output_max = 255;
};
// Fails (kInvalidArgument, message naming the ratio) where PyTorch refuses:
// a.scale / output.scale or b.scale / output.scale outside [2^-14, 2^8),
// add_relu with output zero point 255; and where QNNPACK computes wrongly:
// the larger ratio below 2^-10.
Status make_add(QuantParams a, QuantParams b, QuantParams output, bool relu, AddParams* params,
                Error* error);
void apply_add(const AddParams& params, const uint8_t* a, const uint8_t* b, uint8_t* output,
               size_t count, const KernelSet* kernels = nullptr);

// cat along dim 1 of [N, C_i, L] tensors into [N, sum C_i, L] with the output
// quantization; each part goes through its own table (make_requantize from
// the part's quantization to the output's).
struct CatPart {
  const uint8_t* data = nullptr;
  int64_t channels = 0;
  const UnaryTable* table = nullptr;
};
void apply_cat_channels(const CatPart* parts, size_t num_parts, int64_t batch, int64_t length,
                        uint8_t* output, const KernelSet* kernels = nullptr);

// ReflectionPad1d((left, right)) of [N, C, L] into [N, C, left + L + right];
// needs left < L and right < L (checked by the caller).
void apply_reflection_pad1d(const uint8_t* input, int64_t batch, int64_t channels, int64_t length,
                            int64_t left, int64_t right, uint8_t* output);

}  // namespace qconv
