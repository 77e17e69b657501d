// qconv: quantized 1-D convolution and transposed convolution (quint8
// activations, qint8 weights, fp32 requantization), bit-exact with PyTorch's
// QNNPACK engine under the port policy of docs/SEMANTICS.md §0.
//
// Operators follow create -> set weights -> reshape -> setup -> run. Everything the hot
// loop needs is computed in create/set_weights/setup; run only computes.
// After the first reshape with a given shape, nothing allocates.
//
// Every function that can fail returns a Status and, when given an Error,
// fills it with a message naming the argument, the rule and the value, e.g.
// "ConvTranspose1d: outputPadding (2) must be smaller than stride (2) or dilation (1)".
// A failed call leaves the operator as it was.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace qconv {

enum class Status : int {
  kOk = 0,
  kInvalidArgument = 1,  // a value outside its range (JS: RangeError)
  kOutOfMemory = 2,      // sizes too large, or an allocation failed (JS: RangeError)
};

struct Error {
  std::string message;
};

enum class OperatorKind : int { kConv1d = 0, kConvTranspose1d = 1 };
enum class PaddingMode : int { kZeros = 0, kReflect = 1 };

// Module parameters, in PyTorch's meaning. Sizes are int64 so that the
// validation (not the caller's integer type) decides what is out of range.
struct ConvParams {
  OperatorKind kind = OperatorKind::kConvTranspose1d;
  int64_t in_channels = 1;
  int64_t out_channels = 1;
  int64_t kernel_size = 1;
  int64_t stride = 1;
  int64_t padding = 0;  // before the input, and after it unless padding_right says otherwise
  // Conv1d only: the padding after the input when it differs from `padding`
  // (asymmetric); -1 means as much as `padding`.
  int64_t padding_right = -1;
  // Conv1d only: PyTorch's padding='same' (stride 1 only): the output is as
  // long as the input. create_operator replaces padding and padding_right
  // with dilation*(kernel_size-1) split as PyTorch splits it: the larger half
  // after the input. (padding='valid' is padding 0.)
  bool padding_same = false;
  int64_t output_padding = 0;  // ConvTranspose1d only
  int64_t dilation = 1;
  int64_t groups = 1;
  bool bias = true;  // a new operator has a zero bias when true, none when false
  PaddingMode padding_mode = PaddingMode::kZeros;
};

// qint8 weights in PyTorch's layout: [Cin, Cout/groups, K] for
// ConvTranspose1d, [Cout, Cin/groups, K] for Conv1d, C order.
// Per-tensor: num_qparams == 1. Per-channel: num_qparams == out_channels,
// entry c for output channel c. Zero points are doubles so that validation
// sees the caller's value (integers in [-128, 127] are accepted).
struct WeightDesc {
  const int8_t* data = nullptr;
  uint64_t size = 0;  // 64-bit: a count beyond wasm32's size_t is refused, not wrapped
  const double* scales = nullptr;
  const double* zero_points = nullptr;
  uint64_t num_qparams = 1;  // scales and zero_points are read only when the count is right
  bool per_channel = false;
};

struct Operator;

// The largest number of bytes any one buffer (and all of an operator's
// buffers together) may need: what a wasm32 heap can hold.
constexpr uint64_t kMaxBytes = uint64_t{1} << 31;

// An operator holds at most 5 bytes per weight element + 32 per output
// channel + 80 KiB after create and set_weights (its packed weights at most
// 4 bytes per weight + 64 KiB), whatever the kernel size and stride.
Status create_operator(const ConvParams& params, Operator** op_out, Error* error);
void delete_operator(Operator* op);

const ConvParams& operator_params(const Operator* op);

// Weights and bias. bias == nullptr means "no bias" (zeros in the math).
Status set_weights(Operator* op, const WeightDesc& weight, const float* bias, uint64_t bias_size,
                   Error* error);
// Checks only that `size` weight elements match the operator's weight shape.
Status check_weight_size(const Operator* op, uint64_t size, Error* error);

// Output quantization: scale finite, > 0 and a normal float32; zero point an
// integer in [0, 255].
Status set_output_quantization(Operator* op, double scale, double zero_point, Error* error);
double output_scale(const Operator* op);
int32_t output_zero_point(const Operator* op);

// A fused ReLU (torch's ConvReLU1d, or a ConvTranspose1d whose only user is
// a ReLU): every output is at least the output zero point, clamped in the
// requantization. Takes effect at the next run; off for a new operator.
void set_fused_relu(Operator* op, bool relu);
bool fused_relu(const Operator* op);

// Stored parameters, for accessors (copies are the caller's business).
const int8_t* weight_data(const Operator* op);
size_t weight_size(const Operator* op);
const double* weight_scales(const Operator* op);       // num_weight_qparams entries
const double* weight_zero_points(const Operator* op);  // same
size_t num_weight_qparams(const Operator* op);
bool weight_per_channel(const Operator* op);
const float* bias_data(const Operator* op);  // nullptr when the module has no bias

// Output length for an input length; requested_length < 0 means none
// (ConvTranspose1d's outputSize otherwise; Conv1d must pass < 0).
Status compute_output_length(const Operator* op, int64_t input_length, int64_t requested_length,
                             int64_t* output_length, Error* error);

struct InputDesc {
  int64_t batch = 1;
  int64_t channels = 1;
  int64_t length = 1;
  double scale = 1.0;
  double zero_point = 0.0;
};

// reshape: validates an input of shape [N, Cin, L] with its quantization,
// computes the output length (requested_output_length < 0: none; else
// ConvTranspose1d's outputSize), rebuilds what depends on the input scale,
// and sizes the scratch memory. Allocates only when a shape grows; an empty
// batch (N = 0) needs and sizes no scratch, however long L is.
Status reshape(Operator* op, const InputDesc& input, int64_t requested_output_length,
               int64_t* output_length, Error* error);
// setup: binds input [N, Cin, L] and output [N, Cout, Lout] (NCW, uint8)
// buffers for the shape of the last successful reshape.
Status setup(Operator* op, const uint8_t* input_data, uint8_t* output_data);
Status run(Operator* op);

// Threads for every operator's run(), the calling thread included (a
// process-wide pool, like XNNPACK's pthreadpool). A run splits its work over
// batch items, output blocks and channel tiles; the bytes are the same for
// any number of threads. Small runs (about 1M multiply-adds or fewer) stay on
// one thread. set_num_threads fails in builds without thread support (the
// single-threaded wasm flavours) and takes effect at the next reshape. Not to
// be called while another thread is inside run().
Status set_num_threads(size_t threads, Error* error);
// Runs of fewer multiply-adds stay on one thread (default 2^20).
void set_min_parallel_work(uint64_t multiply_adds);
size_t num_threads();
bool threads_supported();
// How the last reshape split run(): the threads it uses, whether each
// thread takes whole batch items (else the threads share each item's tiles),
// and whether output blocks go through per-thread staging buffers.
struct ThreadPlan {
  size_t threads = 1;
  bool batch_items = false;
  bool staged_output = false;
};
ThreadPlan thread_plan(const Operator* op);

// Which micro-kernel flavour this build runs by default: "wasmsimd" (the
// SIMD128 kernels; natively they run through SIMDe) or "scalar".
const char* kernel_flavour();

// Which kernels compute run(): this build's (kDefault) or their scalar
// twins (kScalar; the same bytes, for tests). Takes effect at the next run.
enum class Backend : int { kDefault = 0, kScalar = 1 };
Status set_backend(Operator* op, Backend backend, Error* error);
// The micro-kernel family an operator's run() uses: "conv1d-4x8c2" (the
// register tile), "dwconv1d-16x1" (depthwise and few channels per group) or
// "dwconv1d-2x8c2" (those as a ConvTranspose1d of stride 2 with two phases).
const char* kernel_path(const Operator* op);

}  // namespace qconv
