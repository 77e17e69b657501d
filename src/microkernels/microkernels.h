// Micro-kernel interfaces. File names follow XNNPACK's
// <datatype>-<op>-<tile>[-<requantization>]-<isa>[-<trick>].cc convention and
// the function in each is <datatype>_<op>[_<requantization>]_ukernel_<tile>__<isa>[_<trick>]
// (tests/js/kernel-names.test.js checks the two agree); every
// SIMD kernel has a scalar twin with the same interface and packed format,
// and the kernel tests (tests/kernels/) require the two to agree byte for byte.
//
// Shared arithmetic: int16 operands (input minus its zero point, weight minus
// its zero point), int32 accumulation that wraps modulo 2^32, then fp32
// requantization with round half to even and saturation (docs/SEMANTICS.md §4.4
// under policy P1; requantize_fp32_magic in quantization.h).
#pragma once

#include <cstddef>
#include <cstdint>

namespace qconv {

struct RequantParams {
  int32_t output_zero_point;
  // The lowest requantized value before the zero point is added, as a float:
  // -512 (no bound: the final [0, 255] clamp decides) or 0 for a fused ReLU
  // (outputs at least the zero point, torch's ConvReLU1d). Clamping the
  // scaled float before rounding is exact for an integer bound.
  float min_less_zero_point = -512.0f;
};

// ---------------------------------------------------------------------------
// conv1d MRxNRc2: mr output positions (rows; any number, computed MR at a
// time) by nc output channels of a stride-1-in-A convolution:
//
//   c[m * c_row_stride + n * c_col_stride] = requantize(
//       bias[n] + sum_{t < ks} sum_{k < kc} A_t[m][k] * W[n][t][k], scale[n])
//
// where A_t[m] = (const int16_t*)((const char*)a + m * a_row_stride + t * a_tap_stride).
// Dense GEMM is the case ks = 1; strided deconvolution phases, dilation and
// groups only change the strides. kc is rounded up to kKr (2): the kernel
// reads one int16 past the end of each tap's run, which the packed weights
// multiply by zero, so the caller keeps that int16 readable.
//
// Packed weights (packing.h: pack_conv1d_weights), per block of kNr output channels:
//   int32 bias[kNr] | int16 w[ks][round_up(kc, 2) / 2][kNr][2] | float scale[kNr]
// Channels past nc in the last block are zero. nc may exceed kNr: the kernel
// walks the blocks itself.
// ---------------------------------------------------------------------------
constexpr size_t kConv1dMr = 4;
constexpr size_t kConv1dNr = 8;
constexpr size_t kConv1dKr = 2;

inline size_t conv1d_kc_rounded(size_t kc) { return (kc + kConv1dKr - 1) / kConv1dKr * kConv1dKr; }
// Bytes of one packed block of kNr channels.
inline size_t conv1d_packed_block_bytes(size_t kc, size_t ks) {
  return kConv1dNr * sizeof(int32_t) + ks * conv1d_kc_rounded(kc) * kConv1dNr * sizeof(int16_t) +
         kConv1dNr * sizeof(float);
}

using Conv1dUkernelFn = void (*)(size_t mr, size_t nc, size_t kc, size_t ks, const int16_t* a,
                                 size_t a_row_stride, size_t a_tap_stride, const void* packed_w,
                                 uint8_t* c, size_t c_row_stride, size_t c_col_stride,
                                 const RequantParams& params);

void qu8_conv1d_fp32_ukernel_4x8c2__scalar(size_t mr, size_t nc, size_t kc, size_t ks,
                                           const int16_t* a, size_t a_row_stride,
                                           size_t a_tap_stride, const void* packed_w, uint8_t* c,
                                           size_t c_row_stride, size_t c_col_stride,
                                           const RequantParams& params);
void qu8_conv1d_fp32_ukernel_4x8c2__wasmsimd_dot16(size_t mr, size_t nc, size_t kc, size_t ks,
                                                   const int16_t* a, size_t a_row_stride,
                                                   size_t a_tap_stride, const void* packed_w,
                                                   uint8_t* c, size_t c_row_stride,
                                                   size_t c_col_stride,
                                                   const RequantParams& params);

// ---------------------------------------------------------------------------
// dwconv1d 16x1: one output channel, positions vectorised. For the shapes the
// conv1d tile serves badly (depthwise, few channels per group): taps are
// (input channel, kernel tap) pairs, each a contiguous int16 row.
//
//   c[j * c_stride] = requantize(bias + sum_{t < num_taps} w[t] * rows[t][j], scale)
//
// for j < n. The kernel reads rows[t][j] for j up to round_up(n, 16) - 1,
// so rows keep 16 readable int16 past their last used element.
// ---------------------------------------------------------------------------
constexpr size_t kDwconv1dTile = 16;

using Dwconv1dUkernelFn = void (*)(size_t n, size_t num_taps, const int16_t* const* rows,
                                   size_t row_offset, const int16_t* w, int32_t bias, float scale,
                                   uint8_t* c, size_t c_stride, const RequantParams& params);

// rows[t] + row_offset is where output 0 reads tap t.
void qu8_dwconv1d_fp32_ukernel_16x1__scalar(size_t n, size_t num_taps, const int16_t* const* rows,
                                            size_t row_offset, const int16_t* w, int32_t bias,
                                            float scale, uint8_t* c, size_t c_stride,
                                            const RequantParams& params);
void qu8_dwconv1d_fp32_ukernel_16x1__wasmsimd_mul16(size_t n, size_t num_taps,
                                                    const int16_t* const* rows, size_t row_offset,
                                                    const int16_t* w, int32_t bias, float scale,
                                                    uint8_t* c, size_t c_stride,
                                                    const RequantParams& params);

// ---------------------------------------------------------------------------
// dwconv1d 2x8c2: the two phases of a stride-2 ConvTranspose1d channel at
// once, their outputs interleaved: output i takes phase a (i even) or b (i
// odd) at u = i / 2, and taps come in pairs (one i32x4.dot_i16x8_s per pair):
//
//   c[i] = requantize(bias + sum_{t < 2 * pairs} w_x[t] * (rows_x[t][u] - zero_point), scale)
//
// for i < n (x = a or b). Rows are uint8, read directly (the kernel widens
// them); the padding the caller puts around them holds the zero point. The
// kernel reads rows_x[t][u] for u up to round_up(ceil(n / 2), 8) + 7, so
// rows keep kDwconv1dPairSlack readable bytes past their last used one. An
// odd number of taps is padded with a zero weight. rows_b may equal rows_a
// (same pointers): the phases then share the loads.
// ---------------------------------------------------------------------------
constexpr size_t kDwconv1dPairSlack = 16;
constexpr size_t kDwconv1dPairMaxTaps = 16;  // per phase (the caller's tap lists)

using Dwconv1dPairUkernelFn = void (*)(size_t n, size_t pairs, const uint8_t* const* rows_a,
                                       const int16_t* w_a, const uint8_t* const* rows_b,
                                       const int16_t* w_b, int32_t zero_point, int32_t bias,
                                       float scale, uint8_t* c, const RequantParams& params);

void qu8_dwconv1d_fp32_ukernel_2x8c2__scalar(size_t n, size_t pairs, const uint8_t* const* rows_a,
                                             const int16_t* w_a, const uint8_t* const* rows_b,
                                             const int16_t* w_b, int32_t zero_point, int32_t bias,
                                             float scale, uint8_t* c, const RequantParams& params);
void qu8_dwconv1d_fp32_ukernel_2x8c2__wasmsimd_dot16(size_t n, size_t pairs,
                                                     const uint8_t* const* rows_a,
                                                     const int16_t* w_a,
                                                     const uint8_t* const* rows_b,
                                                     const int16_t* w_b, int32_t zero_point,
                                                     int32_t bias, float scale, uint8_t* c,
                                                     const RequantParams& params);

// ---------------------------------------------------------------------------
// Input preparation: uint8 [channels][length] (channel c at x + c * x_stride,
// so that a range of positions can be taken) -> int16 (x - zero point)
// transposed to [length][row_stride] (the conv1d kernels' A layout).
// ---------------------------------------------------------------------------
using TransposeWidenFn = void (*)(size_t channels, size_t length, const uint8_t* x, size_t x_stride,
                                  int32_t zero_point, int16_t* rows, size_t row_stride);

void qu8_transpose_widen_ukernel_8x8__scalar(size_t channels, size_t length, const uint8_t* x,
                                             size_t x_stride, int32_t zero_point, int16_t* rows,
                                             size_t row_stride);
void qu8_transpose_widen_ukernel_8x8__wasmsimd(size_t channels, size_t length, const uint8_t* x,
                                               size_t x_stride, int32_t zero_point, int16_t* rows,
                                               size_t row_stride);

// ---------------------------------------------------------------------------
// x8 zip x2: 2 rows of n bytes, input_stride apart, interleaved (a stride-2
// ConvTranspose1d's two phases, staged apart, into its output row):
//
//   output[i * 2 + r] = input[r * input_stride + i]   for i < n, r < 2.
//
// (x3 and x4 twins were measured too: stride 3 ran 6-12% slower zipped, see
// operator-plan.cc, so only x2 is kept.)
//
// Reads exactly the rows' n bytes and writes exactly output[0, K * n); the
// output must not overlap the input.
// ---------------------------------------------------------------------------
using ZipUkernelFn = void (*)(size_t n, const uint8_t* input, size_t input_stride,
                              uint8_t* output);

void x8_zip_x2_ukernel_16x__scalar(size_t n, const uint8_t* input, size_t input_stride,
                                   uint8_t* output);
void x8_zip_x2_ukernel_16x__wasmsimd(size_t n, const uint8_t* input, size_t input_stride,
                                     uint8_t* output);

// ---------------------------------------------------------------------------
// Elementwise kernels for the ops between convolutions (qops.h).
//
// x8 lut: output[i] = table[input[i]] for i < n (table: 256 bytes). Reads
// exactly input[0, n) and writes exactly output[0, n); output may be input
// (in place) but must not otherwise overlap it.
// ---------------------------------------------------------------------------
using LutUkernelFn = void (*)(size_t n, const uint8_t* input, uint8_t* output,
                              const uint8_t* table);

void x8_lut_ukernel_64x__scalar(size_t n, const uint8_t* input, uint8_t* output,
                                const uint8_t* table);
// The scalar twin reading and writing 4 bytes at a time.
void x8_lut_ukernel_64x__scalar_u32(size_t n, const uint8_t* input, uint8_t* output,
                                    const uint8_t* table);
// 64 bytes per step: i8x16.swizzle of each of the 16 table chunks by the
// index minus 16k (lanes out of the chunk give 0), ORed together.
void x8_lut_ukernel_64x__wasmsimd_swizzle(size_t n, const uint8_t* input, uint8_t* output,
                                          const uint8_t* table);

// qu8 vadd: QNNPACK's q8 add (qops.h AddParams, docs/SEMANTICS.md §12) of
// n elements:
//
//   acc = zero_point_product + a[i] * a_multiplier + b[i] * b_multiplier   (int32, wrapping)
//   y   = (acc >> shift) + (((acc & remainder_mask) - (acc < 0)) > remainder_threshold)
//   output[i] = clamp(y + output_zero_point, output_min, output_max)
//
// shift in [1, 31]; 0 <= output_min <= output_max <= 255. The SIMD kernel
// needs both multipliers below 2^30 (make_add's are at most 2^22). Reads
// exactly a[0, n) and b[0, n), writes exactly output[0, n); output may be a
// or b (in place).
// ---------------------------------------------------------------------------
struct AddParams;  // qops.h

using VaddUkernelFn = void (*)(size_t n, const uint8_t* a, const uint8_t* b, uint8_t* output,
                               const AddParams& params);

void qu8_vadd_ukernel_16x__scalar(size_t n, const uint8_t* a, const uint8_t* b, uint8_t* output,
                                  const AddParams& params);
void qu8_vadd_ukernel_16x__wasmsimd(size_t n, const uint8_t* a, const uint8_t* b, uint8_t* output,
                                    const AddParams& params);

// The kernels one build uses: SIMD128 where the target has it (wasm with
// -msimd128, or native through SIMDe when QCONV_NATIVE_SIMDE is set), the
// scalar twins otherwise.
struct KernelSet {
  Conv1dUkernelFn conv1d;
  Dwconv1dUkernelFn dwconv1d;
  Dwconv1dPairUkernelFn dwconv1d_pair;
  TransposeWidenFn transpose_widen;
  LutUkernelFn lut;
  VaddUkernelFn vadd;
  ZipUkernelFn zip_x2;
  const char* name;
};
const KernelSet& default_kernels();
const KernelSet& scalar_kernels();

}  // namespace qconv
