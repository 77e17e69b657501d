// Test support: a naive, direct implementation of docs/SEMANTICS.md §4.5 / §5
// (written from docs/SEMANTICS.md, independently of src/operator.cc and the
// micro-kernel). The cases, random draws and public-API calls that the tests
// build around it are in harness.h.
//
// The only code shared with the library is the scalar numeric helpers of
// quantization.h (quantize_bias, bias_through_float32,
// requantization_scale, requantize_reference), which quantization_test.cc
// checks on their own.
#pragma once

#include <cstdint>
#include <ostream>
#include <vector>

#include "qconv/qconv.h"
#include "quantization.h"

namespace qconv {
// Lets GoogleTest print a Status as its number.
inline std::ostream& operator<<(std::ostream& os, Status s) { return os << static_cast<int>(s); }
}  // namespace qconv

namespace qconv_test {

// Everything a forward needs: module parameters, weights, bias, output and
// input quantization, the input, and an optional requested output length.
struct Case {
  qconv::ConvParams params;
  std::vector<int8_t> weight;
  std::vector<double> weight_scales;       // 1 entry (per-tensor) or outChannels
  std::vector<double> weight_zero_points;  // same length as weight_scales
  bool per_channel = false;
  bool has_bias = false;
  std::vector<float> bias;  // outChannels entries when has_bias
  double output_scale = 1.0;
  int32_t output_zero_point = 0;
  int64_t batch = 1;
  int64_t length = 1;
  double input_scale = 1.0;
  int32_t input_zero_point = 0;
  std::vector<uint8_t> input;  // [batch, inChannels, length]
  int64_t requested_length = -1;
};

inline int64_t weight_count(const qconv::ConvParams& p) {
  return p.out_channels * (p.in_channels / p.groups) * p.kernel_size;
}

// How far one output reaches over the input: dilation*(K-1) + 1.
inline int64_t kernel_span(const qconv::ConvParams& p) { return p.dilation * (p.kernel_size - 1) + 1; }

// Conv1d's padding before and after the input: PyTorch's padding='same'
// puts dilation*(K-1) // 2 before and the rest after; otherwise `padding`
// before and padding_right (-1: `padding`) after.
inline void reference_conv1d_padding(const qconv::ConvParams& p, int64_t* before, int64_t* after) {
  if (p.padding_same) {
    const int64_t total = kernel_span(p) - 1;
    *before = total / 2;
    *after = total - total / 2;
  } else {
    *before = p.padding;
    *after = p.padding_right == -1 ? p.padding : p.padding_right;
  }
}

// §5: ConvTranspose1d's output length without outputPadding, the smallest
// outputSize accepts (the largest is this + stride - 1).
inline int64_t transposed_min_output_length(const qconv::ConvParams& p, int64_t length) {
  return (length - 1) * p.stride - 2 * p.padding + kernel_span(p);
}

// §5 output length for an input length: ConvTranspose1d's requested length
// (when >= 0) or its smallest plus outputPadding; Conv1d's, with a floor
// division, so that a padded input shorter than the kernel gives < 1 (the
// case is then invalid).
inline int64_t reference_output_length(const qconv::ConvParams& p, int64_t length,
                                       int64_t requested_length = -1) {
  if (p.kind == qconv::OperatorKind::kConvTranspose1d) {
    return requested_length >= 0 ? requested_length
                                 : transposed_min_output_length(p, length) + p.output_padding;
  }
  int64_t before = 0, after = 0;
  reference_conv1d_padding(p, &before, &after);
  const int64_t reach = length + before + after - kernel_span(p);
  return (reach >= 0 ? reach / p.stride : -((-reach + p.stride - 1) / p.stride)) + 1;
}

inline int64_t reference_output_length(const Case& c) {
  return reference_output_length(c.params, c.length, c.requested_length);
}

// Wraps an exact (int64) sum to int32 the way two's complement hardware does.
inline int32_t wrap_to_int32(int64_t v) {
  return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(v)));
}

// The naive reference: int64 accumulation of every (input, weight) pair
// that §4.5 sums, then bias (§4.1, §4.2), int32 wrap, requantization
// (§4.3, §4.4). Output [batch, outChannels, Lout], NCW.
// `wrapped`, when given, counts outputs whose exact sum left the int32 range.
inline std::vector<uint8_t> reference_forward(const Case& c, int64_t* lout_out = nullptr,
                                              int64_t* wrapped = nullptr) {
  const qconv::ConvParams& p = c.params;
  const int64_t N = c.batch, L = c.length, K = p.kernel_size, s = p.stride, d = p.dilation;
  const int64_t cin = p.in_channels, cout = p.out_channels, G = p.groups;
  const int64_t cin_g = cin / G, cout_g = cout / G;
  const bool transposed = p.kind == qconv::OperatorKind::kConvTranspose1d;
  const int64_t lout = reference_output_length(c);
  if (lout_out != nullptr) *lout_out = lout;
  // An empty batch has no outputs; the gather below would size a table by L,
  // which the operator accepts up to 2^31 - 1 when N = 0.
  if (N == 0) return {};
  auto wzp = [&](int64_t co) {
    return static_cast<int64_t>(c.weight_zero_points[c.per_channel ? co : 0]);
  };
  auto wscale = [&](int64_t co) { return c.weight_scales[c.per_channel ? co : 0]; };

  // The input as the taps see it. ConvTranspose1d: the input itself.
  // Conv1d: a materialised padded input; reflect: indices before..1,
  // 0..L-1, L-2..L-1-after; zeros: taps outside [0, L) contribute 0.
  int64_t before = 0, after = 0;
  reference_conv1d_padding(p, &before, &after);
  const bool reflect = !transposed && p.padding_mode == qconv::PaddingMode::kReflect;
  const int64_t pad = reflect ? 0 : transposed ? p.padding : before;
  const int64_t len = reflect ? L + before + after : L;
  std::vector<int64_t> index(static_cast<size_t>(len));
  if (reflect) {
    int64_t t = 0;
    for (int64_t q = before; q >= 1; --q) index[t++] = q;
    for (int64_t q = 0; q < L; ++q) index[t++] = q;
    for (int64_t q = L - 2; q >= L - 1 - after; --q) index[t++] = q;
  } else {
    for (int64_t q = 0; q < L; ++q) index[q] = q;
  }

  // Tap k joins input position t and output position o where
  // ConvTranspose1d: o = t*s + k*d - padding (a scatter), weight [ci][j][k];
  // Conv1d:          t = o*s + k*d - padding (a gather),  weight [co][i][k].
  std::vector<int64_t> acc(static_cast<size_t>(N * cout * lout), 0);
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t co = 0; co < cout; ++co) {
      const int64_t g = co / cout_g, j = co % cout_g;
      int64_t* y = &acc[static_cast<size_t>((n * cout + co) * lout)];
      for (int64_t i = 0; i < cin_g; ++i) {
        const int64_t ci = g * cin_g + i;
        const uint8_t* x = &c.input[static_cast<size_t>((n * cin + ci) * L)];
        auto xv = [&](int64_t t) {
          return static_cast<int64_t>(x[index[static_cast<size_t>(t)]]) - c.input_zero_point;
        };
        for (int64_t k = 0; k < K; ++k) {
          const int64_t at = transposed ? (ci * cout_g + j) * K + k : (co * cin_g + i) * K + k;
          const int64_t w = c.weight[static_cast<size_t>(at)] - wzp(co);
          if (transposed) {
            for (int64_t t = 0; t < L; ++t) {
              const int64_t o = t * s + k * d - pad;
              if (o >= 0 && o < lout) y[o] += xv(t) * w;
            }
          } else {
            for (int64_t o = 0; o < lout; ++o) {
              const int64_t t = o * s + k * d - pad;
              if (t >= 0 && t < len) y[o] += xv(t) * w;
            }
          }
        }
      }
    }
  }

  // §4.2: every ConvTranspose1d and every Conv1d except the GEMM case
  // (K == 1, stride 1, effective padding 0) passes the bias through float32.
  const bool gemm = !transposed && K == 1 && s == 1 &&
                    ((before == 0 && after == 0) || p.padding_mode == qconv::PaddingMode::kReflect);
  std::vector<uint8_t> out(acc.size());
  for (int64_t co = 0; co < cout; ++co) {
    int32_t qb = 0;
    if (c.has_bias) {
      qb = qconv::quantize_bias(c.bias[static_cast<size_t>(co)], wscale(co), c.input_scale);
      if (!gemm) qb = qconv::bias_through_float32(qb);
    }
    const float rq = qconv::requantization_scale(wscale(co), c.input_scale, c.output_scale);
    for (int64_t n = 0; n < N; ++n) {
      for (int64_t o = 0; o < lout; ++o) {
        const int64_t exact = acc[static_cast<size_t>((n * cout + co) * lout + o)] + qb;
        const int32_t total = wrap_to_int32(exact);
        if (wrapped != nullptr && exact != total) ++*wrapped;
        out[static_cast<size_t>((n * cout + co) * lout + o)] =
            qconv::requantize_reference(total, rq, c.output_zero_point);
      }
    }
  }
  return out;
}

}  // namespace qconv_test
