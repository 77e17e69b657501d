// A native ConvTranspose1d through XNNPACK's quantized (qu8) 2-D
// deconvolution, as a second, independent implementation to test ours
// against. Native builds only, and only when XNNPACK is found (CMake
// defines QCONV_HAVE_XNNPACK=1 for the tests then).
//
// Built and checked against Debian's libxnnpack-dev 0.0~git20220216.ae108ef
// (x86-64). Routing: int8 weights w with zero point z become qu8 weights
// w + 128 with zero point z + 128 (XNNPACK subtracts them, so the products
// are the same); 1-D runs as 2-D with height 1 (kernel 1xK, stride 1xs,
// dilation 1xd, padding top/bottom 0).
//
// What this XNNPACK computes, for callers who compare bytes with PyTorch:
// - Accumulation: bias + sum (x - xzp)(w - wzp) in int32, wrapping like
//   QNNPACK (the zero-point terms are folded into the packed bias, also in
//   wrapping int32 arithmetic); taps that no input reaches contribute 0.
//   The bias is the caller's int32 as given: pass the value our operator
//   uses (docs/SEMANTICS.md §4.1 quantize_bias, then §4.2 bias_through_float32).
// - Requantization: f32(acc) * rq, clamped in float32 to the output range,
//   then converted with round-half-to-even (cvtps), plus the zero point.
//   That is PyTorch's §4.4 under the port policy P1 (a huge positive value
//   gives 255, a huge negative one 0), provided rq is the same number.
// - rq is NOT computed as PyTorch does: XNNPACK takes float32 scales and
//   computes rq = (xs * ws) / os in float32 (a division); PyTorch (§4.3)
//   computes (ws * xs) * (1 / os). The two agree exactly whenever
//   f32(p / os) == f32(p * f32(1 / os)) for p = f32(ws * xs), e.g. always
//   when os is a power of two (and nothing is subnormal); otherwise they can
//   differ in the last bit, and then outputs can differ by one near
//   rounding ties. xnnpack_requantization_scale() gives XNNPACK's value so
//   that callers can check.
//
// XNNPACK limits met, and what this wrapper does about them:
// - rq must be below 256: XNNPACK returns xnn_status_unsupported_parameter.
//   create_deconvolution() reports it as kInvalidArgument naming the limit.
// - rq must be at least 2^-32: XNNPACK does not check this in create, but
//   its requantization-parameter setup asserts it, and Debian's build keeps
//   assertions, so the process would abort. create_deconvolution() rejects
//   such scales first (kInvalidArgument). PyTorch accepts any normal rq.
// - Input, weight and output scales must be normal positive float32 values
//   (XNNPACK: xnn_status_invalid_parameter); the same rule as ours.
// - Output padding ("adjustment") must be smaller than the stride, while
//   PyTorch allows < max(stride, dilation). Output padding a only extends
//   the output on the right, so the wrapper expresses it as right padding
//   max(p - a, 0) plus adjustment max(a - p, 0); this fails (kInvalidArgument)
//   only when a - p >= stride, which needs dilation > stride.
// - Its sub-convolution path (taken for stride > 1, dilation 1,
//   stride <= K) computes each output phase's width as (W - start) / stride
//   in size_t and writes far out of bounds (a crash) when the output width
//   W is below stride - 1. The wrapper then asks XNNPACK for a wider output
//   (less right padding, more adjustment) and crops it; the first Lout
//   columns do not change. (It reports an error if even that cannot reach
//   stride - 1; no such case is known within PyTorch's rules.)
// - The snapshot caches its indirection buffer by input size only: setting
//   up the same input length with another adjustment would reuse a stale
//   buffer sized for the old output. The wrapper recreates the XNNPACK
//   operator whenever the (right padding, adjustment) pair changes (an
//   allocation; repeated runs of one shape reuse everything).
// - Input buffers must have XNN_EXTRA_BYTES readable after the end (its
//   kernels over-read); the wrapper's own scratch buffers have them.
// - Per-tensor weights only (XNNPACK's qu8 deconvolution has one kernel
//   zero point and scale); zero padding only.
#pragma once

#include <cstdint>

#include "qconv/qconv.h"

namespace qconv {
namespace xnnpack {

// XNNPACK's requantization scale, computed the way this snapshot does.
float xnnpack_requantization_scale(double input_scale, double weight_scale, double output_scale);
// [kMinRequantizationScale, kMaxRequantizationScale): the range accepted.
constexpr float kMinRequantizationScale = 0x1.0p-32f;
constexpr float kMaxRequantizationScale = 256.0f;

// xnn_initialize, once per process (thread-safe); false when XNNPACK does
// not support this CPU.
bool available();

// Everything that is fixed for a module: weights in PyTorch's layout
// [Cin][Cout/groups][K], per-tensor qparams, the int32 bias (Cout entries
// or nullptr for none), the input and output quantization.
struct DeconvolutionWeights {
  const int8_t* data = nullptr;
  double weight_scale = 1.0;
  int weight_zero_point = 0;  // [-128, 127]
  const int32_t* bias = nullptr;
  double input_scale = 1.0;
  int input_zero_point = 0;  // [0, 255]
  double output_scale = 1.0;
  int output_zero_point = 0;  // [0, 255]
};

struct Deconvolution;

// params: ConvTranspose1d, zero padding; params.output_padding picks the
// first XNNPACK operator's right padding (run() may take another). Copies
// the weights and bias. On failure *out is nullptr and error says which
// rule or XNNPACK limit was hit.
Status create_deconvolution(const ConvParams& params, const DeconvolutionWeights& weights,
                            Deconvolution** out, Error* error);

// Output length for input length L and output padding a:
// (L-1)*stride - 2*padding + dilation*(K-1) + 1 + a (may be < 1).
int64_t deconvolution_output_length(const Deconvolution* deconvolution, int64_t length,
                                    int64_t output_padding);

// input: uint8 [batch][Cin][length]; output: uint8 [batch][Cout][Lout].
// Transposes to and from XNNPACK's NWC layout in scratch buffers owned by
// the handle (allocated when a shape grows; a repeated shape allocates
// nothing here). batch 0 does nothing. Not thread-safe per handle.
Status run_deconvolution(Deconvolution* deconvolution, int64_t batch, int64_t length,
                         int64_t output_padding, const uint8_t* input, uint8_t* output,
                         Error* error);

void delete_deconvolution(Deconvolution* deconvolution);

}  // namespace xnnpack
}  // namespace qconv
